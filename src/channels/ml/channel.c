/* The Mercado Livre channel as the core sees it: what it starts (its routes, job handlers, the
 * missed-feeds poller), its rate table, its token grant, its scheduled sync, its maintenance and
 * its intake. */
#include "ml.h"
#include "data.h"
#include "intake.h"
#include "missed_feeds.h"
#include "notifications.h"
#include "log.h"
#include "plan.h"
#include "summary.h"
#include "token.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void *start(app_t *app)
{
	ml_state_t *s = xcalloc(1, sizeof(*s));
	if (ml_config(app)->client_id) {
		char *end;
		long long id = strtoll(ml_config(app)->client_id, &end, 10);
		s->app_id = *end ? 0 : id;
	}
	ml_accounts_routes(app);
	ml_oauth_routes(app);
	ml_questions_routes(app);
	ml_webhook_stats_routes(app);
	notifications_register_jobs(app);
	ml_items_register_fetcher();
	ml_orders_register_fetcher();
	ml_shipments_register_fetcher();
	ml_questions_register_fetcher();
	ml_claims_register_fetcher();
	s->missed_feeds = missed_feeds_start(app);
	return s;
}

static void stop(void *state)
{
	ml_state_t *s = state;
	missed_feeds_stop(s->missed_feeds);
}

/* After the clients: their failing callbacks still finish refreshes and sweeps. */
static void free_state(void *state)
{
	ml_state_t *s = state;
	missed_feeds_free(s->missed_feeds);
	free(s);
}

/* One bucket per account shared by every operation (ML_SYNC_OP): Mercado Livre limits an
 * application per seller, not per resource. Untold, the bucket is 0.9 x the rate and starts
 * full: requests reach Mercado Livre with some jitter, and a bucket there that matches ours
 * exactly would meet them empty. Told Mercado Livre's bucket (ML_BURST), ours is half of it: a
 * call reaches Mercado Livre later than it leaves here, by a delay that varies (on a busy host by
 * 100 ms and more), so its bucket lags ours; at 200/s with a bucket of 50, holding back 50 ms of
 * refill still met 5 answers 429 in 11,486 calls. And ours starts empty: a small bucket there may
 * have been spent by calls we did not count (a login, another process, a restart). A burst only
 * matters after a pause; the rate, which decides a backfill's time, is not held back. */
static size_t rates(const app_t *app, channel_rate_t *out, size_t max)
{
	if (max < 1)
		return 0;
	const ml_config_t *c = ml_config(app);
	double rate = c->rate;
	double burst = rate > 10 ? rate * 0.9 : rate, start = burst;
	if (c->burst > 0) {
		burst = c->burst / 2;
		start = 0;
	}
	out[0] = (channel_rate_t){"", rate, burst, start};
	return 1;
}

typedef struct sync_call {
	channel_done_cb cb;
	void *arg;
} sync_call_t;

static void synced(const ml_sync_result_t *res, void *arg)
{
	sync_call_t *c = arg;
	c->cb(res->ok ? NULL : res->found ? res->error : "no such account", c->arg);
	free(c);
}

/* The janitor's scheduled sync: the summary sync (counts, sync bookkeeping) of summary.c. */
static void sync_account(app_t *app, const char *account_id, channel_done_cb cb, void *arg)
{
	sync_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	ml_sync_account(app, account_id, NULL, synced, c);
}

static const char states_sql[] =
    "DELETE FROM ml_oauth_states WHERE expires_at < now() - interval '1 day'";

static void states_dropped(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("ml: dropping spent OAuth states failed: %s", err);
}

/* Hourly: the OAuth handshakes that ended (used or expired) a day ago. */
static void maintain(app_t *app)
{
	pg_query(app->pg, states_sql, 0, NULL, states_dropped, NULL);
}

/* The notification jobs of the tenant's sellers (from each account's connection on) that are
 * still pending or arrived in the last 24 hours (the notification indexes, per account: 0011),
 * and the dead ones. A job per group, a group every few milliseconds under load: checking every
 * job ever stored (or every job of the day, of every tenant) made the board slower with each
 * day (0.6 s with 45,000 groups of other tenants done in the last minutes, bench-webhooks).
 * Older done groups are listed nowhere and counted nowhere, as a queue dashboard drops
 * completed jobs. */
static const char tenant_jobs_sql[] =
    "SELECT j.* FROM jobs j WHERE j.id IN (SELECT n.job_id FROM accounts a"
    " CROSS JOIN LATERAL (SELECT job_id FROM ml_notifications"
    " WHERE ml_user_id = a.external_id::bigint AND status = 'pending'"
    " AND arrived_at >= a.created_at"
    " UNION ALL SELECT job_id FROM ml_notifications"
    " WHERE ml_user_id = a.external_id::bigint AND status <> 'pending'"
    " AND arrived_at > greatest(a.created_at, now() - interval '24 hours') OFFSET 0) n"
    " WHERE a.tenant_id = $1 AND a.channel = 'ml')"
    " AND j.kind = '" ML_NOTIFICATIONS_JOB "' AND j.tenant_id IS NULL AND j.status <> 'dead'"
    " UNION ALL SELECT j.* FROM jobs j WHERE j.kind = '" ML_NOTIFICATIONS_JOB "'"
    " AND j.tenant_id IS NULL AND j.status = 'dead' AND EXISTS (SELECT 1"
    " FROM ml_notifications n JOIN accounts a ON a.tenant_id = $1 AND a.channel = 'ml'"
    " AND a.external_id = n.ml_user_id::text AND n.arrived_at >= a.created_at"
    " WHERE n.job_id = j.id)";

/* A retried group's dead notifications wait again. */
static const char reopen_sql[] =
    "UPDATE ml_notifications SET status = 'pending', processed_at = NULL"
    " WHERE job_id IN (SELECT id FROM retried) AND status = 'dead'";

/* Questions buyers asked that still wait for the seller's answer (QUESTION_UNANSWERED). */
static const char alert_questions_sql[] =
    "SELECT q.tenant_id, q.id::text, q.date_created,"
    " 'Unanswered question on ' || coalesce(q.item_ml_id, 'a listing'),"
    " left(q.text, 500), jsonb_build_object('questionId', q.id, 'itemId', q.item_ml_id,"
    " 'accountId', q.account_id, 'channel', 'ml')"
    " FROM ml_questions q WHERE q.status = 'UNANSWERED'";

/* order_fulfillment (sql/0028): Full, Flex, Mercado Envios from the seller */
static const char *const fulfillments[] = {"ML_FULL", "ML_FLEX", "ML_SELLER", NULL};

const channel_t ml_channel = {
    .name = "ml",
    .title = "Mercado Livre",
    .configure = ml_configure,
    .config_free = ml_config_free,
    .start = start,
    .stop = stop,
    .free = free_state,
    .rates = rates,
    .grant = ml_tokens_grant,
    .sync = sync_account,
    .maintain = maintain,
    .resync_shipment = ml_shipments_resync,
    .tenant_jobs_sql = tenant_jobs_sql,
    .alert_questions_sql = alert_questions_sql,
    .reopen_sql = reopen_sql,
    .push_stock = ml_push_stock,
    .fulfillments = fulfillments,
    .intake = &ml_intake,
    .plan = &ml_sync_plan,
};
