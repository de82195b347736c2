/* The Mercado Livre account model shared by the handlers, the token upkeep and the jobs: the
 * columns every account query selects, their JSON (never a token), the error-history update and
 * the token-info arithmetic (pure, unit-tested). */
#ifndef SH_ML_ACCOUNT_H
#define SH_ML_ACCOUNT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "accounts.h"
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

#endif
