/* The Mercado Livre account model shared by the handlers, the token upkeep and the jobs: the
 * columns every account query selects, their JSON (never a token), the error-history update,
 * the token-info arithmetic (pure, unit-tested), and the tenant's Mercado Livre accounts as
 * rows of the core's accounts table (channel 'ml'). Every statement filters by the tenant, so
 * another tenant's account is simply not there; whatever changes which account is primary locks
 * the tenant row first, so "exactly one primary while any account exists" holds under
 * concurrent requests. Tokens go in sealed (upkeep_seal_tokens) and never come out. */
#ifndef SH_ML_ACCOUNT_H
#define SH_ML_ACCOUNT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "accounts.h"
#include "app.h"
#include "identity.h"

#define ML_ERROR_HISTORY_MAX 20
#define ML_REFRESH_WINDOW_S  (30 * 60) /* refresh tokens that expire within this */
#define ML_SYNC_INTERVAL_MIN 60000
#define ML_SYNC_INTERVAL_MAX 86400000

#define SQL_EPOCH_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

/* Selected by every account query, in this order, for ml_account_json(). */
// clang-format off
#define ML_ACCOUNT_COLS                                                                            \
	"a.id, a.external_id, a.nickname, a.settings->>'email', "                                  \
	"coalesce(a.settings->>'siteId', 'MLB'), a.account_name, "                                 \
	"coalesce(a.settings->>'accountType', 'individual'), "                                     \
	"a.status, a.sync_enabled, a.is_primary, a.sync_interval_ms, a.notifications_enabled, "    \
	SQL_ISO("a.last_sync_at") ", " SQL_ISO("a.next_sync_at") ", "                              \
	"a.last_sync_status, a.last_sync_error, "                                                  \
	"a.cached_products, a.cached_orders, a.cached_issues, " SQL_ISO("a.cached_at") ", "        \
	"a.error_count, a.error_history::text, "                                                   \
	SQL_ISO("a.token_expires_at") ", " SQL_EPOCH_MS("a.token_expires_at") ", "                 \
	SQL_EPOCH_MS("a.refreshed_at") ", "                                                        \
	SQL_ISO("a.created_at") ", " SQL_ISO("a.updated_at") ", " SQL_ISO("a.disconnected_at")
// clang-format on
#define ML_ACCOUNT_NCOLS 28
/* The columns of ML_ACCOUNT_COLS that callers read beside ml_account_json(). */
enum ml_account_col {
	ML_ACCOUNT_COL_ID = 0,
	ML_ACCOUNT_COL_ML_USER_ID = 1,
	ML_ACCOUNT_COL_STATUS = 7,
	ML_ACCOUNT_COL_TOKEN_EXPIRES_AT = 22,
};

/* The core's error history update (accounts.h), under the name this channel's SQL uses. */
#define ML_PUSH_ERROR(kind, msg) ACCOUNTS_PUSH_ERROR(kind, msg)

typedef struct ml_token_info {
	int64_t time_to_expiry_s; /* 0 once expired */
	int health_percent;	  /* 100 just refreshed .. 0 expired */
	bool is_expired;
	bool needs_refresh; /* expires within ML_REFRESH_WINDOW_S */
} ml_token_info_t;

/* Token health at now_ms for a token valid from refreshed_ms to expires_ms (wall clock). */
ml_token_info_t ml_token_info(int64_t now_ms, int64_t expires_ms, int64_t refreshed_ms);
/* The tokenInfo object of the contract; account_id/ml_user_id/expiry are included when given. */
json_t *ml_token_info_json(const ml_token_info_t *t, const char *account_id, const char *ml_user_id,
			   const char *expiry);

/* An account row selected with ML_ACCOUNT_COLS from column col; detail adds errorHistory,
 * notificationsEnabled, siteId and tokenInfo. */
json_t *ml_account_json(const PGresult *res, int row, int col, bool detail);
/* Token health now of an account row selected with ML_ACCOUNT_COLS (from column 0). */
ml_token_info_t ml_account_token_info(const PGresult *res, int row);

/* --- the tenant's accounts --------------------------------------------------------------------
 * Every function answers cb once, as a pg_cb: res holds the rows named below, or on failure the
 * failed statement's result (NULL when there is none) for identity_db_error. */

/* A seller connected by a client with its tokens (POST /api/ml-accounts). */
typedef struct ml_account_new {
	const char *ml_user_id, *nickname, *email;
	const char *access_token, *refresh_token, *expires_at; /* plaintext; ISO-8601 */
	const char *account_name, *account_type;	       /* NULL: none, 'individual' */
} ml_account_new_t;

/* A seller who authorized sellerhub (the OAuth callback): its grant and /users/me. */
typedef struct ml_account_grant {
	const char *ml_user_id, *nickname, *email, *site_id; /* site_id NULL: 'MLB' */
	const char *access_token, *refresh_token;	     /* plaintext */
	long expires_in;				     /* seconds */
} ml_account_grant_t;

/* What PUT /api/ml-accounts/:id changes: only the fields whose has_ flag is set. */
typedef struct ml_account_change {
	bool has_name, has_primary, has_interval, has_notifications;
	const char *account_name; /* NULL clears it */
	bool primary, notifications;
	long long interval_ms;
} ml_account_change_t;

/* cb gets the updated row (ML_ACCOUNT_COLS), or no row with refused true when the account
 * exists but the change would un-mark the primary (another account must be made primary), or
 * no row with refused false when there is no such account. */
typedef void (*ml_accounts_update_cb)(const PGresult *res, const char *err, bool refused,
				      void *arg);

/* Create the account (the tenant's first becomes primary): cb gets the new row (ML_ACCOUNT_COLS),
 * or no row when this seller is already connected to the tenant; a SQLSTATE class 22 error when
 * expires_at cannot be read as a time. False (cb not called) when the tokens could not be
 * sealed. */
bool ml_accounts_create(app_t *app, const char *tenant_id, const ml_account_new_t *a, pg_cb cb,
			void *arg);
/* Create the account, or reconnect it when the tenant has it already (same id, settings and
 * synced data; active again unless paused): cb gets the row (ML_ACCOUNT_COLS, then whether it was
 * created, column ML_ACCOUNT_NCOLS). False (cb not called) when the tokens could not be sealed. */
bool ml_accounts_connect(app_t *app, const char *tenant_id, const ml_account_grant_t *g, pg_cb cb,
			 void *arg);
/* The tenant's accounts, oldest first (ML_ACCOUNT_COLS). */
void ml_accounts_list(app_t *app, const char *tenant_id, pg_cb cb, void *arg);
/* The tenant's account id (ML_ACCOUNT_COLS), no row when it has none such. */
void ml_accounts_find(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg);
/* One row (is_primary) when the tenant has the account, else none. */
void ml_accounts_owned(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg);
/* The ids of the tenant's accounts, oldest first (one column). */
void ml_accounts_ids(app_t *app, const char *tenant_id, pg_cb cb, void *arg);
/* Change the account as c says, in one transaction under the tenant lock: making it primary
 * un-marks the tenant's other primary. */
void ml_accounts_update(app_t *app, const char *tenant_id, const char *id,
			const ml_account_change_t *c, ml_accounts_update_cb cb, void *arg);
/* Delete the account (its synced data goes with it); the oldest remaining one becomes primary if
 * it was. cb gets one row (its id) when it was deleted, none when there was no such account. */
void ml_accounts_delete(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg);
/* Pause (enabled false) or resume automatic sync; an expired authorization stays expired (only
 * a reconnect revives it). cb gets one row (id, status, sync_enabled), none when no such one. */
void ml_accounts_set_sync(app_t *app, const char *tenant_id, const char *id, bool enabled, pg_cb cb,
			  void *arg);

#endif
