/* The janitor's sweeps (see the header). */
#include "janitor.h"
#include "alerts.h"
#include "channel.h"
#include "crypto.h"
#include "discrepancies.h"
#include "log.h"
#include "upkeep.h"
#include "util.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char expiring_sql[] =
    "SELECT id FROM accounts WHERE channel = ANY($2::text[])"
    " AND status IN ('active', 'paused', 'error')"
    " AND token_expires_at <= now() + interval '30 minutes' ORDER BY token_expires_at LIMIT $1";

/* Claiming moves next_sync_at forward, so another process (or the next sweep) skips them. */
static const char claim_sql[] =
    "UPDATE accounts SET next_sync_at = now() + sync_interval_ms * interval '1 ms'"
    " WHERE id IN (SELECT id FROM accounts WHERE channel = ANY($2::text[]) AND sync_enabled"
    "  AND status IN ('active', 'error') AND next_sync_at <= now()"
    "  ORDER BY next_sync_at FOR UPDATE SKIP LOCKED LIMIT $1) RETURNING id, channel";

static const char trim_sql[] =
    "UPDATE accounts SET error_history = (SELECT jsonb_agg(x.e ORDER BY x.n)"
    "  FROM jsonb_array_elements(error_history) WITH ORDINALITY AS x(e, n) WHERE x.n <= 20)"
    " WHERE jsonb_array_length(error_history) > 20";

static const char health_sql[] =
    "SELECT channel, status, count(*) FROM accounts GROUP BY 1, 2 ORDER BY 1, 2";

/* An account without a refresh token (an API key) has only the access one to re-seal. */
static const char stale_seal_sql[] =
    "SELECT id, access_token_sealed, refresh_token_sealed FROM accounts"
    " WHERE NOT (access_token_sealed LIKE $1 AND coalesce(refresh_token_sealed LIKE $1, true))"
    " LIMIT $2";

/* Compare-and-set: a refresh that saved new tokens meanwhile wins. */
static const char reseal_sql[] =
    "UPDATE accounts SET access_token_sealed = $2, refresh_token_sealed = $3"
    " WHERE id = $1 AND access_token_sealed = $4 AND refresh_token_sealed IS NOT DISTINCT FROM $5";

typedef struct sweep {
	janitor_t *j;
	struct event *ev;
	int64_t every_ms;
	int busy; /* work items still running from the last run */
	void (*run)(struct sweep *s);
} sweep_t;

enum { S_TOKENS, S_SYNC, S_MAINTENANCE, S_HEALTH, S_INVENTORY, S_ALERTS, S_N };

struct janitor {
	app_t *app;
	char granting[256]; /* "{ml,...}": the channels with a grant, as a text[] literal */
	char syncing[256];  /* the channels with a scheduled sync */
	sweep_t sweeps[S_N];
};

static void arm(sweep_t *s)
{
	struct timeval tv = {s->every_ms / 1000, (s->every_ms % 1000) * 1000};
	evtimer_add(s->ev, &tv);
}

static void fire(evutil_socket_t fd, short what, void *arg)
{
	sweep_t *s = arg;
	arm(s);
	if (s->busy == 0)
		s->run(s);
}

static void item_done(sweep_t *s)
{
	s->busy--;
}

/* --- tokens ----------------------------------------------------------------------------------- */

static void token_refreshed(enum channel_err err, const char *message, const char *access,
			    void *arg)
{
	item_done(arg);
}

static void expiring_listed(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err) {
		log_warn("janitor: listing expiring tokens failed: %s", err);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		s->busy++;
		upkeep_refresh(s->j->app, pg_value(res, i, 0), UPKEEP_EXPIRING, NULL,
			       token_refreshed, s);
	}
}

static void run_tokens(sweep_t *s)
{
	s->busy++;
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", JANITOR_BATCH);
	const char *params[] = {limit, s->j->granting};
	pg_query_prepared(s->j->app->pg, expiring_sql, 2, params, expiring_listed, s);
}

/* --- scheduled sync --------------------------------------------------------------------------- */

static void synced(const char *error, void *arg)
{
	item_done(arg);
}

static void claimed(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err) {
		log_warn("janitor: claiming due accounts failed: %s", err);
		return;
	}
	if (PQntuples(res))
		log_info("janitor: syncing %d due accounts", PQntuples(res));
	for (int i = 0; i < PQntuples(res); i++) {
		const channel_t *ch = channel_find(pg_value(res, i, 1));
		if (!ch || !ch->sync)
			continue; /* claimed by the channel list of $2: not reached */
		s->busy++;
		ch->sync(s->j->app, pg_value(res, i, 0), synced, s);
	}
}

static void run_sync(sweep_t *s)
{
	if (s->j->app->cfg.job_concurrency == 0) /* a process that runs no jobs syncs none */
		return;
	s->busy++;
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", s->j->app->cfg.job_concurrency);
	const char *params[] = {limit, s->j->syncing};
	pg_query(s->j->app->pg, claim_sql, 2, params, claimed, s);
}

/* --- maintenance: trimming, re-sealing, the channels' own ------------------------------------ */

static void maintenance_step(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err)
		log_warn("janitor: maintenance statement failed: %s", err);
}

/* Re-seal one account's tokens with the current key: false when no configured key opens them. */
static bool reseal(sweep_t *s, const crypto_keys_t *keys, const PGresult *res, int i)
{
	const char *old_a = pg_value(res, i, 1), *old_r = pg_value(res, i, 2);
	char *a = crypto_open(keys, old_a), *r = old_r ? crypto_open(keys, old_r) : NULL;
	char *sa = a ? crypto_seal(keys, a) : NULL, *sr = r ? crypto_seal(keys, r) : NULL;
	crypto_free_secret(a);
	crypto_free_secret(r);
	bool ok = sa && (!old_r || sr);
	if (ok) {
		const char *params[] = {pg_value(res, i, 0), sa, sr, old_a, old_r};
		s->busy++;
		pg_query(s->j->app->pg, reseal_sql, 5, params, maintenance_step, s);
	}
	free(sa);
	free(sr);
	return ok;
}

static void stale_listed(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err) {
		log_warn("janitor: listing tokens to re-seal failed: %s", err);
		return;
	}
	crypto_keys_t keys;
	upkeep_keys(s->j->app, &keys);
	int moved = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		if (reseal(s, &keys, res, i))
			moved++;
		else
			log_warn("janitor: account %s has tokens no configured key opens",
				 pg_value(res, i, 0));
	}
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (moved)
		log_info("janitor: re-sealed the tokens of %d accounts with the current key",
			 moved);
}

static void run_maintenance(sweep_t *s)
{
	app_t *app = s->j->app;
	s->busy += 2;
	pg_query(app->pg, trim_sql, 0, NULL, maintenance_step, s);
	char kid[CRYPTO_KID_LEN + 1], like[32], limit[16];
	crypto_key_id(app->cfg.encryption_key, kid);
	snprintf(like, sizeof(like), CRYPTO_SEALED_PREFIX "%s:%%", kid);
	snprintf(limit, sizeof(limit), "%d", JANITOR_BATCH);
	const char *params[] = {like, limit};
	pg_query(app->pg, stale_seal_sql, 2, params, stale_listed, s);
	for (size_t i = 0; channels[i]; i++)
		if (channels[i]->maintain)
			channels[i]->maintain(app);
}

/* --- health ----------------------------------------------------------------------------------- */

static void health_counted(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err) {
		log_warn("janitor: health summary failed: %s", err);
		return;
	}
	json_t *by = json_object();
	long long total = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *channel = pg_value(res, i, 0);
		json_t *c = json_object_get(by, channel);
		if (!c) {
			c = json_object();
			json_object_set_new(by, channel, c);
		}
		long long n = pg_int(res, i, 2, 0);
		json_object_set_new(c, pg_value(res, i, 1), json_integer(n));
		total += n;
	}
	log_fields(LOG_INFO, "janitor: accounts health",
		   json_pack("{s:I, s:o}", "total", (json_int_t)total, "by_channel", by));
}

static void run_health(sweep_t *s)
{
	s->busy++;
	pg_query(s->j->app->pg, health_sql, 0, NULL, health_counted, s);
}

/* --- inventory: the discrepancy detection ------------------------------------------------ */

static void detected(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err)
		log_warn("janitor: detecting stock discrepancies failed: %s", err);
	else if (pg_int(res, 0, 0, -1) >= 0)
		log_debug("janitor: %lld stock discrepancies", pg_int(res, 0, 0, -1));
}

static void run_inventory(sweep_t *s)
{
	s->busy++;
	discrepancies_detect(s->j->app, NULL, detected, s);
}

/* "{a,b}" of the channels that have the callback (names are [a-z0-9_], no quoting needed). */
/* --- alerts ---------------------------------------------------------------------------------- */

static void alerts_evaluated(const PGresult *res, const char *err, void *arg)
{
	item_done(arg);
}

static void run_alerts(sweep_t *s)
{
	s->busy++;
	alerts_evaluate(s->j->app, NULL, alerts_evaluated, s);
}

static void channel_list(char *out, size_t size, bool (*has)(const channel_t *ch))
{
	size_t n = (size_t)snprintf(out, size, "{");
	for (size_t i = 0; channels[i] && n < size; i++)
		if (has(channels[i]))
			n += (size_t)snprintf(out + n, size - n, "%s%s", n > 1 ? "," : "",
					      channels[i]->name);
	if (n < size)
		snprintf(out + n, size - n, "}");
}

static bool has_grant(const channel_t *ch)
{
	return ch->grant != NULL;
}

static bool has_sync(const channel_t *ch)
{
	return ch->sync != NULL;
}

janitor_t *janitor_start(app_t *app)
{
	janitor_t *j = xcalloc(1, sizeof(*j));
	j->app = app;
	channel_list(j->granting, sizeof(j->granting), has_grant);
	channel_list(j->syncing, sizeof(j->syncing), has_sync);
	static void (*const runs[S_N])(sweep_t *) = {run_tokens, run_sync,	run_maintenance,
						     run_health, run_inventory, run_alerts};
	int64_t every[S_N] = {app->cfg.token_sweep_ms,	    app->cfg.sync_sweep_ms,
			      JANITOR_MAINTENANCE_MS,	    JANITOR_HEALTH_MS,
			      app->cfg.inventory_detect_ms, app->cfg.alert_sweep_ms};
	for (int i = 0; i < S_N; i++) {
		sweep_t *s = &j->sweeps[i];
		s->j = j;
		s->every_ms = every[i];
		s->run = runs[i];
		if (s->every_ms <= 0)
			continue; /* switched off */
		s->ev = evtimer_new(app->base, fire, s);
		arm(s);
	}
	/* Maintenance (re-sealing after a key rotation) also runs soon after start. */
	struct timeval soon = {1, 0};
	evtimer_add(j->sweeps[S_MAINTENANCE].ev, &soon);
	return j;
}

void janitor_free(janitor_t *j)
{
	if (!j)
		return;
	for (int i = 0; i < S_N; i++)
		if (j->sweeps[i].ev)
			event_free(j->sweeps[i].ev);
	free(j);
}
