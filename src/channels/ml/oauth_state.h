/* The authorization code flow's single-use states (PKCE S256). Starting one stores only the
 * state's SHA-256, bound to the tenant and the user, with the PKCE verifier sealed, for
 * ML_OAUTH_STATE_TTL_S; consuming it (the callback) flips it used at most once and gives the
 * verifier back for the code exchange. */
#ifndef SH_ML_OAUTH_STATE_H
#define SH_ML_OAUTH_STATE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "app.h"

#define ML_OAUTH_STATE_LEN   43 /* base64url of 32 random bytes */
#define ML_OAUTH_STATE_TTL_S 600

/* A started authorization: where to send the seller, valid only during the callback. */
typedef struct ml_oauth_start {
	const char *state;
	const char *authorization_url; /* ML_AUTH_URL/authorization with the PKCE challenge */
} ml_oauth_start_t;

/* start is NULL when err is set (res: the failed statement's result, for identity_db_error). */
typedef void (*ml_oauth_started_cb)(const ml_oauth_start_t *start, const PGresult *res,
				    const char *err, void *arg);
/* tenant_id and verifier are NULL when err is set, or when the state is unknown, expired,
 * already used or its verifier cannot be opened with the current keys (logged); valid only
 * during the callback. */
typedef void (*ml_oauth_consumed_cb)(const char *tenant_id, const char *verifier,
				     const PGresult *res, const char *err, void *arg);

/* A new state for this tenant and user. False (cb not called) when there was no randomness or
 * the verifier could not be sealed. */
bool ml_oauth_state_start(app_t *app, const char *tenant_id, const char *user_id,
			  ml_oauth_started_cb cb, void *arg);
/* Consume a state (any string: only its hash is looked up). */
void ml_oauth_state_consume(app_t *app, const char *state, ml_oauth_consumed_cb cb, void *arg);

#endif
