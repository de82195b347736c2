/* A Tiny API token from a request body, proved by a real call and sealed before the caller
 * stores it (connecting an account, replacing its token). */
#ifndef SH_TINY_TOKEN_PROOF_H
#define SH_TINY_TOKEN_PROOF_H

#include "http.h"

/* The body's apiToken (problems into *d): Tiny's extension token alphabet, at most
 * TINY_TOKEN_MAX. Borrowed from r->body. */
const char *tiny_token_field(req_t *r, json_t **d);

/* The token proved: token is its plain text (valid during the call only: cleared after), sealed
 * the caller's (free it), limit the test call's x-limit-api (0: not said). */
typedef void (*tiny_proved_cb)(req_t *r, const char *token, char *sealed, long limit, void *arg);

/* Calls Tiny with token (copied, and cleared once done). A refused token answers r 400 naming
 * apiToken, another failure the channel's error, a sealing failure 500 saying what (e.g. "The
 * account could not be stored."); otherwise done. */
void tiny_token_prove(req_t *r, const char *token, const char *store_failed, tiny_proved_cb done,
		      void *arg);

#endif
