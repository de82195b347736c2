/* The authorization code flow's single-use states: see the header. */
#include "oauth_state.h"
#include "crypto.h"
#include "log.h"
#include "ml.h"
#include "upkeep.h"
#include "util.h"

#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_BYTES 32

static const char start_sql[] =
    "INSERT INTO ml_oauth_states (state_hash, tenant_id, user_id, verifier_sealed, expires_at) "
    "VALUES ($1, $2, $3, $4, now() + interval '10 minutes')";

/* Single use: whoever flips used_at first owns the state. */
static const char consume_sql[] =
    "UPDATE ml_oauth_states SET used_at = now() "
    "WHERE state_hash = $1 AND used_at IS NULL AND expires_at > now() "
    "RETURNING tenant_id, user_id, verifier_sealed";

typedef struct start {
	app_t *app;
	char state[ML_OAUTH_STATE_LEN + 1];
	char challenge[CRYPTO_PKCE_LEN + 1];
	ml_oauth_started_cb cb;
	void *arg;
} start_t;

static void started(const PGresult *res, const char *err, void *arg)
{
	start_t *s = arg;
	if (err) {
		s->cb(NULL, res, err, s->arg);
		free(s);
		return;
	}
	const ml_config_t *c = ml_config(s->app);
	char *client = evhttp_encode_uri(c->client_id);
	char *redirect = evhttp_encode_uri(c->redirect_uri);
	static const char fmt[] = "%s/authorization?response_type=code&client_id=%s"
				  "&redirect_uri=%s&state=%s&code_challenge=%s"
				  "&code_challenge_method=S256";
	int n = snprintf(NULL, 0, fmt, c->auth_url, client, redirect, s->state, s->challenge);
	char *url = xmalloc((size_t)n + 1);
	snprintf(url, (size_t)n + 1, fmt, c->auth_url, client, redirect, s->state, s->challenge);
	free(client);
	free(redirect);
	ml_oauth_start_t out = {.state = s->state, .authorization_url = url};
	s->cb(&out, NULL, NULL, s->arg);
	free(url);
	free(s);
}

bool ml_oauth_state_start(app_t *app, const char *tenant_id, const char *user_id,
			  ml_oauth_started_cb cb, void *arg)
{
	start_t *s = xcalloc(1, sizeof(*s));
	char verifier[CRYPTO_PKCE_LEN + 1], hash[CRYPTO_SHA256_HEX + 1];
	if (!crypto_random_token(STATE_BYTES, s->state, sizeof(s->state)) ||
	    !crypto_pkce_verifier(verifier)) {
		free(s);
		return false;
	}
	crypto_pkce_challenge(verifier, s->challenge);
	crypto_sha256_hex(s->state, strlen(s->state), hash);
	crypto_keys_t keys;
	upkeep_keys(app, &keys);
	char *sealed = crypto_seal(&keys, verifier);
	explicit_bzero(&keys, sizeof(keys));
	explicit_bzero(verifier, sizeof(verifier));
	if (!sealed) {
		free(s);
		return false;
	}
	s->app = app;
	s->cb = cb;
	s->arg = arg;
	const char *params[] = {hash, tenant_id, user_id, sealed};
	pg_query(app->pg, start_sql, 4, params, started, s);
	free(sealed);
	return true;
}

typedef struct consume {
	app_t *app;
	ml_oauth_consumed_cb cb;
	void *arg;
} consume_t;

static void consumed(const PGresult *res, const char *err, void *arg)
{
	consume_t *c = arg;
	if (err || PQntuples(res) != 1) {
		c->cb(NULL, NULL, res, err, c->arg);
		free(c);
		return;
	}
	crypto_keys_t keys;
	upkeep_keys(c->app, &keys);
	char *verifier = crypto_open(&keys, pg_value(res, 0, 2));
	explicit_bzero(&keys, sizeof(keys));
	if (!verifier)
		log_error("ml_oauth: a state's verifier cannot be opened with the current keys");
	c->cb(verifier ? pg_value(res, 0, 0) : NULL, verifier, res, NULL, c->arg);
	crypto_free_secret(verifier);
	free(c);
}

void ml_oauth_state_consume(app_t *app, const char *state, ml_oauth_consumed_cb cb, void *arg)
{
	consume_t *c = xcalloc(1, sizeof(*c));
	c->app = app;
	c->cb = cb;
	c->arg = arg;
	char hash[CRYPTO_SHA256_HEX + 1];
	crypto_sha256_hex(state, strlen(state), hash);
	const char *params[] = {hash};
	pg_query(app->pg, consume_sql, 1, params, consumed, c);
}
