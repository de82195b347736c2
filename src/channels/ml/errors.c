/* How a failed Mercado Livre call reaches a client: the one mapper every handler of the channel
 * answers with (the core maps database errors: identity_db_error). */
#include "errors.h"

#include <string.h>

/* A refusal that means something particular for what was asked; false when it is not one. */
static bool asked_refused(req_t *r, enum ml_ask ask, enum ml_err e, const char *message)
{
	switch (ask) {
	case ML_ASK_TOKEN_CHECK:
		if (e == ML_ERR_TRANSIENT || e == ML_ERR_RATE_LIMITED || e == ML_ERR_CONFIG)
			return false;
		http_invalid(r, http_problem(NULL, "accessToken", "was refused by Mercado Livre"));
		return true;
	case ML_ASK_CODE_EXCHANGE:
		if (e != ML_ERR_INVALID_GRANT)
			return false;
		http_error(r, 400, "INVALID_CODE",
			   "Mercado Livre refused the authorization code (expired or already "
			   "used): start again.",
			   http_problem(NULL, "code", "was refused by Mercado Livre"));
		return true;
	case ML_ASK_ANSWER:
		if (e != ML_ERR_OTHER && e != ML_ERR_NOT_FOUND)
			return false;
		/* Closed, deleted or already answered there, or text Mercado Livre refuses. */
		http_error(r, 409, "QUESTION_NOT_ANSWERABLE",
			   arena_printf(r->arena, "Mercado Livre refused the answer: %s.",
					message ? message : ml_err_name(e)),
			   NULL);
		return true;
	case ML_ASK_ACCOUNT:
		break;
	}
	return false;
}

void ml_error_reply(req_t *r, enum ml_ask ask, enum ml_err e, const char *what, const char *message)
{
	if (asked_refused(r, ask, e, message))
		return;
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
