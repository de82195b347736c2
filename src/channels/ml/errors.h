/* Mercado Livre's error mapper: a failed call as the envelope's status and code. */
#ifndef SH_ML_ERRORS_H
#define SH_ML_ERRORS_H

#include "client.h"
#include "http.h"

/* 409 ACCOUNT_EXPIRED (reconnect), 404 for an account that is not there, 503
 * ML_NOT_CONFIGURED, else 502 ML_UNAVAILABLE; the sentence is "<what>: <message>." */
void ml_error_reply(req_t *r, enum ml_err e, const char *what, const char *message);

#endif
