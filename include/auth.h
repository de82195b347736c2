/* The authentication hook on /api: a valid access token (Authorization: Bearer) whose user is
 * still active in a tenant that is not suspended. It fills req->user_id, tenant_id and role. */
#ifndef SH_AUTH_H
#define SH_AUTH_H

#include "app.h"
#include "http.h"

typedef struct auth auth_t;

/* Register the hook on /api for ROUTE_AUTH routes (before throttle_install); starts the user
 * state cache and its LISTEN connection. */
void auth_install(app_t *app);
/* Empty the user state cache: call after this process changed a user's role or active flag,
 * or a tenant's (other processes hear of it through NOTIFY sh_auth). */
void auth_forget(app_t *app);
void auth_free(app_t *app);
/* Deny the request's own access token (signing out) until it expires. */
void auth_revoke_token(req_t *r);
/* Deny every access token of the user issued up to now (a session revoked for a reused
 * refresh token; the user's other sessions refresh and carry on). */
void auth_revoke_user(app_t *app, const char *user_id);

#endif
