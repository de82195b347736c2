/* The Amazon Selling Partner channel: its registration (amazon_channel, channel.c), its settings
 * and the route registrations of its handlers. Facts: shared/providers/amazon.md. */
#ifndef SH_AMAZON_H
#define SH_AMAZON_H

#include "app.h"
#include "channel.h"

extern const channel_t amazon_channel;

/* Amazon's settings (AMAZON_*: etc/sellerhub.env.example). */
/* Our buckets run this much slower than Amazon's announced rate (channel.c explains why). */
#define AMAZON_RATE_MARGIN 0.95

typedef struct amazon_config {
	char *client_id, *client_secret; /* the LWA application's */
	char *app_id;			 /* the SP-API application id, for the consent URL */
	char *redirect_uri;		 /* the website authorization workflow's */
	char *lwa_url, *consent_url;
	char *spapi_url[3]; /* by region: na, eu, fe (amazon.md 1.7) */
	double rate_scale;  /* the rate table times this (an application with a raised plan) */
} amazon_config_t;

const amazon_config_t *amazon_config(const app_t *app);
/* channel_t.push_stock (stock.c). */
void amazon_push_stock(app_t *app, const channel_listing_t *l, long quantity, channel_push_cb cb,
		       void *arg);
void *amazon_configure(struct config_loader *l);
void amazon_config_free(void *cfg);

/* POST /api/amazon-accounts, /api/auth/connect-amazon, /api/amazon/oauth (accounts_api.c). */
void amazon_accounts_routes(app_t *app);

/* The region ("na", "eu", "fe") whose endpoint serves a marketplace (amazon.md 1.8); NULL for
 * an id we do not know. */
const char *amazon_region_of(const char *marketplace_id);
/* The SP-API base URL of a region; NULL for an unknown region. */
const char *amazon_spapi_url(const app_t *app, const char *region);

#endif
