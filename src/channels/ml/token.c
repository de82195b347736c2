/* Mercado Livre's view of the core's token upkeep: its answers as ml_result_t. */
#include "token.h"
#include "util.h"

#include <stdlib.h>

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
