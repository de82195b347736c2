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

/* An account row (alias a) as every channel shows it, one JSON text: the common fields of
 * API.md's "Accounts across channels" over the channel's settings (the common ones win: a
 * setting never replaces one of them). */
// clang-format off
#define ACCOUNTS_JSON                                                                               \
    "(a.settings || jsonb_build_object("                                                           \
    " 'id', a.id, 'channel', a.channel, 'externalId', a.external_id, 'nickname', a.nickname,"      \
    " 'accountName', a.account_name, 'status', a.status, 'syncEnabled', a.sync_enabled,"           \
    " 'isPrimary', a.is_primary, 'syncInterval', a.sync_interval_ms,"                              \
    " 'lastSync', " SQL_ISO("a.last_sync_at") ", 'nextSync', " SQL_ISO("a.next_sync_at") ","        \
    " 'lastSyncStatus', a.last_sync_status, 'lastSyncError', a.last_sync_error,"                   \
    " 'tokenExpiresAt', " SQL_ISO("a.token_expires_at") ", 'errorCount', a.error_count,"           \
    " 'createdAt', " SQL_ISO("a.created_at") ", 'updatedAt', " SQL_ISO("a.updated_at") "))::text"
// clang-format on

/* The tenant's accounts, of one channel or (channel NULL) all, oldest first: cb gets one row
 * per account whose one column is its JSON object (the common fields of API.md's "Accounts
 * across channels", then the channel's settings). */
void accounts_list(app_t *app, const char *tenant_id, const char *channel, pg_cb cb, void *arg);

/* One account of the tenant's channel, as accounts_list renders it: cb gets its row, or none. */
void accounts_find(app_t *app, const char *tenant_id, const char *channel, const char *id, pg_cb cb,
		   void *arg);

/* What a seller may change of any account: its name (when has_name; NULL clears it) and its
 * sync interval (milliseconds as text, NULL: unchanged). */
typedef struct accounts_edit {
	bool has_name;
	const char *name;
	const char *interval_ms;
} accounts_edit_t;
/* cb gets the changed account's row (as accounts_find), or none when there is no such account. */
void accounts_change(app_t *app, const char *tenant_id, const char *channel, const char *id,
		     const accounts_edit_t *change, pg_cb cb, void *arg);
/* Remove the account and everything synced from it; the oldest remaining account of the channel
 * becomes primary if it was. The batch's second result has one row (id) when it existed. */
void accounts_remove(app_t *app, const char *tenant_id, const char *channel, const char *id,
		     pg_batch_cb cb, void *arg);
/* Pause (enabled false) or resume its scheduled sync: cb gets (id, status, sync_enabled), or
 * none. An expired account stays expired. */
void accounts_set_sync(app_t *app, const char *tenant_id, const char *channel, const char *id,
		       bool enabled, pg_cb cb, void *arg);

#endif
