/* The one mapper of Tiny errors to the envelope. */
#include "errors.h"
#include "arena.h"

void tiny_error_reply(req_t *r, enum channel_err e, const char *what, const char *message)
{
	const char *msg =
	    arena_printf(r->arena, "%s: %s.", what, message ? message : channel_err_name(e));
	switch (e) {
	case CHANNEL_ERR_EXPIRED:
	case CHANNEL_ERR_UNAUTHORIZED:
	case CHANNEL_ERR_FORBIDDEN:
		http_error(r, 409, "ACCOUNT_EXPIRED", msg, NULL);
		return;
	case CHANNEL_ERR_RATE_LIMITED:
		http_error(r, 503, "TINY_THROTTLED", msg, NULL);
		return;
	default:
		http_error(r, 502, "TINY_UNAVAILABLE", msg, NULL);
	}
}
