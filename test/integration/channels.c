/* The channels seam: GET /api/accounts across channels, POST /webhooks/:channel (an unknown
 * channel is 404, ml answers as it always did), and migration 0012 (every Mercado Livre account
 * and what references it carried into the accounts table, nothing lost). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml_helpers.h"

TestSuite(channels, .timeout = 90);

static json_t *account_of(json_t *list, const char *channel)
{
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a) if (strcmp(json_string_value(json_object_get(a, "channel")),
						  channel) == 0) return a;
	return NULL;
}

/* Another channel's account as its channel would store it: an id there, settings, a secret. */
static void insert_account(const char *tenant_id, const char *channel, const char *external_id)
{
	cr_assert_eq(
	    ident_sql("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
		      " settings, access_token_sealed) VALUES ('%s', '%s', '%s', 'Loja %s',"
		      " jsonb_build_object('region', 'na', 'marketplaceIds',"
		      " jsonb_build_array('A2Q3Y263D00KWC')),"
		      " 'v1:k:SECRET-%s')",
		      tenant_id, channel, external_id, external_id, external_id),
	    0);
}

Test(channels, accounts_lists_every_channel_of_the_tenant_and_filters_by_channel)
{
	mlt_t t;
	mlt_start(&t, "611", 2, NULL);
	char ml_id[40];
	mlt_add(&t, &t.owner, 0, 6 * 3600, ml_id, NULL);
	insert_account(t.owner.tenant_id, "amazon", "A1SELLER611");
	session_t other;
	ident_signup(&t.srv, &other);
	insert_account(other.tenant_id, "amazon", "A1OTHER611");

	h_resp_t r = ident_call(&t.srv, "GET", "/api/accounts", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *list = h_json_path(r.json, "data.accounts");
	cr_assert_eq(json_array_size(list), 2, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 2);
	json_t *ml = account_of(list, "ml"), *amz = account_of(list, "amazon");
	cr_assert(ml && amz, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(ml, "id")), ml_id);
	cr_assert_str_eq(json_string_value(json_object_get(amz, "externalId")), "A1SELLER611");
	cr_assert_str_eq(json_string_value(json_object_get(amz, "region")), "na");
	cr_assert_eq(json_array_size(json_object_get(amz, "marketplaceIds")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(amz, "status")), "active");
	cr_assert_not_null(json_object_get(ml, "tokenExpiresAt"));
	cr_assert_null(strstr(r.body, "SECRET"), "a sealed secret in %s", r.body);
	cr_assert_null(strstr(r.body, "A1OTHER611"), "another tenant's account in %s", r.body);
	h_resp_free(&r);

	r = ident_call(&t.srv, "GET", "/api/accounts?channel=ml", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.accounts")), 1, "%s", r.body);
	cr_assert_not_null(account_of(h_json_path(r.json, "data.accounts"), "ml"));
	h_resp_free(&r);

	r = ident_call(&t.srv, "GET", "/api/accounts?channel=nope", t.owner.access, NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED");
	h_resp_free(&r);

	/* /api/ml-accounts is Mercado Livre's view: the other channel's account is not in it. */
	r = ident_call(&t.srv, "GET", "/api/ml-accounts", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 1, "%s", r.body);
	h_resp_free(&r);
	char *amz_id = h_sql_text("SELECT id FROM accounts WHERE external_id = 'A1SELLER611'");
	char p[128];
	snprintf(p, sizeof(p), "/api/ml-accounts/%s", amz_id);
	r = ident_call(&t.srv, "GET", p, t.owner.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&t.srv, "DELETE", p, t.owner.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM accounts WHERE id = '%s'", amz_id), 1);
	free(amz_id);

	/* The other tenant sees its own only. */
	r = ident_call(&t.srv, "GET", "/api/accounts", other.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.accounts")), 1, "%s", r.body);
	cr_assert_null(strstr(r.body, ml_id));
	h_resp_free(&r);

	r = ident_call(&t.srv, "GET", "/api/accounts", NULL, NULL);
	cr_assert_eq(r.status, 401, "%s", r.body);
	h_resp_free(&r);
	mlt_stop(&t);
}

Test(channels, webhooks_for_an_unknown_channel_are_404_and_ml_is_stored)
{
	/* A job queue of its own: the notification's job runs here, not in another test's server.
	 */
	char queue[64];
	snprintf(queue, sizeof(queue), "JOB_QUEUE=channels-%d", (int)getpid());
	const char *env[] = {queue, NULL};
	h_proc_t srv;
	cr_assert(h_server_start(&srv, env));
	char nid[64], body[512];
	snprintf(nid, sizeof(nid), "chan-%d-%ld", (int)getpid(), random());
	snprintf(body, sizeof(body),
		 "{\"_id\":\"%s\",\"resource\":\"/orders/1\",\"user_id\":611,\"topic\":"
		 "\"orders_v2\",\"application_id\":1,\"attempts\":1}",
		 nid);
	const char *json[] = {"Content-Type: application/json", NULL};
	h_resp_t r = h_http("POST", h_url(&srv, "/webhooks/nope"), body, json);
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "\"NOT_FOUND\""), "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id = '%s'", nid),
	    0);

	r = h_http("POST", h_url(&srv, "/webhooks/ml"), body, json);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(r.body, "{\"success\":true}");
	h_resp_free(&r);
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id = '%s'", nid),
	    1);
	/* Its job ran here and /metrics counts it (an orphan: no account has user 611). */
	double done = 0, deadline = h_now() + 20;
	while (done < 1 && h_now() < deadline) {
		h_resp_t m = h_http("GET", h_url(&srv, "/metrics"), NULL, NULL);
		const char *line =
		    m.body ? strstr(m.body, "sellerhub_jobs_total{event=\"done\"} ") : NULL;
		done = line ? atof(strchr(line, '}') + 2) : 0;
		h_resp_free(&m);
		if (done < 1)
			usleep(20 * 1000);
	}
	cr_assert_geq(done, 1, "no job counted done in /metrics");
	/* A malformed one is still Mercado Livre's 400. */
	r = h_http("POST", h_url(&srv, "/webhooks/ml"), "{\"topic\":\"items\"}", json);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "INVALID_NOTIFICATION"), "%s", r.body);
	h_resp_free(&r);
	h_server_stop_clean(&srv);
}

/* A private database migrated to 0011, given accounts and data, then migrated on. */
Test(channels, migration_0012_keeps_every_account_and_what_references_it)
{
	const char *url = h_private_db_at(11);
	cr_assert_eq(
	    h_sh("psql -X -q '%s' -v ON_ERROR_STOP=1 -c \""
		 "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', "
		 "'A'),"
		 " ('00000000-0000-0000-0000-00000000000b', 'B');"
		 "INSERT INTO ml_accounts (tenant_id, ml_user_id, nickname, email, site_id,"
		 " account_type, is_primary, access_token_sealed, refresh_token_sealed,"
		 " token_expires_at, error_count) SELECT CASE WHEN g %% 2 = 0 THEN"
		 " '00000000-0000-0000-0000-00000000000a'::uuid ELSE"
		 " '00000000-0000-0000-0000-00000000000b'::uuid END, 1000 + g, 'seller' || g,"
		 " CASE WHEN g < 4 THEN 's' || g || '@x.com' END, CASE WHEN g = 5 THEN 'MLA' ELSE"
		 " 'MLB' END, 'store', g < 2, 'v1:k:a' || g, 'v1:k:r' || g, now() + g * interval"
		 " '1 hour', g FROM generate_series(0, 5) g;"
		 "INSERT INTO ml_items (tenant_id, account_id, ml_id, last_updated, raw)"
		 " SELECT tenant_id, id, 'MLB' || ml_user_id, now(), '{}' FROM ml_accounts;"
		 "INSERT INTO ml_orders (tenant_id, account_id, ml_id, status, date_created,"
		 " last_updated, raw) SELECT tenant_id, id, ml_user_id, 'paid', now(), now(), '{}'"
		 " FROM ml_accounts;\" >/dev/null",
		 url),
	    0);
	/* Every column the accounts had, as one digest. */
	static const char digest[] =
	    "SELECT md5(string_agg(concat_ws('|', id, tenant_id, ml_user_id, nickname, email,"
	    " site_id, account_type, is_primary, access_token_sealed, refresh_token_sealed,"
	    " token_expires_at, error_count, status, sync_interval_ms), ',' ORDER BY id))"
	    " FROM ml_accounts";
	char out[600];
	snprintf(out, sizeof(out), "%s/digest-%d", h_env("SH_TEST_DIR"), (int)getpid());
	cr_assert_eq(h_sh("psql -X -tA '%s' -c \"%s\" > '%s.before'", url, digest, out), 0);
	long long orders = h_sql_int_at(url, "SELECT count(*) FROM ml_orders");
	long long items = h_sql_int_at(url, "SELECT count(*) FROM ml_items");
	cr_assert_eq(orders, 6);

	cr_assert_eq(h_migrate(url), 0);
	cr_assert_geq(h_sql_int_at(url, "SELECT max(version) FROM schema_migrations"), 12);
	cr_assert_eq(h_sh("psql -X -tA '%s' -c \"%s\" > '%s.after'", url, digest, out), 0);
	cr_assert_eq(h_sh("cmp -s '%s.before' '%s.after'", out, out), 0,
		     "the accounts read through ml_accounts changed");
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM accounts WHERE channel = 'ml'"), 6);
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM accounts WHERE external_id ="
				       " (1000 + error_count)::text AND settings->>'accountType' ="
				       " 'store'"),
		     6);
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM ml_orders o JOIN accounts a"
				       " ON a.id = o.account_id"),
		     orders);
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM ml_items i JOIN accounts a"
				       " ON a.id = i.account_id"),
		     items);
	/* The per-day order totals still find their account (their function named the table). */
	cr_assert_eq(h_sql_int_at(url, "SELECT sum(orders) FROM ml_order_days"
				       " WHERE day = '-infinity'"),
		     orders);
	cr_assert_eq(
	    h_sh("psql -X -q '%s' -v ON_ERROR_STOP=1 -c \"INSERT INTO ml_orders"
		 " (tenant_id, account_id, ml_id, status, date_created, last_updated, raw)"
		 " SELECT tenant_id, id, 99, 'paid', now(), now(), '{}' FROM accounts LIMIT 1\""
		 " >/dev/null",
		 url),
	    0);
	cr_assert_eq(h_sql_int_at(url, "SELECT sum(orders) FROM ml_order_days"
				       " WHERE day = '-infinity'"),
		     orders + 1);
	h_private_db_drop(url);
}
