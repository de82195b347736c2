/* The Tiny client (API v2): POST <TINY_API_URL>/<service>.php, form-encoded with the company's
 * token, formato=json and the service's fields; every answer, errors included, is HTTP 200 with
 * the retorno envelope, so the outcome is read from it (codigo_erro), never from the status:
 * 6 and 11 (too many calls a minute, too many at once) are rate limited, 35 and 99 transient,
 * 20 ("no records") an empty success, the others permanent with Tiny's message. Calls of an
 * account go through its own bucket ("tiny:call:<account>"), set from the calls per minute
 * Tiny announces in x-limit-api. Messages never hold the token. */
#ifndef SH_TINY_CLIENT_H
#define SH_TINY_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "app.h"
#include "channel.h"

/* Tiny's codigo_erro values the channel acts on. */
#define TINY_TOKEN_INVALID  2
#define TINY_NO_API	    5
#define TINY_THROTTLED	    6
#define TINY_TOO_CONCURRENT 11
#define TINY_NO_RECORDS	    20
#define TINY_DUPLICATE	    30
#define TINY_VALIDATION	    31
#define TINY_NOT_FOUND	    32
#define TINY_UNEXPECTED	    35
#define TINY_MAINTENANCE    99

/* The outcome of one call; valid only during the callback. */
typedef struct tiny_result {
	enum channel_err err;
	int code;	     /* codigo_erro, 0 when none */
	bool empty;	     /* codigo 20: the query matched nothing (err is CHANNEL_OK) */
	const char *message; /* NULL when err is CHANNEL_OK */
	json_t *retorno;     /* the envelope's payload (borrowed), NULL when unreadable */
	long limit;	     /* x-limit-api: the company's calls a minute, 0 when absent */
} tiny_result_t;

typedef void (*tiny_cb)(const tiny_result_t *res, void *arg);

/* service ("produtos.pesquisa") with token; form: the service's fields, already encoded
 * (httpc_form_add), or NULL. account_id names the bucket; NULL: not limited (a token on test). */
void tiny_call_with_token(app_t *app, const char *account_id, const char *token,
			  const char *service, const char *form, tiny_cb cb, void *arg);
/* The same as the account: its stored token. */
void tiny_call(app_t *app, const char *account_id, const char *service, const char *form,
	       tiny_cb cb, void *arg);

/* The account's bucket at limit calls a minute (x-limit-api); unchanged when it already is. */
void tiny_learn_limit(app_t *app, const char *account_id, long limit);

/* A number Tiny may send as a JSON number or a string; def when neither. */
double tiny_num(json_t *v, double def);
/* The plan a per-minute allowance stands for (the providers' Tiny facts, 2.1), "custom" if none. */
const char *tiny_plan_name(long calls_per_minute);

#endif
