/* Helpers for the Amazon channel tests: a marketsim and a sellerhubd pointed at its Login with
 * Amazon and SP-API, a signed-up tenant, marketsim's truth (GET /_sim/amazon), connecting an
 * account and the website workflow's consent. */
#ifndef AMAZON_TEST_HELPERS_H
#define AMAZON_TEST_HELPERS_H

#include "ident.h"
#include "marketsim_helpers.h"

#define AMT_REDIRECT "https://app.test/amazon/callback"

typedef struct amt {
	h_proc_t sim, srv;
	session_t owner;
	json_t *truth; /* GET /_sim/amazon at start */
	char env[8][512];
} amt_t;

/* marketsim (its default sizes plus sim_args, may be NULL), then sellerhubd with extra env. */
void amt_start(amt_t *t, const char *const sim_args[], const char *const extra_env[]);
void amt_stop(amt_t *t);
const char *amt_seller_id(amt_t *t, int i);
const char *amt_refresh_token(amt_t *t, int i);
/* POST /api/amazon-accounts for seller i (its refresh token, first marketplace) as s. */
h_resp_t amt_connect(amt_t *t, const session_t *s, int i, const char *account_name);
/* The same, asserting 201; the account id into id (40 bytes). */
void amt_add(amt_t *t, const session_t *s, int i, char *id);
/* Requests marketsim received on path (/_sim/requests). */
long amt_calls(amt_t *t, const char *path);
/* The website workflow's consent as seller i: its spapi_oauth_code. */
void amt_consent_code(amt_t *t, int i, char *code, size_t size);
/* The response must not hold this secret nor any LWA token. */
void amt_assert_clean(const h_resp_t *r, const char *secret);

#endif
