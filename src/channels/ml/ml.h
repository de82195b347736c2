/* The Mercado Livre channel: its registration (ml_channel, filled in by channel.c) and its
 * state in one process, reached from any of its modules with ml_state(app). */
#ifndef SH_ML_H
#define SH_ML_H

#include <stdint.h>

#include "app.h"
#include "channel.h"

extern const channel_t ml_channel;

typedef struct ml_state {
	int64_t app_id;			   /* ML_CLIENT_ID as a number, 0 when unset or not one */
	struct missed_feeds *missed_feeds; /* the missed_feeds poller (missed_feeds.h) */
} ml_state_t;

ml_state_t *ml_state(const app_t *app);

/* channel_t.push_stock (stock.c). */
void ml_push_stock(app_t *app, const channel_listing_t *l, long quantity, channel_push_cb cb,
		   void *arg);

/* Mercado Livre's settings (ML_*, MISSED_FEEDS_INTERVAL: etc/sellerhub.env.example). */
typedef struct ml_config {
	char *client_id, *client_secret, *redirect_uri, *api_url, *auth_url, *webhook_secret;
	double rate;
	double burst; /* the provider's bucket when known; 0: derived from the rate */
	int missed_feeds_interval_s;
} ml_config_t;

const ml_config_t *ml_config(const app_t *app);
/* channel_t.configure and config_free (channel.c). */
void *ml_configure(struct config_loader *l);
void ml_config_free(void *cfg);

/* Request bodies checked field by field (pure: no I/O, fuzzed by test/fuzz/fuzz_bodies.c): the
 * problems, NULL when the body is good; the strings point into r's arena. */
typedef struct ml_account_body { /* POST /api/ml-accounts */
	const char *ml_user_id, *nickname, *email, *access, *refresh, *expires, *name, *type;
} ml_account_body_t;
json_t *ml_account_body_check(req_t *r, ml_account_body_t *b);
/* POST /api/questions/:id/answer */
json_t *ml_answer_body_check(req_t *r, const char **text);

/* Route registration of the channel's handlers. */
void ml_accounts_routes(app_t *app);	  /* /api/ml-accounts (accounts_api.c) */
void ml_oauth_routes(app_t *app);	  /* /api/ml/oauth (oauth.c) */
void ml_questions_routes(app_t *app);	  /* /api/questions (questions_api.c) */
void ml_webhook_stats_routes(app_t *app); /* /api/webhooks/stats, /pending (webhook_stats.c) */

#endif
