/* The Mercado Livre channel's state and settings in this process, and reading the settings. */
#include "ml.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* By name, not &ml_channel: the modules below channel.c reach their state without it. */
ml_state_t *ml_state(const app_t *app)
{
	return channel_state(app, channel_find("ml"));
}

const ml_config_t *ml_config(const app_t *app)
{
	return channel_config(app, channel_find("ml"));
}

void *ml_configure(config_loader_t *l)
{
	ml_config_t *c = xcalloc(1, sizeof(*c));
	c->client_id = config_str(l, "ML_CLIENT_ID", NULL, false);
	c->client_secret = config_str(l, "ML_CLIENT_SECRET", NULL, false);
	c->redirect_uri = config_url(l, "ML_REDIRECT_URI", NULL, false);
	c->api_url = config_url(l, "ML_API_URL", "https://api.mercadolibre.com", false);
	c->auth_url = config_url(l, "ML_AUTH_URL", "https://auth.mercadolivre.com.br", false);
	c->webhook_secret = config_str(l, "ML_WEBHOOK_SECRET", NULL, false);
	c->rate = (double)config_num(l, "ML_RATE", 20, 1, 100000);
	c->burst = (double)config_num(l, "ML_BURST", 0, 0, 100000);
	c->missed_feeds_interval_s = (int)config_num(l, "MISSED_FEEDS_INTERVAL", 600, 1, 86400);
	if (c->client_id && !c->client_secret)
		config_fail(l, "config: ML_CLIENT_SECRET is required when ML_CLIENT_ID is set");
	return c;
}

void ml_config_free(void *cfg)
{
	ml_config_t *c = cfg;
	if (c->client_secret) /* don't leave secrets in freed memory */
		memset(c->client_secret, 0, strlen(c->client_secret));
	if (c->webhook_secret)
		memset(c->webhook_secret, 0, strlen(c->webhook_secret));
	free(c->client_id);
	free(c->client_secret);
	free(c->redirect_uri);
	free(c->api_url);
	free(c->auth_url);
	free(c->webhook_secret);
	free(c);
}
