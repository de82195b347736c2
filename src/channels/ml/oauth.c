/* /api/ml/oauth: connecting a Mercado Livre account through the authorization code flow with
 * PKCE (S256). `start` stores a single-use state (only its SHA-256) bound to the tenant and the
 * user, with the sealed PKCE verifier, for 10 minutes; the callback consumes it, exchanges the
 * code, reads /users/me and creates the account or reconnects it (same id, synced data kept). */
#include "api.h"
#include "errors.h"
#include "ml.h"
#include "crypto.h"
#include "identity.h"
#include "log.h"
#include "client.h"
#include "account.h"
#include "token.h"
#include "permissions.h"
#include "util.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_BYTES 32
#define STATE_LEN   43

static const char state_sql[] =
    "INSERT INTO ml_oauth_states (state_hash, tenant_id, user_id, verifier_sealed, expires_at) "
    "VALUES ($1, $2, $3, $4, now() + interval '10 minutes')";

/* Single use: whoever flips used_at first owns the state. */
static const char consume_sql[] =
    "UPDATE ml_oauth_states SET used_at = now() "
    "WHERE state_hash = $1 AND used_at IS NULL AND expires_at > now() "
    "RETURNING tenant_id, user_id, verifier_sealed";

static const char lock_tenant_sql[] = "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE";

/* A reconnect keeps the row (its id, settings and cached data) and revives it. */
static const char connect_sql[] =
    "INSERT INTO accounts AS a (tenant_id, channel, external_id, nickname, settings, "
    "  access_token_sealed, refresh_token_sealed, token_expires_at, is_primary, next_sync_at) "
    "VALUES ($1, 'ml', $2, $3, jsonb_build_object('email', $4::text, 'siteId', "
    "  coalesce($5, 'MLB'), 'accountType', 'individual'), $6, $7, "
    "  now() + $8::int * interval '1 second', "
    "  NOT EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND channel = 'ml' "
    "  AND is_primary), now()) "
    "ON CONFLICT (tenant_id, channel, external_id) DO UPDATE SET nickname = EXCLUDED.nickname, "
    "  settings = a.settings || jsonb_build_object('email', EXCLUDED.settings->'email', "
    "  'siteId', EXCLUDED.settings->'siteId'), "
    "  access_token_sealed = EXCLUDED.access_token_sealed, "
    "  refresh_token_sealed = EXCLUDED.refresh_token_sealed, "
    "  token_expires_at = EXCLUDED.token_expires_at, refreshed_at = now(), "
    "  status = CASE WHEN a.sync_enabled THEN 'active' ELSE 'paused' END, "
    "  disconnected_at = NULL "
    "RETURNING " ML_ACCOUNT_COLS ", (xmax = 0) AS created";

static bool configured(req_t *r)
{
	const ml_config_t *c = ml_config(r->app);
	if (c->client_id && c->client_secret && c->redirect_uri)
		return true;
	http_error(r, 503, "ML_NOT_CONFIGURED",
		   "Mercado Livre is not configured on this server (ML_CLIENT_ID, "
		   "ML_CLIENT_SECRET, ML_REDIRECT_URI).",
		   NULL);
	return false;
}

/* --- start ------------------------------------------------------------------------------------ */

typedef struct start {
	req_t *r;
	char state[STATE_LEN + 1];
	char challenge[CRYPTO_PKCE_LEN + 1];
	char *sealed;
} start_t;

static void start_saved(const PGresult *res, const char *err, void *arg)
{
	start_t *s = arg;
	free(s->sealed);
	if (err) {
		identity_db_error(s->r, "ml_oauth: start", res, err);
		return;
	}
	const ml_config_t *c = ml_config(s->r->app);
	char *client = evhttp_encode_uri(c->client_id);
	char *redirect = evhttp_encode_uri(c->redirect_uri);
	char *url = arena_printf(s->r->arena,
				 "%s/authorization?response_type=code&client_id=%s&redirect_uri=%s"
				 "&state=%s&code_challenge=%s&code_challenge_method=S256",
				 c->auth_url, client, redirect, s->state, s->challenge);
	free(client);
	free(redirect);
	http_ok(s->r, 200,
		json_pack("{s:s, s:s, s:i}", "authorizationUrl", url, "state", s->state,
			  "expiresIn", 600),
		NULL);
}

static void oauth_start(req_t *r)
{
	if (!perm_require(r, "accounts.manage") || !configured(r))
		return;
	start_t *s = arena_calloc(r->arena, 1, sizeof(*s));
	s->r = r;
	char verifier[CRYPTO_PKCE_LEN + 1], hash[CRYPTO_SHA256_HEX + 1];
	if (!crypto_random_token(STATE_BYTES, s->state, sizeof(s->state)) ||
	    !crypto_pkce_verifier(verifier)) {
		http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
		return;
	}
	crypto_pkce_challenge(verifier, s->challenge);
	crypto_sha256_hex(s->state, strlen(s->state), hash);
	crypto_keys_t keys;
	ml_tokens_keys(r->app, &keys);
	s->sealed = crypto_seal(&keys, verifier);
	explicit_bzero(&keys, sizeof(keys));
	explicit_bzero(verifier, sizeof(verifier));
	if (!s->sealed) {
		http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
		return;
	}
	const char *params[] = {hash, r->tenant_id, r->user_id, s->sealed};
	pg_query(((app_t *)r->app)->pg, state_sql, 4, params, start_saved, s);
}

/* --- callback --------------------------------------------------------------------------------- */

enum cb_state { CB_CONSUME, CB_EXCHANGE, CB_ME, CB_SAVE };

/* One callback: consume the state → exchange the code → /users/me → create or reconnect. Owned
 * by the request (arena); the sealed tokens are malloc'd and freed at the save. */
typedef struct callback {
	req_t *r;
	enum cb_state state;
	const char *code;
	char tenant_id[40];
	char *access, *refresh; /* plaintext grant, cleared as soon as sealed */
	long expires_in;
	int64_t user_id;
	char *sealed_access, *sealed_refresh;
} callback_t;

static void callback_cleanup(callback_t *c)
{
	crypto_free_secret(c->access);
	crypto_free_secret(c->refresh);
	free(c->sealed_access);
	free(c->sealed_refresh);
	c->access = c->refresh = c->sealed_access = c->sealed_refresh = NULL;
}

static void bad_state(req_t *r)
{
	http_error(r, 400, "INVALID_STATE",
		   "The authorization link is invalid, expired or already used: start again.",
		   http_problem(NULL, "state", "is invalid, expired or already used"));
}

static void saved(PGresult *const *results, int n, const char *err, void *arg)
{
	callback_t *c = arg;
	req_t *r = c->r;
	callback_cleanup(c);
	if (err) {
		identity_db_error(r, "ml_oauth: connect", n > 1 ? results[1] : NULL, err);
		return;
	}
	const PGresult *res = results[1];
	bool created = pg_bool(res, 0, ML_ACCOUNT_NCOLS);
	const char *id = pg_value(res, 0, 0);
	log_info("ml_oauth: tenant %s %s account %s (seller %" PRId64 ")", c->tenant_id,
		 created ? "connected" : "reconnected", id, c->user_id);
	const char *app_url = ((app_t *)r->app)->cfg.app_url;
	if (app_url) {
		http_redirect(r, 302,
			      arena_printf(r->arena, "%s/ml-accounts?connected=%s&result=%s",
					   app_url, id, created ? "created" : "reconnected"));
		return;
	}
	http_ok(r, created ? 201 : 200,
		json_pack("{s:o, s:b}", "account", ml_account_json(res, 0, 0, true), "reconnected",
			  !created),
		created ? "Account connected" : "Account reconnected");
}

static void me_done(const ml_result_t *res, void *arg)
{
	callback_t *c = arg;
	req_t *r = c->r;
	json_t *me = res->body;
	int64_t id = (int64_t)json_integer_value(json_object_get(me, "id"));
	const char *nickname = json_string_value(json_object_get(me, "nickname"));
	if (res->err != ML_OK || id != c->user_id || !nickname) {
		callback_cleanup(c);
		ml_error_reply(r, res->err == ML_OK ? ML_ERR_BAD_RESPONSE : res->err,
			       "Reading the Mercado Livre user failed",
			       res->message ? res->message : "unexpected answer");
		return;
	}
	crypto_keys_t keys;
	ml_tokens_keys(r->app, &keys);
	c->sealed_access = crypto_seal(&keys, c->access);
	c->sealed_refresh = crypto_seal(&keys, c->refresh);
	explicit_bzero(&keys, sizeof(keys));
	if (!c->sealed_access || !c->sealed_refresh) {
		callback_cleanup(c);
		http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
		return;
	}
	c->state = CB_SAVE;
	char *uid = arena_printf(r->arena, "%" PRId64, id);
	char *ttl = arena_printf(r->arena, "%ld", c->expires_in);
	const char *lock[] = {c->tenant_id};
	const char *ins[] = {c->tenant_id,
			     uid,
			     nickname,
			     json_string_value(json_object_get(me, "email")),
			     json_string_value(json_object_get(me, "site_id")),
			     c->sealed_access,
			     c->sealed_refresh,
			     ttl};
	pg_stmt_t stmts[] = {{lock_tenant_sql, 1, lock}, {connect_sql, 8, ins}};
	pg_batch(((app_t *)r->app)->pg, stmts, 2, saved, c);
}

static void exchanged(const ml_result_t *res, const ml_grant_t *g, void *arg)
{
	callback_t *c = arg;
	req_t *r = c->r;
	if (res->err != ML_OK) {
		if (res->err == ML_ERR_INVALID_GRANT)
			http_error(r, 400, "INVALID_CODE",
				   "Mercado Livre refused the authorization code (expired or "
				   "already used): start again.",
				   http_problem(NULL, "code", "was refused by Mercado Livre"));
		else
			ml_error_reply(r, res->err, "The code exchange failed", res->message);
		return;
	}
	c->access = xstrdup(g->access_token);
	c->refresh = xstrdup(g->refresh_token);
	c->expires_in = g->expires_in;
	c->user_id = g->user_id;
	c->state = CB_ME;
	ml_get_with_token(r->app, "ml:oauth:users", c->access, "/users/me", me_done, c);
}

static void consumed(const PGresult *res, const char *err, void *arg)
{
	callback_t *c = arg;
	req_t *r = c->r;
	if (err) {
		identity_db_error(r, "ml_oauth: callback", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		bad_state(r);
		return;
	}
	snprintf(c->tenant_id, sizeof(c->tenant_id), "%s", pg_value(res, 0, 0));
	crypto_keys_t keys;
	ml_tokens_keys(r->app, &keys);
	char *verifier = crypto_open(&keys, pg_value(res, 0, 2));
	explicit_bzero(&keys, sizeof(keys));
	if (!verifier) {
		log_error("ml_oauth: a state's verifier cannot be opened with the current keys");
		bad_state(r);
		return;
	}
	c->state = CB_EXCHANGE;
	ml_oauth_exchange(r->app, c->code, verifier, exchanged, c);
	crypto_free_secret(verifier);
}

static void oauth_callback(req_t *r)
{
	const char *state = http_query(r, "state"), *code = http_query(r, "code");
	const char *denied = http_query(r, "error");
	if (!state || strlen(state) != STATE_LEN) {
		bad_state(r);
		return;
	}
	if (!configured(r))
		return;
	if (denied || !code || !*code || strlen(code) > 512) {
		http_error(r, 400, "AUTHORIZATION_DENIED",
			   "Mercado Livre did not authorize the connection.",
			   http_problem(NULL, denied ? "error" : "code",
					denied ? "authorization was denied" : "is required"));
		return;
	}
	callback_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->code = code;
	c->state = CB_CONSUME;
	char hash[CRYPTO_SHA256_HEX + 1];
	crypto_sha256_hex(state, strlen(state), hash);
	const char *params[] = {hash};
	pg_query(((app_t *)r->app)->pg, consume_sql, 1, params, consumed, c);
}

void ml_oauth_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/ml/oauth/start", oauth_start, ROUTE_AUTH | ROUTE_NO_BODY,
		   "Begin connecting a Mercado Livre account: an authorization URL with PKCE and "
		   "a single-use state (10 minutes); needs accounts.manage");
	http_route(s, "GET", "/api/ml/oauth/callback", oauth_callback, ROUTE_PUBLIC | ROUTE_NO_BODY,
		   "Mercado Livre's redirect (?code&state): exchanges the code and creates or "
		   "reconnects the account; redirects to APP_URL when set");
}
