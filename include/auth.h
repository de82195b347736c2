/* The authentication hook on /api: a valid access token (Authorization: Bearer) whose user is
 * still active in a tenant that is not suspended. It fills req->user_id, tenant_id and role. */
#ifndef SH_AUTH_H
#define SH_AUTH_H

#include "app.h"

/* Register the hook on /api for ROUTE_AUTH routes (before throttle_install). */
void auth_install(app_t *app);

#endif
