/* pg_batch_failed: which result answers for a failed batch (its error goes to the envelope:
 * a result is a 500, none a 503). */
#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "pg.h"

static PGresult *result(ExecStatusType st)
{
	return PQmakeEmptyPGresult(NULL, st);
}

Test(pg_batch, the_failed_statement_not_the_ones_it_aborted)
{
	PGresult *r[] = {result(PGRES_TUPLES_OK), result(PGRES_FATAL_ERROR),
			 result(PGRES_PIPELINE_ABORTED)};
	cr_expect_eq(pg_batch_failed(r, 3), r[1]);
	PGresult *first[] = {result(PGRES_FATAL_ERROR), result(PGRES_PIPELINE_ABORTED)};
	cr_expect_eq(pg_batch_failed(first, 2), first[0]);
	for (int i = 0; i < 3; i++)
		PQclear(r[i]);
	PQclear(first[0]);
	PQclear(first[1]);
}

Test(pg_batch, none_when_the_connection_was_lost)
{
	PGresult *r[] = {result(PGRES_COMMAND_OK), NULL, NULL};
	cr_expect_null(pg_batch_failed(r, 3));
	PQclear(r[0]);
}
