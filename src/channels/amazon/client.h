/* The Amazon client: Login with Amazon (both grants) and SP-API calls as an account. Every call
 * goes out through httpc (retries of 5xx, 429 with Retry-After, and connection failures) with the
 * limiter key "amazon:<operation>:<account>", so each operation of each account has its own
 * bucket from the rate table (channel.c). An SP-API 403 for an expired access token triggers one
 * refresh through the token upkeep and one retry. Messages are one line built from Amazon's error
 * body, never with a token. */
#ifndef SH_AMAZON_CLIENT_H
#define SH_AMAZON_CLIENT_H

#include <jansson.h>

#include "app.h"
#include "channel.h"

/* The outcome of one call; everything is valid only during the callback. */
typedef struct amazon_result {
	enum channel_err err;
	long status;		/* HTTP status, 0 when none */
	const char *message;	/* NULL when err is CHANNEL_OK */
	json_t *body;		/* the parsed JSON answer (borrowed), NULL when none */
	const char *rate_limit; /* x-amzn-RateLimit-Limit when Amazon sent it, else NULL */
} amazon_result_t;

typedef void (*amazon_cb)(const amazon_result_t *res, void *arg);
/* grant is NULL unless res->err is CHANNEL_OK; its refresh_token is the one given (refresh) or
 * the new one (code exchange). */
typedef void (*amazon_grant_cb)(const amazon_result_t *res, const channel_grant_t *grant,
				void *arg);

/* grant_type=authorization_code: the spapi_oauth_code of the website workflow. */
void amazon_lwa_code(app_t *app, const char *code, const char *redirect_uri, amazon_grant_cb cb,
		     void *arg);
/* grant_type=refresh_token. account_id names the limiter bucket (NULL: a new account). */
void amazon_lwa_refresh(app_t *app, const char *account_id, const char *refresh_token,
			amazon_grant_cb cb, void *arg);

/* method path (and a JSON body for POST/PATCH) at the region's SP-API with this access token;
 * no refresh. limiter_key may be NULL. */
void amazon_call_with_token(app_t *app, const char *region, const char *limiter_key,
			    const char *token, const char *method, const char *path,
			    const char *json_body, amazon_cb cb, void *arg);
/* The same as the account: its current token (refreshed first when it is about to expire), and
 * on an expired-token 403 one refresh and one retry. op names the limiter bucket (a row of the
 * rate table: "getOrders"). */
void amazon_call(app_t *app, const char *account_id, const char *region, const char *op,
		 const char *method, const char *path, const char *json_body, amazon_cb cb,
		 void *arg);

/* A plain GET of a URL outside the SP-API (a report document): no Amazon header. */
void amazon_download(app_t *app, const char *url, size_t max_bytes,
		     void (*cb)(const httpc_response_t *resp, void *arg), void *arg);

/* channel_t.grant: the refresh_token grant, as the token upkeep asks for it. */
void amazon_tokens_grant(app_t *app, const char *account_id, const char *refresh_token,
			 channel_grant_cb cb, void *arg);

#endif
