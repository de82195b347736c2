/* Alerts: the statements behind /api/alerts, the evaluation, and the outbox that turns due
 * deliveries into jobs (see the header). */
#include "alerts.h"
#include "alert_delivery.h"
#include "channel.h"
#include "identity.h"
#include "jobs.h"
#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTBOX_BATCH "200"
#define STOCK_BATCH  "1000"

const char *const alert_types[] = {
    "STOCK_LOW",	   "STOCK_OUT",		"OVERSOLD",   "SYNC_FAILING",
    "TOKEN_EXPIRING",	   "TOKEN_EXPIRED",	"ORDER_LATE", "PRICE_BELOW_COST",
    "QUESTION_UNANSWERED", "STOCK_DISCREPANCY", NULL};
const char *const alert_severities[] = {"low", "medium", "high", "critical", NULL};
const char *const alert_frequencies[] = {"immediate", "hourly", "daily", NULL};

struct alerts {
	app_t *app;
	struct event *outbox;
	bool claiming; /* one outbox statement at a time */
	bool again;    /* asked for while one ran: run once more after it */
	char *evaluate_sql;
};

// clang-format off
/* Due deliveries become jobs in the same statement that takes them off the outbox: a webhook
 * job per alert, one e-mail job per tenant for all its due alerts (a digest). $1 the queue,
 * $2 whether e-mail can be sent. */
static const char outbox_sql[] =
    "WITH due AS (SELECT id FROM alerts WHERE deliver_at <= now() ORDER BY deliver_at"
    "  LIMIT " OUTBOX_BATCH " FOR UPDATE SKIP LOCKED),"
    " d AS (UPDATE alerts a SET deliver_at = NULL FROM due WHERE a.id = due.id"
    "  RETURNING a.id, a.tenant_id),"
    " s AS (SELECT d.id, d.tenant_id, st.webhook_url IS NOT NULL AS hook,"
    "  st.email IS NOT NULL AS mail FROM d JOIN alert_settings st USING (tenant_id)),"
    " hooks AS (" JOBS_INSERT("kind, tenant_id, payload, queue")
    "  SELECT '" ALERT_WEBHOOK_JOB "', tenant_id, jsonb_build_object('alert', id), $1"
    "  FROM s WHERE hook RETURNING id),"
    " mails AS (" JOBS_INSERT("kind, tenant_id, payload, queue")
    "  SELECT '" ALERT_EMAIL_JOB "', tenant_id, jsonb_build_object('alerts', jsonb_agg(id ORDER BY id)),"
    "  $1 FROM s WHERE mail AND $2::bool GROUP BY tenant_id RETURNING id)"
    " SELECT id FROM hooks UNION ALL SELECT id FROM mails";

/* The channels' unanswered questions ($1 the tenant, NULL: all) past the rule's hours. */
static const char questions_head[] =
    "SELECT alerts_evaluate($1::uuid, ARRAY(SELECT ROW(q.tenant_id, 'QUESTION_UNANSWERED',"
    " q.ref, q.title, q.message, q.data)::alert_found FROM (";
static const char questions_tail[] =
    ") q(tenant_id, ref, asked_at, title, message, data)"
    " JOIN alert_rules_effective r ON r.tenant_id = q.tenant_id"
    " AND r.type = 'QUESTION_UNANSWERED'"
    " WHERE ($1::uuid IS NULL OR q.tenant_id = $1::uuid)"
    " AND q.asked_at <= now() - coalesce(r.threshold, 24) * interval '1 hour'))";
static const char no_questions_sql[] =
    "SELECT alerts_evaluate($1::uuid, ARRAY[]::alert_found[])";

static const char settings_sql[] =
    "SELECT json_build_object("
    " 'rules', (SELECT json_agg(json_build_object('type', r.type, 'enabled', r.enabled,"
    "  'threshold', r.threshold::float8, 'frequency', r.frequency, 'severity', r.severity)"
    "  ORDER BY r.type) FROM alert_rules_effective r WHERE r.tenant_id = t.id),"
    " 'channels', json_build_object('email', s.email, 'webhook', CASE WHEN s.webhook_url"
    "  IS NOT NULL THEN json_build_object('url', s.webhook_url, 'secret', '********') END),"
    " 'schedule', json_build_object('quietHours', CASE WHEN s.quiet_from IS NOT NULL THEN"
    "  json_build_object('from', to_char(s.quiet_from, 'HH24:MI'),"
    "  'to', to_char(s.quiet_to, 'HH24:MI')) END,"
    "  'timezone', coalesce(s.timezone, t.timezone)))::text"
    " FROM tenants t LEFT JOIN alert_settings s ON s.tenant_id = t.id WHERE t.id = $1";

/* $2 channels given, $3 email, $4 webhook url, $5 sealed secret (NULL: keep), $6 schedule
 * given, $7/$8 quiet hours, $9 zone, $10 the rules (NULL: kept). */
static const char save_sql[] =
    "WITH s AS (INSERT INTO alert_settings AS s (tenant_id, email, webhook_url,"
    "  webhook_secret_sealed, quiet_from, quiet_to, timezone)"
    "  SELECT $1, $3, $4, $5, $7::time, $8::time, $9"
    /* An unknown zone fails here (22023), not later in a stock change's trigger. */
    "  WHERE (now() AT TIME ZONE coalesce($9, 'UTC')) IS NOT NULL"
    "  ON CONFLICT (tenant_id) DO UPDATE SET"
    "  email = CASE WHEN $2::bool THEN excluded.email ELSE s.email END,"
    "  webhook_url = CASE WHEN $2::bool THEN excluded.webhook_url ELSE s.webhook_url END,"
    "  webhook_secret_sealed = CASE WHEN $2::bool AND excluded.webhook_url IS NULL THEN NULL"
    "   ELSE coalesce(excluded.webhook_secret_sealed, s.webhook_secret_sealed) END,"
    "  quiet_from = CASE WHEN $6::bool THEN excluded.quiet_from ELSE s.quiet_from END,"
    "  quiet_to = CASE WHEN $6::bool THEN excluded.quiet_to ELSE s.quiet_to END,"
    "  timezone = CASE WHEN $6::bool THEN excluded.timezone ELSE s.timezone END,"
    "  updated_at = now() RETURNING 1),"
    " r AS (INSERT INTO alert_rules AS r (tenant_id, type, enabled, threshold, frequency, severity)"
    "  SELECT $1, x.type, coalesce(x.enabled, true), x.threshold,"
    "  coalesce(x.frequency, d.frequency), coalesce(x.severity, d.severity)"
    "  FROM jsonb_to_recordset($10::jsonb) x(type text, enabled boolean, threshold numeric,"
    "  frequency text, severity text) JOIN alert_rule_defaults() d ON d.type = x.type"
    "  ON CONFLICT (tenant_id, type) DO UPDATE SET enabled = excluded.enabled,"
    "  threshold = excluded.threshold, frequency = excluded.frequency,"
    "  severity = excluded.severity RETURNING 1)"
    " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM r)";

#define LIST_WHERE                                                                                 \
	" a.tenant_id = $1 AND ($2::text IS NULL OR a.status = $2)"                                \
	" AND ($3::text IS NULL OR a.severity = $3) AND ($4::text IS NULL OR a.type = $4)"

static const char list_sql[] =
    "SELECT (SELECT coalesce(json_agg(alert_json(p.a) ORDER BY p.n), '[]') FROM"
    "  (SELECT a, row_number() OVER (ORDER BY a.fired_at DESC, a.id) AS n FROM alerts a"
    "   WHERE" LIST_WHERE " ORDER BY a.fired_at DESC, a.id LIMIT $5 OFFSET $6) p)::text,"
    " count(*), json_build_object('total', count(*),"
    "  'critical', count(*) FILTER (WHERE a.severity = 'critical' AND a.status <> 'resolved'),"
    "  'unread', count(*) FILTER (WHERE a.status = 'active'))::text"
    " FROM alerts a WHERE" LIST_WHERE;

#define ACTIVITY_JSON(id)                                                                          \
	"coalesce((SELECT json_agg(json_build_object('at', " SQL_ISO("l.at") ","                   \
	" 'action', l.action, 'actor', l.actor, 'detail', l.detail) ORDER BY l.at, l.id)"          \
	" FROM alert_activity l WHERE l.alert_id = " id "), '[]')"

static const char get_sql[] =
    "SELECT (alert_json(a)::jsonb || jsonb_build_object('activity', " ACTIVITY_JSON("a.id") "))::text"
    " FROM alerts a WHERE a.tenant_id = $1 AND a.id = $2::uuid";

/* A resolved alert stays resolved (its episode may go on: it does not fire again until the
 * condition clears); resolving again only adds to its notes. */
static const char update_sql[] =
    "WITH a AS (SELECT * FROM alerts WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE),"
    " u AS (UPDATE alerts x SET status = $3,"
    "  acknowledged_at = CASE WHEN $3 = 'acknowledged' THEN coalesce(x.acknowledged_at, now())"
    "   ELSE x.acknowledged_at END,"
    "  resolved_at = CASE WHEN $3 = 'resolved' THEN coalesce(x.resolved_at, now())"
    "   ELSE x.resolved_at END,"
    "  resolution = coalesce($4, x.resolution), notes = coalesce($5, x.notes)"
    "  FROM a WHERE x.id = a.id AND NOT (a.status = 'resolved' AND $3 <> 'resolved')"
    "  RETURNING x AS row),"
    " l AS (INSERT INTO alert_activity (tenant_id, alert_id, action, actor, detail)"
    "  SELECT $1, (u.row).id, $3, $6, coalesce($4, $5) FROM u)"
    " SELECT (SELECT status FROM a), (SELECT alert_json(u.row)::text FROM u)";
// clang-format on

/* --- the outbox ------------------------------------------------------------------------------ */

static void outbox_run(alerts_t *a);

/* The SKUs whose stock changed since the last tick (sql/0027 alert_stock_dirty), per batch. */
static const char stock_changes_sql[] = "SELECT alerts_evaluate_stock_changes(" STOCK_BATCH ")";

static void outbox_done(const PGresult *res, const char *err, void *arg)
{
	alerts_t *a = arg;
	a->claiming = false;
	if (err) {
		log_warn("alerts: the outbox failed: %s", err);
		return;
	}
	int n = PQntuples(res);
	if (n > 0) {
		int64_t *ids = xmalloc((size_t)n * sizeof(*ids));
		for (int i = 0; i < n; i++)
			ids[i] = pg_int(res, i, 0, 0);
		jobs_dispatch(a->app->jobs, ids, n);
		free(ids);
	}
	if (a->again || n == atoi(OUTBOX_BATCH)) {
		a->again = false;
		outbox_run(a);
	}
}

/* The stock changes are evaluated first, so what they fire leaves in the same tick. */
static void stock_evaluated(const PGresult *res, const char *err, void *arg)
{
	alerts_t *a = arg;
	if (err)
		log_warn("alerts: evaluating stock changes failed: %s", err);
	const char *params[] = {a->app->cfg.job_queue, a->app->cfg.smtp_url ? "true" : "false"};
	pg_query_prepared(a->app->pg, outbox_sql, 2, params, outbox_done, a);
}

static void outbox_run(alerts_t *a)
{
	if (!a->outbox)
		return; /* ALERT_OUTBOX_MS=0: other processes evaluate and hand deliveries out */
	if (a->claiming) {
		a->again = true;
		return;
	}
	a->claiming = true;
	pg_query_prepared(a->app->pg, stock_changes_sql, 0, NULL, stock_evaluated, a);
}

static void outbox_tick(evutil_socket_t fd, short what, void *arg)
{
	outbox_run(arg);
}

/* --- evaluation ------------------------------------------------------------------------------ */

typedef struct evaluation {
	alerts_t *alerts;
	pg_cb cb;
	void *arg;
} evaluation_t;

static void evaluated(const PGresult *res, const char *err, void *arg)
{
	evaluation_t e = *(evaluation_t *)arg;
	free(arg);
	if (err)
		log_warn("alerts: evaluation failed: %s", err);
	else if (pg_int(res, 0, 0, 0) > 0)
		outbox_run(e.alerts);
	if (e.cb)
		e.cb(res, err, e.arg);
}

void alerts_evaluate(app_t *app, const char *tenant_id, pg_cb cb, void *arg)
{
	evaluation_t *e = xmalloc(sizeof(*e));
	*e = (evaluation_t){app->alerts, cb, arg};
	const char *params[] = {tenant_id};
	pg_query_prepared(app->pg, app->alerts->evaluate_sql, 1, params, evaluated, e);
}

/* --- the API's statements -------------------------------------------------------------------- */

void alerts_settings_get(app_t *app, const char *tenant_id, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id};
	pg_query_prepared(app->pg, settings_sql, 1, params, cb, arg);
}

void alerts_settings_save(app_t *app, const char *tenant_id, const alert_settings_change_t *c,
			  pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id,
				c->channels ? "true" : "false",
				c->email,
				c->webhook_url,
				c->webhook_secret_sealed,
				c->schedule ? "true" : "false",
				c->quiet_from,
				c->quiet_to,
				c->timezone,
				c->rules ? c->rules : "[]"};
	pg_query_prepared(app->pg, save_sql, 10, params, cb, arg);
}

void alerts_list(app_t *app, const char *tenant_id, const alerts_filter_t *f, const page_t *page,
		 pg_cb cb, void *arg)
{
	page_params_t pp;
	paging_params(page, &pp);
	const char *params[] = {tenant_id, f->status, f->severity, f->type, pp.limit, pp.offset};
	pg_query_prepared(app->pg, list_sql, 6, params, cb, arg);
}

void alerts_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id, id};
	pg_query_prepared(app->pg, get_sql, 2, params, cb, arg);
}

void alerts_update(app_t *app, const char *tenant_id, const char *id, const char *status,
		   const char *resolution, const char *notes, const char *actor, pg_cb cb,
		   void *arg)
{
	const char *params[] = {tenant_id, id, status, resolution, notes, actor};
	pg_query_prepared(app->pg, update_sql, 6, params, cb, arg);
}

/* --- lifecycle ------------------------------------------------------------------------------- */

static char *build_evaluate_sql(void)
{
	size_t len = sizeof(questions_head) + sizeof(questions_tail);
	int n = 0;
	for (size_t i = 0; channels[i]; i++)
		if (channels[i]->alert_questions_sql) {
			len += strlen(channels[i]->alert_questions_sql) + 16;
			n++;
		}
	if (n == 0)
		return xstrdup(no_questions_sql);
	char *sql = xmalloc(len);
	size_t at = (size_t)snprintf(sql, len, "%s", questions_head);
	n = 0;
	for (size_t i = 0; channels[i]; i++)
		if (channels[i]->alert_questions_sql)
			at += (size_t)snprintf(sql + at, len - at, "%s%s", n++ ? " UNION ALL " : "",
					       channels[i]->alert_questions_sql);
	snprintf(sql + at, len - at, "%s", questions_tail);
	return sql;
}

alerts_t *alerts_new(app_t *app)
{
	alerts_t *a = xcalloc(1, sizeof(*a));
	a->app = app;
	a->evaluate_sql = build_evaluate_sql();
	alert_delivery_register(app);
	int every = app->cfg.alert_outbox_ms;
	if (every > 0) {
		a->outbox = event_new(app->base, -1, EV_PERSIST, outbox_tick, a);
		struct timeval tv = {every / 1000, (every % 1000) * 1000};
		event_add(a->outbox, &tv);
	}
	return a;
}

void alerts_free(alerts_t *a)
{
	if (!a)
		return;
	if (a->outbox)
		event_free(a->outbox);
	free(a->evaluate_sql);
	free(a);
}
