/* Texts of Mercado Livre's error kinds. */
#include "result.h"

const char *ml_err_name(enum ml_err e)
{
	switch (e) {
	case ML_OK:
		return "ok";
	case ML_ERR_INVALID_GRANT:
		return "authorization revoked or expired";
	case ML_ERR_EXPIRED:
		return "authorization expired: reconnect the account";
	case ML_ERR_UNAUTHORIZED:
		return "Mercado Livre refused the token";
	case ML_ERR_FORBIDDEN:
		return "Mercado Livre refused access";
	case ML_ERR_NOT_FOUND:
		return "not found";
	case ML_ERR_RATE_LIMITED:
		return "Mercado Livre rate limit";
	case ML_ERR_TRANSIENT:
		return "Mercado Livre unreachable";
	case ML_ERR_CONFIG:
		return "Mercado Livre is not configured";
	case ML_ERR_BAD_RESPONSE:
		return "unexpected answer from Mercado Livre";
	case ML_ERR_OTHER:
		return "Mercado Livre refused the request";
	}
	return "error";
}
