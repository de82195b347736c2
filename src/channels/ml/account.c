/* Rendering a Mercado Livre account and the token-health arithmetic. */
#include "account.h"
#include "pg.h"
#include "util.h"

#include <stdlib.h>

ml_token_info_t ml_token_info(int64_t now_ms, int64_t expires_ms, int64_t refreshed_ms)
{
	ml_token_info_t t = {0};
	int64_t left = expires_ms - now_ms, life = expires_ms - refreshed_ms;
	t.is_expired = left <= 0;
	t.time_to_expiry_s = left > 0 ? left / 1000 : 0;
	if (left > 0 && life > 0) {
		/* Rounded to the nearest percent, clamped: a clock step must not show 130%. */
		int64_t pct = (left * 100 + life / 2) / life;
		t.health_percent = (int)(pct > 100 ? 100 : pct);
	}
	t.needs_refresh = left < (int64_t)ML_REFRESH_WINDOW_S * 1000;
	return t;
}

json_t *ml_token_info_json(const ml_token_info_t *t, const char *account_id, const char *ml_user_id,
			   const char *expiry)
{
	json_t *o = json_object();
	if (account_id)
		json_object_set_new(o, "accountId", json_string(account_id));
	if (ml_user_id)
		json_object_set_new(o, "mlUserId", json_string(ml_user_id));
	if (expiry)
		json_object_set_new(o, "tokenExpiry", json_string(expiry));
	json_object_set_new(o, "timeToExpiry", json_integer(t->time_to_expiry_s));
	json_object_set_new(o, "healthPercent", json_integer(t->health_percent));
	json_object_set_new(o, "isExpired", json_boolean(t->is_expired));
	json_object_set_new(o, "needsRefresh", json_boolean(t->needs_refresh));
	return o;
}

static json_t *str_or_null(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	return v ? json_string(v) : json_null();
}

json_t *ml_account_json(const PGresult *res, int row, int c, bool detail)
{
	json_t *cached = json_pack(
	    "{s:I, s:I, s:I, s:o}", "products", (json_int_t)pg_int(res, row, c + 16, 0), "orders",
	    (json_int_t)pg_int(res, row, c + 17, 0), "issues",
	    (json_int_t)pg_int(res, row, c + 18, 0), "lastUpdated", str_or_null(res, row, c + 19));
	json_t *a = json_pack(
	    "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:I, s:o, s:o}",
	    "id", str_or_null(res, row, c), "mlUserId", str_or_null(res, row, c + 1), "nickname",
	    str_or_null(res, row, c + 2), "email", str_or_null(res, row, c + 3), "accountName",
	    str_or_null(res, row, c + 5), "accountType", str_or_null(res, row, c + 6), "status",
	    str_or_null(res, row, c + 7), "syncEnabled", pg_bool(res, row, c + 8), "isPrimary",
	    pg_bool(res, row, c + 9), "syncInterval", (json_int_t)pg_int(res, row, c + 10, 0),
	    "lastSync", str_or_null(res, row, c + 12), "nextSync", str_or_null(res, row, c + 13),
	    "lastSyncStatus", str_or_null(res, row, c + 14), "lastSyncError",
	    str_or_null(res, row, c + 15), "tokenExpiresAt", str_or_null(res, row, c + 22),
	    "cachedData", cached, "errorCount", (json_int_t)pg_int(res, row, c + 20, 0),
	    "createdAt", str_or_null(res, row, c + 25), "updatedAt", str_or_null(res, row, c + 26));
	if (!detail)
		return a;
	json_object_set_new(a, "siteId", str_or_null(res, row, c + 4));
	json_object_set_new(a, "notificationsEnabled", json_boolean(pg_bool(res, row, c + 11)));
	json_object_set_new(a, "disconnectedAt", str_or_null(res, row, c + 27));
	const char *hist = pg_value(res, row, c + 21);
	json_t *h = hist ? json_loads(hist, 0, NULL) : NULL;
	json_object_set_new(a, "errorHistory", h ? h : json_array());
	ml_token_info_t t =
	    ml_token_info(wall_ms(), pg_int(res, row, c + 23, 0), pg_int(res, row, c + 24, 0));
	json_object_set_new(a, "tokenInfo", ml_token_info_json(&t, NULL, NULL, NULL));
	return a;
}
