/* The outcome of a Mercado Livre call as every module of the channel sees it. */
#ifndef SH_ML_RESULT_H
#define SH_ML_RESULT_H

#include <jansson.h>

#include "channel.h"

/* The core's error kinds (channel.h), as Mercado Livre's answers map onto them: the values
 * are the same, so one converts to the other by a cast. */
enum ml_err {
	ML_OK = CHANNEL_OK,
	ML_ERR_INVALID_GRANT = CHANNEL_ERR_INVALID_GRANT, /* the code or refresh token is dead */
	ML_ERR_EXPIRED = CHANNEL_ERR_EXPIRED,		  /* the authorization expired earlier */
	ML_ERR_UNAUTHORIZED = CHANNEL_ERR_UNAUTHORIZED,	  /* 401 even after a refresh */
	ML_ERR_FORBIDDEN = CHANNEL_ERR_FORBIDDEN,
	ML_ERR_NOT_FOUND = CHANNEL_ERR_NOT_FOUND, /* 404 from Mercado Livre, or no such account */
	ML_ERR_RATE_LIMITED = CHANNEL_ERR_RATE_LIMITED, /* 429 after the retries */
	ML_ERR_TRANSIENT = CHANNEL_ERR_TRANSIENT, /* network, timeout, 5xx, a lock or database */
	ML_ERR_CONFIG = CHANNEL_ERR_CONFIG, /* ML_CLIENT_ID / _SECRET / ML_REDIRECT_URI missing */
	ML_ERR_BAD_RESPONSE = CHANNEL_ERR_BAD_RESPONSE, /* an answer we could not read */
	ML_ERR_OTHER = CHANNEL_ERR_OTHER,		/* any other 4xx */
};

/* The outcome of one call; everything is valid only during the callback. */
typedef struct ml_result {
	enum ml_err err;
	long status;	     /* HTTP status, 0 when none */
	const char *message; /* NULL when err is ML_OK */
	json_t *body;	     /* the parsed JSON answer (borrowed), NULL when none */
} ml_result_t;

/* Short, fixed text for an error kind ("authorization expired", ...). */
const char *ml_err_name(enum ml_err e);

#endif
