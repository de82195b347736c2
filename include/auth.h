/* The authentication hook on /api: a valid access token (Authorization: Bearer) whose user is
 * still active in a tenant that is not suspended. It fills req->user_id, tenant_id and role. */
#ifndef SH_AUTH_H
#define SH_AUTH_H

#include "app.h"

typedef struct auth auth_t;

/* Register the hook on /api for ROUTE_AUTH routes (before throttle_install); starts the user
 * state cache and its LISTEN connection. */
void auth_install(app_t *app);
/* Empty the user state cache: call after this process changed a user's role or active flag,
 * or a tenant's (other processes hear of it through NOTIFY sh_auth). */
void auth_forget(app_t *app);
void auth_free(app_t *app);

#endif
