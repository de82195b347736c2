/* Tiny's settings. */
#include "tiny.h"
#include "config.h"
#include "util.h"

#include <stdlib.h>

const tiny_config_t *tiny_config(const app_t *app)
{
	return channel_config(app, &tiny_channel);
}

void *tiny_configure(config_loader_t *l)
{
	tiny_config_t *c = xcalloc(1, sizeof(*c));
	c->api_url = config_url(l, "TINY_API_URL", "https://api.tiny.com.br/api2", false);
	c->sweep_ms = config_num(l, "TINY_SWEEP_MS", 1000, 0, 3600000);
	c->retry_base_ms = config_num(l, "TINY_RETRY_BASE_MS", 30000, 10, 3600000);
	c->hold_tries = config_num(l, "TINY_HOLD_TRIES", 8, 1, 100);
	c->poll_ms = config_num(l, "TINY_POLL_MS", 3600000, 1000, 86400000);
	c->lease_s = config_num(l, "TINY_LEASE_S", 120, 25, 3600);
	return c;
}

void tiny_config_free(void *cfg)
{
	tiny_config_t *c = cfg;
	free(c->api_url);
	free(c);
}
