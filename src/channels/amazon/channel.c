/* The Amazon channel as the core sees it: its routes, its rate table, its token grant. */
#include "amazon.h"
#include "account.h"
#include "log.h"
#include "client.h"
#include "notifications.h"
#include "plan.h"
#include "util.h"

#include <stdlib.h>

/* amazon.md section 0: the default usage plan of each operation we call, per application and
 * seller. Our bucket is a little slower and one token smaller than Amazon's: a call reaches
 * Amazon later than it leaves here, by a delay that varies, and at one call a minute
 * (getOrders) a bucket matched exactly would meet a call 0.998 tokens short. The price is 5 %
 * of the rate (AMAZON_RATE_MARGIN). Amazon's bucket starts full, and so does ours. The rate an
 * answer announces (x-amzn-RateLimit-Limit: a seller with a raised or lowered plan) replaces
 * the table's for that account's operation (client.c). */
static const struct {
	const char *op;
	double rate, burst;
} plan[] = {
    {"getOrders", 0.0167, 20},
    {"getOrder", 0.5, 30},
    {"getOrderItems", 0.5, 30},
    {"getInventorySummaries", 2, 2},
    {"createReport", 0.0167, 15},
    {"getReport", 2, 15},
    {"getReportDocument", 0.0167, 15},
    {"listFinancialEvents", 0.5, 30},
    {"listFinancialEventGroups", 0.5, 30},
    {"getCatalogItem", 2, 2},
    {"searchCatalogItems", 2, 2},
    {"getItemOffers", 0.5, 1},
    {"getPricing", 0.5, 1},
    {"getListingsItem", 5, 10},
    {"patchListingsItem", 5, 5},
};

static size_t rates(const app_t *app, channel_rate_t *out, size_t max)
{
	double scale = amazon_config(app)->rate_scale;
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_LEN(plan) && n < max; i++) {
		double burst = plan[i].burst > 1 ? plan[i].burst - 1 : 1;
		out[n++] = (channel_rate_t){plan[i].op, plan[i].rate * scale * AMAZON_RATE_MARGIN,
					    burst, burst};
	}
	return n;
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

/* The janitor's scheduled sync: the plan's incremental run (orders changed since the last). */
static void sync_account(app_t *app, const char *account_id, channel_done_cb cb, void *arg)
{
	sync_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	sync_incremental(app, account_id, synced, c);
}

static void states_dropped(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("amazon: dropping spent authorization states failed: %s", err);
}

/* Hourly: the website authorizations that ended (used or expired) a day ago. */
static void maintain(app_t *app)
{
	amazon_oauth_states_drop(app, states_dropped, NULL);
}

static void *start(app_t *app)
{
	amazon_accounts_routes(app);
	amazon_notifications_register(app);
	return NULL;
}

/* order_fulfillment (sql/0028): Amazon's fulfilment centres (AFN), the seller's (MFN) */
static const char *const fulfillments[] = {"FBA", "FBM", NULL};

const channel_t amazon_channel = {
    .name = "amazon",
    .title = "Amazon",
    .accounts_path = "/api/amazon-accounts",
    .configure = amazon_configure,
    .config_free = amazon_config_free,
    .start = start,
    .rates = rates,
    .grant = amazon_tokens_grant,
    .sync = sync_account,
    .maintain = maintain,
    .push_stock = amazon_push_stock,
    .fulfillments = fulfillments,
    .intake = &amazon_intake,
    .plan = &amazon_sync_plan,
};
