/* GET /api/metrics/stream: an order committed (by anyone: here psql) reaches the tenant's
 * streams on every process as an `order` event and then a `realtime` object; status changes and
 * sync runs too; another tenant's never do. Heartbeats, the caps (429), the token in the query
 * (never in the access log), a slow client dropped, and a clean close at shutdown. Each event
 * carries an id; a client reconnecting with Last-Event-ID gets what it missed, or only a fresh
 * realtime object when that is no longer kept. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ident.h"
#include "sse_client.h"

TestSuite(stream, .timeout = 90);

#define DEADLINE_MS 5000

static void add_account(const char *tenant_id, const char *channel, char id[40])
{
	const char *ext = h_fmt("SSE%d%ld", (int)getpid(), random());
	h_sql_ok("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
		 " access_token_sealed) VALUES ('%s', '%s', '%s', 'Loja', 'v1:k:x')",
		 tenant_id, channel, ext);
	char *v =
	    h_sql_text("SELECT id FROM accounts WHERE tenant_id = '%s' AND external_id = '%s'",
		       tenant_id, ext);
	snprintf(id, 40, "%s", v);
	free(v);
}

static void add_order(const char *tenant, const char *account, const char *ext, const char *total)
{
	h_sql_ok(
	    "INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
	    " date_created, last_updated, total_amount, raw)"
	    " VALUES ('%s', '%s', (SELECT channel FROM accounts WHERE id = '%s'), '%s', 'paid',"
	    " now(), now(), %s, '{}')",
	    tenant, account, account, ext, total);
}

/* A server (with extra env, may be NULL) and a new tenant's owner signed up on it. */
static void start(h_proc_t *srv, const char *const env[], session_t *owner)
{
	cr_assert(h_server_start(srv, env));
	ident_signup(srv, owner);
}

/* A stream of who's (reconnecting after the event last_id when not NULL), its first realtime
 * object arrived: the stream is registered by then, and what it missed came before it. */
static void open_stream_after(sse_t *s, const h_proc_t *srv, const session_t *who,
			      const char *last_id)
{
	sse_open_after(s, srv->port, "/api/metrics/stream", who->access, last_id);
	cr_assert_eq(sse_wait_status(s, DEADLINE_MS), 200, "%s", s->raw ? s->raw : "");
	cr_assert_not_null(strcasestr(s->raw, "content-type: text/event-stream"), "%s", s->raw);
	cr_assert(sse_wait(s, "retry: ", DEADLINE_MS), "%s", sse_text(s));
	cr_assert(sse_wait(s, "event: realtime", DEADLINE_MS), "%s", sse_text(s));
}

static void open_stream(sse_t *s, const h_proc_t *srv, const session_t *who)
{
	open_stream_after(s, srv, who, NULL);
}

/* A server, two tenants' owners, an ML account each. */
static void two_tenants(h_proc_t *srv, session_t *a, session_t *b, char acc_a[40], char acc_b[40])
{
	start(srv, NULL, a);
	ident_signup(srv, b);
	add_account(a->tenant_id, "ml", acc_a);
	add_account(b->tenant_id, "ml", acc_b);
}

Test(stream, order_reaches_the_tenants_streams_only)
{
	h_proc_t srv;
	session_t a, b;
	char acc_a[40], acc_b[40];
	two_tenants(&srv, &a, &b, acc_a, acc_b);
	sse_t sa, sa2, sb;
	open_stream(&sa, &srv, &a);
	open_stream(&sa2, &srv, &a);
	open_stream(&sb, &srv, &b);

	const char *ext = h_fmt("A-%d", (int)getpid());
	add_order(a.tenant_id, acc_a, ext, "123.45");
	const char *want = h_fmt("\"externalId\":\"%s\"", ext);
	cr_assert(sse_wait(&sa, want, DEADLINE_MS), "%s", sse_text(&sa));
	cr_assert(sse_wait(&sa2, want, DEADLINE_MS), "%s", sse_text(&sa2));
	cr_assert_not_null(strstr(sse_text(&sa), "event: order\ndata: {"), "%s", sse_text(&sa));
	/* Then the realtime object with the order in today's figures. */
	cr_assert(sse_wait(&sa, "\"todayOrders\":1,", DEADLINE_MS), "%s", sse_text(&sa));
	cr_assert(sse_wait(&sa2, "\"todayOrders\":1,", DEADLINE_MS), "%s", sse_text(&sa2));

	/* B's order reaches B; by then A's order would have reached B too, had it been sent. */
	const char *ext_b = h_fmt("B-%d", (int)getpid());
	add_order(b.tenant_id, acc_b, ext_b, "9");
	cr_assert(sse_wait(&sb, h_fmt("\"externalId\":\"%s\"", ext_b), DEADLINE_MS), "%s",
		  sse_text(&sb));
	cr_assert_null(strstr(sse_text(&sb), want), "B heard A's order: %s", sse_text(&sb));
	cr_assert_eq(sse_count(&sb, "event: order"), 1, "%s", sse_text(&sb));
	cr_assert(!sse_wait(&sa, ext_b, 300), "A heard B's order: %s", sse_text(&sa));

	/* A status change is an event; other updates are not. */
	h_sql_ok("UPDATE orders SET last_updated = now() WHERE tenant_id = '%s'", a.tenant_id);
	h_sql_ok("UPDATE orders SET status = 'cancelled' WHERE tenant_id = '%s'", a.tenant_id);
	cr_assert(sse_wait(&sa, "\"previousStatus\":\"paid\"", DEADLINE_MS), "%s", sse_text(&sa));
	cr_assert_eq(sse_count(&sa, "event: order"), 2, "%s", sse_text(&sa));
	cr_assert_not_null(strstr(sse_text(&sa), "\"change\":\"status\""));

	/* A statement writing many orders is one summary event. */
	h_sql_ok("INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
		 " date_created, last_updated, total_amount, raw) SELECT '%s', '%s', 'ml',"
		 " 'bulk-' || g, 'paid', now(), now(), 1, '{}' FROM generate_series(1, 50) g",
		 a.tenant_id, acc_a);
	cr_assert(sse_wait(&sa, "\"count\":50", DEADLINE_MS), "%s", sse_text(&sa));
	cr_assert_eq(sse_count(&sa, "event: order"), 3, "%s", sse_text(&sa));

	/* A sync run's start and end. */
	h_sql_ok("INSERT INTO sync_runs (tenant_id, account_id, kind, scope, days, progress)"
		 " VALUES ('%s', '%s', 'backfill', 'orders', 30, '{\"orders\":{\"done\":3,"
		 "\"total\":10}}')",
		 a.tenant_id, acc_a);
	cr_assert(sse_wait(&sa, "event: sync", DEADLINE_MS), "%s", sse_text(&sa));
	cr_assert_not_null(strstr(sse_text(&sa), "\"done\":3"), "%s", sse_text(&sa));
	h_sql_ok(
	    "UPDATE sync_runs SET status = 'success', finished_at = now() WHERE tenant_id = '%s'",
	    a.tenant_id);
	cr_assert(sse_wait(&sa, "\"finished\":true", DEADLINE_MS), "%s", sse_text(&sa));
	cr_assert_null(strstr(sse_text(&sb), "event: sync"), "%s", sse_text(&sb));

	sse_close(&sa);
	sse_close(&sa2);
	sse_close(&sb);
	h_server_stop_clean(&srv);
}

/* Two processes on one database: each one's streams hear an order whoever commits it. */
Test(stream, every_process_hears_every_change)
{
	h_proc_t one, two;
	cr_assert(h_server_start(&one, NULL));
	cr_assert(h_server_start(&two, NULL));
	session_t a;
	ident_signup(&one, &a);
	char acc[40];
	add_account(a.tenant_id, "amazon", acc);
	sse_t s1, s2;
	open_stream(&s1, &one, &a);
	open_stream(&s2, &two, &a);
	const char *ext = h_fmt("TWO-%d", (int)getpid());
	add_order(a.tenant_id, acc, ext, "10");
	cr_assert(sse_wait(&s1, ext, DEADLINE_MS), "%s", sse_text(&s1));
	cr_assert(sse_wait(&s2, ext, DEADLINE_MS), "%s", sse_text(&s2));
	cr_assert(sse_wait(&s2, "\"todayOrders\":1,", DEADLINE_MS), "%s", sse_text(&s2));
	sse_close(&s1);
	sse_close(&s2);
	h_server_stop_clean(&one);
	h_server_stop_clean(&two);
}

Test(stream, heartbeat_comments_keep_it_alive)
{
	h_proc_t srv;
	const char *env[] = {"SSE_HEARTBEAT=1", NULL};
	session_t a;
	start(&srv, env, &a);
	sse_t s;
	open_stream(&s, &srv, &a);
	cr_assert(sse_wait_count(&s, "\n: heartbeat\n\n", 3, DEADLINE_MS), "%s", sse_text(&s));
	sse_close(&s);
	h_server_stop_clean(&srv);
}

static long stream_status(const h_proc_t *srv, const session_t *who, sse_t *s)
{
	sse_open(s, srv->port, "/api/metrics/stream", who->access);
	return sse_wait_status(s, DEADLINE_MS);
}

Test(stream, caps_per_tenant_and_per_process_are_429)
{
	h_proc_t srv;
	const char *env[] = {"SSE_MAX_STREAMS=3", "SSE_MAX_STREAMS_PER_TENANT=2", NULL};
	session_t a, b;
	start(&srv, env, &a);
	ident_signup(&srv, &b);
	sse_t s[5];
	cr_assert_eq(stream_status(&srv, &a, &s[0]), 200);
	cr_assert_eq(stream_status(&srv, &a, &s[1]), 200);
	cr_assert_eq(stream_status(&srv, &a, &s[2]), 429, "%s", s[2].raw);
	cr_assert_not_null(strstr(s[2].raw, "\"code\":\"TOO_MANY_STREAMS\""), "%s", s[2].raw);
	cr_assert_not_null(strcasestr(s[2].raw, "retry-after:"), "%s", s[2].raw);
	cr_assert_eq(stream_status(&srv, &b, &s[3]), 200);
	cr_assert_eq(stream_status(&srv, &b, &s[4]), 429, "process cap: %s", s[4].raw);
	sse_close(&s[2]);
	sse_close(&s[4]);
	/* A stream closed by its client frees its place. */
	sse_close(&s[0]);
	cr_assert(H_WAIT_UNTIL((stream_status(&srv, &a, &s[0]) == 200 || (sse_close(&s[0]), false)),
			       DEADLINE_MS));
	for (int i = 0; i < 2; i++)
		sse_close(&s[i]);
	sse_close(&s[3]);
	h_server_stop_clean(&srv);
}

Test(stream, token_in_the_query_for_this_route_only_and_never_logged)
{
	h_proc_t srv;
	session_t a;
	start(&srv, NULL, &a);
	sse_t s;
	sse_open(&s, srv.port, h_fmt("/api/metrics/stream?access_token=%s", a.access), NULL);
	cr_assert_eq(sse_wait_status(&s, DEADLINE_MS), 200, "%s", s.raw);
	cr_assert(sse_wait(&s, "event: realtime", DEADLINE_MS), "%s", sse_text(&s));
	sse_close(&s);

	h_resp_t r = h_http("GET", h_url(&srv, "/api/metrics/stream?access_token=nope.nope.nope"),
			    NULL, NULL);
	cr_assert_eq(r.status, 401, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "TOKEN_INVALID");
	h_resp_free(&r);
	r = h_http("GET", h_url(&srv, "/api/metrics/stream"), NULL, NULL);
	cr_assert_eq(r.status, 401, "%s", r.body);
	h_resp_free(&r);
	/* Elsewhere the query's token is not one. */
	r = h_http("GET", h_url(&srv, h_fmt("/api/metrics/realtime?access_token=%s", a.access)),
		   NULL, NULL);
	cr_assert_eq(r.status, 401, "%s", r.body);
	h_resp_free(&r);

	char *log = h_proc_log(&srv);
	cr_assert_null(strstr(log, a.access), "the token is in the log");
	cr_assert_null(strstr(log, "nope.nope"), "the bad token is in the log");
	cr_assert_not_null(strstr(log, "\"path\":\"/api/metrics/stream\""));
	free(log);
	h_server_stop_clean(&srv);
}

/* A metric's value from /metrics (name with its trailing space), -1 when absent. */
static double metric_value(const h_proc_t *srv, const char *name)
{
	h_resp_t r = h_http("GET", h_url(srv, "/metrics"), NULL, NULL);
	const char *p = r.body ? strstr(r.body, name) : NULL;
	double v = p ? strtod(p + strlen(name), NULL) : -1;
	h_resp_free(&r);
	return v;
}

/* A client that reads nothing while events pile up past SSE_MAX_BUFFER is dropped; the others
 * are not held back by it. */
Test(stream, a_client_not_reading_is_dropped)
{
	h_proc_t srv;
	const char *env[] = {"SSE_MAX_BUFFER=131072", NULL};
	session_t a;
	start(&srv, env, &a);
	char acc[40];
	add_account(a.tenant_id, "ml", acc);
	sse_t slow, fast;
	open_stream(&slow, &srv, &a);
	int small = 4096;
	setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	open_stream(&fast, &srv, &a);
	/* Statements of 10 orders: an event each, 2 kB with their long ids; 8 MB in all, past
	 * what the kernel's socket buffers take. */
	h_sql_ok("DO $$ BEGIN FOR i IN 1..400 LOOP INSERT INTO orders (tenant_id, account_id,"
		 " channel, external_id, status, date_created, last_updated, total_amount, raw)"
		 " SELECT '%s', '%s', 'ml', 'slow-' || i || '-' || g || '-' || repeat('x', 2000),"
		 " 'paid', now(), now(), 1, '{}' FROM generate_series(1, 10) g;"
		 " END LOOP; END $$",
		 a.tenant_id, acc);
	cr_assert(sse_wait(&fast, "\"externalId\":\"slow-400-10-x", 30000),
		  "the reader fell behind");
	char *log = h_proc_log_wait(&srv, "dropped: its client is not reading", DEADLINE_MS);
	free(log);
	/* The server let go of it (its socket is closed; the client's tiny window holds back the
	 * bytes the kernel still has for it, so the test asks the server). */
	cr_assert(H_WAIT_UNTIL(metric_value(&srv, "\nsellerhub_sse_streams ") == 1, DEADLINE_MS));
	cr_assert_eq(metric_value(&srv, "\nsellerhub_sse_dropped_total "), 1);
	sse_close(&slow);
	sse_close(&fast);
	h_server_stop_clean(&srv);
}

/* SIGTERM ends every stream with its last chunk (clients reconnect elsewhere) and exits 0. */
Test(stream, closes_cleanly_at_shutdown)
{
	h_proc_t srv;
	session_t a;
	start(&srv, NULL, &a);
	sse_t s;
	open_stream(&s, &srv, &a);
	kill(srv.pid, SIGTERM);
	cr_assert(sse_wait_closed(&s, 10000), "still open after SIGTERM");
	cr_assert_not_null(strstr(s.raw, "\r\n0\r\n\r\n"), "no last chunk: %s", s.raw);
	cr_assert_eq(h_proc_stop(&srv, SIGTERM), 0);
	sse_close(&s);
}

/* The id line of the event whose data holds needle ("id: N\nevent: ...\ndata: ...needle"). */
static long long event_id(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	cr_assert_not_null(at, "%s not in %s", needle, text);
	const char *id = NULL;
	for (const char *p = text; p < at; p++)
		if (strncmp(p, "\nid: ", 5) == 0 || (p == text && strncmp(p, "id: ", 4) == 0))
			id = p[0] == '\n' ? p + 5 : p + 4;
	cr_assert_not_null(id, "no id before %s in %s", needle, text);
	return atoll(id);
}

Test(stream, reconnect_with_last_event_id_gets_what_it_missed)
{
	h_database_private(); /* the log is pruned by hand below */
	h_proc_t srv;
	session_t a, b;
	char acc_a[40], acc_b[40];
	two_tenants(&srv, &a, &b, acc_a, acc_b);
	sse_t s1;
	open_stream(&s1, &srv, &a);
	add_order(a.tenant_id, acc_a, "R-1", "10.00");
	cr_assert(sse_wait(&s1, "\"externalId\":\"R-1\"", DEADLINE_MS), "%s", sse_text(&s1));
	long long seen = event_id(sse_text(&s1), "\"externalId\":\"R-1\"");
	cr_assert_gt(seen, 0);
	sse_close(&s1);

	/* Missed while away: two of a's orders, one of b's. */
	add_order(a.tenant_id, acc_a, "R-2", "20.00");
	add_order(b.tenant_id, acc_b, "R-B", "30.00");
	add_order(a.tenant_id, acc_a, "R-3", "40.00");
	char last[24];
	snprintf(last, sizeof(last), "%lld", seen);
	sse_t s2;
	open_stream_after(&s2, &srv, &a, last);
	cr_assert(sse_wait(&s2, "\"externalId\":\"R-3\"", DEADLINE_MS), "%s", sse_text(&s2));
	const char *t = sse_text(&s2);
	cr_assert_null(strstr(t, "\"R-1\""), "an event seen before came again: %s", t);
	cr_assert_null(strstr(t, "\"R-B\""), "another tenant's event: %s", t);
	const char *r2 = strstr(t, "\"R-2\""), *r3 = strstr(t, "\"R-3\"");
	cr_assert(r2 && r3 && r2 < r3, "not both, in order: %s", t);
	long long id2 = event_id(t, "\"R-2\""), id3 = event_id(t, "\"R-3\"");
	cr_assert(seen < id2 && id2 < id3, "%lld %lld %lld", seen, id2, id3);
	/* Live again after the replay. */
	add_order(a.tenant_id, acc_a, "R-4", "50.00");
	cr_assert(sse_wait(&s2, "\"R-4\"", DEADLINE_MS), "%s", sse_text(&s2));
	cr_assert_eq(sse_count(&s2, "\"R-3\""), 1, "%s", sse_text(&s2));
	sse_close(&s2);

	/* Too old: what followed the id is no longer kept, so only the fresh state comes. */
	h_sql_ok("DELETE FROM tenant_event_log WHERE id <= %lld", id2);
	sse_t s3;
	open_stream_after(&s3, &srv, &a, last);
	cr_assert(sse_wait(&s3, "\"todayOrders\":4", DEADLINE_MS), "%s", sse_text(&s3));
	cr_assert_null(strstr(sse_text(&s3), "event: order"), "%s", sse_text(&s3));
	sse_close(&s3);
	h_server_stop_clean(&srv);
}
