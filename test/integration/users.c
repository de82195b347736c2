/* /api/users over HTTP: roles and permissions, tenant isolation, last-owner protection,
 * deactivation taking effect at once, validation. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"

static h_proc_t srv;

static void start(void)
{
	cr_assert(h_server_start(&srv, NULL), "sellerhubd did not start: see %s", srv.log_path);
}

static void stop(void)
{
	h_server_stop_clean(&srv);
}

TestSuite(users, .init = start, .fini = stop, .timeout = 60);

static void expect_status(h_resp_t *r, long status, const char *code)
{
	cr_expect_eq(r->status, status, "want %ld %s, got %ld %s", status, code ? code : "",
		     r->status, r->body);
	if (code)
		cr_expect_str_eq(ident_code(r), code, "%s", r->body);
}

static const char *user_path(const char *id)
{
	static char buf[4][128];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, sizeof(buf[0]), "/api/users/%s", id);
	return b;
}

Test(users, owner_adds_lists_reads_and_updates_users)
{
	session_t owner, admin, member;
	ident_signup(&srv, &owner);
	ident_add_user(&srv, &owner, "admin", &admin);
	ident_add_user(&srv, &owner, "member", &member);
	cr_assert_str_eq(member.tenant_id, owner.tenant_id);

	h_resp_t r = ident_call(&srv, "GET", "/api/users?limit=2&page=1", owner.access, NULL);
	expect_status(&r, 200, NULL);
	cr_expect_eq(json_array_size(h_json_path(r.json, "data.users")), 2);
	cr_expect_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 3);
	cr_expect_eq(json_integer_value(h_json_path(r.json, "data.pagination.pages")), 2);
	cr_expect_eq(json_integer_value(h_json_path(r.json, "data.pagination.limit")), 2);
	cr_expect_null(strstr(r.body, "password"), "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/users?page=2&limit=2", admin.access, NULL);
	expect_status(&r, 200, NULL);
	cr_expect_eq(json_array_size(h_json_path(r.json, "data.users")), 1);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/users?limit=500", owner.access, NULL);
	expect_status(&r, 400, "VALIDATION_FAILED");
	cr_expect(strstr(r.body, "\"limit\""), "%s", r.body);
	h_resp_free(&r);

	r = ident_call(&srv, "GET", user_path(member.user_id), owner.access, NULL);
	expect_status(&r, 200, NULL);
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "data.user.role")), "member");
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "data.user.email")), member.email);
	h_resp_free(&r);

	r = ident_call(&srv, "PUT", user_path(member.user_id), admin.access,
		       "{\"role\":\"viewer\",\"fullName\":\"Renamed\",\"language\":\"es\","
		       "\"phone\":\"+55 11 98765-4321\"}");
	expect_status(&r, 200, NULL);
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "data.user.role")), "viewer");
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "data.user.fullName")), "Renamed");
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "data.user.language")), "es");
	h_resp_free(&r);
	/* The role takes effect at once, with the old access token. */
	r = ident_call(&srv, "GET", "/api/auth/me", member.access, NULL);
	expect_status(&r, 200, NULL);
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "data.user.role")), "viewer");
	cr_expect_null(strstr(r.body, "sync.run"), "%s", r.body);
	h_resp_free(&r);

	r = ident_call(&srv, "DELETE", user_path(member.user_id), admin.access, NULL);
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", user_path(member.user_id), owner.access, NULL);
	expect_status(&r, 404, "NOT_FOUND");
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/auth/me", member.access, NULL);
	expect_status(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
}

Test(users, viewer_and_member_cannot_manage)
{
	session_t owner, viewer, member;
	ident_signup(&srv, &owner);
	ident_add_user(&srv, &owner, "viewer", &viewer);
	ident_add_user(&srv, &owner, "member", &member);
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"" GOOD_PW "\",\"fullName\":\"X\","
		 "\"role\":\"member\"}",
		 ident_email("v-add"));
	h_resp_t r = ident_call(&srv, "POST", "/api/users", viewer.access, body);
	expect_status(&r, 403, "FORBIDDEN");
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "details.0.permission")),
			 "users.manage");
	cr_expect(strstr(r.body, "users.manage"), "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/users", member.access, NULL);
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	r = ident_call(&srv, "GET", user_path(owner.user_id), member.access, NULL);
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", user_path(owner.user_id), member.access,
		       "{\"fullName\":\"Hacked\"}");
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	r = ident_call(&srv, "DELETE", user_path(viewer.user_id), member.access, NULL);
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);

	/* Oneself: read and edit the profile, but not one's own role. */
	r = ident_call(&srv, "GET", user_path(member.user_id), member.access, NULL);
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", user_path(member.user_id), member.access,
		       "{\"fullName\":\"Me Myself\",\"timezone\":\"America/Manaus\"}");
	expect_status(&r, 200, NULL);
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "data.user.timezone")),
			 "America/Manaus");
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", user_path(member.user_id), member.access,
		       "{\"role\":\"admin\"}");
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	/* Leaving is self-service. */
	r = ident_call(&srv, "DELETE", user_path(viewer.user_id), viewer.access, NULL);
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
}

Test(users, admins_cannot_create_or_touch_owners)
{
	session_t owner, admin;
	ident_signup(&srv, &owner);
	ident_add_user(&srv, &owner, "admin", &admin);
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"" GOOD_PW "\",\"fullName\":\"X\","
		 "\"role\":\"owner\"}",
		 ident_email("a-owner"));
	h_resp_t r = ident_call(&srv, "POST", "/api/users", admin.access, body);
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", user_path(owner.user_id), admin.access, "{\"active\":false}");
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	r = ident_call(&srv, "DELETE", user_path(owner.user_id), admin.access, NULL);
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", user_path(admin.user_id), admin.access, "{\"role\":\"owner\"}");
	expect_status(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
}

Test(users, another_tenants_user_is_404)
{
	session_t a, b, b_member;
	ident_signup(&srv, &a);
	ident_signup(&srv, &b);
	ident_add_user(&srv, &b, "member", &b_member);
	const char *methods[] = {"GET", "PUT", "DELETE"};
	for (int i = 0; i < 3; i++) {
		h_resp_t r = ident_call(&srv, methods[i], user_path(b_member.user_id), a.access,
					i == 1 ? "{\"fullName\":\"Mine now\"}" : NULL);
		expect_status(&r, 404, "NOT_FOUND");
		h_resp_free(&r);
	}
	h_resp_t r = ident_call(&srv, "GET", "/api/users", a.access, NULL);
	cr_expect_null(strstr(r.body, b_member.user_id));
	cr_expect_null(strstr(r.body, b.user_id));
	h_resp_free(&r);
	r = ident_call(&srv, "GET", user_path(b_member.user_id), b.access, NULL);
	expect_status(&r, 200, NULL); /* still there, untouched */
	cr_expect_str_eq(json_string_value(h_json_path(r.json, "data.user.fullName")), "A member");
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/users/not-a-uuid", a.access, NULL);
	expect_status(&r, 404, "NOT_FOUND");
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/users/00000000-0000-4000-8000-000000000000", a.access,
		       NULL);
	expect_status(&r, 404, "NOT_FOUND");
	h_resp_free(&r);
}

Test(users, last_owner_cannot_be_removed_demoted_or_deactivated)
{
	session_t owner, second;
	ident_signup(&srv, &owner);
	const char *me = user_path(owner.user_id);
	h_resp_t r = ident_call(&srv, "PUT", me, owner.access, "{\"role\":\"admin\"}");
	expect_status(&r, 409, "LAST_OWNER");
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", me, owner.access, "{\"active\":false}");
	expect_status(&r, 409, "LAST_OWNER");
	h_resp_free(&r);
	r = ident_call(&srv, "DELETE", me, owner.access, NULL);
	expect_status(&r, 409, "LAST_OWNER");
	h_resp_free(&r);

	/* With a second owner, the first may step down. */
	ident_add_user(&srv, &owner, "member", &second);
	r = ident_call(&srv, "PUT", user_path(second.user_id), owner.access,
		       "{\"role\":\"owner\"}");
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", me, owner.access, "{\"role\":\"admin\"}");
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
	/* Now the second is the last one. */
	r = ident_call(&srv, "DELETE", user_path(second.user_id), second.access, NULL);
	expect_status(&r, 409, "LAST_OWNER");
	h_resp_free(&r);
}

Test(users, deactivated_user_is_refused_at_once)
{
	session_t owner, member;
	ident_signup(&srv, &owner);
	ident_add_user(&srv, &owner, "member", &member);
	/* Signed in and served once: this process holds the member's state in its cache. */
	h_resp_t r = ident_call(&srv, "GET", "/api/auth/me", member.access, NULL);
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", user_path(member.user_id), owner.access, "{\"active\":false}");
	expect_status(&r, 200, NULL);
	cr_expect(json_is_false(h_json_path(r.json, "data.user.active")));
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/auth/me", member.access, NULL);
	expect_status(&r, 403, "ACCOUNT_DISABLED");
	h_resp_free(&r);
	char body[128];
	snprintf(body, sizeof(body), "{\"refreshToken\":\"%s\"}", member.refresh);
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, body);
	cr_expect(r.status == 401 || r.status == 403, "%ld %s", r.status, r.body);
	h_resp_free(&r);
	r = ident_login(&srv, member.email, GOOD_PW);
	expect_status(&r, 403, "ACCOUNT_DISABLED");
	h_resp_free(&r);
	r = ident_login(&srv, member.email, "Wrong0Password");
	expect_status(&r, 401, "INVALID_CREDENTIALS");
	h_resp_free(&r);
	/* Reactivated, they sign in again. */
	r = ident_call(&srv, "PUT", user_path(member.user_id), owner.access, "{\"active\":true}");
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
	r = ident_login(&srv, member.email, GOOD_PW);
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
}

Test(users, create_and_update_validate_fields)
{
	session_t owner, other;
	ident_signup(&srv, &owner);
	ident_signup(&srv, &other);
	h_resp_t r = ident_call(&srv, "POST", "/api/users", owner.access,
				"{\"email\":\"x@\",\"password\":\"short\",\"fullName\":[],"
				"\"role\":\"superuser\"}");
	expect_status(&r, 400, "VALIDATION_FAILED");
	const char *fields[] = {"\"email\"", "\"password\"", "\"fullName\"", "\"role\""};
	for (int i = 0; i < 4; i++)
		cr_expect(strstr(r.body, fields[i]), "%s missing: %s", fields[i], r.body);
	cr_expect(strstr(r.body, "must be one of owner, admin, member, viewer"), "%s", r.body);
	h_resp_free(&r);

	char body[256];
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"" GOOD_PW "\",\"fullName\":\"X\","
		 "\"role\":\"member\"}",
		 other.email);
	r = ident_call(&srv, "POST", "/api/users", owner.access, body);
	expect_status(&r, 409, "EMAIL_EXISTS");
	h_resp_free(&r);

	const char *me = user_path(owner.user_id);
	r = ident_call(&srv, "PUT", me, owner.access, "{}");
	expect_status(&r, 400, "VALIDATION_FAILED");
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", me, owner.access, "{\"active\":\"yes\",\"language\":5}");
	expect_status(&r, 400, "VALIDATION_FAILED");
	cr_expect(strstr(r.body, "\"active\"") && strstr(r.body, "\"language\""), "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", me, owner.access, "{\"password\":\"NewPassw0rd\"}");
	expect_status(&r, 400, "VALIDATION_FAILED");
	h_resp_free(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\"}", other.email);
	r = ident_call(&srv, "PUT", me, owner.access, body);
	expect_status(&r, 409, "EMAIL_EXISTS");
	h_resp_free(&r);
}

/* --- the user state cache across processes (src/auth.c, NOTIFY sh_auth) ----------------------- */

static long long cache_hits(const h_proc_t *s)
{
	h_resp_t r = h_http("GET", h_url(s, "/metrics"), NULL, NULL);
	const char *at = r.body ? strstr(r.body, "\nsellerhub_auth_cache_hits_total ") : NULL;
	long long n =
	    at ? strtoll(at + strlen("\nsellerhub_auth_cache_hits_total "), NULL, 10) : -1;
	h_resp_free(&r);
	return n;
}

/* Polls `path` on s with token until it answers `code` (a change made elsewhere arrives as a
 * notification, a moment after its commit); the last answer's status. */
static long wait_for_refusal(const h_proc_t *s, const char *token, const char *code)
{
	long status = 0;
	H_WAIT_UNTIL(({
			     h_resp_t r = ident_call(s, "GET", "/api/auth/me", token, NULL);
			     status = r.status;
			     bool refused = r.status == 403 && strcmp(ident_code(&r), code) == 0;
			     h_resp_free(&r);
			     refused;
		     }),
		     2000);
	return status;
}

/* The status of GET /api/auth/me on s with token. */
static long me_status(const h_proc_t *s, const char *token)
{
	h_resp_t r = ident_call(s, "GET", "/api/auth/me", token, NULL);
	long status = r.status;
	h_resp_free(&r);
	return status;
}

/* Has the process logged that it listens again after it stopped listening? */
static bool listens_again(const h_proc_t *s)
{
	char *log = h_proc_log(s);
	const char *lost = strstr(log, "pg_listen: not listening");
	bool again = lost && strstr(lost, "\"msg\":\"pg_listen: listening\"");
	free(log);
	return again;
}

static void serve_twice(const h_proc_t *s, const session_t *u)
{
	for (int i = 0; i < 2; i++) {
		h_resp_t r = ident_call(s, "GET", "/api/auth/me", u->access, NULL);
		expect_status(&r, 200, NULL);
		h_resp_free(&r);
	}
}

Test(users, a_change_reaches_the_cache_of_every_process)
{
	h_proc_t other;
	cr_assert(h_server_start(&other, NULL), "second sellerhubd: see %s", other.log_path);
	session_t owner, member, viewer;
	ident_signup(&srv, &owner);
	ident_add_user(&srv, &owner, "member", &member);
	ident_add_user(&srv, &owner, "viewer", &viewer);

	/* The second process serves the member from its cache... */
	long long before = cache_hits(&other);
	serve_twice(&other, &member);
	cr_expect_gt(cache_hits(&other), before,
		     "the second request was not served from the cache");
	/* ...until the first process deactivates them. */
	h_resp_t r =
	    ident_call(&srv, "PUT", user_path(member.user_id), owner.access, "{\"active\":false}");
	expect_status(&r, 200, NULL);
	h_resp_free(&r);
	cr_expect_eq(wait_for_refusal(&other, member.access, "ACCOUNT_DISABLED"), 403);

	/* A change made straight in the database (an operator suspending the tenant) as well. */
	serve_twice(&other, &viewer);
	cr_assert_eq(
	    ident_sql("UPDATE tenants SET active = false WHERE id = '%s'", owner.tenant_id), 0);
	cr_expect_eq(wait_for_refusal(&other, viewer.access, "TENANT_SUSPENDED"), 403);
	h_server_stop_clean(&other);
}

/* With its LISTEN connection gone a process cannot know of changes: it must not answer from
 * what it cached before, and it listens again by itself. */
Test(users, no_stale_answer_when_the_listen_connection_drops)
{
	h_proc_t other;
	cr_assert(h_server_start(&other, NULL), "second sellerhubd: see %s", other.log_path);
	session_t owner, member;
	ident_signup(&srv, &owner);
	ident_add_user(&srv, &owner, "member", &member);
	serve_twice(&other, &member);
	/* Every LISTEN connection of the test database drops (each process reconnects). */
	cr_assert_eq(
	    ident_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		      " WHERE datname = current_database() AND query LIKE 'LISTEN sh_auth%%'"),
	    0);
	cr_assert_eq(ident_sql("UPDATE users SET active = false WHERE id = '%s'", member.user_id),
		     0);
	/* The change most likely happened while nobody listened (a reconnect takes 100 ms): once
	 * it listens again, the first answer must already be the new state. */
	cr_assert(H_WAIT_UNTIL(listens_again(&other), 5000), "it did not listen again");
	h_resp_t r = ident_call(&other, "GET", "/api/auth/me", member.access, NULL);
	expect_status(&r, 403, "ACCOUNT_DISABLED");
	h_resp_free(&r);
	/* Listening again, it caches again, once it has heard of the change (the notification
	 * arrives a moment after the commit). */
	cr_assert_eq(ident_sql("UPDATE users SET active = true WHERE id = '%s'", member.user_id),
		     0);
	cr_assert(H_WAIT_UNTIL(me_status(&other, member.access) == 200, 2000),
		  "the reactivated user is still refused");
	long long hits = 0;
	H_WAIT_UNTIL(({
			     long long before = cache_hits(&other);
			     serve_twice(&other, &member);
			     (hits = cache_hits(&other) - before) > 0;
		     }),
		     2000);
	cr_expect_gt(hits, 0, "the cache was not used again after reconnecting");
	h_server_stop_clean(&other);
}
