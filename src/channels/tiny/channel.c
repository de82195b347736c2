/* The Tiny channel as the core sees it: its routes, its rate table, its product import. */
#include "channel.h"
#include "forward.h"
#include "log.h"
#include "loop.h"
#include "plan.h"
#include "tiny.h"
#include "util.h"
#include "webhooks.h"

#include <stdlib.h>

/* An account's bucket before Tiny told us its plan (x-limit-api): the smallest plan with API
 * access (legacy plans, 20 a minute), a little under it since Tiny counts per clock minute. */
static size_t rates(const app_t *app, channel_rate_t *out, size_t max)
{
	if (max < 1)
		return 0;
	out[0] = (channel_rate_t){"", 20 * 0.9 / 60, 2, 1};
	return 1;
}

typedef struct sync_call {
	app_t *app;
	char *account_id, *err;
	channel_done_cb cb;
	void *arg;
} sync_call_t;

static void forwarded(const forward_counts_t *counts, const char *err, void *arg)
{
	sync_call_t *c = arg;
	if (err)
		log_error("tiny: forwarding orders after a sync: %s", err);
	c->cb(c->err, c->arg);
	free(c->account_id);
	free(c->err);
	free(c);
}

/* After the import, the tenant's marketplace orders go to Tiny, the held ones now (a SKU just
 * imported may free one). */
static void synced(const char *err, long long records, void *arg)
{
	sync_call_t *c = arg;
	c->err = err ? xstrdup(err) : NULL;
	tiny_forward_run(c->app, NULL, c->account_id, err ? 0 : FORWARD_WAKE_HELD, forwarded, c);
}

/* The janitor's scheduled sync: the import again (upserts; stock moves are recorded only when
 * Tiny's count differs). */
static void sync_account(app_t *app, const char *account_id, channel_done_cb cb, void *arg)
{
	sync_call_t *c = xcalloc(1, sizeof(*c));
	c->app = app;
	c->account_id = xstrdup(account_id);
	c->cb = cb;
	c->arg = arg;
	sync_incremental(app, account_id, synced, c);
}

static void *start(app_t *app)
{
	tiny_accounts_routes(app);
	tiny_forward_routes(app);
	tiny_token_routes(app);
	return tiny_loop_start(app);
}

static void stop(void *state)
{
	tiny_loop_stop(state);
}

const channel_t tiny_channel = {
    .name = "tiny",
    .title = "Tiny ERP",
    .accounts_path = "/api/tiny-accounts",
    .configure = tiny_configure,
    .config_free = tiny_config_free,
    .start = start,
    .stop = stop,
    .rates = rates,
    .sync = sync_account,
    .intake = &tiny_intake,
    .plan = &tiny_sync_plan,
};
