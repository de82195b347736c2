/* The accounts every channel shares: see the header. */
#include "accounts.h"
#include "identity.h"

/* The common fields first: a channel's setting never replaces one of them. */
static const char list_sql[] =
    "SELECT (a.settings || jsonb_build_object("
    " 'id', a.id, 'channel', a.channel, 'externalId', a.external_id, 'nickname', a.nickname,"
    " 'accountName', a.account_name, 'status', a.status, 'syncEnabled', a.sync_enabled,"
    " 'isPrimary', a.is_primary, 'syncInterval', a.sync_interval_ms,"
    " 'lastSync', " SQL_ISO("a.last_sync_at") ", 'nextSync', " SQL_ISO(
	"a.next_sync_at") ","
			  " 'lastSyncStatus', a.last_sync_status, 'lastSyncError', "
			  "a.last_sync_error,"
			  " 'tokenExpiresAt', " SQL_ISO(
			      "a.token_expires_at") ", 'errorCount', a.error_count,"
						    " 'createdAt', " SQL_ISO(
							"a.created_at") ", "
									"'updatedAt',"
									" " SQL_ISO("a."
										    "updated_"
										    "at") ")):"
											  ":te"
											  "xt"
											  " FR"
											  "OM "
											  "acc"
											  "oun"
											  "ts "
											  "a "
											  "WHE"
											  "RE "
											  "a."
											  "ten"
											  "ant"
											  "_id"
											  " = "
											  "$1 "
											  "AND"
											  " ($"
											  "2::"
											  "tex"
											  "t "
											  "IS "
											  "NUL"
											  "L "
											  "OR "
											  "a."
											  "cha"
											  "nne"
											  "l "
											  "= "
											  "$2)"
											  " OR"
											  "DER"
											  " BY"
											  " a."
											  "cre"
											  "ate"
											  "d_"
											  "at,"
											  " a."
											  "id";

void accounts_list(app_t *app, const char *tenant_id, const char *channel, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id, channel};
	pg_query_prepared(app->pg, list_sql, 2, params, cb, arg);
}
