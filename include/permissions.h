/* Roles and what they may do: one table, checked by perm_require() at the top of a handler. */
#ifndef SH_PERMISSIONS_H
#define SH_PERMISSIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "http.h"

/* Known roles, highest first: "owner", "admin", "member", "viewer". */
bool perm_role_valid(const char *role);
/* Rank for "may not grant above one's own": owner 4 .. viewer 1, unknown 0. */
int perm_role_rank(const char *role);
bool perm_role_has(const char *role, const char *perm);
/* The role's permissions as a JSON array of strings (new reference). */
json_t *perm_list(const char *role);
/* True when the request's role has perm; else answers 403 FORBIDDEN naming the missing
 * permission and returns false (the handler must return without answering again). */
bool perm_require(req_t *r, const char *perm);

#endif
