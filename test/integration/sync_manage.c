/* Sync management across channels against marketsim: POST /api/sync/manual maps the types onto
 * the account's channel (what it lacks is said), the run's progress and end flow on the event
 * stream, GET /api/sync/status shows jobs, health and rate limits, GET /api/sync/history filters
 * across channels; bad bodies and queries are 400, another tenant's account 404. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ml_helpers.h"
#include "sse_client.h"

TestSuite(sync_manage, .timeout = 120);

static const char *day(int offset_days)
{
	time_t t = time(NULL) + (time_t)offset_days * 86400;
	char b[16];
	strftime(b, sizeof(b), "%Y-%m-%d", gmtime(&t));
	return h_fmt("%s", b);
}

static h_resp_t call(mlt_t *t, const char *method, const char *path, const char *body)
{
	return ident_call(&t->srv, method, path, t->owner.access, body);
}

static long long total(mlt_t *t, const char *query)
{
	h_resp_t r = call(t, "GET", h_fmt("/api/sync/history?%s", query), NULL);
	cr_assert_eq(r.status, 200, "%s: %s", query, r.body);
	long long n = json_integer_value(h_json_path(r.json, "data.pagination.total"));
	h_resp_free(&r);
	return n;
}

static bool has_string(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (json_is_string(v) &&
					  strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

Test(sync_manage, manual_sync_runs_reports_and_streams)
{
	mlt_t t;
	mlt_start(&t, "77101", 1, NULL);
	char acc[40];
	mlt_add(&t, &t.owner, 0, 3600, acc, NULL);
	/* No scheduled sync of it (other tests' servers share the database); by hand it syncs. */
	h_resp_t p = call(&t, "PUT", h_fmt("/api/ml-accounts/%s/pause", acc), NULL);
	cr_assert_eq(p.status, 200, "%s", p.body);
	h_resp_free(&p);
	sse_t s;
	sse_open(&s, t.srv.port, "/api/metrics/stream", t.owner.access);
	cr_assert(sse_wait(&s, "event: realtime", 5000), "%s", sse_text(&s));

	h_resp_t r =
	    call(&t, "POST", "/api/sync/manual",
		 h_fmt("{\"types\":[\"orders\",\"inventory\"],\"dateRange\":{\"from\":\"%s\","
		       "\"to\":\"%s\"}}",
		       day(-9), day(0)));
	cr_assert_eq(r.status, 202, "%s", r.body);
	json_int_t job = json_integer_value(h_json_path(r.json, "data.jobId"));
	cr_assert_gt(job, 0, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.status")), "queued");
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.estimatedTime")), 60);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.days")), 10);
	json_t *j0 = json_array_get(h_json_path(r.json, "data.jobs"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(j0, "scope")), "orders", "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(j0, "channel")), "ml");
	cr_assert(has_string(json_object_get(j0, "resources"), "orders"), "%s", r.body);
	cr_assert(has_string(json_object_get(j0, "resources"), "shipments"), "%s", r.body);
	cr_assert(!has_string(json_object_get(j0, "resources"), "items"), "%s", r.body);
	/* Mercado Livre has no inventory resource of its own: said, not silently dropped. */
	json_t *sk = json_array_get(h_json_path(r.json, "data.skipped"), 0);
	cr_assert(has_string(json_object_get(sk, "types"), "inventory"), "%s", r.body);
	cr_assert_eq(json_array_size(json_object_get(sk, "types")), 1, "%s", r.body);
	const char *run = h_fmt("%s", json_string_value(json_object_get(j0, "runId")));
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT days FROM sync_runs WHERE id = '%s'", run), 10);

	/* Its progress and its end on the stream. */
	cr_assert(sse_wait(&s, "event: sync", 10000), "%s", sse_text(&s));
	cr_assert(sse_wait(&s, "\"finished\":true", 60000), "%s", sse_text(&s));
	cr_assert_not_null(strstr(sse_text(&s), h_fmt("\"runId\":\"%s\"", run)));
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM sync_runs WHERE id = '%s' AND status = 'success'", run),
	    1);
	sse_close(&s);

	/* History across channels, with its filters. */
	r = call(&t, "GET", "/api/sync/history?type=orders&status=success", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 1);
	json_t *first = json_array_get(h_json_path(r.json, "data.runs"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "channel")), "ml");
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.statistics.byChannel.ml.runs")),
		     1, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(total(&t, "type=questions"), 0);
	cr_assert_eq(total(&t, "status=failed"), 0);
	cr_assert_eq(total(&t, h_fmt("startDate=%s", day(1))), 0);
	cr_assert_eq(total(&t, h_fmt("startDate=%s&endDate=%s", day(0), day(0))), 1);
	cr_assert_eq(total(&t, h_fmt("endDate=%s", day(-1))), 0);

	/* Status: jobs, last sync, health per registered channel, rate limits of the account. */
	r = call(&t, "GET", "/api/sync/status", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.accounts")), 1, "%s", r.body);
	cr_assert(json_is_array(h_json_path(r.json, "data.currentJobs")), "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.apiHealth.ml.status")),
			 "healthy", "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.apiHealth.amazon.status")),
			 "unknown", "%s", r.body);
	cr_assert_not_null(h_json_path(r.json, "data.apiHealth.tiny"), "%s", r.body);
	json_t *ml = h_json_path(r.json, "data.rateLimits.ml");
	cr_assert(json_object_size(ml) >= 1, "%s", r.body);
	const char *op;
	json_t *v;
	json_object_foreach(ml, op, v)
	{
		cr_assert(json_number_value(json_object_get(v, "rate")) > 0, "%s: %s", op, r.body);
		cr_assert(json_number_value(json_object_get(v, "burst")) > 0, "%s: %s", op, r.body);
		cr_assert(json_is_number(json_object_get(v, "available")), "%s: %s", op, r.body);
	}
	h_resp_free(&r);

	/* A type the account's channel lacks altogether: nothing to start. */
	r = call(&t, "POST", "/api/sync/manual", "{\"types\":[\"pricing\"]}");
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "NOTHING_TO_SYNC");
	h_resp_free(&r);
	mlt_stop(&t);
}

static void assert_bad(mlt_t *t, const char *body, const char *field)
{
	h_resp_t r = call(t, "POST", "/api/sync/manual", body);
	cr_assert_eq(r.status, 400, "%s: %s", body, r.body);
	cr_assert_not_null(strstr(r.body, h_fmt("\"field\":\"%s\"", field)), "%s: %s", body,
			   r.body);
	h_resp_free(&r);
}

static void assert_bad_query(mlt_t *t, const char *query, const char *field)
{
	h_resp_t r = call(t, "GET", h_fmt("/api/sync/history?%s", query), NULL);
	cr_assert_eq(r.status, 400, "%s: %s", query, r.body);
	cr_assert_not_null(strstr(r.body, h_fmt("\"field\":\"%s\"", field)), "%s: %s", query,
			   r.body);
	h_resp_free(&r);
}

Test(sync_manage, bad_bodies_and_queries_are_400_and_other_tenants_404)
{
	mlt_t t;
	mlt_start(&t, "77102", 1, NULL);
	assert_bad(&t, "{}", "types");
	assert_bad(&t, "{\"types\":[]}", "types");
	assert_bad(&t, "{\"types\":\"orders\"}", "types");
	assert_bad(&t, "{\"types\":[\"bogus\"]}", "types");
	assert_bad(&t, "{\"types\":[\"orders\",\"orders\"]}", "types");
	assert_bad(&t, "{\"types\":[\"orders\"],\"accountId\":\"x\"}", "accountId");
	assert_bad(&t, "{\"types\":[\"orders\"],\"extra\":1}", "extra");
	assert_bad(&t, "{\"types\":[\"orders\"],\"dateRange\":3}", "dateRange");
	assert_bad(&t, "{\"types\":[\"orders\"],\"dateRange\":{}}", "dateRange.from");
	assert_bad(&t, "{\"types\":[\"orders\"],\"dateRange\":{\"from\":\"2026-02-30\"}}",
		   "dateRange.from");
	assert_bad(&t,
		   h_fmt("{\"types\":[\"orders\"],\"dateRange\":{\"from\":\"%s\",\"to\":\"%s\"}}",
			 day(-3), day(-5)),
		   "dateRange.to");
	assert_bad(&t, h_fmt("{\"types\":[\"orders\"],\"dateRange\":{\"from\":\"%s\"}}", day(-400)),
		   "dateRange.from");
	assert_bad(&t, h_fmt("{\"types\":[\"orders\"],\"dateRange\":{\"from\":\"%s\"}}", day(2)),
		   "dateRange.from");
	h_resp_t r = call(&t, "POST", "/api/sync/manual", "not json");
	cr_assert(r.status == 400 || r.status == 415, "%ld %s", r.status, r.body);
	h_resp_free(&r);

	assert_bad_query(&t, "type=bogus", "type");
	assert_bad_query(&t, "status=done", "status");
	assert_bad_query(&t, "startDate=yesterday", "startDate");
	assert_bad_query(&t, h_fmt("startDate=%s&endDate=%s", day(-1), day(-3)), "endDate");
	assert_bad_query(&t, "limit=500", "limit");

	/* Another tenant's account is not found; with no account at all there is nothing to do. */
	session_t other;
	ident_signup(&t.srv, &other);
	char acc[40];
	mlt_add(&t, &other, 0, 3600, acc, NULL);
	r = call(&t, "POST", "/api/sync/manual",
		 h_fmt("{\"types\":[\"orders\"],\"accountId\":\"%s\"}", acc));
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = call(&t, "POST", "/api/sync/manual", "{\"types\":[\"orders\"]}");
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "NOTHING_TO_SYNC");
	h_resp_free(&r);
	/* Nor does its status show the other tenant's account. */
	r = call(&t, "GET", "/api/sync/status", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.accounts")), 0, "%s", r.body);
	cr_assert_null(strstr(r.body, acc), "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.apiHealth.ml.status")),
			 "unknown", "%s", r.body);
	h_resp_free(&r);
	mlt_stop(&t);
}
