/* Storing a connected Amazon account (the accounts table, channel 'amazon'): its selling
 * partner id is the external id; its marketplaces and region are settings; its tokens go in
 * sealed. */
#ifndef SH_AMAZON_ACCOUNT_H
#define SH_AMAZON_ACCOUNT_H

#include <stdbool.h>

#include "app.h"
#include "channel.h"

typedef struct amazon_account {
	const char *tenant_id;
	const char *selling_partner_id;
	const char *account_name;    /* NULL: none */
	const char *marketplace_ids; /* a JSON array of strings */
	const char *region;	     /* na, eu, fe */
	const channel_grant_t *grant;
} amazon_account_t;

/* Insert the account (the tenant's first of the channel becomes primary); an account the tenant
 * already connected is refused unless reconnect, which gives it the new tokens, marketplaces and
 * region and makes it active again. cb gets one row (ACCOUNTS_JSON, created) or, refused, none;
 * err "sealing" when the tokens could not be sealed. */
void amazon_account_store(app_t *app, const amazon_account_t *a, bool reconnect, pg_cb cb,
			  void *arg);

/* The website workflow's states (sql/0014): saved by start (its hash only, 10 minutes), taken
 * once by the callback: cb gets (tenant_id, region, marketplace_ids JSON) or no row when it is
 * unknown, spent or expired. Spent ones are dropped a day later (the janitor's maintenance). */
void amazon_oauth_state_save(app_t *app, const char *state_hash, const char *tenant_id,
			     const char *user_id, const char *region, const char *marketplaces,
			     pg_cb cb, void *arg);
void amazon_oauth_state_take(app_t *app, const char *state_hash, pg_cb cb, void *arg);
void amazon_oauth_states_drop(app_t *app, pg_cb cb, void *arg);

#endif
