/* The role → permission table. Adding a permission is one line here; handlers name it. */
#include "permissions.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

enum { OWNER = 1 << 0, ADMIN = 1 << 1, MEMBER = 1 << 2, VIEWER = 1 << 3 };
#define ALL (OWNER | ADMIN | MEMBER | VIEWER)

static const struct role {
	const char *name;
	unsigned bit;
	int rank;
} roles[] = {
    {"owner", OWNER, 4},
    {"admin", ADMIN, 3},
    {"member", MEMBER, 2},
    {"viewer", VIEWER, 1},
};

static const struct perm {
	const char *name;
	unsigned roles;
} perms[] = {
    {"tenant.manage", OWNER},		  /* plan, company name, suspension */
    {"users.view", OWNER | ADMIN},	  /* list and read other users */
    {"users.manage", OWNER | ADMIN},	  /* add, change, deactivate, remove users */
    {"accounts.view", ALL},		  /* marketplace accounts */
    {"accounts.manage", OWNER | ADMIN},	  /* connect, disconnect, re-authorize */
    {"sync.run", OWNER | ADMIN | MEMBER}, /* start a sync by hand */
    {"listings.view", ALL},
    {"listings.manage", OWNER | ADMIN | MEMBER},
    {"orders.view", ALL},
    {"inventory.view", ALL},
    {"inventory.manage", OWNER | ADMIN | MEMBER}, /* manual stock, listing links */
    {"inventory.reconcile", OWNER | ADMIN},	  /* overwrite stock from the ERP or to channels */
    {"orders.manage", OWNER | ADMIN | MEMBER},
    {"questions.view", ALL},
    {"questions.answer", OWNER | ADMIN | MEMBER},
    {"reports.view", ALL},
    {"exports.run", OWNER | ADMIN | MEMBER},
    {"webhooks.view", ALL},	    /* notification stats and backlog */
    {"jobs.manage", OWNER | ADMIN}, /* the job board: inspect and retry jobs */
    {"erp.forward", OWNER | ADMIN}, /* send orders to the ERP by hand, retry held ones */

    {"alerts.view", ALL},
    {"alerts.manage", OWNER | ADMIN | MEMBER}, /* acknowledge and resolve */
    {"alerts.settings", OWNER | ADMIN},	       /* rules, delivery channels, quiet hours */
};

static const struct role *role_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_LEN(roles); i++)
		if (strcmp(roles[i].name, name) == 0)
			return &roles[i];
	return NULL;
}

bool perm_role_valid(const char *role)
{
	return role_find(role) != NULL;
}

int perm_role_rank(const char *role)
{
	const struct role *r = role_find(role);
	return r ? r->rank : 0;
}

bool perm_role_has(const char *role, const char *perm)
{
	const struct role *r = role_find(role);
	for (size_t i = 0; r && i < ARRAY_LEN(perms); i++)
		if (strcmp(perms[i].name, perm) == 0)
			return (perms[i].roles & r->bit) != 0;
	return false;
}

json_t *perm_list(const char *role)
{
	json_t *out = json_array();
	const struct role *r = role_find(role);
	for (size_t i = 0; r && i < ARRAY_LEN(perms); i++)
		if (perms[i].roles & r->bit)
			json_array_append_new(out, json_string(perms[i].name));
	return out;
}

bool perm_require(req_t *r, const char *perm)
{
	if (perm_role_has(r->role, perm))
		return true;
	char msg[160];
	snprintf(msg, sizeof(msg), "Your role (%s) lacks the permission %s.",
		 r->role ? r->role : "none", perm);
	json_t *d = json_pack("[{s:s, s:s, s:s}]", "field", "permission", "problem", "missing",
			      "permission", perm);
	http_error(r, 403, "FORBIDDEN", msg, d);
	return false;
}
