/* Migration file names. */
#include <criterion/criterion.h>

#include "migrate.h"

Test(migrate, names)
{
	int v = 0;
	cr_assert(migrate_parse_name("0001_foundation.sql", &v));
	cr_assert_eq(v, 1);
	cr_assert(migrate_parse_name("0042_ml_accounts.sql", &v));
	cr_assert_eq(v, 42);
	cr_assert_not(migrate_parse_name("1_x.sql", &v));
	cr_assert_not(migrate_parse_name("0001_x.txt", &v));
	cr_assert_not(migrate_parse_name("0000_x.sql", &v));
	cr_assert_not(migrate_parse_name("abcd_x.sql", &v));
	cr_assert_not(migrate_parse_name("0001-x.sql", &v));
}
