/* Periodic work on Mercado Livre accounts. Each timer runs one sweep at a time: a sweep that is
 * still busy when its timer fires again is skipped, never doubled. */
#include "timers.h"
#include "crypto.h"
#include "log.h"
#include "account.h"
#include "summary.h"
#include "upkeep.h"
#include "util.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char expiring_sql[] =
    "SELECT id FROM accounts WHERE channel = 'ml' AND status IN ('active', 'paused', 'error') "
    "AND token_expires_at <= now() + interval '30 minutes' ORDER BY token_expires_at LIMIT $1";

/* Claiming moves next_sync_at forward, so another process (or the next sweep) skips them. */
static const char claim_sql[] =
    "UPDATE accounts SET next_sync_at = now() + sync_interval_ms * interval '1 ms' "
    "WHERE id IN (SELECT id FROM accounts WHERE channel = 'ml' AND sync_enabled "
    "  AND status IN ('active', 'error') AND next_sync_at <= now() "
    "  ORDER BY next_sync_at FOR UPDATE SKIP LOCKED LIMIT $1) RETURNING id";

static const char trim_sql[] =
    "UPDATE accounts SET error_history = (SELECT jsonb_agg(x.e ORDER BY x.n) "
    "  FROM jsonb_array_elements(error_history) WITH ORDINALITY AS x(e, n) WHERE x.n <= 20) "
    "WHERE jsonb_array_length(error_history) > 20";

static const char states_sql[] =
    "DELETE FROM ml_oauth_states WHERE expires_at < now() - interval '1 day'";

static const char health_sql[] =
    "SELECT status, count(*) FROM accounts GROUP BY status ORDER BY status";

static const char stale_seal_sql[] =
    "SELECT id, access_token_sealed, refresh_token_sealed FROM accounts WHERE channel = 'ml' "
    "AND NOT (access_token_sealed LIKE $1 AND refresh_token_sealed LIKE $1) LIMIT $2";

/* Compare-and-set: a refresh that saved new tokens meanwhile wins. */
static const char reseal_sql[] =
    "UPDATE accounts SET access_token_sealed = $2, refresh_token_sealed = $3 "
    "WHERE id = $1 AND access_token_sealed = $4 AND refresh_token_sealed = $5";

typedef struct sweep {
	struct ml_jobs *jobs;
	struct event *ev;
	int64_t every_ms;
	int busy; /* work items still running from the last run */
	void (*run)(struct sweep *s);
} sweep_t;

enum { J_TOKENS, J_SYNC, J_MAINTENANCE, J_HEALTH, J_N };

struct ml_jobs {
	app_t *app;
	sweep_t sweeps[J_N];
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

static void token_refreshed(const ml_result_t *res, const char *access, void *arg)
{
	item_done(arg);
}

static void expiring_listed(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err) {
		log_warn("ml_jobs: listing expiring tokens failed: %s", err);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		s->busy++;
		ml_tokens_refresh(s->jobs->app, pg_value(res, i, 0), ML_REFRESH_EXPIRING, NULL,
				  token_refreshed, s);
	}
}

static void run_tokens(sweep_t *s)
{
	s->busy++;
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", ML_JOBS_BATCH);
	const char *params[] = {limit};
	pg_query_prepared(s->jobs->app->pg, expiring_sql, 1, params, expiring_listed, s);
}

/* --- scheduled sync --------------------------------------------------------------------------- */

static void synced(const ml_sync_result_t *res, void *arg)
{
	item_done(arg);
}

static void claimed(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err) {
		log_warn("ml_jobs: claiming due accounts failed: %s", err);
		return;
	}
	if (PQntuples(res))
		log_info("ml_jobs: syncing %d due accounts", PQntuples(res));
	for (int i = 0; i < PQntuples(res); i++) {
		s->busy++;
		ml_sync_account(s->jobs->app, pg_value(res, i, 0), NULL, synced, s);
	}
}

static void run_sync(sweep_t *s)
{
	if (s->jobs->app->cfg.job_concurrency == 0) /* a process that runs no jobs syncs none */
		return;
	s->busy++;
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", s->jobs->app->cfg.job_concurrency);
	const char *params[] = {limit};
	pg_query(s->jobs->app->pg, claim_sql, 1, params, claimed, s);
}

/* --- maintenance: trimming, spent states, re-sealing ------------------------------------------ */

static void maintenance_step(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err)
		log_warn("ml_jobs: maintenance statement failed: %s", err);
}

static void stale_listed(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	app_t *app = s->jobs->app;
	item_done(s);
	if (err) {
		log_warn("ml_jobs: listing tokens to re-seal failed: %s", err);
		return;
	}
	crypto_keys_t keys;
	ml_tokens_keys(app, &keys);
	int moved = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *old_a = pg_value(res, i, 1), *old_r = pg_value(res, i, 2);
		char *a = crypto_open(&keys, old_a), *r = crypto_open(&keys, old_r);
		char *sa = a ? crypto_seal(&keys, a) : NULL, *sr = r ? crypto_seal(&keys, r) : NULL;
		crypto_free_secret(a);
		crypto_free_secret(r);
		if (sa && sr) {
			const char *params[] = {pg_value(res, i, 0), sa, sr, old_a, old_r};
			s->busy++;
			pg_query(app->pg, reseal_sql, 5, params, maintenance_step, s);
			moved++;
		} else {
			log_warn("ml_jobs: account %s has tokens no configured key opens",
				 pg_value(res, i, 0));
		}
		free(sa);
		free(sr);
	}
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (moved)
		log_info("ml_jobs: re-sealed the tokens of %d accounts with the current key",
			 moved);
}

static void run_maintenance(sweep_t *s)
{
	app_t *app = s->jobs->app;
	s->busy += 3;
	pg_query(app->pg, trim_sql, 0, NULL, maintenance_step, s);
	pg_query(app->pg, states_sql, 0, NULL, maintenance_step, s);
	char kid[CRYPTO_KID_LEN + 1], like[32], limit[16];
	crypto_key_id(app->cfg.encryption_key, kid);
	snprintf(like, sizeof(like), CRYPTO_SEALED_PREFIX "%s:%%", kid);
	snprintf(limit, sizeof(limit), "%d", ML_JOBS_BATCH);
	const char *params[] = {like, limit};
	pg_query(app->pg, stale_seal_sql, 2, params, stale_listed, s);
}

/* --- health ------------------------------------------------------------------------------------
 */

static void health_counted(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	item_done(s);
	if (err) {
		log_warn("ml_jobs: health summary failed: %s", err);
		return;
	}
	json_t *by = json_object();
	long long total = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		long long n = pg_int(res, i, 1, 0);
		json_object_set_new(by, pg_value(res, i, 0), json_integer(n));
		total += n;
	}
	log_fields(LOG_INFO, "ml_jobs: accounts health",
		   json_pack("{s:I, s:o}", "total", (json_int_t)total, "by_status", by));
}

static void run_health(sweep_t *s)
{
	s->busy++;
	pg_query(s->jobs->app->pg, health_sql, 0, NULL, health_counted, s);
}

struct ml_jobs *ml_jobs_start(app_t *app)
{
	struct ml_jobs *j = xcalloc(1, sizeof(*j));
	j->app = app;
	static void (*const runs[J_N])(sweep_t *) = {run_tokens, run_sync, run_maintenance,
						     run_health};
	int64_t every[J_N] = {app->cfg.ml_token_sweep_ms, app->cfg.ml_sync_sweep_ms,
			      ML_JOBS_MAINTENANCE_MS, ML_JOBS_HEALTH_MS};
	for (int i = 0; i < J_N; i++) {
		sweep_t *s = &j->sweeps[i];
		s->jobs = j;
		s->every_ms = every[i];
		s->run = runs[i];
		s->ev = evtimer_new(app->base, fire, s);
		arm(s);
	}
	/* Maintenance (re-sealing after a key rotation) also runs soon after start. */
	struct timeval soon = {1, 0};
	evtimer_add(j->sweeps[J_MAINTENANCE].ev, &soon);
	return j;
}

void ml_jobs_free(struct ml_jobs *j)
{
	if (!j)
		return;
	for (int i = 0; i < J_N; i++)
		event_free(j->sweeps[i].ev);
	free(j);
}
