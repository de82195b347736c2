/* Every channel's accounts (the accounts table, sql/0012_accounts.sql): what the core reads of
 * them whatever their channel. A channel keeps what it alone has in settings, never a secret:
 * settings are shown to the tenant beside the common fields. */
#ifndef SH_ACCOUNTS_H
#define SH_ACCOUNTS_H

#include "app.h"
#include "identity.h"

#define ACCOUNTS_ERROR_HISTORY_MAX 20

/* An assignment list for UPDATE accounts: count one more error and put {time, kind, message}
 * first in the history, keeping the newest ACCOUNTS_ERROR_HISTORY_MAX. kind and msg are parameters
 * ("$2"). */
// clang-format off
#define ACCOUNTS_PUSH_ERROR(kind, msg)                                                             \
	"error_count = error_count + 1, error_history = (SELECT coalesce(jsonb_agg(x.e ORDER BY "  \
	"x.n), '[]'::jsonb) FROM jsonb_array_elements(jsonb_build_array(jsonb_build_object("       \
	"'time', " SQL_ISO("now()") ", 'kind', " kind "::text, 'message', " msg "::text)) || "     \
	"error_history) WITH ORDINALITY AS x(e, n) WHERE x.n <= 20)"
// clang-format on

/* The tenant's accounts, of one channel or (channel NULL) all, oldest first: cb gets one row
 * per account whose one column is its JSON object (the common fields of API.md's "Accounts
 * across channels", then the channel's settings). */
void accounts_list(app_t *app, const char *tenant_id, const char *channel, pg_cb cb, void *arg);

#endif
