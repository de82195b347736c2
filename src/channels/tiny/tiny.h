/* The Tiny ERP channel (Olist Tiny, API v2 with the company's API token): its registration
 * (tiny_channel, channel.c), its settings and the route registrations of its handlers. Facts:
 * ../shared/providers/, the Tiny part (part 2). */
#ifndef SH_TINY_H
#define SH_TINY_H

#include "app.h"
#include "channel.h"

extern const channel_t tiny_channel;

/* Tiny's settings (TINY_*: etc/sellerhub.env.example). */
typedef struct tiny_config {
	char *api_url;	    /* the v2 API's base, services are <api_url>/<service>.php */
	long sweep_ms;	    /* the ERP loop's sweep (loop.c); 0: none */
	long retry_base_ms; /* a held or pending order's first wait, doubled each try */
	long hold_tries;    /* a held order is failed after this many tries */
	long poll_ms;	    /* a sent order not final is read again after this */
	long lease_s;	    /* a claimed row is left to its claimer this long */
} tiny_config_t;

const tiny_config_t *tiny_config(const app_t *app);
void *tiny_configure(struct config_loader *l);
void tiny_config_free(void *cfg);

/* POST /api/tiny-accounts (accounts_api.c). */
void tiny_accounts_routes(app_t *app);
/* PUT /api/tiny-accounts/:id/token (token_api.c). */
void tiny_token_routes(app_t *app);

#endif
