/* Token upkeep for every channel's accounts: the current access token of an account, and
 * refreshes done one at a time per account across every process. Refresh tokens may be
 * single-use, so a refresh takes a Redis lock with a lease (SET NX PX), re-reads the row after
 * taking it (another process may just have refreshed), asks the account's channel for new
 * tokens (channel_t.grant), stores them sealed, and releases the lock with compare-and-delete.
 * In this process, callers that ask while a refresh of the same account is in flight wait on it
 * instead of taking the lock. */
#ifndef SH_UPKEEP_H
#define SH_UPKEEP_H

#include "app.h"
#include "channel.h"
#include "crypto.h"

#define UPKEEP_LEASE_MS	    60000 /* longer than a grant call with its retries */
#define UPKEEP_LOCK_WAIT_MS 30000 /* how long to wait for another process's lock */
/* A manual refresh this soon after the previous one returns that one. */
#define UPKEEP_GRACE_MS 2000
/* The janitor refreshes tokens that expire within this. */
#define UPKEEP_WINDOW_S (30 * 60)

enum upkeep_reason {
	UPKEEP_MANUAL,	 /* asked for by the seller: unless refreshed within the grace */
	UPKEEP_EXPIRING, /* the janitor: unless it no longer expires within the window */
	UPKEEP_REJECTED, /* a 401: unless the rejected token was already replaced */
};

/* access_token is the plaintext, valid only during the callback; NULL unless err is
 * CHANNEL_OK. message is one line without secrets (NULL on success). */
typedef void (*upkeep_cb)(enum channel_err err, const char *message, const char *access_token,
			  void *arg);

typedef struct upkeep upkeep_t;

upkeep_t *upkeep_new(app_t *app);
/* Fails the waiters of refreshes still in flight with CHANNEL_ERR_TRANSIENT. */
void upkeep_free(upkeep_t *u);
/* The sealing keys from the configuration (ENCRYPTION_KEY, ENCRYPTION_KEY_OLD). */
void upkeep_keys(const app_t *app, crypto_keys_t *out);
/* An account's token pair sealed with the current key, as the accounts table stores it: true
 * with *sealed_access and *sealed_refresh malloc'd (the caller frees them), false with both NULL
 * when sealing failed (logged). Every writer of an account's tokens seals through this. */
bool upkeep_seal_tokens(const app_t *app, const char *access_token, const char *refresh_token,
			char **sealed_access, char **sealed_refresh);

/* The account's access token, refreshed first when it expires within a minute. */
void upkeep_access(app_t *app, const char *account_id, upkeep_cb cb, void *arg);
/* Refresh the account's token (see the reasons). rejected_token is the plaintext that got a 401
 * (UPKEEP_REJECTED only, else NULL). */
void upkeep_refresh(app_t *app, const char *account_id, enum upkeep_reason why,
		    const char *rejected_token, upkeep_cb cb, void *arg);

#endif
