/* Mercado Livre's error mapper: a failed call as the envelope's status and code. */
#ifndef SH_ML_ERRORS_H
#define SH_ML_ERRORS_H

#include "client.h"
#include "http.h"

/* What was asked of Mercado Livre: some refusals mean something else for each. */
enum ml_ask {
	ML_ASK_ACCOUNT,	      /* a call as a connected account (a sync, a token refresh) */
	ML_ASK_TOKEN_CHECK,   /* /users/me with the tokens a client sent: a refusal is 400 */
	ML_ASK_CODE_EXCHANGE, /* the authorization code for tokens: a dead code is 400 */
	ML_ASK_ANSWER,	      /* publishing an answer: a refusal there is 409 */
};

/* The one answer to a failed Mercado Livre call. For any ask: 409 ACCOUNT_EXPIRED (reconnect),
 * 404 for an account that is not there, 503 ML_NOT_CONFIGURED, else 502 ML_UNAVAILABLE; the
 * sentence is "<what>: <message>.". Before that, ML_ASK_TOKEN_CHECK answers 400 (accessToken
 * refused) for anything but a network, rate or configuration failure; ML_ASK_CODE_EXCHANGE 400
 * INVALID_CODE for a refused code; ML_ASK_ANSWER 409 QUESTION_NOT_ANSWERABLE when Mercado Livre
 * refused the answer (4xx, or the question is gone there). */
void ml_error_reply(req_t *r, enum ml_ask ask, enum ml_err e, const char *what,
		    const char *message);

#endif
