/* A tenant's users (the users table): what /api/users reads and writes, and the user state the
 * /api hook checks. Every statement filters by the tenant, so another tenant's user is simply
 * not found. Rows of users are IDENTITY_USER_COLS (identity.h), for identity_user_json. */
#ifndef SH_USERS_H
#define SH_USERS_H

#include <stdbool.h>

#include "app.h"
#include "pg.h"

/* A user's fields for adding or changing one. NULL leaves a field unchanged (its default when
 * adding); phone and active are set only when has_phone / has_active (phone NULL clears it). */
typedef struct user_profile {
	const char *email, *full_name, *phone, *timezone, *language, *role;
	bool has_phone, has_active, active;
} user_profile_t;

/* One page of the tenant's users, oldest first: cb gets a row per user, column 0 the tenant's
 * count of users and then IDENTITY_USER_COLS; a page past the end gives one row with the count
 * and NULL user columns. */
void users_list(app_t *app, const char *tenant_id, int limit, long long offset, pg_cb cb,
		void *arg);

/* The tenant's user user_id: zero or one row of IDENTITY_USER_COLS. */
void users_get(app_t *app, const char *tenant_id, const char *user_id, pg_cb cb, void *arg);

/* The same with its tenant: zero or one row of IDENTITY_USER_COLS then IDENTITY_TENANT_COLS. */
void users_get_with_tenant(app_t *app, const char *tenant_id, const char *user_id, pg_cb cb,
			   void *arg);

/* What the /api hook needs of the access token's user: zero or one row (role, user active,
 * tenant active). */
void users_access(app_t *app, const char *tenant_id, const char *user_id, pg_cb cb, void *arg);

/* Add a user to the tenant (p's role required; password_hash from password_hash()): one row of
 * IDENTITY_USER_COLS, or the error 23505 when the e-mail is taken. */
void users_create(app_t *app, const char *tenant_id, const user_profile_t *p,
		  const char *password_hash, pg_cb cb, void *arg);

/* Change the tenant's user user_id, under the tenant's lock: an owner is changed only by an
 * owner (actor_is_owner), and nobody leaves the tenant without an active owner. A deactivated
 * user's sessions end in the same commit. cb gets zero rows when a guard refused (or the user
 * is gone), else one row of IDENTITY_USER_COLS; or the failed statement's error (23505 when
 * the e-mail is taken; res NULL when the connection was lost). */
void users_update(app_t *app, const char *tenant_id, const char *user_id, const user_profile_t *p,
		  bool actor_is_owner, pg_cb cb, void *arg);

/* Remove the tenant's user user_id under the same guards: zero rows when refused, else one row
 * (its id). */
void users_delete(app_t *app, const char *tenant_id, const char *user_id, bool actor_is_owner,
		  pg_cb cb, void *arg);

#endif
