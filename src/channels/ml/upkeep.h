/* Mercado Livre token upkeep: the current access token of an account, and refreshes done one at
 * a time per account across every process. Refresh tokens are single-use, so a refresh takes a
 * Redis lock with a lease (SET NX PX), re-reads the row after taking it (another process may
 * just have refreshed), and releases with compare-and-delete. In this process, callers that ask
 * while a refresh of the same account is in flight wait on it instead of taking the lock. */
#ifndef SH_ML_UPKEEP_H
#define SH_ML_UPKEEP_H

#include "app.h"
#include "crypto.h"
#include "client.h"

#define ML_REFRESH_LEASE_MS 60000 /* longer than the token call with its retries */
#define ML_REFRESH_WAIT_MS  30000 /* how long to wait for another process's lock */
/* A manual refresh this soon after the previous one returns that one. */
#define ML_REFRESH_GRACE_MS 2000

enum ml_refresh_reason {
	ML_REFRESH_MANUAL,   /* PUT refresh-token: unless refreshed within the grace */
	ML_REFRESH_EXPIRING, /* the timer: unless it no longer expires within 30 minutes */
	ML_REFRESH_REJECTED, /* a 401: unless the rejected token was already replaced */
};

/* access_token is the plaintext, valid only during the callback; NULL unless res->err is ML_OK. */
typedef void (*ml_token_cb)(const ml_result_t *res, const char *access_token, void *arg);

struct ml_tokens *ml_tokens_new(app_t *app);
/* Fails the waiters of refreshes still in flight with ML_ERR_TRANSIENT. */
void ml_tokens_free(struct ml_tokens *t);
/* The keys from the configuration (ENCRYPTION_KEY, ENCRYPTION_KEY_OLD). */
void ml_tokens_keys(const app_t *app, crypto_keys_t *out);

/* The account's access token, refreshed first when it expires within a minute. */
void ml_tokens_access(app_t *app, const char *account_id, ml_token_cb cb, void *arg);
/* Refresh the account's token (see the reasons). rejected_token is the plaintext that got a 401
 * (ML_REFRESH_REJECTED only, else NULL). */
void ml_tokens_refresh(app_t *app, const char *account_id, enum ml_refresh_reason why,
		       const char *rejected_token, ml_token_cb cb, void *arg);

#endif
