/* Mercado Livre's side of the token upkeep: the grant, and the core's answers as ml_result_t. */
#include "grant.h"
#include "util.h"

#include <stdlib.h>

void ml_tokens_keys(const app_t *app, crypto_keys_t *out)
{
	upkeep_keys(app, out);
}

typedef struct call {
	ml_token_cb cb;
	void *arg;
} call_t;

static void answered(enum channel_err err, const char *message, const char *access_token, void *arg)
{
	call_t *c = arg;
	ml_result_t res = {.err = (enum ml_err)err, .message = message};
	c->cb(&res, access_token, c->arg);
	free(c);
}

static call_t *call_new(ml_token_cb cb, void *arg)
{
	call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	return c;
}

void ml_tokens_access(app_t *app, const char *account_id, ml_token_cb cb, void *arg)
{
	upkeep_access(app, account_id, answered, call_new(cb, arg));
}

void ml_tokens_refresh(app_t *app, const char *account_id, enum ml_refresh_reason why,
		       const char *rejected_token, ml_token_cb cb, void *arg)
{
	upkeep_refresh(app, account_id, (enum upkeep_reason)why, rejected_token, answered,
		       call_new(cb, arg));
}

typedef struct grant_call {
	channel_grant_cb cb;
	void *arg;
} grant_call_t;

static void granted(const ml_result_t *res, const ml_grant_t *g, void *arg)
{
	grant_call_t *c = arg;
	if (res->err != ML_OK) {
		c->cb((enum channel_err)res->err,
		      res->message ? res->message : ml_err_name(res->err), NULL, c->arg);
	} else {
		channel_grant_t out = {g->access_token, g->refresh_token, g->expires_in};
		c->cb(CHANNEL_OK, NULL, &out, c->arg);
	}
	free(c);
}

void ml_tokens_grant(app_t *app, const char *account_id, const char *refresh_token,
		     channel_grant_cb cb, void *arg)
{
	grant_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	ml_oauth_refresh(app, account_id, refresh_token, granted, c);
}
