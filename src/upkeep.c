/* Token upkeep for every channel's accounts (see the header). A refresh is one struct
 * (refresh_t) that moves through LOCK → READ → CALL → SAVE → done; waiters of the same account in
 * this process join its list. */
#include "upkeep.h"
#include "accounts.h"
#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCK_POLL_MS 50

static const char read_sql[] =
    "SELECT access_token_sealed, refresh_token_sealed, status, "
    "  refreshed_at >= to_timestamp($2::bigint / 1000.0) AS fresh, "
    "  token_expires_at > now() + interval '30 minutes' AS healthy, channel "
    "FROM accounts WHERE id = $1";

static const char access_sql[] =
    "SELECT access_token_sealed, status, token_expires_at <= now() + interval '1 minute' "
    "FROM accounts WHERE id = $1";

static const char save_sql[] =
    "UPDATE accounts SET access_token_sealed = $2, refresh_token_sealed = $3, "
    "  token_expires_at = now() + $4::int * interval '1 second', refreshed_at = now(), "
    "  status = CASE WHEN status = 'expired' THEN 'active' ELSE status END "
    "WHERE id = $1";

static const char expired_sql[] = "UPDATE accounts SET status = 'expired', " ACCOUNTS_PUSH_ERROR(
    "'token'", "$2") " WHERE id = $1";

/* A failed refresh that is not the grant's death: keep the status, remember the error. */
static const char failed_sql[] =
    "UPDATE accounts SET " ACCOUNTS_PUSH_ERROR("'token'", "$2") " WHERE id = $1";

/* Compare-and-delete: never release a lease that expired and went to someone else. */
static const char unlock_lua[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
    "return 0";

typedef struct waiter {
	upkeep_cb cb;
	void *arg;
	struct waiter *next;
} waiter_t;

enum refresh_state { R_LOCK, R_READ, R_CALL, R_SAVE };

/* One refresh of one account. Owned by the upkeep list until done; freed by refresh_done. */
typedef struct refresh {
	app_t *app;
	upkeep_t *owner;
	enum refresh_state state;
	enum upkeep_reason why;
	char account_id[40];
	char lock_key[64], lock_val[32];
	bool locked;
	int64_t since_ms, deadline_ms; /* wall clock of the first request; lock wait limit */
	char *rejected;		       /* plaintext that got a 401, cleared on free */
	char *access;		       /* plaintext result, cleared on free */
	char *sealed_access, *sealed_refresh;
	struct event *poll;
	waiter_t *waiters, **tail;
	struct refresh *next;
} refresh_t;

struct upkeep {
	app_t *app;
	refresh_t *inflight;
};

upkeep_t *upkeep_new(app_t *app)
{
	upkeep_t *t = xcalloc(1, sizeof(*t));
	t->app = app;
	return t;
}

void upkeep_keys(const app_t *app, crypto_keys_t *out)
{
	memcpy(out->current, app->cfg.encryption_key, 32);
	memcpy(out->old, app->cfg.encryption_key_old, 32);
	out->has_old = app->cfg.has_old_key;
}

bool upkeep_seal_tokens(const app_t *app, const char *access_token, const char *refresh_token,
			char **sealed_access, char **sealed_refresh)
{
	crypto_keys_t keys;
	upkeep_keys(app, &keys);
	*sealed_access = crypto_seal(&keys, access_token);
	*sealed_refresh = crypto_seal(&keys, refresh_token);
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (*sealed_access && *sealed_refresh)
		return true;
	free(*sealed_access);
	free(*sealed_refresh);
	*sealed_access = *sealed_refresh = NULL;
	log_error("upkeep: sealing an account's tokens failed");
	return false;
}

static void refresh_free(refresh_t *r)
{
	if (r->poll)
		event_free(r->poll);
	crypto_free_secret(r->rejected);
	crypto_free_secret(r->access);
	free(r->sealed_access);
	free(r->sealed_refresh);
	free(r);
}

static void unlocked(redisReply *reply, const char *err, void *arg)
{
	if (err)
		log_warn("upkeep: releasing a refresh lock failed (%s); its lease ends it", err);
}

/* Unlink, release the lock, then tell every waiter (a waiter may start a new refresh). */
static void refresh_done(refresh_t *r, enum channel_err err, const char *message)
{
	for (refresh_t **p = &r->owner->inflight; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	if (r->locked) {
		const char *argv[] = {"EVAL", unlock_lua, "1", r->lock_key, r->lock_val};
		redis_commandv(r->app->redis, unlocked, NULL, 5, argv, NULL);
	}
	waiter_t *w = r->waiters;
	while (w) {
		waiter_t *next = w->next;
		w->cb(err, message, err == CHANNEL_OK ? r->access : NULL, w->arg);
		free(w);
		w = next;
	}
	refresh_free(r);
}

static void fail(refresh_t *r, enum channel_err err, const char *message)
{
	refresh_done(r, err, message);
}

void upkeep_free(upkeep_t *t)
{
	if (!t)
		return;
	while (t->inflight)
		fail(t->inflight, CHANNEL_ERR_TRANSIENT, "shutting down");
	free(t);
}

/* --- the steps ------------------------------------------------------------------------------ */

static void lock_try(refresh_t *r);

static void lock_poll(evutil_socket_t fd, short what, void *arg)
{
	lock_try(arg);
}

static void read_done(const PGresult *res, const char *err, void *arg);

static void lock_reply(redisReply *reply, const char *err, void *arg)
{
	refresh_t *r = arg;
	if (err || !reply || reply->type == REDIS_REPLY_ERROR) {
		/* Fail closed: refreshing without the lock could burn a single-use token. */
		fail(r, CHANNEL_ERR_TRANSIENT, "the refresh lock is unavailable (Redis)");
		return;
	}
	if (reply->type == REDIS_REPLY_NIL) {
		/* Another process is refreshing: wait, then re-read what it saved. */
		if (wall_ms() > r->deadline_ms) {
			fail(r, CHANNEL_ERR_TRANSIENT, "another refresh of this account is stuck");
			return;
		}
		if (!r->poll)
			r->poll = evtimer_new(r->app->base, lock_poll, r);
		struct timeval tv = {0, LOCK_POLL_MS * 1000};
		evtimer_add(r->poll, &tv);
		return;
	}
	r->locked = true;
	r->state = R_READ;
	char since[32];
	snprintf(since, sizeof(since), "%lld", (long long)r->since_ms);
	const char *params[] = {r->account_id, since};
	pg_query_prepared(r->app->pg, read_sql, 2, params, read_done, r);
}

static void lock_try(refresh_t *r)
{
	char lease[16];
	snprintf(lease, sizeof(lease), "%d", UPKEEP_LEASE_MS);
	const char *argv[] = {"SET", r->lock_key, r->lock_val, "NX", "PX", lease};
	redis_commandv(r->app->redis, lock_reply, r, 6, argv, NULL);
}

static void refreshed(enum channel_err err, const char *message, const channel_grant_t *g,
		      void *arg);

/* Decide with the row as it is now that we hold the lock. */
static void read_done(const PGresult *res, const char *err, void *arg)
{
	refresh_t *r = arg;
	if (err) {
		log_warn("upkeep: reading account %s failed: %s", r->account_id, err);
		fail(r, CHANNEL_ERR_TRANSIENT, "the database is unavailable");
		return;
	}
	if (PQntuples(res) != 1) {
		fail(r, CHANNEL_ERR_NOT_FOUND, "no such account");
		return;
	}
	if (strcmp(pg_value(res, 0, 2), "expired") == 0) {
		fail(r, CHANNEL_ERR_EXPIRED, channel_err_name(CHANNEL_ERR_EXPIRED));
		return;
	}
	crypto_keys_t keys;
	upkeep_keys(r->app, &keys);
	r->access = crypto_open(&keys, pg_value(res, 0, 0));
	char *refresh = crypto_open(&keys, pg_value(res, 0, 1));
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (!r->access || !refresh) {
		crypto_free_secret(refresh);
		log_error("upkeep: account %s has tokens this key cannot open", r->account_id);
		fail(r, CHANNEL_ERR_OTHER,
		     "the stored tokens cannot be opened with the current keys");
		return;
	}
	bool fresh = pg_bool(res, 0, 3), healthy = pg_bool(res, 0, 4), skip = false;
	switch (r->why) {
	case UPKEEP_MANUAL:
		skip = fresh;
		break;
	case UPKEEP_EXPIRING:
		skip = fresh || healthy;
		break;
	case UPKEEP_REJECTED:
		skip = strcmp(r->access, r->rejected) != 0;
		break;
	}
	if (skip) {
		crypto_free_secret(refresh);
		refresh_done(r, CHANNEL_OK, NULL);
		return;
	}
	const channel_t *ch = channel_find(pg_value(res, 0, 5));
	if (!ch || !ch->grant) {
		crypto_free_secret(refresh);
		fail(r, CHANNEL_ERR_OTHER, "this account's channel has no token grant");
		return;
	}
	r->state = R_CALL;
	ch->grant(r->app, r->account_id, refresh, refreshed, r);
	crypto_free_secret(refresh);
}

static void saved(const PGresult *res, const char *err, void *arg)
{
	refresh_t *r = arg;
	if (err) {
		/* The new refresh token is lost with this write: the grant will need a reconnect.
		 */
		log_error("upkeep: saving the refreshed tokens of %s failed: %s", r->account_id,
			  err);
		fail(r, CHANNEL_ERR_TRANSIENT, "the database is unavailable");
		return;
	}
	log_info("upkeep: account %s refreshed", r->account_id);
	refresh_done(r, CHANNEL_OK, NULL);
}

typedef struct failure {
	refresh_t *r;
	enum channel_err err;
	char message[300];
} failure_t;

static void failure_saved(const PGresult *res, const char *err, void *arg)
{
	failure_t *f = arg;
	if (err)
		log_warn("upkeep: recording a refresh failure of %s failed: %s", f->r->account_id,
			 err);
	fail(f->r, f->err, f->message);
	free(f);
}

static void refreshed(enum channel_err err, const char *message, const channel_grant_t *g,
		      void *arg)
{
	refresh_t *r = arg;
	app_t *app = r->app;
	if (err != CHANNEL_OK) {
		failure_t *f = xcalloc(1, sizeof(*f));
		f->r = r;
		f->err = err;
		snprintf(f->message, sizeof(f->message), "token refresh failed: %s",
			 message ? message : channel_err_name(err));
		log_warn("upkeep: account %s: %s", r->account_id, f->message);
		const char *params[] = {r->account_id, f->message};
		pg_query(app->pg, err == CHANNEL_ERR_INVALID_GRANT ? expired_sql : failed_sql, 2,
			 params, failure_saved, f);
		return;
	}
	crypto_free_secret(r->access);
	r->access = xstrdup(g->access_token);
	if (!upkeep_seal_tokens(app, g->access_token, g->refresh_token, &r->sealed_access,
				&r->sealed_refresh)) {
		fail(r, CHANNEL_ERR_OTHER, "sealing the tokens failed");
		return;
	}
	r->state = R_SAVE;
	char ttl[24];
	snprintf(ttl, sizeof(ttl), "%ld", g->expires_in);
	const char *params[] = {r->account_id, r->sealed_access, r->sealed_refresh, ttl};
	pg_query(app->pg, save_sql, 4, params, saved, r);
}

void upkeep_refresh(app_t *app, const char *account_id, enum upkeep_reason why,
		    const char *rejected_token, upkeep_cb cb, void *arg)
{
	upkeep_t *t = app->upkeep;
	waiter_t *w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	for (refresh_t *r = t->inflight; r; r = r->next)
		if (strcmp(r->account_id, account_id) == 0) {
			*r->tail = w;
			r->tail = &w->next;
			return;
		}
	refresh_t *r = xcalloc(1, sizeof(*r));
	r->app = app;
	r->owner = t;
	r->why = why;
	snprintf(r->account_id, sizeof(r->account_id), "%s", account_id);
	snprintf(r->lock_key, sizeof(r->lock_key), "sh:refresh-lock:%s", account_id);
	r->since_ms = wall_ms() - UPKEEP_GRACE_MS;
	r->deadline_ms = wall_ms() + UPKEEP_LOCK_WAIT_MS;
	r->rejected = rejected_token ? xstrdup(rejected_token) : xstrdup("");
	r->waiters = w;
	r->tail = &w->next;
	r->next = t->inflight;
	t->inflight = r;
	if (!crypto_random_token(16, r->lock_val, sizeof(r->lock_val))) {
		fail(r, CHANNEL_ERR_OTHER, "no randomness for the lock");
		return;
	}
	r->state = R_LOCK;
	lock_try(r);
}

/* --- the current token --------------------------------------------------------------------- */

typedef struct access_call {
	app_t *app;
	char account_id[40];
	upkeep_cb cb;
	void *arg;
} access_call_t;

static void access_done(const PGresult *res, const char *err, void *arg)
{
	access_call_t *a = arg;
	if (err || PQntuples(res) != 1) {
		a->cb(err ? CHANNEL_ERR_TRANSIENT : CHANNEL_ERR_NOT_FOUND,
		      err ? "the database is unavailable" : "no such account", NULL, a->arg);
		free(a);
		return;
	}
	if (strcmp(pg_value(res, 0, 1), "expired") == 0) {
		a->cb(CHANNEL_ERR_EXPIRED, channel_err_name(CHANNEL_ERR_EXPIRED), NULL, a->arg);
		free(a);
		return;
	}
	if (pg_bool(res, 0, 2)) {
		upkeep_refresh(a->app, a->account_id, UPKEEP_EXPIRING, NULL, a->cb, a->arg);
		free(a);
		return;
	}
	crypto_keys_t keys;
	upkeep_keys(a->app, &keys);
	char *token = crypto_open(&keys, pg_value(res, 0, 0));
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (token)
		a->cb(CHANNEL_OK, NULL, token, a->arg);
	else
		a->cb(CHANNEL_ERR_OTHER, "the stored token cannot be opened", NULL, a->arg);
	crypto_free_secret(token);
	free(a);
}

void upkeep_access(app_t *app, const char *account_id, upkeep_cb cb, void *arg)
{
	access_call_t *a = xcalloc(1, sizeof(*a));
	a->app = app;
	snprintf(a->account_id, sizeof(a->account_id), "%s", account_id);
	a->cb = cb;
	a->arg = arg;
	const char *params[] = {account_id};
	pg_query_prepared(app->pg, access_sql, 1, params, access_done, a);
}
