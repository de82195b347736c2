/* The Mercado Livre client: OAuth token calls, and GETs and POSTs with an account's token.
 * Every call goes out through httpc with the rate-limiter key
 * "ml:<operation>:<account>" (a 429 slows that bucket down); a 401 on an account call triggers
 * one refresh (the token upkeep, token.h) and one retry. Error messages are one line built from
 * Mercado Livre's error body and never carry a token. */
#ifndef SH_ML_CLIENT_H
#define SH_ML_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "app.h"
#include "httpc.h"
#include "channel.h"
#include "result.h"

/* What /oauth/token answers for both grants. */
typedef struct ml_grant {
	const char *access_token, *refresh_token;
	long expires_in; /* seconds */
	int64_t user_id;
} ml_grant_t;

typedef void (*ml_cb)(const ml_result_t *res, void *arg);
/* grant is NULL unless res->err is ML_OK. */
typedef void (*ml_grant_cb)(const ml_result_t *res, const ml_grant_t *grant, void *arg);

/* Read an answer (pure; fuzzed by test/fuzz/fuzz_ml_answers.c): res from resp, its message
 * written into msg (one printable line); res->body is the caller's to json_decref. */
void ml_result_read(ml_result_t *res, const httpc_response_t *resp, char *msg, size_t size);
/* The grant in a token answer read by ml_result_read (borrowing res->body); an incomplete one
 * turns res into ML_ERR_BAD_RESPONSE. */
void ml_grant_read(ml_result_t *res, ml_grant_t *g);

/* authorization_code with the PKCE verifier. */
void ml_oauth_exchange(app_t *app, const char *code, const char *verifier, ml_grant_cb cb,
		       void *arg);
/* refresh_token grant. Not retried once it may have reached Mercado Livre: the token is
 * single-use. Callers go through ml_tokens_refresh, which holds the account's lock. */
void ml_oauth_refresh(app_t *app, const char *account_id, const char *refresh_token, ml_grant_cb cb,
		      void *arg);

/* Whom a token belongs to, from /users/me: fields NULL (id 0) when the answer lacks them. */
typedef struct ml_user {
	int64_t id;
	const char *nickname, *email, *site_id;
} ml_user_t;

/* user is NULL unless res->err is ML_OK; valid only during the callback. */
typedef void (*ml_user_cb)(const ml_result_t *res, const ml_user_t *user, void *arg);

/* GET /users/me with a token that is no account's yet (a client's, or a fresh grant's). */
void ml_users_me(app_t *app, const char *access_token, ml_user_cb cb, void *arg);

/* GET ML_API_URL + path with this bearer token; no refresh. limiter_key may be NULL. */
void ml_get_with_token(app_t *app, const char *limiter_key, const char *token, const char *path,
		       ml_cb cb, void *arg);
/* GET ML_API_URL + path as the account: its current token (refreshed first when it is about to
 * expire), and on a 401 one refresh and one retry. op names the limiter bucket ("items"). This
 * is the call the webhook jobs and the sync engines use. */
void ml_account_get(app_t *app, const char *account_id, const char *op, const char *path, ml_cb cb,
		    void *arg);

/* POST ML_API_URL + path with a JSON body as the account, like ml_account_get (a 401 is
 * refreshed and retried once: it did not take effect). Not retried otherwise unless the request
 * surely did not reach Mercado Livre (httpc's rule for POST). */
void ml_account_post(app_t *app, const char *account_id, const char *op, const char *path,
		     const char *json_body, ml_cb cb, void *arg);

/* PUT ML_API_URL + path with a JSON body as the account, like ml_account_post (a PUT of the
 * same values is idempotent: httpc may retry it). */
void ml_account_put(app_t *app, const char *account_id, const char *op, const char *path,
		    const char *json_body, ml_cb cb, void *arg);

/* channel_t.grant: the refresh_token grant at Mercado Livre, as the token upkeep asks for it. */
void ml_tokens_grant(app_t *app, const char *account_id, const char *refresh_token,
		     channel_grant_cb cb, void *arg);

#endif
