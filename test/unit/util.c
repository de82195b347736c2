/* util.c: iso8601_utc, whose per-second cache must never serve another second. */
#include <criterion/criterion.h>
#include <string.h>

#include "util.h"

static const char *iso(int64_t ms)
{
	static char buf[32];
	iso8601_utc(ms, buf, sizeof(buf));
	return buf;
}

Test(util, iso8601_utc_renders_milliseconds_and_z)
{
	cr_assert_str_eq(iso(0), "1970-01-01T00:00:00.000Z");
	cr_assert_str_eq(iso(1795459735123LL), "2026-11-23T18:48:55.123Z");
	cr_assert_str_eq(iso(1795459735007LL), "2026-11-23T18:48:55.007Z");
	cr_assert_str_eq(iso(951782400999LL), "2000-02-29T00:00:00.999Z");
}

Test(util, iso8601_utc_cache_follows_the_second)
{
	cr_assert_str_eq(iso(1795459735999LL), "2026-11-23T18:48:55.999Z");
	cr_assert_str_eq(iso(1795459736000LL), "2026-11-23T18:48:56.000Z");
	cr_assert_str_eq(iso(1795459735500LL), "2026-11-23T18:48:55.500Z");
	cr_assert_str_eq(iso(1795546135500LL), "2026-11-24T18:48:55.500Z");
}

Test(util, iso8601_utc_truncates_to_the_buffer)
{
	char small[11];
	iso8601_utc(1795459735123LL, small, sizeof(small));
	cr_assert_str_eq(small, "2026-11-23");
}
