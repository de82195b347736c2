/* Request limits kept in Redis so every process shares them: a general fixed-window limit per
 * user (per client address before sign-in) on /api, and the failed-login counters per (address,
 * e-mail) and per e-mail. Nothing counts per address alone: an office behind one NAT must not
 * lock itself out because someone there mistyped other e-mails (guessing across many e-mails
 * from one address still meets the general per-address limit and argon2's cost). When Redis is
 * down the general limit fails open; login falls back to counters kept in this process, so it
 * fails closed after the same number of local failures. */
#ifndef SH_THROTTLE_H
#define SH_THROTTLE_H

#include <stdbool.h>

#include "app.h"

#define LOGIN_WINDOW_S	    900 /* 15 minutes from the first failure */
#define LOGIN_MAX_PER_PAIR  5	/* failures for one e-mail from one address */
#define LOGIN_MAX_PER_EMAIL 10	/* failures for one e-mail from any address */

typedef struct throttle throttle_t;

throttle_t *throttle_new(void);
void throttle_free(throttle_t *t);
/* Register the general limit as a hook on /api (after the auth hook, so it knows the user). */
void throttle_install(app_t *app);

/* allowed false: answer 429 TOO_MANY_ATTEMPTS with Retry-After: retry_after_s. */
typedef void (*throttle_login_cb)(bool allowed, int retry_after_s, void *arg);
/* Runs cb exactly once on the loop. email is compared case-insensitively. */
void throttle_login_check(app_t *app, const char *email, const char *ip, throttle_login_cb cb,
			  void *arg);
void throttle_login_failed(app_t *app, const char *email, const char *ip);
void throttle_login_succeeded(app_t *app, const char *email, const char *ip);

#endif
