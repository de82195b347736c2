/* How a failed Mercado Livre call reaches a client: the one mapper every handler of the channel
 * answers with (the core maps database errors: identity_db_error). */
#include "errors.h"

#include <string.h>

void ml_error_reply(req_t *r, enum ml_err e, const char *what, const char *message)
{
	char *msg = arena_printf(r->arena, "%s: %s.", what, message ? message : ml_err_name(e));
	switch (e) {
	case ML_ERR_EXPIRED:
	case ML_ERR_INVALID_GRANT:
		http_error(r, 409, "ACCOUNT_EXPIRED",
			   arena_printf(r->arena,
					"%s: the authorization expired or was revoked; reconnect "
					"the account.",
					what),
			   NULL);
		return;
	case ML_ERR_NOT_FOUND:
		if (message && strcmp(message, "no such account") == 0) {
			http_error(r, 404, "NOT_FOUND", "No such Mercado Livre account.", NULL);
			return;
		}
		break;
	case ML_ERR_CONFIG:
		http_error(r, 503, "ML_NOT_CONFIGURED", msg, NULL);
		return;
	default:
		break;
	}
	http_error(r, 502, "ML_UNAVAILABLE", msg, NULL);
}
