/* Signing up, signing in and the sessions behind /api/auth. A session is a family of refresh
 * tokens (the refresh_tokens table) whose token rotates on each use; only a token's hash is
 * stored. Rows of a user and its tenant are IDENTITY_USER_COLS then IDENTITY_TENANT_COLS
 * (identity.h). */
#ifndef SH_SESSIONS_H
#define SH_SESSIONS_H

#include "app.h"
#include "pg.h"

/* A session's next refresh token as stored: its hash (tokens_hash) and where it was issued to
 * (user agent and address, either NULL). */
typedef struct session_token {
	const char *hash, *user_agent, *ip;
} session_token_t;

/* A new company and its owner; password_hash from password_hash(), timezone and language NULL
 * for the defaults. */
typedef struct session_signup {
	const char *company, *email, *password_hash, *full_name, *phone, *timezone, *language;
} session_signup_t;

/* Create the tenant, its owner (signed in now) and the owner's first session, in one commit:
 * one row of the user and tenant, or the error 23505 when the e-mail is taken. */
void sessions_sign_up(app_t *app, const session_signup_t *s, const session_token_t *t, pg_cb cb,
		      void *arg);

/* What signing in with email needs to know: zero or one row (user id, tenant id, role,
 * password hash, user active, tenant active, locked, seconds until unlocked). */
void sessions_credentials(app_t *app, const char *email, pg_cb cb, void *arg);

/* Count a wrong password for the user: after SESSIONS_LOCK_AFTER_FAILURES in a row the account
 * is locked for a while (credentials say so). Best effort: a failure is only logged. */
#define SESSIONS_LOCK_AFTER_FAILURES 10 /* across addresses: a slow guesser Redis misses */
void sessions_sign_in_failed(app_t *app, const char *user_id);

/* A right password: clear the failures, note the sign-in and open a session with t, in one
 * commit. One row of the user and tenant (none if the user vanished meanwhile). */
void sessions_sign_in(app_t *app, const char *user_id, const session_token_t *t, pg_cb cb,
		      void *arg);

/* Rotate the session of the presented token (old_hash): mark it used and add next to its
 * family; a token used before revokes its whole family instead. Concurrent rotations of one
 * token serialize, the second sees it used. Zero rows for an unknown token, else one row
 * (user id, tenant id, role, used before, revoked, expired, user active, tenant active,
 * rotated, tokens revoked). */
void sessions_rotate(app_t *app, const char *old_hash, const session_token_t *next, pg_cb cb,
		     void *arg);

/* End the user's session of the token token_hash (its whole family); nothing when there is
 * none. */
void sessions_end(app_t *app, const char *user_id, const char *token_hash, pg_cb cb, void *arg);

#endif
