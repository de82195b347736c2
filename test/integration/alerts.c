/* Alerts end to end: each type fires once per episode against real rows (a stock change through
 * the inventory API, the janitor's sweep for the rest), clears itself when the condition ends and
 * fires anew when it comes back; the webhook reaches an HTTP sink signed with the rule's secret
 * (checked here with OpenSSL), a 500 is retried; e-mail reaches an SMTP sink; quiet hours delay
 * the delivery, not the alert; bad settings are 400 naming the field; another tenant's alert is
 * 404; the dashboard and realtime count what is active. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert_sinks.h"
#include "ident.h"

TestSuite(alerts, .timeout = 120);

#define SECRET "whsec-0123456789abcdef"

/* Each test on a database of its own: a server's janitor and outbox take every tenant's work,
 * and another test's server would deliver this test's alerts (and stop half way). */
static bool start(h_proc_t *srv, const char *extra)
{
	h_database_private();
	const char *env[] = {"ALERT_SWEEP_MS=250", "ALERT_OUTBOX_MS=100", extra, NULL};
	return h_server_start(srv, env);
}

static h_resp_t call(const h_proc_t *s, const session_t *who, const char *method, const char *path,
		     const char *body)
{
	return ident_call(s, method, path, who->access, body);
}

static void product(const char *tenant, const char *sku, int stock, const char *extra_cols,
		    const char *extra_vals)
{
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, on_hand, available%s)"
		 " VALUES ('%s', '%s', 'Item %s', %d, %d%s)",
		 extra_cols, tenant, sku, sku, stock, stock, extra_vals);
}

/* PUT /api/inventory/:sku {onHand}: a stock change, whose SKU the server evaluates within
 * ALERT_OUTBOX_MS. */
static void set_stock(const h_proc_t *s, const session_t *who, const char *sku, int on_hand)
{
	h_resp_t r =
	    call(s, who, "PUT", h_fmt("/api/inventory/%s", sku), h_fmt("{\"onHand\":%d}", on_hand));
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

static long long episodes(const char *tenant, const char *type, const char *ref)
{
	return h_sql_int("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND type = '%s'"
			 " AND ref = '%s'",
			 tenant, type, ref);
}

static long long open_episodes(const char *tenant, const char *type, const char *ref)
{
	return h_sql_int("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND type = '%s'"
			 " AND ref = '%s' AND cleared_at IS NULL AND status = 'active'",
			 tenant, type, ref);
}

/* Two more sweeps of the janitor have run: a marker product of a throw-away tenant's (no
 * stock change, so only the janitor sees it) fires, twice over. */
static void two_sweeps(const h_proc_t *srv)
{
	for (int i = 0; i < 2; i++) {
		session_t t;
		ident_signup(srv, &t);
		product(t.tenant_id, "MARK", 0, "", "");
		cr_assert(H_WAIT_UNTIL(open_episodes(t.tenant_id, "STOCK_OUT", "MARK") == 1, 10000),
			  "the janitor did not sweep");
	}
}

/* The next tenant_events payload on c that names tenant (NULL after 5 s without one). */
static char *next_event(PGconn *c, const char *tenant)
{
	h_wait_t w = h_wait_begin(5000);
	do {
		struct pollfd p = {PQsocket(c), POLLIN, 0};
		poll(&p, 1, 50);
		PQconsumeInput(c);
		for (PGnotify *n; (n = PQnotifies(c));) {
			char *payload = strstr(n->extra, tenant) ? strdup(n->extra) : NULL;
			PQfreemem(n);
			if (payload)
				return payload;
		}
	} while (h_wait_more(&w));
	return NULL;
}

Test(alerts, stock_out_fires_once_per_episode)
{
	h_proc_t srv;
	cr_assert(start(&srv, NULL));
	session_t a;
	ident_signup(&srv, &a);
	product(a.tenant_id, "CUP", 10, "", "");
	PGconn *listener = PQconnectdb(h_env("DATABASE_URL"));
	cr_assert_eq(PQstatus(listener), CONNECTION_OK);
	PQclear(PQexec(listener, "LISTEN tenant_events"));

	set_stock(&srv, &a, "CUP", 0);
	char *event = next_event(listener, a.tenant_id);
	cr_assert_not_null(event, "no tenant_events notification");
	json_t *ev = json_loads(event, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(ev, "event")), "alert", "%s", event);
	cr_assert_str_eq(json_string_value(h_json_path(ev, "data.type")), "STOCK_OUT", "%s", event);
	cr_assert_str_eq(json_string_value(h_json_path(ev, "data.severity")), "high", "%s", event);
	cr_assert_not_null(json_string_value(h_json_path(ev, "data.id")), "%s", event);
	json_decref(ev);
	free(event);
	PQfinish(listener);
	/* Fired by the stock change, not by the janitor's sweep (an hour away). */
	cr_assert(H_WAIT_UNTIL(open_episodes(a.tenant_id, "STOCK_OUT", "CUP") == 1, 5000));
	two_sweeps(&srv);
	cr_assert_eq(episodes(a.tenant_id, "STOCK_OUT", "CUP"), 1, "fired again while still out");

	h_resp_t r = call(&srv, &a, "GET", "/api/alerts?type=STOCK_OUT", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *list = h_json_path(r.json, "data.alerts");
	cr_assert_eq(json_array_size(list), 1, "%s", r.body);
	json_t *al = json_array_get(list, 0);
	cr_assert_str_eq(json_string_value(json_object_get(al, "ref")), "CUP");
	cr_assert_str_eq(json_string_value(json_object_get(al, "severity")), "high");
	cr_assert_str_eq(json_string_value(json_object_get(al, "status")), "active");
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.summary.unread")), 1, "%s",
		     r.body);
	h_resp_free(&r);

	/* Restocked: resolved; out again: a new episode. */
	set_stock(&srv, &a, "CUP", 20);
	cr_assert(H_WAIT_UNTIL(open_episodes(a.tenant_id, "STOCK_OUT", "CUP") == 0, 5000));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND ref = 'CUP'"
			       " AND status = 'resolved' AND resolved_at IS NOT NULL",
			       a.tenant_id),
		     1);
	set_stock(&srv, &a, "CUP", 0);
	cr_assert(H_WAIT_UNTIL(episodes(a.tenant_id, "STOCK_OUT", "CUP") == 2, 5000));
	cr_assert_eq(open_episodes(a.tenant_id, "STOCK_OUT", "CUP"), 1);

	/* Low, not out: STOCK_OUT clears, STOCK_LOW fires (default threshold 5). */
	set_stock(&srv, &a, "CUP", 4);
	cr_assert(H_WAIT_UNTIL(open_episodes(a.tenant_id, "STOCK_LOW", "CUP") == 1, 5000));
	cr_assert_eq(open_episodes(a.tenant_id, "STOCK_OUT", "CUP"), 0);

	/* The dashboard and realtime count the active ones. */
	r = call(&srv, &a, "GET", "/api/metrics/realtime", NULL);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.activeAlerts")), 1, "%s", r.body);
	h_resp_free(&r);
	h_server_stop_clean(&srv);
}

/* A Tiny account (no token grant: the janitor never refreshes it) for the account types. */
static char *account(const char *tenant, const char *ext)
{
	h_sql_ok("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
		 " access_token_sealed) VALUES ('%s', 'tiny', '%s', 'Loja %s', 'v1:k:x')",
		 tenant, ext, ext);
	return h_sql_text("SELECT id FROM accounts WHERE tenant_id = '%s' AND external_id = '%s'",
			  tenant, ext);
}

Test(alerts, every_type_fires_once_and_clears)
{
	h_proc_t srv;
	cr_assert(start(&srv, NULL));
	session_t a;
	ident_signup(&srv, &a);
	const char *t = a.tenant_id;
	char *failing = account(t, h_fmt("f%d", getpid()));
	char *expired = account(t, h_fmt("e%d", getpid()));
	char *expiring = account(t, h_fmt("x%d", getpid()));
	char *ml = h_sql_text("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
			      " access_token_sealed) VALUES ('%s', 'ml', '%d', 'ml', 'v1:k:x')"
			      " RETURNING id",
			      t, 700000 + getpid());
	h_sql_ok("UPDATE accounts SET last_sync_status = 'failed', error_count = 2 WHERE id = '%s';"
		 "UPDATE accounts SET status = 'expired' WHERE id = '%s';"
		 "UPDATE accounts SET token_expires_at = now() + interval '5 minutes'"
		 " WHERE id = '%s'",
		 failing, expired, expiring);
	/* Out: nothing left. Low: 2 left, its own mark 3. */
	product(t, "OVR", 0, "", "");
	product(t, "LOW", 2, ", min_stock_alert, cost", ", 3, 50");
	/* A listing of LOW selling at 40 below its cost 50. */
	char *listing = h_sql_text(
	    "INSERT INTO listings (tenant_id, account_id, channel, external_id, title, status,"
	    " price, sku, last_updated, raw) VALUES ('%s', '%s', 'ml', 'MLB%d', 'x', 'active', 40,"
	    " 'LOW', now(), '{}') RETURNING id",
	    t, ml, getpid());
	/* Paid 50 hours ago, not shipped; another shipped one of the same age. */
	char *late = h_sql_text(
	    "INSERT INTO orders (tenant_id, account_id, channel, external_id, status, date_created,"
	    " last_updated, total_amount, raw) VALUES ('%s', '%s', 'ml', 'L%d', 'paid',"
	    " now() - interval '50 hours', now(), 10, '{}') RETURNING id",
	    t, ml, getpid());
	h_sql_ok("INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
		 " date_created, last_updated, total_amount, raw) VALUES ('%s', '%s', 'ml', 'S%d',"
		 " 'shipped', now() - interval '50 hours', now(), 10, '{}')",
		 t, ml, getpid());
	/* An open order flagged oversold (the stock's guard, sql/0023), and a shipped one. */
	char *oversold = h_sql_text(
	    "INSERT INTO orders (tenant_id, account_id, channel, external_id, status, date_created,"
	    " last_updated, total_amount, raw, oversold) VALUES ('%s', '%s', 'ml', 'V%d', 'paid',"
	    " now(), now(), 10, '{}', true) RETURNING id",
	    t, ml, getpid());
	h_sql_ok(
	    "INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
	    " date_created, last_updated, total_amount, raw, oversold) VALUES ('%s', '%s', 'ml',"
	    " 'W%d', 'shipped', now(), now(), 10, '{}', true)",
	    t, ml, getpid());
	/* A question unanswered for 30 hours, one for 2. */
	char *question = h_sql_text(
	    "INSERT INTO ml_questions (tenant_id, account_id, ml_id, item_ml_id, status, text,"
	    " date_created, last_updated, raw) VALUES ('%s', '%s', %d, 'MLB1', 'UNANSWERED', 'Tem?',"
	    " now() - interval '30 hours', now(), '{}') RETURNING id",
	    t, ml, getpid());
	h_sql_ok("INSERT INTO ml_questions (tenant_id, account_id, ml_id, item_ml_id, status, text,"
		 " date_created, last_updated, raw) VALUES ('%s', '%s', %d, 'MLB1', 'UNANSWERED',"
		 " 'Cor?', now() - interval '2 hours', now(), '{}')",
		 t, ml, getpid() + 1);

	const char *fired[][2] = {
	    {"SYNC_FAILING", failing},
	    {"TOKEN_EXPIRED", expired},
	    {"TOKEN_EXPIRING", expiring},
	    {"OVERSOLD", oversold},
	    {"STOCK_OUT", "OVR"},
	    {"STOCK_LOW", "LOW"},
	    {"PRICE_BELOW_COST", listing},
	    {"ORDER_LATE", late},
	    {"QUESTION_UNANSWERED", question},
	};
	size_t n = sizeof(fired) / sizeof(fired[0]);
	for (size_t i = 0; i < n; i++)
		cr_assert(H_WAIT_UNTIL(open_episodes(t, fired[i][0], fired[i][1]) == 1, 10000),
			  "%s did not fire", fired[i][0]);
	two_sweeps(&srv);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(episodes(t, fired[i][0], fired[i][1]), 1, "%s fired again",
			     fired[i][0]);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM alerts WHERE tenant_id = '%s'", t), (long)n,
		     "something else fired: %s",
		     h_sql_text("SELECT string_agg(type || ' ' || ref, ', ') FROM alerts"
				" WHERE tenant_id = '%s'",
				t));

	/* Every condition ends: each episode clears by the next sweeps. */
	h_sql_ok(
	    "UPDATE accounts SET last_sync_status = 'success', error_count = 0;"
	    "UPDATE accounts SET status = 'active' WHERE id = '%s';"
	    "UPDATE accounts SET token_expires_at = now() + interval '5 hours' WHERE id = '%s';"
	    "UPDATE orders SET status = 'shipped' WHERE id IN ('%s', '%s');"
	    "UPDATE ml_questions SET status = 'ANSWERED' WHERE id = '%s';"
	    "UPDATE listings SET price = 90 WHERE id = '%s'",
	    expired, expiring, late, oversold, question, listing);
	set_stock(&srv, &a, "OVR", 10);
	set_stock(&srv, &a, "LOW", 30);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM alerts WHERE tenant_id = '%s'"
					 " AND cleared_at IS NULL",
					 t) == 0,
			       10000),
		  "%lld still open",
		  h_sql_int("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND"
			    " cleared_at IS NULL",
			    t));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM alert_activity WHERE tenant_id = '%s'"
			       " AND action = 'cleared'",
			       t),
		     (long)n);
	free(failing);
	free(expired);
	free(expiring);
	free(ml);
	free(listing);
	free(late);
	free(question);
	free(oversold);
	h_server_stop_clean(&srv);
}

static void settings(const h_proc_t *s, const session_t *who, const char *body)
{
	h_resp_t r = call(s, who, "POST", "/api/alerts/settings", body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_null(strstr(r.body, SECRET), "the secret came back: %s", r.body);
	h_resp_free(&r);
}

/* sha256=<hex HMAC-SHA256(SECRET, ts "." body)>, computed here with OpenSSL. */
static void expect_signed(const char *head, const char *body)
{
	char *ts = sink_header(head, "X-Sellerhub-Timestamp");
	char *sig = sink_header(head, "X-Sellerhub-Signature");
	cr_assert(ts && sig, "%s", head);
	cr_assert(labs(atol(ts) - (long)time(NULL)) < 300, "timestamp %s", ts);
	const char *text = h_fmt("%s.%s", ts, body);
	unsigned char mac[32];
	unsigned int len = 0;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)text, strlen(text),
	     mac, &len);
	char want[80] = "sha256=";
	for (unsigned i = 0; i < len; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
	cr_assert_str_eq(sig, want);
	free(ts);
	free(sig);
}

Test(alerts, webhook_signed_and_retried_after_500)
{
	int statuses[] = {500, 200, 0};
	sink_t hook;
	sink_start(&hook, false, statuses);
	h_proc_t srv;
	cr_assert(start(&srv, NULL));
	session_t a;
	ident_signup(&srv, &a);
	settings(&srv, &a,
		 h_fmt("{\"channels\":{\"webhook\":{\"url\":\"http://127.0.0.1:%d/hooks/alerts\","
		       "\"secret\":\"" SECRET "\"}},\"schedule\":{\"quietHours\":null}}",
		       hook.port));
	h_resp_t r = call(&srv, &a, "GET", "/api/alerts/settings", NULL);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.channels.webhook.secret")),
			 "********");
	h_resp_free(&r);

	product(a.tenant_id, "MUG", 10, "", "");
	set_stock(&srv, &a, "MUG", 0);
	cr_assert(H_WAIT_UNTIL(sink_count(&hook) == 2, 20000), "%d requests", sink_count(&hook));
	char *id =
	    h_sql_text("SELECT id FROM alerts WHERE tenant_id = '%s' AND ref = 'MUG'", a.tenant_id);
	for (int i = 0; i < 2; i++) {
		char *head = sink_head(&hook, i), *body = sink_body(&hook, i);
		cr_assert_not_null(strstr(head, "POST /hooks/alerts HTTP/1.1"), "%s", head);
		expect_signed(head, body);
		json_t *j = json_loads(body, 0, NULL);
		cr_assert_str_eq(json_string_value(json_object_get(j, "id")), id);
		cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "STOCK_OUT");
		cr_assert_str_eq(json_string_value(json_object_get(j, "ref")), "MUG");
		cr_assert_str_eq(json_string_value(json_object_get(j, "severity")), "high");
		cr_assert_not_null(json_string_value(json_object_get(j, "firedAt")));
		cr_assert_not_null(json_string_value(json_object_get(j, "title")));
		json_decref(j);
		free(head);
		free(body);
	}
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM alert_activity WHERE alert_id = '%s'"
					 " AND action = 'delivered'",
					 id) == 1,
			       5000));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM alert_activity WHERE alert_id = '%s'"
			       " AND action = 'delivery_failed'",
			       id),
		     1);
	char *log = h_proc_log(&srv);
	cr_assert_null(strstr(log, SECRET), "the secret is in the log");
	free(log);
	free(id);
	h_server_stop_clean(&srv);
	sink_stop(&hook);
}

Test(alerts, email_through_smtp)
{
	sink_t smtp;
	sink_start(&smtp, true, NULL);
	h_proc_t srv;
	cr_assert(start(&srv, h_fmt("SMTP_URL=smtp://127.0.0.1:%d", smtp.port)));
	session_t a;
	ident_signup(&srv, &a);
	settings(&srv, &a, "{\"channels\":{\"email\":\"ops@loja.example.com\"}}");
	product(a.tenant_id, "BOWL", 10, "", "");
	set_stock(&srv, &a, "BOWL", 0);
	cr_assert(H_WAIT_UNTIL(sink_count(&smtp) == 1, 20000), "no e-mail");
	char *env = sink_head(&smtp, 0), *msg = sink_body(&smtp, 0);
	cr_assert_not_null(strstr(env, "RCPT TO:<ops@loja.example.com>"), "%s", env);
	cr_assert_not_null(strstr(msg, "To: <ops@loja.example.com>"), "%s", msg);
	cr_assert_not_null(strstr(msg, "Subject: [sellerhub] Out of stock: BOWL"), "%s", msg);
	cr_assert_not_null(strstr(msg, "[HIGH] Out of stock: BOWL"), "%s", msg);
	free(env);
	free(msg);
	h_server_stop_clean(&srv);
	sink_stop(&smtp);
}

Test(alerts, quiet_hours_delay_delivery_not_the_alert)
{
	sink_t hook;
	sink_start(&hook, false, NULL);
	h_proc_t srv;
	cr_assert(start(&srv, NULL));
	session_t quiet, loud;
	ident_signup(&srv, &quiet);
	ident_signup(&srv, &loud);
	/* Quiet from an hour ago to two hours ahead, on São Paulo's clock. */
	char *from = h_sql_text("SELECT to_char((now() AT TIME ZONE 'America/Sao_Paulo')"
				" - interval '1 hour', 'HH24:MI')");
	char *to = h_sql_text("SELECT to_char((now() AT TIME ZONE 'America/Sao_Paulo')"
			      " + interval '2 hours', 'HH24:MI')");
	char hook_json[256];
	snprintf(hook_json, sizeof(hook_json),
		 "\"channels\":{\"webhook\":{\"url\":\"http://127.0.0.1:%d/q\",\"secret\":\"" SECRET
		 "\"}}",
		 hook.port);
	settings(&srv, &quiet,
		 h_fmt("{%s,\"schedule\":{\"quietHours\":{\"from\":\"%s\",\"to\":\"%s\"},"
		       "\"timezone\":\"America/Sao_Paulo\"}}",
		       hook_json, from, to));
	settings(&srv, &loud, h_fmt("{%s}", hook_json));
	product(quiet.tenant_id, "Q", 10, "", "");
	product(loud.tenant_id, "L", 10, "", "");
	set_stock(&srv, &quiet, "Q", 0);
	set_stock(&srv, &loud, "L", 0);
	/* The loud tenant's alert is delivered: the outbox has run past both. */
	cr_assert(H_WAIT_UNTIL(sink_count(&hook) == 1, 20000));
	char *body = sink_body(&hook, 0);
	cr_assert_not_null(strstr(body, "\"ref\" : \"L\""), "%s", body);
	free(body);
	/* The quiet one is stored and shown, its delivery due when the quiet hours end. */
	cr_assert_eq(open_episodes(quiet.tenant_id, "STOCK_OUT", "Q"), 1);
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND"
		      " to_char(deliver_at AT TIME ZONE 'America/Sao_Paulo', 'HH24:MI') = '%s'"
		      " AND deliver_at > now() + interval '1 hour'",
		      quiet.tenant_id, to),
	    1);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM jobs WHERE tenant_id = '%s'", quiet.tenant_id),
		     0);
	/* Time passes (the quiet hours end): it leaves. */
	h_sql_ok("UPDATE alerts SET deliver_at = now() WHERE tenant_id = '%s'", quiet.tenant_id);
	cr_assert(H_WAIT_UNTIL(sink_count(&hook) == 2, 20000));
	body = sink_body(&hook, 1);
	cr_assert_not_null(strstr(body, "\"ref\" : \"Q\""), "%s", body);
	free(body);

	/* Digests: hourly at the next hour, daily at the next midnight, on the tenant's clock. */
	h_sql_ok("UPDATE alert_settings SET quiet_from = NULL, quiet_to = NULL");
	cr_assert_eq(h_sql_int("SELECT count(*) WHERE alert_deliver_at('%s', 'hourly', now())"
			       " = date_trunc('hour', now()) + interval '1 hour'"
			       " AND alert_deliver_at('%s', 'daily', now()) = (date_trunc('day',"
			       " now() AT TIME ZONE 'America/Sao_Paulo') + interval '1 day')"
			       " AT TIME ZONE 'America/Sao_Paulo'",
			       quiet.tenant_id, quiet.tenant_id),
		     1);
	free(from);
	free(to);
	h_server_stop_clean(&srv);
	sink_stop(&hook);
}

static void expect_400(const h_proc_t *s, const session_t *who, const char *method,
		       const char *path, const char *body, const char *field)
{
	h_resp_t r = call(s, who, method, path, body);
	cr_assert_eq(r.status, 400, "%s %s: %s", path, body ? body : "", r.body);
	cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED");
	cr_assert_not_null(strstr(r.body, h_fmt("\"field\":\"%s\"", field)), "%s: %s", field,
			   r.body);
	h_resp_free(&r);
}

/* With ALERT_WEBHOOK_ALLOW_PRIVATE off (production's default): a webhook URL at an internal
 * address is 400, however the address is spelt, and a name that resolves to one (localhost,
 * written into the row as a DNS change would make it) is refused at delivery, never retried. */
Test(alerts, webhook_to_internal_addresses_is_refused)
{
	sink_t hook;
	sink_start(&hook, false, NULL);
	h_proc_t srv;
	cr_assert(start(&srv, "ALERT_WEBHOOK_ALLOW_PRIVATE=0"));
	session_t a;
	ident_signup(&srv, &a);
	char sink_url[64];
	snprintf(sink_url, sizeof(sink_url), "http://127.0.0.1:%d/hooks", hook.port);
	const char *const urls[] = {sink_url,
				    "http://10.1.2.3/x",
				    "https://172.20.0.1/x",
				    "http://192.168.0.10:8080/x",
				    "http://169.254.169.254/latest",
				    "http://0.0.0.0/x",
				    "http://[::1]:9/x",
				    "http://[fc00::1]/x",
				    "http://[fe80::1]/x",
				    "http://[::ffff:127.0.0.1]/x",
				    "http://2130706433/x",
				    "http://0x7f.1/x",
				    "http://localhost:9/x",
				    "http://user@LOCALHOST./x",
				    NULL};
	for (int i = 0; urls[i]; i++)
		expect_400(&srv, &a, "POST", "/api/alerts/settings",
			   h_fmt("{\"channels\":{\"webhook\":{\"url\":\"%s\",\"secret\":\"" SECRET
				 "\"}}}",
				 urls[i]),
			   "channels.webhook.url");
	settings(&srv, &a,
		 "{\"channels\":{\"webhook\":{\"url\":\"https://hooks.example.com/a\",\"secret\":"
		 "\"" SECRET "\"}},\"schedule\":{\"quietHours\":null}}");
	h_sql_ok("UPDATE alert_settings SET webhook_url = 'http://localhost:%d/hooks'"
		 " WHERE tenant_id = '%s'",
		 hook.port, a.tenant_id);
	product(a.tenant_id, "CUP", 10, "", "");
	set_stock(&srv, &a, "CUP", 0);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM alert_activity v JOIN alerts l"
					 " ON l.id = v.alert_id WHERE l.tenant_id = '%s'"
					 " AND v.action = 'delivery_dead' AND v.detail LIKE"
					 " '%%refused%%'",
					 a.tenant_id) == 1,
			       20000));
	cr_assert_eq(sink_count(&hook), 0, "the webhook reached the sink");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM alert_activity v JOIN alerts l"
			       " ON l.id = v.alert_id WHERE l.tenant_id = '%s'"
			       " AND v.action = 'delivery_failed'",
			       a.tenant_id),
		     0, "the refusal was retried");
	h_server_stop_clean(&srv);
	sink_stop(&hook);
}

Test(alerts, bad_input_is_400_naming_the_field)
{
	h_proc_t srv;
	cr_assert(start(&srv, NULL));
	session_t a;
	ident_signup(&srv, &a);
	const char *S = "/api/alerts/settings";
	expect_400(&srv, &a, "POST", S, "{\"rules\":[{\"type\":\"NOPE\"}]}", "rules[0].type");
	expect_400(&srv, &a, "POST", S,
		   "{\"rules\":[{\"type\":\"STOCK_LOW\",\"frequency\":\"weekly\"}]}",
		   "rules[0].frequency");
	expect_400(&srv, &a, "POST", S,
		   "{\"rules\":[{\"type\":\"STOCK_LOW\",\"severity\":\"urgent\"}]}",
		   "rules[0].severity");
	expect_400(&srv, &a, "POST", S, "{\"rules\":[{\"type\":\"STOCK_LOW\",\"threshold\":-1}]}",
		   "rules[0].threshold");
	expect_400(&srv, &a, "POST", S,
		   "{\"rules\":[{\"type\":\"STOCK_LOW\"},{\"type\":\"STOCK_LOW\"}]}",
		   "rules[1].type");
	expect_400(&srv, &a, "POST", S, "{\"channels\":{\"email\":\"not-mail\"}}",
		   "channels.email");
	expect_400(&srv, &a, "POST", S,
		   "{\"channels\":{\"webhook\":{\"url\":\"ftp://x\",\"secret\":\"" SECRET "\"}}}",
		   "channels.webhook.url");
	expect_400(
	    &srv, &a, "POST", S,
	    "{\"channels\":{\"webhook\":{\"url\":\"http://x.example\",\"secret\":\"short\"}}}",
	    "channels.webhook.secret");
	expect_400(&srv, &a, "POST", S,
		   "{\"channels\":{\"webhook\":{\"url\":\"http://x.example\"}}}",
		   "channels.webhook.secret");
	expect_400(&srv, &a, "POST", S,
		   "{\"schedule\":{\"quietHours\":{\"from\":\"24:00\",\"to\":\"07:00\"}}}",
		   "schedule.quietHours.from");
	expect_400(&srv, &a, "POST", S, "{\"schedule\":{\"timezone\":\"Mars/Olympus_Mons\"}}",
		   "schedule.timezone");
	expect_400(&srv, &a, "POST", S, "{\"colour\":\"red\"}", "colour");
	expect_400(&srv, &a, "GET", "/api/alerts?severity=urgent", NULL, "severity");
	expect_400(&srv, &a, "GET", "/api/alerts?status=open", NULL, "status");
	expect_400(&srv, &a, "GET", "/api/alerts?limit=101", NULL, "limit");
	product(a.tenant_id, "X", 10, "", "");
	set_stock(&srv, &a, "X", 0);
	cr_assert(H_WAIT_UNTIL(open_episodes(a.tenant_id, "STOCK_OUT", "X") == 1, 5000));
	char *id = h_sql_text("SELECT id FROM alerts WHERE tenant_id = '%s'", a.tenant_id);
	expect_400(&srv, &a, "PUT", h_fmt("/api/alerts/%s", id), "{\"status\":\"gone\"}", "status");
	expect_400(&srv, &a, "PUT", h_fmt("/api/alerts/%s", id),
		   "{\"status\":\"resolved\",\"x\":1}", "x");
	/* Nothing was stored by the refusals: the rules are still the defaults. */
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM alert_rules WHERE tenant_id = '%s'", a.tenant_id), 0);
	free(id);
	h_server_stop_clean(&srv);
}

Test(alerts, acknowledge_resolve_and_tenant_isolation)
{
	h_proc_t srv;
	cr_assert(start(&srv, NULL));
	session_t a, b;
	ident_signup(&srv, &a);
	ident_signup(&srv, &b);
	product(a.tenant_id, "PAN", 10, "", "");
	set_stock(&srv, &a, "PAN", 0);
	cr_assert(H_WAIT_UNTIL(open_episodes(a.tenant_id, "STOCK_OUT", "PAN") == 1, 5000));
	char *id = h_sql_text("SELECT id FROM alerts WHERE tenant_id = '%s'", a.tenant_id);
	const char *path = h_fmt("/api/alerts/%s", id);

	/* Tenant b neither sees nor changes it. */
	h_resp_t r = call(&srv, &b, "PUT", path, "{\"status\":\"resolved\"}");
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = call(&srv, &b, "GET", path, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = call(&srv, &b, "GET", "/api/alerts", NULL);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.alerts")), 0, "%s", r.body);
	h_resp_free(&r);

	r = call(&srv, &a, "PUT", path, "{\"status\":\"acknowledged\",\"notes\":\"on it\"}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.status")), "acknowledged");
	cr_assert_not_null(json_string_value(h_json_path(r.json, "data.acknowledgedAt")));
	h_resp_free(&r);
	r = call(&srv, &a, "GET", "/api/alerts?status=acknowledged", NULL);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 1, "%s",
		     r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.summary.unread")), 0, "%s",
		     r.body);
	h_resp_free(&r);
	r = call(&srv, &a, "PUT", path,
		 "{\"status\":\"resolved\",\"resolution\":\"ordered more\"}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.resolution")), "ordered more");
	h_resp_free(&r);
	r = call(&srv, &a, "PUT", path, "{\"status\":\"acknowledged\"}");
	cr_assert_eq(r.status, 409, "%s", r.body);
	h_resp_free(&r);

	/* Resolved by hand while still out of stock: the episode goes on, nothing fires again. */
	two_sweeps(&srv);
	cr_assert_eq(episodes(a.tenant_id, "STOCK_OUT", "PAN"), 1);
	r = call(&srv, &a, "GET", path, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *act = h_json_path(r.json, "data.activity");
	cr_assert_eq(json_array_size(act), 3, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(act, 1), "action")),
			 "acknowledged");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(act, 1), "actor")),
			 a.user_id);
	h_resp_free(&r);
	free(id);
	h_server_stop_clean(&srv);
}
