/* Rate-exact sync when the provider's bucket is small: marketsim takes 200 requests/s with a
 * bucket of 50, sellerhubd is told so (ML_RATE=200, ML_BURST=50), and a whole backfill gets
 * no 429. Before ML_BURST the bucket held 0.9 x the rate (180) and started full. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ml_helpers.h"

TestSuite(sync_rate, .timeout = 120);

static long long sim_counter(mlt_t *t, const char *name)
{
	h_resp_t r = msh_sim(&t->sim, "GET", "/_sim/stats", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *v = json_object_get(r.json, name);
	long long n = v ? (long long)json_integer_value(v) : 0;
	h_resp_free(&r);
	return n;
}

Test(sync_rate, a_backfill_told_the_providers_burst_gets_no_429)
{
	mlt_t t;
	const char *args[] = {"--seed",	  "733", "--sellers",	 "1",	"--items", "600",
			      "--orders", "400", "--questions",	 "60",	"--rate",  "200",
			      "--burst",  "50",	 "--scroll-ttl", "300", NULL};
	const char *env[] = {"ML_RATE=200", "ML_BURST=50", NULL};
	mlt_start_args(&t, args, env);
	char acct[40], path[128];
	mlt_add(&t, &t.owner, 0, 3600, acct, NULL);
	/* Only the backfill calls Mercado Livre from here on. */
	snprintf(path, sizeof(path), "/api/ml-accounts/%s/pause", acct);
	h_resp_t r = ident_call(&t.srv, "PUT", path, t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	long long calls_before = sim_counter(&t, "requests");
	char body[160];
	snprintf(body, sizeof(body), "{\"accountId\":\"%s\",\"scope\":\"all\",\"days\":91}", acct);
	r = ident_call(&t.srv, "POST", "/api/sync/start", t.owner.access, body);
	cr_assert_eq(r.status, 202, "%s", r.body);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/sync/status?accountId=%s", acct);
	const char *status = NULL;
	double deadline = h_now() + 90;
	while (h_now() < deadline) {
		r = ident_call(&t.srv, "GET", path, t.owner.access, NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		const char *st = json_string_value(h_json_path(r.json, "data.run.status"));
		if (st && strcmp(st, "running") != 0) {
			status = strcmp(st, "success") == 0 ? "success" : "failed";
			if (!strcmp(status, "failed"))
				cr_log_error("run: %s", r.body);
			h_resp_free(&r);
			break;
		}
		h_resp_free(&r);
		usleep(50 * 1000);
	}
	cr_assert_not_null(status, "the backfill did not end within 90 s");
	cr_assert_str_eq(status, "success");
	long long calls = sim_counter(&t, "requests") - calls_before;
	cr_assert_gt(calls, 60, "the backfill made only %lld calls: too few to test the bucket",
		     calls);
	long long limited = sim_counter(&t, "rate_limited");
	cr_assert_eq(limited, 0, "%lld answers 429 during a %lld-call backfill", limited, calls);
	mlt_stop(&t);
}
