/* A Tiny account's row in the core's accounts table: the token sealed, the plan in settings, the
 * tenant's first Tiny account its primary one. */
#ifndef SH_TINY_ACCOUNT_H
#define SH_TINY_ACCOUNT_H

#include "app.h"
#include "pg.h"

/* params: tenant id, external id, account name (or NULL), plan, calls per minute (or NULL),
 * sealed token. Answers the account's JSON, or no row when the tenant has it already. */
void tiny_account_insert(app_t *app, const char *const params[6], pg_cb cb, void *arg);

#endif
