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
	return c;
}

void tiny_config_free(void *cfg)
{
	tiny_config_t *c = cfg;
	free(c->api_url);
	free(c);
}
