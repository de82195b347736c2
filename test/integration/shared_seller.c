/* One Mercado Livre seller connected by two tenants (issue 17 §5): a notification for the seller
 * is processed for every tenant that holds it, a broken duplicate never fails or loses it for the
 * other, and each tenant's stats count only what its own account received. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml_helpers.h"

TestSuite(shared_seller, .timeout = 240);

/* Connects seller i to s's tenant through the whole OAuth flow; the account id into id. */
static void connect_oauth(mlt_t *t, const session_t *s, size_t i, char id[40])
{
	h_resp_t r = ident_call(&t->srv, "GET", "/api/ml/oauth/start", s->access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char url[2300];
	snprintf(url, sizeof(url), "%s&seller=%lld",
		 json_string_value(h_json_path(r.json, "data.authorizationUrl")),
		 (long long)t->app.sellers[i]);
	h_resp_free(&r);
	r = h_http("GET", url, NULL, NULL);
	cr_assert_eq(r.status, 302, "%s", r.body);
	const char *loc = h_header(&r, "Location");
	cr_assert(loc && strncmp(loc, "http://app.test/cb?", 19) == 0, "%s", loc);
	char path[1200];
	snprintf(path, sizeof(path), "/api/ml/oauth/callback?%s", loc + 19);
	h_resp_free(&r);
	r = ident_call(&t->srv, "GET", path, NULL, NULL);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, 40, "%s", json_string_value(h_json_path(r.json, "data.account.id")));
	h_resp_free(&r);
}

/* A new order at marketsim, notified to sellerhub: its id. */
static long long new_order(mlt_t *t)
{
	char body[64];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)t->app.sellers[0]);
	h_resp_t r = msh_sim(&t->sim, "POST", "/_sim/orders", body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	long long id = (long long)json_integer_value(json_object_get(r.json, "id"));
	h_resp_free(&r);
	return id;
}

static long long orders_of(const char *account, long long order)
{
	return h_sql_int(
	    "SELECT count(*) FROM ml_orders WHERE account_id = '%s' AND ml_id = '%lld'", account,
	    order);
}

/* Waits until the order's notification is no longer pending; its status and note. */
static char *processed(long long order)
{
	const char *where = "resource = '/orders/%lld' AND status <> 'pending'";
	char sql[160];
	snprintf(sql, sizeof(sql), where, order);
	/* Generous: on a loaded host a transient failure (a refresh lock, a timeout) retries the
	 * job after its backoff. */
	cr_assert(H_WAIT_UNTIL(
		      h_sql_int("SELECT count(*) FROM ml_notifications WHERE %s", sql) >= 1, 60000),
		  "the notification of order %lld was not processed", order);
	return h_sql_text("SELECT status || ': ' || coalesce(note, '') FROM ml_notifications"
			  " WHERE %s ORDER BY id DESC LIMIT 1",
			  sql);
}

static json_t *stats(mlt_t *t, const session_t *s)
{
	h_resp_t r = ident_call(&t->srv, "GET", "/api/webhooks/stats", s->access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *data = json_incref(json_object_get(r.json, "data"));
	h_resp_free(&r);
	return data;
}

Test(shared_seller, a_broken_duplicate_never_fails_the_other_tenant)
{
	char seed[16];
	snprintf(seed, sizeof(seed), "%d", getpid());
	/* A database of its own: every server's janitor syncs whatever account is due in its
	 * database, and another test's server would call its own marketsim with these accounts'
	 * tokens and mark them expired. */
	h_database_private();
	const char *env[] = {"JOB_REDISPATCH_SECONDS=1", NULL};
	mlt_t t;
	mlt_start(&t, seed, 1, env);
	char target[256];
	snprintf(target, sizeof(target), "{\"url\":\"%s\"}", h_url(&t.srv, "/webhooks/ml"));
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/notifications/target", target);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	/* Tenants A then B connect the same seller. Marketsim, as Mercado Livre, keeps one grant
	 * per seller and application whose latest refresh token alone works: B's connection
	 * left A with a dead one. */
	session_t b;
	ident_signup(&t.srv, &b);
	char acct_a[40], acct_b[40];
	connect_oauth(&t, &t.owner, 0, acct_a);
	connect_oauth(&t, &b, 0, acct_b);
	cr_assert_str_neq(acct_a, acct_b);

	/* Both work: a notification reaches both tenants. */
	long long first = new_order(&t);
	char *st = processed(first);
	cr_expect_str_eq(st, "done: ", "the first notification: %s", st);
	free(st);
	cr_expect(
	    H_WAIT_UNTIL(orders_of(acct_a, first) == 1 && orders_of(acct_b, first) == 1, 10000),
	    "the order did not reach both tenants");

	/* The access tokens expire: B refreshes, A's refresh token is refused (invalid_grant),
	 * so A is the broken duplicate. */
	char body[64];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)t.app.sellers[0]);
	r = msh_sim(&t.sim, "POST", "/_sim/tokens/expire", body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	long long second = new_order(&t);
	st = processed(second);
	cr_expect_str_eq(st, "done: ", "the broken duplicate failed the notification: %s", st);
	free(st);
	cr_expect(H_WAIT_UNTIL(orders_of(acct_b, second) == 1, 10000),
		  "the valid tenant did not get the order");
	cr_expect_eq(orders_of(acct_a, second), 0);
	cr_expect_eq(h_sql_int("SELECT count(*) FROM accounts WHERE id = '%s' AND status = "
			       "'expired'",
			       acct_a),
		     1, "A's account is not marked expired");

	/* A's account is known broken now: the next one does not even try it. */
	long long third = new_order(&t);
	st = processed(third);
	cr_expect_str_eq(st, "done: ", "an expired duplicate failed the notification: %s", st);
	free(st);
	cr_expect(H_WAIT_UNTIL(orders_of(acct_b, third) == 1, 10000));
	cr_expect_eq(h_sql_int("SELECT count(*) FROM jobs WHERE kind = 'ml_notifications' AND "
			       "id IN (SELECT job_id FROM ml_notifications WHERE resource IN "
			       "('/orders/%lld', '/orders/%lld')) AND (status <> 'done' OR "
			       "last_error IS NOT NULL)",
			       second, third),
		     0, "a notification job failed or retried for the broken duplicate");

	/* B's stats: its three, all done. */
	json_t *sb = stats(&t, &b);
	cr_expect_geq(json_integer_value(h_json_path(sb, "byStatus.done")), 3, "%s",
		      json_dumps(sb, 0));
	cr_expect_null(h_json_path(sb, "byStatus.dead"));
	cr_expect_null(h_json_path(sb, "byStatus.pending"));
	json_decref(sb);

	/* A third tenant connecting the seller now sees none of what came before. */
	session_t c;
	ident_signup(&t.srv, &c);
	char acct_c[40];
	connect_oauth(&t, &c, 0, acct_c);
	json_t *sc = stats(&t, &c);
	cr_expect_eq(json_integer_value(json_object_get(sc, "total")), 0,
		     "a new tenant sees the seller's earlier notifications: %s", json_dumps(sc, 0));
	json_decref(sc);
	r = ident_call(&t.srv, "GET", "/api/webhooks/pending", c.access, NULL);
	cr_expect_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 0);
	h_resp_free(&r);
	/* ...and what arrives from now on, it does. */
	long long fourth = new_order(&t);
	st = processed(fourth);
	free(st);
	cr_expect(H_WAIT_UNTIL(orders_of(acct_c, fourth) == 1, 10000));
	sc = stats(&t, &c);
	cr_expect_eq(json_integer_value(json_object_get(sc, "total")), 1, "%s", json_dumps(sc, 0));
	json_decref(sc);
	mlt_stop(&t);
}
