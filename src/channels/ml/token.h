/* Mercado Livre's view of the core's token upkeep (include/upkeep.h): its callers get an
 * ml_result_t as from any other Mercado Livre call. The grant the upkeep calls is client.c's
 * (ml_tokens_grant). */
#ifndef SH_ML_TOKEN_H
#define SH_ML_TOKEN_H

#include "app.h"
#include "channel.h"
#include "result.h"
#include "upkeep.h"

enum ml_refresh_reason {
	ML_REFRESH_MANUAL = UPKEEP_MANUAL,
	ML_REFRESH_EXPIRING = UPKEEP_EXPIRING,
	ML_REFRESH_REJECTED = UPKEEP_REJECTED,
};

/* access_token is the plaintext, valid only during the callback; NULL unless res->err is ML_OK. */
typedef void (*ml_token_cb)(const ml_result_t *res, const char *access_token, void *arg);

/* The account's access token, refreshed first when it expires within a minute. */
void ml_tokens_access(app_t *app, const char *account_id, ml_token_cb cb, void *arg);
/* Refresh the account's token (see the reasons). rejected_token is the plaintext that got a 401
 * (ML_REFRESH_REJECTED only, else NULL). */
void ml_tokens_refresh(app_t *app, const char *account_id, enum ml_refresh_reason why,
		       const char *rejected_token, ml_token_cb cb, void *arg);

#endif
