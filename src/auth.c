/* Access-token check for every authenticated route.
 *
 * A JWT alone cannot be taken back, so each request also needs its user's row (role, user
 * active, tenant active). The role used for permissions is the one in the database, not the
 * (up to 15 minutes old) one in the token.
 *
 * The rows are cached in the process, and the cache is only trusted while it is told of every
 * change: triggers on users and tenants NOTIFY sh_auth (sql/0007), a LISTEN connection
 * (pg_listen.c) hears it, and any notification empties the whole cache (changes are rare; a
 * generation counter makes emptying free). While the LISTEN connection is down nothing is
 * served from the cache, and it starts empty whenever listening starts again. A change made by
 * this process empties it at once (auth_forget), so the very next request here sees it; other
 * processes see it when the notification arrives, about a millisecond after the commit. A
 * lookup that was in flight across a change is not cached. Entries also expire after
 * CACHE_TTL_MS in case a notification is lost with a silently dead connection.
 *
 * Signing out and a reused refresh token must end access tokens too, not only the session's
 * refresh tokens: a deny-list in Redis, each entry living as long as what it denies could
 * (deny:jti:<jti> until the token's exp; deny:u:<user> = "tokens signed up to this ms",
 * for one access-token lifetime). Every authenticated request reads both keys. When Redis
 * does not answer, the check fails open: the list only shortens a window of at most JWT_TTL,
 * the user's active flags still come from PostgreSQL, and /api stays up. Denials made by this
 * process are also kept here, so they hold in this process even then. */
#include "auth.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "pg_listen.h"
#include "tokens.h"
#include "users.h"
#include "util.h"
#include "validate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <time.h>

#define CACHE_SLOTS  4096 /* direct-mapped by the user id's hash; a collision is only a miss */
#define CACHE_TTL_MS 60000
#define DENY_LOCAL   1024 /* this process's own recent denials, kept for when Redis is down */

typedef struct slot {
	char user[40], tenant[40], role[24];
	bool user_active, tenant_active;
	uint64_t gen;
	int64_t until_ms;
} slot_t;

/* A denial made by this process: a token id, or a user's "issued up to" second. */
typedef struct denial {
	char jti[40], user[40];
	long long cutoff_ms;
	int64_t until_ms;
} denial_t;

struct auth {
	pg_listener_t *listener;
	denial_t denied[DENY_LOCAL]; /* a ring: the oldest is overwritten first */
	unsigned ndenied;
	metric_t *deny_errors, *denied_total;
	uint64_t gen; /* bumped by every change heard of: older entries are void */
	metric_t *hits, *misses;
	slot_t slots[CACHE_SLOTS];
};

/* A lookup in flight, and the generation it started in. */
typedef struct lookup {
	req_t *r;
	uint64_t gen;
} lookup_t;

static slot_t *slot_of(auth_t *a, const char *user)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const char *p = user; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return &a->slots[h % CACHE_SLOTS];
}

static const slot_t *cached(auth_t *a, const char *user, const char *tenant)
{
	if (!pg_listener_listening(a->listener))
		return NULL;
	const slot_t *s = slot_of(a, user);
	if (s->gen != a->gen || s->until_ms <= now_ms() || strcmp(s->user, user) != 0 ||
	    strcmp(s->tenant, tenant) != 0)
		return NULL;
	return s;
}

void auth_forget(app_t *app)
{
	if (app->auth)
		app->auth->gen++;
}

static void on_notify(const char *channel, const char *payload, void *arg)
{
	(void)channel;
	(void)payload;
	((auth_t *)arg)->gen++;
}

static void on_listen_state(bool listening, void *arg)
{
	(void)listening;
	((auth_t *)arg)->gen++;
}

static void refuse(req_t *r, const char *code, const char *message)
{
	char challenge[96];
	snprintf(challenge, sizeof(challenge), "Bearer error=\"%s\"",
		 strcmp(code, "NO_TOKEN") == 0 ? "invalid_request" : "invalid_token");
	http_set_header(r, "WWW-Authenticate", challenge);
	http_error(r, 401, code, message, NULL);
}

static void decide(req_t *r, const char *role, bool user_active, bool tenant_active)
{
	if (!user_active) {
		http_error(r, 403, "ACCOUNT_DISABLED", "This user account has been deactivated.",
			   NULL);
		return;
	}
	if (!tenant_active) {
		http_error(r, 403, "TENANT_SUSPENDED", "This company's access is suspended.", NULL);
		return;
	}
	r->role = arena_strdup(r->arena, role);
	http_continue(r);
}

static void user_state(const PGresult *res, const char *err, void *arg)
{
	lookup_t *lk = arg;
	req_t *r = lk->r;
	auth_t *a = ((app_t *)r->app)->auth;
	if (err) {
		const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		log_error("auth: user lookup failed: %s", primary ? primary : err);
		http_error(r, 503, "UNAVAILABLE", "The database is unavailable; retry shortly.",
			   NULL);
		return;
	}
	if (PQntuples(res) != 1) {
		refuse(r, "TOKEN_INVALID", "The access token's user no longer exists.");
		return;
	}
	const char *role = pg_value(res, 0, 0);
	bool user_active = pg_bool(res, 0, 1), tenant_active = pg_bool(res, 0, 2);
	if (lk->gen == a->gen && pg_listener_listening(a->listener) && strlen(role) < 24) {
		slot_t *s = slot_of(a, r->user_id);
		snprintf(s->user, sizeof(s->user), "%s", r->user_id);
		snprintf(s->tenant, sizeof(s->tenant), "%s", r->tenant_id);
		snprintf(s->role, sizeof(s->role), "%s", role);
		s->user_active = user_active;
		s->tenant_active = tenant_active;
		s->gen = a->gen;
		s->until_ms = now_ms() + CACHE_TTL_MS;
	}
	decide(r, role, user_active, tenant_active);
}

/* The user's state, from the cache or PostgreSQL, then decide. */
static void admit(req_t *r)
{
	app_t *app = r->app;
	const slot_t *s = cached(app->auth, r->user_id, r->tenant_id);
	if (s) {
		metric_inc(app->auth->hits);
		decide(r, s->role, s->user_active, s->tenant_active);
		return;
	}
	metric_inc(app->auth->misses);
	lookup_t *lk = arena_calloc(r->arena, 1, sizeof(*lk));
	lk->r = r;
	lk->gen = app->auth->gen;
	users_access(app, r->tenant_id, r->user_id, user_state, lk);
}

static void revoked(req_t *r)
{
	metric_inc(((app_t *)r->app)->auth->denied_total);
	refuse(r, "TOKEN_INVALID", "The access token has been revoked; sign in again.");
}

static bool locally_denied(const auth_t *a, const access_claims_t *c)
{
	int64_t now = now_ms();
	unsigned n = a->ndenied < DENY_LOCAL ? a->ndenied : DENY_LOCAL;
	for (unsigned i = 0; i < n; i++) {
		const denial_t *d = &a->denied[i];
		if (d->until_ms <= now)
			continue;
		if (d->jti[0] ? strcmp(d->jti, c->jti) == 0
			      : strcmp(d->user, c->sub) == 0 && tokens_issued_ms(c) <= d->cutoff_ms)
			return true;
	}
	return false;
}

static void deny_reply(redisReply *reply, const char *err, void *arg)
{
	req_t *r = arg;
	const access_claims_t *c = r->auth;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
		metric_inc(((app_t *)r->app)->auth->deny_errors); /* fail open: see the top */
		admit(r);
		return;
	}
	const redisReply *jti = reply->element[0], *user = reply->element[1];
	if (jti->type == REDIS_REPLY_STRING ||
	    (user->type == REDIS_REPLY_STRING &&
	     tokens_issued_ms(c) <= strtoll(user->str, NULL, 10))) {
		revoked(r);
		return;
	}
	admit(r);
}

static void ignore_reply(redisReply *reply, const char *err, void *arg)
{
	if (err || (reply && reply->type == REDIS_REPLY_ERROR))
		log_warn("auth: deny-list write failed: %s", err ? err : reply->str);
}

static denial_t *remember(auth_t *a, int64_t until_ms)
{
	denial_t *d = &a->denied[a->ndenied++ % DENY_LOCAL];
	memset(d, 0, sizeof(*d));
	d->until_ms = until_ms;
	return d;
}

void auth_revoke_token(req_t *r)
{
	app_t *app = r->app;
	const access_claims_t *c = r->auth;
	if (!c || !app->auth)
		return;
	long ttl = c->exp - (long)time(NULL);
	if (ttl <= 0)
		return;
	denial_t *d = remember(app->auth, now_ms() + ttl * 1000);
	snprintf(d->jti, sizeof(d->jti), "%s", c->jti);
	redis_command(app->redis, ignore_reply, NULL, "SET deny:jti:%s 1 EX %ld", c->jti, ttl);
}

void auth_revoke_user(app_t *app, const char *user_id)
{
	if (!app->auth || !validate_uuid(user_id))
		return;
	long long now = (long long)wall_ms();
	/* Tokens signed up to now live at most JWT_TTL more (plus the iat skew allowed). */
	long ttl = app->cfg.jwt_ttl_s + TOKENS_CLOCK_SKEW_S + 1;
	denial_t *d = remember(app->auth, now_ms() + ttl * 1000);
	snprintf(d->user, sizeof(d->user), "%s", user_id);
	d->cutoff_ms = now;
	redis_command(app->redis, ignore_reply, NULL, "SET deny:u:%s %lld EX %ld", user_id, now,
		      ttl);
}

static void auth_hook(req_t *r)
{
	app_t *app = r->app;
	const char *h = http_header(r, "Authorization");
	const char *q = r->match.method->flags & ROUTE_QUERY_TOKEN && (!h || !*h)
			    ? http_query(r, "access_token")
			    : NULL;
	if (q && *q)
		h = arena_printf(r->arena, "Bearer %s", q);
	if (!h || !*h) {
		refuse(r, "NO_TOKEN", "Sign in first: send Authorization: Bearer <accessToken>.");
		return;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		refuse(r, "TOKEN_INVALID",
		       "The Authorization header must be Bearer <accessToken>.");
		return;
	}
	access_claims_t c;
	switch (tokens_access_verify(app->cfg.jwt_secret, h + 7, (long)time(NULL), &c)) {
	case TOKEN_EXPIRED:
		refuse(r, "TOKEN_EXPIRED", "The access token has expired; refresh it.");
		return;
	case TOKEN_INVALID:
		refuse(r, "TOKEN_INVALID", "The access token is not valid.");
		return;
	case TOKEN_OK:
		break;
	}
	if (!validate_uuid(c.sub) || !validate_uuid(c.tid)) {
		refuse(r, "TOKEN_INVALID", "The access token is not valid.");
		return;
	}
	r->user_id = arena_strdup(r->arena, c.sub);
	r->tenant_id = arena_strdup(r->arena, c.tid);
	access_claims_t *kept = arena_alloc(r->arena, sizeof(*kept));
	*kept = c;
	r->auth = kept;
	if (locally_denied(app->auth, kept)) {
		revoked(r);
		return;
	}
	redis_command(app->redis, deny_reply, r, "MGET deny:jti:%s deny:u:%s", c.jti, c.sub);
}

void auth_install(app_t *app)
{
	auth_t *a = xcalloc(1, sizeof(*a));
	static const char *const channels[] = {"sh_auth", NULL};
	a->listener = pg_listener_new(app->base, app->cfg.database_url, channels, on_notify,
				      on_listen_state, a);
	a->hits =
	    metrics_counter("sellerhub_auth_cache_hits_total",
			    "Authenticated requests whose user state came from the cache", "");
	a->misses = metrics_counter(
	    "sellerhub_auth_cache_misses_total",
	    "Authenticated requests that read their user state from PostgreSQL", "");
	a->deny_errors = metrics_counter(
	    "sellerhub_auth_denylist_errors_total",
	    "Access-token deny-list checks that Redis did not answer (admitted: fail open)", "");
	a->denied_total = metrics_counter("sellerhub_auth_revoked_tokens_total",
					  "Requests refused with a revoked access token", "");
	app->auth = a;
	http_add_hook(app->http, "/api", auth_hook, true);
}

void auth_free(app_t *app)
{
	if (!app->auth)
		return;
	pg_listener_free(app->auth->listener);
	free(app->auth);
	app->auth = NULL;
}
