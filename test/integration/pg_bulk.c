/* Bulk stores yield to urgent work (src/pg.c, may_start): against the real PostgreSQL, each
 * statement reports the server's time when it began or ended, so the order is PostgreSQL's. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pg.h"
#include "util.h"

typedef struct answer {
	bool done;
	char at[64]; /* a timestamptz as text, or "error: ..." */
} answer_t;

static void answered(const PGresult *res, const char *err, void *arg)
{
	answer_t *a = arg;
	a->done = true;
	snprintf(a->at, sizeof(a->at), "%s", err ? "error" : pg_value(res, 0, 0));
}

/* A statement's end, after sleeping `ms` on the server. */
static char ends_sql[64];
static const char *ends(int ms)
{
	snprintf(ends_sql, sizeof(ends_sql), "SELECT clock_timestamp()::text FROM pg_sleep(%g)",
		 ms / 1000.0);
	return ends_sql;
}
static const char begins_sql[] = "SELECT statement_timestamp()::text";

typedef struct fixture {
	struct event_base *base;
	pg_pool_t *pg;
} fixture_t;

static fixture_t open_pool(void)
{
	fixture_t f;
	f.base = event_base_new();
	f.pg = pg_pool_new(f.base, h_env("DATABASE_URL"), 4);
	int64_t deadline = now_ms() + 10000;
	pg_stats_t st;
	for (pg_pool_stats(f.pg, &st); st.idle < 4; pg_pool_stats(f.pg, &st)) {
		cr_assert_lt(now_ms(), deadline, "the pool did not connect within 10 s");
		event_base_loop(f.base, EVLOOP_ONCE);
	}
	return f;
}

static void wait_all(fixture_t *f, answer_t *const *as, int n)
{
	int64_t deadline = now_ms() + 10000;
	for (;;) {
		int done = 0;
		for (int i = 0; i < n; i++)
			done += as[i]->done;
		if (done == n)
			return;
		cr_assert_lt(now_ms(), deadline, "statements not answered within 10 s");
		event_base_loop(f->base, EVLOOP_ONCE);
	}
}

static void close_pool(fixture_t *f)
{
	pg_pool_free(f->pg);
	event_base_free(f->base);
}

/* Timestamps as text in one zone (the pool pins UTC): equal lengths compare in time order. */
static int cmp_at(const answer_t *a, const answer_t *b)
{
	cr_assert_neq(strcmp(a->at, "error"), 0);
	cr_assert_neq(strcmp(b->at, "error"), 0);
	return strcmp(a->at, b->at);
}

static unsigned long long yields(fixture_t *f)
{
	pg_stats_t st;
	pg_pool_stats(f->pg, &st);
	return st.bulk_yields;
}

Test(pg_bulk, waits_for_the_urgent_commit_in_flight)
{
	fixture_t f = open_pool();
	answer_t urgent = {0}, bulk = {0}, plain = {0};
	pg_query_urgent(f.pg, ends(30), 0, NULL, answered, &urgent);
	pg_query_bulk(f.pg, begins_sql, 0, NULL, answered, &bulk);
	pg_query(f.pg, begins_sql, 0, NULL, answered, &plain);
	wait_all(&f, (answer_t *const[]){&urgent, &bulk, &plain}, 3);
	cr_expect_geq(cmp_at(&bulk, &urgent), 0,
		      "the bulk store began at %s, before the urgent one ended at %s", bulk.at,
		      urgent.at);
	cr_expect_lt(cmp_at(&plain, &urgent), 0,
		     "an ordinary query queued behind the bulk store waited for it (%s vs %s)",
		     plain.at, urgent.at);
	cr_expect_eq(yields(&f), 1);
	close_pool(&f);
}

Test(pg_bulk, starts_anyway_when_urgent_work_never_pauses)
{
	fixture_t f = open_pool();
	answer_t urgent = {0}, bulk = {0};
	pg_query_urgent(f.pg, ends(1000), 0, NULL, answered, &urgent);
	pg_query_bulk(f.pg, begins_sql, 0, NULL, answered, &bulk);
	wait_all(&f, (answer_t *const[]){&bulk}, 1);
	cr_expect_not(urgent.done, "the bulk store waited for the whole urgent statement");
	wait_all(&f, (answer_t *const[]){&urgent}, 1);
	cr_expect_lt(cmp_at(&bulk, &urgent), 0);
	close_pool(&f);
}

Test(pg_bulk, one_at_a_time)
{
	fixture_t f = open_pool();
	answer_t first = {0}, second = {0}, plain = {0};
	pg_query_bulk(f.pg, ends(100), 0, NULL, answered, &first);
	pg_query_bulk(f.pg, begins_sql, 0, NULL, answered, &second);
	pg_query(f.pg, begins_sql, 0, NULL, answered, &plain);
	wait_all(&f, (answer_t *const[]){&first, &second, &plain}, 3);
	cr_expect_geq(cmp_at(&second, &first), 0, "two bulk stores ran at once (%s, %s)", second.at,
		      first.at);
	cr_expect_lt(cmp_at(&plain, &first), 0, "an ordinary query waited for a bulk store");
	cr_expect_eq(yields(&f), 0);
	close_pool(&f);
}
