/* The one mapper of Amazon errors to the envelope. */
#include "errors.h"
#include "arena.h"

void amazon_error_reply(req_t *r, enum channel_err e, const char *what, const char *message)
{
	const char *msg =
	    arena_printf(r->arena, "%s: %s.", what, message ? message : channel_err_name(e));
	switch (e) {
	case CHANNEL_ERR_EXPIRED:
	case CHANNEL_ERR_INVALID_GRANT:
	case CHANNEL_ERR_UNAUTHORIZED:
		http_error(r, 409, "ACCOUNT_EXPIRED",
			   arena_printf(r->arena,
					"%s: Amazon refused the authorization (expired, revoked or "
					"not granted); authorize the application again.",
					what),
			   NULL);
		return;
	case CHANNEL_ERR_CONFIG:
		http_error(r, 503, "AMAZON_NOT_CONFIGURED", msg, NULL);
		return;
	default:
		http_error(r, 502, "AMAZON_UNAVAILABLE", msg, NULL);
	}
}
