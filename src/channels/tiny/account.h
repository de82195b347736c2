/* A Tiny account's row in the core's accounts table: the token sealed, the plan in settings, the
 * tenant's first Tiny account its primary one. */
#ifndef SH_TINY_ACCOUNT_H
#define SH_TINY_ACCOUNT_H

#include "app.h"
#include "pg.h"

/* params: tenant id, external id, account name (or NULL), plan, calls per minute (or NULL),
 * sealed token. Answers the account's JSON, or no row when the tenant has it already. */
void tiny_account_insert(app_t *app, const char *const params[6], pg_cb cb, void *arg);

/* params: tenant id, account id, sealed token. The account with its new token, active again
 * if it was expired, its held orders due now; no row when the tenant has no such account. */
void tiny_account_set_token(app_t *app, const char *const params[3], pg_cb cb, void *arg);

/* The characters of a token of Tiny's API extension. */
#define TINY_TOKEN_CHARS "0123456789abcdefABCDEF-_"
#define TINY_TOKEN_MAX	 200

#endif
