/* Helpers for the Mercado Livre account tests: a marketsim and a sellerhubd pointed at it, a
 * signed-up tenant, and adding accounts with real marketsim tokens. */
#ifndef ML_TEST_HELPERS_H
#define ML_TEST_HELPERS_H

#include "ident.h"
#include "marketsim_helpers.h"

typedef struct mlt {
	h_proc_t sim, srv;
	msh_app_t app;
	session_t owner;
	char env[8][512];
} mlt_t;

/* marketsim with this --seed and n sellers, then sellerhubd with extra env (may be NULL). */
void mlt_start(mlt_t *t, const char *seed, int sellers, const char *const extra_env[]);
/* Same with marketsim's whole argument list (sizes, faults, rate). */
void mlt_start_args(mlt_t *t, const char *const sim_args[], const char *const extra_env[]);
/* A second sellerhubd on the same database, Redis and marketsim. */
void mlt_start_server(mlt_t *t, h_proc_t *srv, const char *const extra_env[]);
void mlt_stop(mlt_t *t);
/* POST /api/ml-accounts for seller i with fresh marketsim tokens expiring in expires_s; the
 * account id into id (40 bytes); tokens into tok when given. */
void mlt_add(mlt_t *t, const session_t *s, size_t i, long expires_s, char *id, msh_tokens_t *tok);
/* /_sim/requests?path=/oauth/token count. */
long mlt_token_calls(mlt_t *t);
/* The response body must not hold this string. */
void mlt_assert_clean(const h_resp_t *r, const char *secret);

#endif
