/* The Mercado Livre channel as the core sees it: what it starts (its routes, job handlers,
 * token upkeep, account timers, the missed-feeds poller), its rate table and its intake. */
#include "ml.h"
#include "data.h"
#include "intake.h"
#include "missed_feeds.h"
#include "notifications.h"
#include "plan.h"
#include "timers.h"
#include "upkeep.h"
#include "util.h"

#include <stdlib.h>

ml_state_t *ml_state(const app_t *app)
{
	return channel_state(app, &ml_channel);
}

static void *start(app_t *app)
{
	ml_state_t *s = xcalloc(1, sizeof(*s));
	if (app->cfg.ml_client_id) {
		char *end;
		long long id = strtoll(app->cfg.ml_client_id, &end, 10);
		s->app_id = *end ? 0 : id;
	}
	ml_accounts_routes(app);
	ml_oauth_routes(app);
	ml_questions_routes(app);
	ml_webhook_stats_routes(app);
	notifications_register_jobs(app);
	ml_data_register_fetchers();
	s->tokens = ml_tokens_new(app);
	s->timers = ml_jobs_start(app);
	s->missed_feeds = missed_feeds_start(app);
	return s;
}

static void stop(void *state)
{
	ml_state_t *s = state;
	missed_feeds_stop(s->missed_feeds);
}

/* After the clients: their failing callbacks still finish refreshes and sweeps. */
static void free_state(void *state)
{
	ml_state_t *s = state;
	ml_tokens_free(s->tokens);
	ml_jobs_free(s->timers);
	missed_feeds_free(s->missed_feeds);
	free(s);
}

/* One bucket per account shared by every operation (ML_SYNC_OP): Mercado Livre limits an
 * application per seller, not per resource. Its bucket is ML_BURST (when told; else 0.9 x the
 * rate: requests reach Mercado Livre with some jitter, and a bucket there that matches ours
 * exactly would meet them empty). A new bucket starts empty: the calls of a login, another
 * process or a restart may have spent Mercado Livre's, and at ML_RATE it fills in a second. */
static size_t rates(const app_t *app, channel_rate_t *out, size_t max)
{
	if (max < 1)
		return 0;
	double rate = app->cfg.ml_rate;
	double burst = rate > 10 ? rate * 0.9 : rate;
	if (app->cfg.ml_burst > 0) {
		/* What Mercado Livre refills in 50 ms is held back: a call reaches it later than
		 * it leaves here, by a delay that varies, so its bucket lags ours by that much. */
		double lag = rate * 0.05;
		burst =
		    app->cfg.ml_burst - (lag < app->cfg.ml_burst / 2 ? lag : app->cfg.ml_burst / 2);
	}
	out[0] = (channel_rate_t){"", rate, burst, 0};
	return 1;
}

const channel_t ml_channel = {
    .name = "ml",
    .title = "Mercado Livre",
    .start = start,
    .stop = stop,
    .free = free_state,
    .rates = rates,
    .intake = &ml_intake,
    .plan = &ml_sync_plan,
};
