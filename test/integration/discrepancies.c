/* Stock discrepancies (issue 19) against marketsim's Tiny v2: the janitor's scheduled detection
 * (INVENTORY_DETECT_MS) finds a SKU whose truth, Tiny's balance and a linked listing disagree,
 * with the three numbers and an age that grows; a reconcile from the ERP is a durable job whose
 * report says what it fixed and skipped, and the discrepancy it fixed is gone; bad bodies are
 * 400, a member may not reconcile, and another tenant's SKUs, listings and reconciles are never
 * seen or touched. Each test has its own database (the detection reads every tenant). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiny_helpers.h"

static h_proc_t sim, srv;
static char env[3][512];
static int seq;

static void start(void)
{
	h_database_private();
	const char *args[] = {"--tiny-companies", "1", "--tiny-limit", "6000", NULL};
	msh_start(&sim, NULL, args);
	snprintf(env[0], sizeof(env[0]), "TINY_API_URL=%s", h_url(&sim, "/api2/"));
	snprintf(env[1], sizeof(env[1]), "INVENTORY_DETECT_MS=300");
	/* No scheduled Tiny import: it would set on hand to Tiny's balance again. */
	snprintf(env[2], sizeof(env[2]), "SYNC_SWEEP_MS=3600000");
	const char *e[] = {env[0], env[1], env[2], NULL};
	cr_assert(h_server_start(&srv, e), "sellerhubd did not start");
}

static void stop(void)
{
	cr_expect_eq(h_proc_stop(&srv, 15), 0);
	msh_stop(&sim);
}

TestSuite(discrepancies, .init = start, .fini = stop, .timeout = 120);

static json_t *company(void)
{
	return tnh_company(&sim, 0);
}

static void company_set(const char *json)
{
	json_t *c = company();
	const char *path = h_fmt("/_sim/tiny/companies/%lld",
				 (long long)json_integer_value(json_object_get(c, "id")));
	json_decref(c);
	h_resp_t r = msh_sim(&sim, "POST", path, json);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

typedef struct shop {
	session_t owner;
	char tiny[40], ml[40];
} shop_t;

/* A tenant with an ML account (SQL: no connect flow needed here) and, when tiny, the company's
 * Tiny account connected and its catalogue imported through the API. */
static void shop_new(shop_t *s, bool tiny)
{
	ident_signup(&srv, &s->owner);
	tnh_account_row(s->owner.tenant_id, "ml", s->ml);
	if (!tiny)
		return;
	tnh_connect(&srv, &sim, &s->owner, s->tiny);
	const char *body = h_fmt("{\"accountId\":\"%s\",\"scope\":\"items\",\"days\":30}", s->tiny);
	long long job = 0;
	h_resp_t r;
	cr_assert(H_WAIT_UNTIL(({
				       r = ident_call(&srv, "POST", "/api/sync/start",
						      s->owner.access, body);
				       if (r.status == 202)
					       job = json_integer_value(
						   h_json_path(r.json, "data.jobId"));
				       h_resp_free(&r);
				       job > 0;
			       }),
			       60000),
		  "the import did not start");
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE job_id = %lld"
					 " AND status = 'success'",
					 job) == 1,
			       100000),
		  "the import did not succeed");
}

/* A listing of the shop's ML account linked to sku (as a sync writes it); its id into id. */
static void add_listing(const shop_t *s, const char *sku, long long qty, const char *logistic,
			char *id)
{
	char *v = h_sql_text("INSERT INTO listings (tenant_id, account_id, channel, external_id,"
			     " title, sku, available_quantity, status, logistic_type, last_updated,"
			     " raw) VALUES ('%s', '%s', 'ml', 'MLB%d%d', 'Listing', '%s', %lld,"
			     " 'active', %s, now(), '{}') RETURNING id",
			     s->owner.tenant_id, s->ml, getpid(), ++seq, sku, qty,
			     logistic ? h_fmt("'%s'", logistic) : "NULL");
	snprintf(id, 40, "%.36s", v);
	free(v);
}

static h_resp_t get(const session_t *s, const char *path)
{
	h_resp_t r = ident_call(&srv, "GET", path, s->access, NULL);
	cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
	return r;
}

/* The entry of sku in GET /api/inventory/discrepancies (a new reference), NULL when absent. */
static json_t *entry(const session_t *s, const char *sku)
{
	h_resp_t r = get(s, h_fmt("/api/inventory/discrepancies?sku=%s", sku));
	json_t *e = json_incref(h_json_path(r.json, "data.discrepancies.0"));
	h_resp_free(&r);
	return e;
}

static long long int_at(json_t *root, const char *path)
{
	json_t *v = h_json_path(root, path);
	cr_assert(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

static const char *str_at(json_t *root, const char *path)
{
	const char *v = json_string_value(h_json_path(root, path));
	cr_assert_not_null(v, "%s is not a string", path);
	return v;
}

static bool kind_is(const session_t *s, const char *sku, const char *kind)
{
	json_t *e = entry(s, sku);
	bool is = kind ? e && strcmp(str_at(e, "kind"), kind) == 0 : e == NULL;
	json_decref(e);
	return is;
}

/* POST /api/inventory/reconcile body as s: 202 and the job's report once it is done. */
static json_t *reconcile(const session_t *s, const char *body, long long *job)
{
	h_resp_t r = ident_call(&srv, "POST", "/api/inventory/reconcile", s->access, body);
	cr_assert_eq(r.status, 202, "%s", r.body);
	*job = int_at(r.json, "data.jobId");
	h_resp_free(&r);
	json_t *done = NULL;
	cr_assert(H_WAIT_UNTIL(({
				       r = get(s, h_fmt("/api/inventory/reconcile/%lld", *job));
				       json_t *d = h_json_path(r.json, "data");
				       if (strcmp(str_at(d, "status"), "done") == 0)
					       done = json_incref(d);
				       h_resp_free(&r);
				       done != NULL;
			       }),
			       20000),
		  "reconcile %lld did not end", *job);
	return done;
}

static long long on_hand(const shop_t *s, const char *sku)
{
	return h_sql_int("SELECT on_hand FROM products WHERE tenant_id = '%s' AND sku = '%s'",
			 s->owner.tenant_id, sku);
}

Test(discrepancies, detected_with_three_numbers_aged_and_reconciled_from_the_erp)
{
	shop_t s;
	shop_new(&s, true);
	char s1[128], s2[128], listing[40];
	long long b1 = tnh_plain_product(&sim, 0, s1, sizeof(s1));
	long long b2 = tnh_plain_product(&sim, 1, s2, sizeof(s2));
	/* The import kept Tiny's balance apart from on hand. */
	cr_assert_eq(h_sql_int("SELECT erp_on_hand FROM products WHERE tenant_id = '%s' AND"
			       " sku = '%s'",
			       s.owner.tenant_id, s1),
		     b1);
	cr_assert_eq(on_hand(&s, s1), b1);
	add_listing(&s, s1, b1, NULL, listing);
	char *first = h_sql_text("SELECT to_char(now() AT TIME ZONE 'UTC',"
				 " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");

	/* Tiny's stock of s1 moves in the warehouse; its webhook tells sellerhub, which now has
	 * b1 + 5 while the listing still shows b1. */
	company_set(h_fmt("{\"webhook_url\":\"%s\"}", h_url(&srv, "/webhooks/tiny")));
	json_t *c = company();
	h_resp_t r =
	    msh_sim(&sim, "POST", "/_sim/tiny/stock",
		    h_fmt("{\"company_id\":%lld,\"codigo\":\"%s\",\"quantidade\":%lld}",
			  (long long)json_integer_value(json_object_get(c, "id")), s1, b1 + 5));
	json_decref(c);
	cr_assert(r.status == 200 || r.status == 201, "%s", r.body);
	h_resp_free(&r);
	cr_assert(H_WAIT_UNTIL(on_hand(&s, s1) == b1 + 5, 20000), "the webhook did not arrive");
	company_set("{\"webhook_url\":null}"); /* from now on Tiny's balance stays as it is */
	cr_assert(H_WAIT_UNTIL(kind_is(&s.owner, s1, "listing"), 10000), "not detected");
	json_t *e = entry(&s.owner, s1);
	cr_assert_eq(int_at(e, "truth.onHand"), b1 + 5);
	cr_assert_eq(int_at(e, "truth.available"), b1 + 5);
	cr_assert_eq(int_at(e, "erp.onHand"), b1 + 5);
	cr_assert(json_is_true(h_json_path(e, "erp.matches")));
	cr_assert_str_eq(str_at(e, "erp.channel"), "tiny");
	cr_assert_str_eq(str_at(e, "erp.accountId"), s.tiny);
	cr_assert_eq(json_array_size(json_object_get(e, "listed")), 1);
	cr_assert_eq(int_at(e, "listed.0.qty"), b1);
	cr_assert_str_eq(str_at(e, "listed.0.listingId"), listing);
	cr_assert_str_eq(str_at(e, "listed.0.channel"), "ml");
	/* Its age is real: since stays, the age grows. */
	char since[40];
	snprintf(since, sizeof(since), "%s", str_at(e, "since"));
	cr_assert_gt(strcmp(since, first), 0, "since %s before the test began %s", since, first);
	free(first);
	json_decref(e);
	cr_assert(H_WAIT_UNTIL(({
				       e = entry(&s.owner, s1);
				       bool older = e && int_at(e, "ageSeconds") >= 2 &&
						    strcmp(str_at(e, "since"), since) == 0;
				       json_decref(e);
				       older;
			       }),
			       10000),
		  "the age did not grow");

	/* s2 counted by hand: on hand differs from Tiny's balance. */
	r = ident_call(&srv, "PUT", h_fmt("/api/inventory/%s", s2), s.owner.access,
		       h_fmt("{\"onHand\":%lld}", b2 + 3));
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	cr_assert(H_WAIT_UNTIL(kind_is(&s.owner, s2, "erp"), 10000), "not detected");
	e = entry(&s.owner, s2);
	cr_assert_eq(int_at(e, "truth.onHand"), b2 + 3);
	cr_assert_eq(int_at(e, "erp.onHand"), b2);
	cr_assert(json_is_false(h_json_path(e, "erp.matches")));
	cr_assert_eq(json_array_size(json_object_get(e, "listed")), 0);
	json_decref(e);

	/* Filters and paging. */
	static const struct {
		const char *query;
		int n;
		int which; /* 1: s1 first, 2: s2 first */
	} cases[] = {{"", 2, 0},
		     {"?kind=erp", 1, 2},
		     {"?kind=listing", 1, 1},
		     {"?channel=tiny", 1, 2},
		     {"?channel=ml", 1, 1},
		     {"?channel=amazon", 0, 0},
		     {"?limit=1&page=2", 1, 0}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		r = get(&s.owner, h_fmt("/api/inventory/discrepancies%s", cases[i].query));
		json_t *rows = h_json_path(r.json, "data.discrepancies");
		cr_assert_eq(json_array_size(rows), (size_t)cases[i].n, "%s: %s", cases[i].query,
			     r.body);
		if (cases[i].which)
			cr_assert_str_eq(str_at(rows, "0.sku"), cases[i].which == 1 ? s1 : s2,
					 "%s: %s", cases[i].query, r.body);
		if (strstr(cases[i].query, "limit"))
			cr_assert_eq(int_at(r.json, "data.pagination.total"), 2, "%s", r.body);
		h_resp_free(&r);
	}

	/* Reconcile from the ERP: s2 takes Tiny's balance; s1 already equals it; NOPE is unknown.
	 */
	long long job;
	json_t *d = reconcile(
	    &s.owner,
	    h_fmt("{\"source\":\"erp\",\"skus\":[\"%s\",\"%s\",\"NOPE-%d\"]}", s2, s1, getpid()),
	    &job);
	cr_assert_eq(int_at(d, "report.counts.fixed"), 1, "%s", json_dumps(d, 0));
	cr_assert_eq(int_at(d, "report.counts.skipped"), 2);
	cr_assert_eq(int_at(d, "report.counts.failed"), 0);
	cr_assert_str_eq(str_at(d, "report.fixed.0.sku"), s2);
	cr_assert_eq(int_at(d, "report.fixed.0.from"), b2 + 3);
	cr_assert_eq(int_at(d, "report.fixed.0.to"), b2);
	cr_assert_str_eq(str_at(d, "source"), "erp");
	cr_assert(json_is_string(h_json_path(d, "finishedAt")));
	json_decref(d);
	cr_assert_eq(on_hand(&s, s2), b2);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM stock_changes WHERE tenant_id = '%s' AND"
			       " sku = '%s' AND cause = 'reconcile' AND ref = 'reconcile job %lld'",
			       s.owner.tenant_id, s2, job),
		     1);
	/* The job detected again: s2's discrepancy is gone at once, s1's listing remains. */
	cr_assert(kind_is(&s.owner, s2, NULL), "s2 still listed");
	cr_assert(kind_is(&s.owner, s1, "listing"));

	/* all: true fixes what mismatches now: nothing left for the ERP. */
	d = reconcile(&s.owner, "{\"source\":\"erp\",\"all\":true}", &job);
	cr_assert_eq(int_at(d, "report.counts.fixed"), 0, "%s", json_dumps(d, 0));
	cr_assert(json_is_true(json_object_get(d, "all")));
	json_decref(d);

	/* The listing catches up (as a push or a sync would write it): the janitor clears s1. */
	h_sql_ok("UPDATE listings SET available_quantity = %lld WHERE id = '%s'", b1 + 5, listing);
	cr_assert(H_WAIT_UNTIL(kind_is(&s.owner, s1, NULL), 10000), "s1 still listed");
}

/* Tenants a and b, plain SQL (the Tiny account is a row: no call to Tiny is made here), each
 * with SKU-1 whose ERP balance is 10 and on hand 7. */
static void sql_shop(shop_t *s)
{
	shop_new(s, false);
	tnh_account_row(s->owner.tenant_id, "tiny", s->tiny);
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, source, erp_account_id, erp_id)"
		 " VALUES ('%s', 'SKU-1', 'Caneca', 'erp', '%s', '1')",
		 s->owner.tenant_id, s->tiny);
	h_sql_ok("SELECT stock_set_erp_balance('%s', 'SKU-1', 10, 'test')", s->owner.tenant_id);
	h_sql_ok("SELECT stock_set_on_hand('%s', 'SKU-1', 7, 'manual', 'test')",
		 s->owner.tenant_id);
}

static void assert_invalid(const session_t *s, const char *body, const char *field)
{
	h_resp_t r = ident_call(&srv, "POST", "/api/inventory/reconcile", s->access, body);
	cr_assert_eq(r.status, 400, "%s: %s", body, r.body);
	cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED", "%s", r.body);
	cr_assert_not_null(strstr(r.body, h_fmt("\"field\":\"%s\"", field)), "%s: %s", body,
			   r.body);
	h_resp_free(&r);
}

Test(discrepancies, bad_bodies_are_400_and_only_owners_and_admins_reconcile)
{
	shop_t s;
	sql_shop(&s);
	char many[16384] = "{\"source\":\"erp\",\"skus\":[";
	for (int i = 0; i <= 1000; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"S%d\"",
			 i ? "," : "", i);
	strcat(many, "]}");
	static const struct {
		const char *body, *field;
	} bad[] = {
	    {"{\"source\":\"warehouse\",\"all\":true}", "source"},
	    {"{\"all\":true}", "source"},
	    {"{\"source\":\"erp\"}", "skus"},
	    {"{\"source\":\"erp\",\"all\":true,\"skus\":[\"SKU-1\"]}", "skus"},
	    {"{\"source\":\"erp\",\"all\":false}", "all"},
	    {"{\"source\":\"erp\",\"all\":\"yes\"}", "all"},
	    {"{\"source\":\"erp\",\"skus\":[]}", "skus"},
	    {"{\"source\":\"erp\",\"skus\":\"SKU-1\"}", "skus"},
	    {"{\"source\":\"erp\",\"skus\":[1]}", "skus"},
	    {"{\"source\":\"erp\",\"skus\":[\"\"]}", "skus"},
	    {"{\"source\":\"erp\",\"all\":true,\"dryRun\":true}", "dryRun"},
	    {"[\"SKU-1\"]", "body"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_invalid(&s.owner, bad[i].body, bad[i].field);
	assert_invalid(&s.owner, many, "skus");
	h_resp_t r = ident_call(&srv, "GET", "/api/inventory/discrepancies?kind=stock",
				s.owner.access, NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	h_resp_free(&r);
	/* Nothing was queued. */
	cr_assert_eq(h_sql_int("SELECT count(*) FROM inventory_reconciles WHERE tenant_id = '%s'",
			       s.owner.tenant_id),
		     0);

	/* A member sees the discrepancies but may not reconcile; an admin may. */
	session_t member, admin;
	ident_add_user(&srv, &s.owner, "member", &member);
	ident_add_user(&srv, &s.owner, "admin", &admin);
	cr_assert(H_WAIT_UNTIL(kind_is(&member, "SKU-1", "erp"), 10000));
	r = ident_call(&srv, "POST", "/api/inventory/reconcile", member.access,
		       "{\"source\":\"erp\",\"all\":true}");
	cr_assert_eq(r.status, 403, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(on_hand(&s, "SKU-1"), 7);
	long long job;
	json_t *d = reconcile(&admin, "{\"source\":\"erp\",\"all\":true}", &job);
	cr_assert_eq(int_at(d, "report.counts.fixed"), 1);
	cr_assert_str_eq(str_at(d, "requestedBy"), admin.user_id);
	json_decref(d);
	cr_assert_eq(on_hand(&s, "SKU-1"), 10);
	r = ident_call(&srv, "GET", "/api/inventory/reconcile/abc", s.owner.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
}

/* The qty sku's entry lists for variation, -1 when it lists none. */
static long long listed_variation(const session_t *s, const char *sku, const char *variation)
{
	json_t *e = entry(s, sku);
	long long qty = -1;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(e, "listed"), i, v)
	{
		const char *var = json_string_value(json_object_get(v, "variation"));
		if (var && strcmp(var, variation) == 0)
			qty = json_integer_value(json_object_get(v, "qty"));
	}
	json_decref(e);
	return qty;
}

Test(discrepancies, another_tenants_skus_listings_and_reconciles_are_invisible)
{
	shop_t a, b;
	sql_shop(&a);
	sql_shop(&b);
	char la[40], lb[40], fba[40], closed[40];
	add_listing(&a, "SKU-1", 7, NULL, la);
	add_listing(&b, "SKU-1", 3, NULL, lb);
	/* Stock the channel holds itself (FBA, Full) and closed listings are not compared. */
	add_listing(&a, "SKU-1", 99, "fulfillment", fba);
	add_listing(&a, "SKU-1", 55, NULL, closed);
	h_sql_ok("UPDATE listings SET status = 'closed' WHERE id = '%s'", closed);
	cr_assert(H_WAIT_UNTIL(
	    kind_is(&a.owner, "SKU-1", "erp") && kind_is(&b.owner, "SKU-1", "both"), 10000));
	h_resp_t r = get(&a.owner, "/api/inventory/discrepancies");
	cr_assert_eq(int_at(r.json, "data.pagination.total"), 1, "%s", r.body);
	cr_assert_null(strstr(r.body, lb), "b's listing: %s", r.body);
	cr_assert_null(strstr(r.body, b.tiny), "b's account: %s", r.body);
	cr_assert_null(strstr(r.body, fba), "an FBA listing: %s", r.body);
	cr_assert_null(strstr(r.body, closed), "a closed listing: %s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.discrepancies.0.listed")), 0);
	h_resp_free(&r);

	/* b's reconcile is not a's to read; a's reconcile of SKU-1 touches a's SKU only. */
	long long job_b, job_a;
	json_t *d = reconcile(&b.owner, "{\"source\":\"erp\",\"skus\":[\"SKU-1\"]}", &job_b);
	json_decref(d);
	r = ident_call(&srv, "GET", h_fmt("/api/inventory/reconcile/%lld", job_b), a.owner.access,
		       NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	h_sql_ok("SELECT stock_set_on_hand('%s', 'SKU-1', 4, 'manual', 'test')", b.owner.tenant_id);
	d = reconcile(&a.owner, "{\"source\":\"erp\",\"skus\":[\"SKU-1\"]}", &job_a);
	cr_assert_eq(int_at(d, "report.counts.fixed"), 1);
	json_decref(d);
	cr_assert_eq(on_hand(&a, "SKU-1"), 10);
	cr_assert_eq(on_hand(&b, "SKU-1"), 4, "a's reconcile changed b's stock");
	/* a now matches Tiny, but its listing shows 7 of 10. */
	cr_assert(kind_is(&a.owner, "SKU-1", "listing"));
	cr_assert(H_WAIT_UNTIL(kind_is(&b.owner, "SKU-1", "both"), 10000));

	/* A listing with variations is compared by the variation linked to the SKU (2 of 10), not
	 * by its own total (50). */
	char lv[40];
	add_listing(&a, "SKU-1", 50, NULL, lv);
	h_sql_ok("UPDATE listings SET variation_count = 2 WHERE id = '%s'", lv);
	h_sql_ok("INSERT INTO listing_variations (listing_id, tenant_id, account_id, channel,"
		 " external_id, sku, available_quantity) VALUES ('%s', '%s', '%s', 'ml', '901',"
		 " 'SKU-1', 2), ('%s', '%s', '%s', 'ml', '902', NULL, 48)",
		 lv, a.owner.tenant_id, a.ml, lv, a.owner.tenant_id, a.ml);
	/* (A detection between the insert and the update saw a plain listing of 50: wait for the
	 * variation.) */
	cr_assert(H_WAIT_UNTIL(listed_variation(&a.owner, "SKU-1", "901") == 2, 10000),
		  "the variation was not detected");
	json_t *e = entry(&a.owner, "SKU-1");
	cr_assert_eq(json_array_size(json_object_get(e, "listed")), 2, "the listing's total too");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(e, "listed"), i, v)
	{
		cr_assert_neq(int_at(v, "qty"), 50, "the listing's own total was compared");
		if (strcmp(str_at(v, "listingId"), lv) == 0)
			cr_assert_str_eq(str_at(v, "variation"), "901");
	}
	json_decref(e);
}
