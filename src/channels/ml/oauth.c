/* /api/ml/oauth: connecting a Mercado Livre account through the authorization code flow with
 * PKCE (S256). `start` hands out a single-use state (oauth_state.h); the callback consumes it,
 * exchanges the code, reads /users/me and creates the account or reconnects it (same id, synced
 * data kept). */
#include "api.h"
#include "errors.h"
#include "ml.h"
#include "crypto.h"
#include "identity.h"
#include "log.h"
#include "client.h"
#include "account.h"
#include "oauth_state.h"
#include "permissions.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char internal_error[] = "Something went wrong on our side.";

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

static void started(const ml_oauth_start_t *s, const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "ml_oauth: start", res, err);
		return;
	}
	http_ok(r, 200,
		json_pack("{s:s, s:s, s:i}", "authorizationUrl", s->authorization_url, "state",
			  s->state, "expiresIn", ML_OAUTH_STATE_TTL_S),
		NULL);
}

static void oauth_start(req_t *r)
{
	if (!perm_require(r, "accounts.manage") || !configured(r))
		return;
	if (!ml_oauth_state_start(r->app, r->tenant_id, r->user_id, started, r))
		http_error(r, 500, "INTERNAL", internal_error, NULL);
}

/* --- callback --------------------------------------------------------------------------------- */

/* One callback: consume the state → exchange the code → /users/me → create or reconnect. Owned
 * by the request (arena). */
typedef struct callback {
	req_t *r;
	const char *code;
	char tenant_id[40];
	char *access, *refresh; /* plaintext grant, cleared as soon as stored */
	long expires_in;
	int64_t user_id;
} callback_t;

static void callback_cleanup(callback_t *c)
{
	crypto_free_secret(c->access);
	crypto_free_secret(c->refresh);
	c->access = c->refresh = NULL;
}

static void bad_state(req_t *r)
{
	http_error(r, 400, "INVALID_STATE",
		   "The authorization link is invalid, expired or already used: start again.",
		   http_problem(NULL, "state", "is invalid, expired or already used"));
}

static void saved(const PGresult *res, const char *err, void *arg)
{
	callback_t *c = arg;
	req_t *r = c->r;
	if (err) {
		identity_db_error(r, "ml_oauth: connect", res, err);
		return;
	}
	bool created = pg_bool(res, 0, ML_ACCOUNT_NCOLS);
	const char *id = pg_value(res, 0, ML_ACCOUNT_COL_ID);
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

static void me_done(const ml_result_t *res, const ml_user_t *me, void *arg)
{
	callback_t *c = arg;
	req_t *r = c->r;
	if (!me || me->id != c->user_id || !me->nickname) {
		callback_cleanup(c);
		ml_error_reply(r, ML_ASK_ACCOUNT, me ? ML_ERR_BAD_RESPONSE : res->err,
			       "Reading the Mercado Livre user failed",
			       res->message ? res->message : "unexpected answer");
		return;
	}
	ml_account_grant_t g = {
	    .ml_user_id = arena_printf(r->arena, "%" PRId64, me->id),
	    .nickname = me->nickname,
	    .email = me->email,
	    .site_id = me->site_id,
	    .access_token = c->access,
	    .refresh_token = c->refresh,
	    .expires_in = c->expires_in,
	};
	bool queued = ml_accounts_connect(r->app, c->tenant_id, &g, saved, c);
	callback_cleanup(c);
	if (!queued)
		http_error(r, 500, "INTERNAL", internal_error, NULL);
}

static void exchanged(const ml_result_t *res, const ml_grant_t *g, void *arg)
{
	callback_t *c = arg;
	req_t *r = c->r;
	if (res->err != ML_OK) {
		ml_error_reply(r, ML_ASK_CODE_EXCHANGE, res->err, "The code exchange failed",
			       res->message);
		return;
	}
	c->access = xstrdup(g->access_token);
	c->refresh = xstrdup(g->refresh_token);
	c->expires_in = g->expires_in;
	c->user_id = g->user_id;
	ml_users_me(r->app, c->access, me_done, c);
}

static void consumed(const char *tenant_id, const char *verifier, const PGresult *res,
		     const char *err, void *arg)
{
	callback_t *c = arg;
	req_t *r = c->r;
	if (err) {
		identity_db_error(r, "ml_oauth: callback", res, err);
		return;
	}
	if (!tenant_id) {
		bad_state(r);
		return;
	}
	snprintf(c->tenant_id, sizeof(c->tenant_id), "%s", tenant_id);
	ml_oauth_exchange(r->app, c->code, verifier, exchanged, c);
}

static void oauth_callback(req_t *r)
{
	const char *state = http_query(r, "state"), *code = http_query(r, "code");
	const char *denied = http_query(r, "error");
	if (!state || strlen(state) != ML_OAUTH_STATE_LEN) {
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
	ml_oauth_state_consume(r->app, state, consumed, c);
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
