/* Every channel's accounts (the accounts table, sql/0012_accounts.sql): what the core reads of
 * them whatever their channel. A channel keeps what it alone has in settings, never a secret:
 * settings are shown to the tenant beside the common fields. */
#ifndef SH_ACCOUNTS_H
#define SH_ACCOUNTS_H

#include "app.h"

/* The tenant's accounts, of one channel or (channel NULL) all, oldest first: cb gets one row
 * per account whose one column is its JSON object (the common fields of API.md's "Accounts
 * across channels", then the channel's settings). */
void accounts_list(app_t *app, const char *tenant_id, const char *channel, pg_cb cb, void *arg);

#endif
