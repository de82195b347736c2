/* /api/users: a tenant's users (users.h). Another tenant's id is simply not found (404). Who may
 * change whom is decided here; that a tenant keeps an active owner, under the tenant's lock,
 * by the users module. */
#include "api.h"
#include "auth.h"
#include "identity.h"
#include "log.h"
#include "passwords.h"
#include "permissions.h"
#include "users.h"
#include "util.h"
#include "validate.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const languages[] = {"pt-BR", "en-US", "es", NULL};
static const char *const roles[] = {"owner", "admin", "member", "viewer", NULL};

static void not_found(req_t *r)
{
	http_error(r, 404, "NOT_FOUND", "No such user.", NULL);
}

static void last_owner(req_t *r)
{
	http_error(r, 409, "LAST_OWNER",
		   "A company must keep at least one active owner: promote another user first.",
		   NULL);
}

static bool email_taken(req_t *r, const PGresult *res)
{
	if (!res || strcmp(pg_sqlstate(res), "23505") != 0)
		return false;
	http_error(r, 409, "EMAIL_EXISTS", "An account with this e-mail already exists.",
		   http_problem(NULL, "email", "is already registered"));
	return true;
}

/* The :id parameter when it can name a user; answers 404 otherwise. */
static const char *user_id_param(req_t *r)
{
	const char *id = http_param(r, "id");
	if (!validate_uuid(id)) {
		not_found(r);
		return NULL;
	}
	return id;
}

static bool is_self(const req_t *r, const char *id)
{
	return strcasecmp(id, r->user_id) == 0;
}

/* Fields every write accepts; problems into *d. */
static void profile_fields(req_t *r, user_profile_t *p, bool creating, json_t **d)
{
	unsigned req = creating ? V_REQUIRED : V_OPTIONAL;
	p->email = validate_string(r, "email", req, EMAIL_MAX, d, NULL);
	if (p->email && !validate_email(p->email)) {
		*d = http_problem(*d, "email", "must be an email address");
		p->email = NULL;
	}
	p->full_name = validate_string(r, "fullName", req, NAME_MAX_CHARS, d, NULL);
	p->phone = validate_string(r, "phone", V_NULLABLE, 32, d, &p->has_phone);
	if (p->phone && !validate_phone(p->phone))
		*d = http_problem(*d, "phone", "must be a phone number (8 to 15 digits)");
	p->timezone = validate_string(r, "timezone", V_NULLABLE, 64, d, NULL);
	if (p->timezone && !validate_timezone(p->timezone))
		*d = http_problem(*d, "timezone",
				  "must be an IANA time zone such as America/Sao_Paulo");
	p->language = validate_enum(r, "language", V_OPTIONAL, languages, d);
	p->role = validate_enum(r, "role", req, roles, d);
	p->active = validate_bool(r, "active", d, &p->has_active);
}

/* Owners and admins manage users, but nobody hands out a role above their own or touches a
 * user ranked above them (an admin cannot demote or remove an owner). */
static bool may_manage(req_t *r, const char *target_role, const char *new_role)
{
	if (!perm_require(r, "users.manage"))
		return false;
	int mine = perm_role_rank(r->role);
	if ((target_role && perm_role_rank(target_role) > mine) ||
	    (new_role && perm_role_rank(new_role) > mine)) {
		http_error(r, 403, "FORBIDDEN", "You cannot manage a role above your own.",
			   json_pack("[{s:s, s:s}]", "field", "role", "problem",
				     "is above your own role"));
		return false;
	}
	return true;
}

/* --- list and read ---------------------------------------------------------------------------- */

typedef struct listing {
	req_t *r;
	int page, limit;
} listing_t;

static void list_done(const PGresult *res, const char *err, void *arg)
{
	listing_t *l = arg;
	if (err) {
		identity_db_error(l->r, "users: list", res, err);
		return;
	}
	long long total = PQntuples(res) ? pg_int(res, 0, 0, 0) : 0;
	json_t *users = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		if (pg_value(res, i, 1))
			json_array_append_new(users, identity_user_json(res, i, 1));
	json_t *pagination =
	    json_pack("{s:i, s:i, s:I, s:I}", "page", l->page, "limit", l->limit, "total",
		      (json_int_t)total, "pages", (json_int_t)((total + l->limit - 1) / l->limit));
	http_ok(l->r, 200, json_pack("{s:o, s:o}", "users", users, "pagination", pagination), NULL);
}

static void list_users(req_t *r)
{
	if (!perm_require(r, "users.view"))
		return;
	listing_t *l = arena_calloc(r->arena, 1, sizeof(*l));
	l->r = r;
	json_t *d = NULL;
	validate_page(r, &l->page, &l->limit, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	users_list(r->app, r->tenant_id, l->limit, (long long)(l->page - 1) * l->limit, list_done,
		   l);
}

static void get_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "users: get", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		not_found(r);
		return;
	}
	http_ok(r, 200, json_pack("{s:o}", "user", identity_user_json(res, 0, 0)), NULL);
}

static void get_user(req_t *r)
{
	const char *id = user_id_param(r);
	if (!id || (!is_self(r, id) && !perm_require(r, "users.view")))
		return;
	users_get(r->app, r->tenant_id, id, get_done, r);
}

/* --- create --------------------------------------------------------------------------------- */

typedef struct creation {
	req_t *r;
	user_profile_t p;
	const char *password;
} creation_t;

static void create_done(const PGresult *res, const char *err, void *arg)
{
	creation_t *c = arg;
	if (err) {
		if (!email_taken(c->r, res))
			identity_db_error(c->r, "users: create", res, err);
		return;
	}
	http_ok(c->r, 201, json_pack("{s:o}", "user", identity_user_json(res, 0, 0)),
		"User added.");
}

static void create_hashed(char *hash, void *arg)
{
	creation_t *c = arg;
	if (!hash) {
		log_error("users: password hashing failed");
		http_error(c->r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
		return;
	}
	users_create(c->r->app, c->r->tenant_id, &c->p, hash, create_done, c);
	OPENSSL_cleanse(hash, strlen(hash));
	free(hash);
}

static void add_user(req_t *r)
{
	/* Permission first: a viewer learns nothing from the body's problems. */
	if (!perm_require(r, "users.manage"))
		return;
	creation_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	json_t *d = NULL;
	profile_fields(r, &c->p, true, &d);
	c->password = validate_string(r, "password", V_REQUIRED | V_RAW, 1024, &d, NULL);
	const char *problem = c->password ? password_problem(c->password) : NULL;
	if (problem)
		d = http_problem(d, "password", problem);
	if (c->p.has_active)
		d = http_problem(d, "active", "cannot be set when adding a user");
	if (d) {
		http_invalid(r, d);
		return;
	}
	if (!may_manage(r, NULL, c->p.role))
		return;
	password_hash(((app_t *)r->app)->workers, c->password, create_hashed, c);
}

/* --- update and delete ------------------------------------------------------------------------ */

/* A write on one user: the target's current role and state are read first for the permission
 * rules; the statement then re-checks them under the tenant lock. */
typedef struct change {
	req_t *r;
	const char *id;
	user_profile_t p;
	bool deleting;
	bool removes_owner; /* the change would leave the target not an active owner */
} change_t;

static void change_written(const PGresult *res, const char *err, void *arg)
{
	change_t *c = arg;
	req_t *r = c->r;
	if (err) {
		if (!email_taken(r, res))
			identity_db_error(r, c->deleting ? "users: delete" : "users: update", res,
					  err);
		return;
	}
	if (PQntuples(res) != 1) {
		/* The row was checked a moment ago: only the guards can have refused it. */
		if (c->removes_owner)
			last_owner(r);
		else
			not_found(r);
		return;
	}
	auth_forget(r->app); /* the next request of this user here must see the change */
	if (c->deleting)
		http_ok(r, 200, json_pack("{s:s}", "id", c->id), "User removed.");
	else
		http_ok(r, 200, json_pack("{s:o}", "user", identity_user_json(res, 0, 0)),
			"User updated.");
}

static void change_target(const PGresult *res, const char *err, void *arg)
{
	change_t *c = arg;
	req_t *r = c->r;
	if (err) {
		identity_db_error(r, "users: change", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		not_found(r);
		return;
	}
	const char *role = arena_strdup(r->arena, pg_value(res, 0, 4));
	bool active = pg_bool(res, 0, 8);
	bool self = is_self(r, c->id);
	bool admin_fields = c->p.role || c->p.has_active;
	/* Self-service covers one's own profile and leaving; the rest is management. */
	if ((!self || admin_fields) && !may_manage(r, role, c->p.role))
		return;
	const char *new_role = c->deleting ? "" : c->p.role ? c->p.role : role;
	bool new_active = !c->deleting && (c->p.has_active ? c->p.active : active);
	c->removes_owner =
	    strcmp(role, "owner") == 0 && active && (strcmp(new_role, "owner") != 0 || !new_active);
	bool owner_actor = strcmp(r->role, "owner") == 0;
	if (c->deleting)
		users_delete(r->app, r->tenant_id, c->id, owner_actor, change_written, c);
	else
		users_update(r->app, r->tenant_id, c->id, &c->p, owner_actor, change_written, c);
}

static void change_start(req_t *r, change_t *c)
{
	users_get(r->app, r->tenant_id, c->id, change_target, c);
}

static void change_user(req_t *r)
{
	change_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	if (!(c->id = user_id_param(r)))
		return;
	/* Who may ask comes before what was asked: someone who may only edit themselves learns
	 * nothing about the fields of a change they could never make. */
	bool admin_fields =
	    r->body && (json_object_get(r->body, "role") || json_object_get(r->body, "active"));
	if ((!is_self(r, c->id) || admin_fields) && !perm_require(r, "users.manage"))
		return;
	json_t *d = NULL;
	profile_fields(r, &c->p, false, &d);
	if (r->body && json_object_get(r->body, "password"))
		d = http_problem(d, "password", "cannot be changed here");
	if (!d && !c->p.email && !c->p.full_name && !c->p.has_phone && !c->p.timezone &&
	    !c->p.language && !c->p.role && !c->p.has_active)
		d = http_problem(d, "body",
				 "must change at least one of email, fullName, phone, timezone, "
				 "language, role, active");
	if (d) {
		http_invalid(r, d);
		return;
	}
	change_start(r, c);
}

static void remove_user(req_t *r)
{
	change_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->deleting = true;
	if (!(c->id = user_id_param(r)))
		return;
	change_start(r, c);
}

void api_users_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/users", list_users, ROUTE_AUTH,
		   "List the company's users (?page, ?limit); needs users.view");
	http_route(s, "POST", "/api/users", add_user, ROUTE_AUTH,
		   "Add a user with a role; needs users.manage");
	http_route(s, "GET", "/api/users/:id", get_user, ROUTE_AUTH,
		   "One user: oneself, or any with users.view");
	http_route(s, "PUT", "/api/users/:id", change_user, ROUTE_AUTH,
		   "Change a user's profile (self) or role and active state (users.manage); the "
		   "last owner cannot be demoted or deactivated");
	http_route(s, "DELETE", "/api/users/:id", remove_user, ROUTE_AUTH,
		   "Remove a user (self, or users.manage); the last owner cannot be removed");
}
