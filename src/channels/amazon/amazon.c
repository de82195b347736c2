/* Amazon's settings and the marketplaces of each region. */
#include "amazon.h"
#include "config.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const amazon_config_t *amazon_config(const app_t *app)
{
	return channel_config(app, &amazon_channel);
}

void *amazon_configure(config_loader_t *l)
{
	amazon_config_t *c = xcalloc(1, sizeof(*c));
	c->client_id = config_str(l, "AMAZON_CLIENT_ID", NULL, false);
	c->client_secret = config_str(l, "AMAZON_CLIENT_SECRET", NULL, false);
	c->app_id = config_str(l, "AMAZON_APP_ID", NULL, false);
	c->redirect_uri = config_url(l, "AMAZON_REDIRECT_URI", NULL, false);
	c->lwa_url = config_url(l, "AMAZON_LWA_URL", "https://api.amazon.com", false);
	c->spapi_url[0] =
	    config_url(l, "AMAZON_SPAPI_URL", "https://sellingpartnerapi-na.amazon.com", false);
	c->spapi_url[1] =
	    config_url(l, "AMAZON_SPAPI_URL_EU", "https://sellingpartnerapi-eu.amazon.com", false);
	c->spapi_url[2] =
	    config_url(l, "AMAZON_SPAPI_URL_FE", "https://sellingpartnerapi-fe.amazon.com", false);
	c->consent_url =
	    config_url(l, "AMAZON_CONSENT_URL", "https://sellercentral.amazon.com", false);
	c->rate_scale = (double)config_num(l, "AMAZON_RATE_SCALE", 1, 1, 1000);
	if (c->client_id && !c->client_secret)
		config_fail(
		    l, "config: AMAZON_CLIENT_SECRET is required when AMAZON_CLIENT_ID is set");
	return c;
}

void amazon_config_free(void *cfg)
{
	amazon_config_t *c = cfg;
	if (c->client_secret) /* don't leave secrets in freed memory */
		memset(c->client_secret, 0, strlen(c->client_secret));
	free(c->client_id);
	free(c->client_secret);
	free(c->app_id);
	free(c->redirect_uri);
	free(c->lwa_url);
	for (size_t i = 0; i < ARRAY_LEN(c->spapi_url); i++)
		free(c->spapi_url[i]);
	free(c->consent_url);
	free(c);
}

/* amazon.md 1.8: which endpoint region serves a marketplace. */
const char *amazon_region_of(const char *id)
{
	static const struct {
		const char *id, *region;
	} table[] = {
	    {"ATVPDKIKX0DER", "na"},  {"A2EUQ1WTGCTBG2", "na"}, {"A1AM78C64UM0Y8", "na"},
	    {"A2Q3Y263D00KWC", "na"}, {"A1F83G8C2ARO7P", "eu"}, {"A1PA6795UKMFR9", "eu"},
	    {"A13V1IB3VIYZZH", "eu"}, {"APJ6JRA9NG5V4", "eu"},	{"A1RKKUPIHCS9HS", "eu"},
	    {"A1805IZSGTT6HS", "eu"}, {"A2NODRKZP88ZB9", "eu"}, {"A1C3SOZRARQ6R3", "eu"},
	    {"ARBP9OOSHTCHU", "eu"},  {"A33AVAJ2PDY3EV", "eu"}, {"A17E79C6D8DWNP", "eu"},
	    {"A2VIGQ35RCS4UG", "eu"}, {"A21TJRUUN4KGV", "eu"},	{"AMEN7PMS3EDWL", "eu"},
	    {"A19VAU5U5O7RUS", "fe"}, {"A39IBJ37TRP1C6", "fe"}, {"A1VC38T7YXB528", "fe"},
	};
	for (size_t i = 0; id && i < ARRAY_LEN(table); i++)
		if (strcmp(table[i].id, id) == 0)
			return table[i].region;
	return NULL;
}

const char *amazon_spapi_url(const app_t *app, const char *region)
{
	static const char *const regions[] = {"na", "eu", "fe"};
	for (size_t i = 0; region && i < ARRAY_LEN(regions); i++)
		if (strcmp(region, regions[i]) == 0)
			return amazon_config(app)->spapi_url[i];
	return NULL;
}
