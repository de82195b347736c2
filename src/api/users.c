/* /api/users: a tenant's users. Every statement filters by the caller's tenant, so another
 * tenant's id is simply not found (404). Changes that could leave a tenant without an active
 * owner run after locking the tenant row, so two owners demoting each other at once cannot
 * both succeed. */
#include "api.h"
#include "auth.h"
#include "identity.h"
#include "log.h"
#include "passwords.h"
#include "permissions.h"
#include "util.h"
#include "validate.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const languages[] = {"pt-BR", "en-US", "es", NULL};
static const char *const roles[] = {"owner", "admin", "member", "viewer", NULL};

static const char list_sql[] =
    "SELECT c.total, p.* FROM (SELECT count(*) AS total FROM users WHERE tenant_id = $1) c "
    "LEFT JOIN LATERAL (SELECT " IDENTITY_USER_COLS " FROM users u WHERE u.tenant_id = $1 "
    "  ORDER BY u.created_at, u.id LIMIT $2 OFFSET $3) p ON true";

static const char get_sql[] =
    "SELECT " IDENTITY_USER_COLS " FROM users u WHERE u.id = $1 AND u.tenant_id = $2";

static const char create_sql[] =
    "INSERT INTO users AS u (tenant_id, email, password_hash, full_name, role, phone, timezone, "
    "  language) "
    "VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, 'America/Sao_Paulo'), coalesce($8, 'pt-BR')) "
    "RETURNING " IDENTITY_USER_COLS;

/* Serializes the changes that could remove a tenant's last owner (held until the batch ends). */
static const char lock_tenant_sql[] = "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE";

/* True when the row may stop being an active owner: it is not one, or another one remains. */
#define OWNER_GUARD(new_role, new_active)                                                          \
	"(NOT (u.role = 'owner' AND u.active) OR (" new_role " = 'owner' AND " new_active ") "     \
	"OR EXISTS (SELECT 1 FROM users o WHERE o.tenant_id = u.tenant_id AND o.role = 'owner' "   \
	"AND o.active AND o.id <> u.id))"

static const char update_sql[] =
    "UPDATE users AS u SET email = coalesce($3, u.email), full_name = coalesce($4, u.full_name), "
    "  phone = CASE WHEN $5::bool THEN $6 ELSE u.phone END, "
    "  timezone = coalesce($7, u.timezone), language = coalesce($8, u.language), "
    "  role = coalesce($9, u.role), active = coalesce($10::bool, u.active) "
    "WHERE u.id = $1 AND u.tenant_id = $2 AND (u.role <> 'owner' OR $11::bool) "
    "  AND " OWNER_GUARD("coalesce($9, u.role)",
			 "coalesce($10::bool, u.active)") " "
							  "RETURNING " IDENTITY_USER_COLS;

/* A deactivated user's sessions end with it. */
static const char revoke_inactive_sql[] =
    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL "
    "AND EXISTS (SELECT 1 FROM users WHERE id = $1 AND NOT active)";

static const char delete_sql[] =
    "DELETE FROM users AS u WHERE u.id = $1 AND u.tenant_id = $2 AND (u.role <> 'owner' OR "
    "$3::bool) AND " OWNER_GUARD("''", "false") " RETURNING u.id";

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
typedef struct profile {
	const char *email, *full_name, *phone, *timezone, *language, *role;
	bool has_phone, has_active, active;
} profile_t;

static void profile_fields(req_t *r, profile_t *p, bool creating, json_t **d)
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

static void users_list(req_t *r)
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
	const char *params[] = {
	    r->tenant_id, arena_printf(r->arena, "%d", l->limit),
	    arena_printf(r->arena, "%lld", (long long)(l->page - 1) * l->limit)};
	pg_query_prepared(((app_t *)r->app)->pg, list_sql, 3, params, list_done, l);
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

static void users_get(req_t *r)
{
	const char *id = user_id_param(r);
	if (!id || (!is_self(r, id) && !perm_require(r, "users.view")))
		return;
	const char *params[] = {id, r->tenant_id};
	pg_query_prepared(((app_t *)r->app)->pg, get_sql, 2, params, get_done, r);
}

/* --- create --------------------------------------------------------------------------------- */

typedef struct creation {
	req_t *r;
	profile_t p;
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
	const char *params[] = {c->r->tenant_id, c->p.email,	c->p.full_name, c->p.role,
				c->p.phone,	 c->p.timezone, c->p.language};
	const char *all[] = {params[0], params[1], hash,      params[2],
			     params[3], params[4], params[5], params[6]};
	pg_query(((app_t *)c->r->app)->pg, create_sql, 8, all, create_done, c);
	OPENSSL_cleanse(hash, strlen(hash));
	free(hash);
}

static void users_create(req_t *r)
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
	profile_t p;
	bool deleting;
	bool removes_owner; /* the change would leave the target not an active owner */
	const char *params[11];
} change_t;

static void change_written(PGresult *const *results, int n, const char *err, void *arg)
{
	change_t *c = arg;
	req_t *r = c->r;
	if (err) {
		for (int i = 0; i < n; i++)
			if (results[i] && email_taken(r, results[i]))
				return;
		identity_db_error(r, c->deleting ? "users: delete" : "users: update",
				  results[1] ? results[1] : results[0], err);
		return;
	}
	if (PQntuples(results[1]) != 1) {
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
		http_ok(r, 200, json_pack("{s:o}", "user", identity_user_json(results[1], 0, 0)),
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
	const char *owner_actor = strcmp(r->role, "owner") == 0 ? "true" : "false";

	app_t *app = r->app;
	pg_stmt_t stmts[3] = {{lock_tenant_sql, 1, &r->tenant_id}};
	if (c->deleting) {
		c->params[0] = c->id, c->params[1] = r->tenant_id, c->params[2] = owner_actor;
		stmts[1] = (pg_stmt_t){delete_sql, 3, c->params};
		pg_batch(app->pg, stmts, 2, change_written, c);
		return;
	}
	const char *p[] = {c->id,
			   r->tenant_id,
			   c->p.email,
			   c->p.full_name,
			   c->p.has_phone ? "true" : "false",
			   c->p.phone,
			   c->p.timezone,
			   c->p.language,
			   c->p.role,
			   c->p.has_active ? (c->p.active ? "true" : "false") : NULL,
			   owner_actor};
	memcpy(c->params, p, sizeof(p));
	stmts[1] = (pg_stmt_t){update_sql, 11, c->params};
	stmts[2] = (pg_stmt_t){revoke_inactive_sql, 1, c->params};
	pg_batch(app->pg, stmts, 3, change_written, c);
}

static void change_start(req_t *r, change_t *c)
{
	const char *params[] = {c->id, r->tenant_id};
	pg_query_prepared(((app_t *)r->app)->pg, get_sql, 2, params, change_target, c);
}

static void users_update(req_t *r)
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

static void users_delete(req_t *r)
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
	http_route(s, "GET", "/api/users", users_list, ROUTE_AUTH,
		   "List the company's users (?page, ?limit); needs users.view");
	http_route(s, "POST", "/api/users", users_create, ROUTE_AUTH,
		   "Add a user with a role; needs users.manage");
	http_route(s, "GET", "/api/users/:id", users_get, ROUTE_AUTH,
		   "One user: oneself, or any with users.view");
	http_route(s, "PUT", "/api/users/:id", users_update, ROUTE_AUTH,
		   "Change a user's profile (self) or role and active state (users.manage); the "
		   "last owner cannot be demoted or deactivated");
	http_route(s, "DELETE", "/api/users/:id", users_delete, ROUTE_AUTH,
		   "Remove a user (self, or users.manage); the last owner cannot be removed");
}
