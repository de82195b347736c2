/* The Tiny channel as the core sees it: its routes, its rate table, its product import. */
#include "channel.h"
#include "forward.h"
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
	channel_done_cb cb;
	void *arg;
} sync_call_t;

static void synced(const char *err, long long records, void *arg)
{
	sync_call_t *c = arg;
	c->cb(err, c->arg);
	free(c);
}

/* The janitor's scheduled sync: the import again (upserts; stock moves are recorded only when
 * Tiny's count differs). */
static void sync_account(app_t *app, const char *account_id, channel_done_cb cb, void *arg)
{
	sync_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	sync_incremental(app, account_id, synced, c);
}

static void *start(app_t *app)
{
	tiny_accounts_routes(app);
	tiny_forward_routes(app);
	return NULL;
}

const channel_t tiny_channel = {
    .name = "tiny",
    .title = "Tiny ERP",
    .accounts_path = "/api/tiny-accounts",
    .configure = tiny_configure,
    .config_free = tiny_config_free,
    .start = start,
    .rates = rates,
    .sync = sync_account,
    .intake = &tiny_intake,
    .plan = &tiny_sync_plan,
};
