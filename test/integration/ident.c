/* Helpers for the identity tests. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"

const char *ident_email(const char *tag)
{
	static int n;
	static char bufs[8][128];
	char *b = bufs[n % 8];
	snprintf(b, sizeof(bufs[0]), "%s-%d-%d-%ld@test.example.com", tag, (int)getpid(), ++n,
		 random() % 100000);
	return b;
}

h_resp_t ident_call(const h_proc_t *s, const char *method, const char *path, const char *token,
		    const char *body)
{
	char auth[1200];
	const char *headers[2] = {NULL, NULL};
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[0] = auth;
	}
	return h_http(method, h_url(s, path), body, headers);
}

const char *ident_code(const h_resp_t *r)
{
	const char *c = json_string_value(json_object_get(r->json, "code"));
	return c ? c : "";
}

void ident_take_tokens(session_t *out, json_t *root)
{
	const char *a = json_string_value(h_json_path(root, "data.tokens.accessToken"));
	const char *r = json_string_value(h_json_path(root, "data.tokens.refreshToken"));
	cr_assert(a && r, "no tokens in the answer");
	snprintf(out->access, sizeof(out->access), "%s", a);
	snprintf(out->refresh, sizeof(out->refresh), "%s", r);
}

void ident_signup(const h_proc_t *s, session_t *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->email, sizeof(out->email), "%s", ident_email("owner"));
	char body[512];
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"" GOOD_PW "\",\"fullName\":\"Owner Person\","
		 "\"companyName\":\"Loja Teste\"}",
		 out->email);
	h_resp_t r = ident_call(s, "POST", "/api/auth/register", NULL, body);
	cr_assert_eq(r.status, 201, "register: %ld %s", r.status, r.body);
	snprintf(out->user_id, sizeof(out->user_id), "%s",
		 json_string_value(h_json_path(r.json, "data.user.id")));
	snprintf(out->tenant_id, sizeof(out->tenant_id), "%s",
		 json_string_value(h_json_path(r.json, "data.tenant.id")));
	ident_take_tokens(out, r.json);
	h_resp_free(&r);
}

h_resp_t ident_login(const h_proc_t *s, const char *email, const char *password)
{
	char body[512];
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
	return ident_call(s, "POST", "/api/auth/login", NULL, body);
}

void ident_add_user(const h_proc_t *s, const session_t *by, const char *role, session_t *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->email, sizeof(out->email), "%s", ident_email(role));
	char body[512];
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"" GOOD_PW "\",\"fullName\":\"A %s\","
		 "\"role\":\"%s\"}",
		 out->email, role, role);
	h_resp_t r = ident_call(s, "POST", "/api/users", by->access, body);
	cr_assert_eq(r.status, 201, "add user: %ld %s", r.status, r.body);
	snprintf(out->user_id, sizeof(out->user_id), "%s",
		 json_string_value(h_json_path(r.json, "data.user.id")));
	h_resp_free(&r);
	r = ident_login(s, out->email, GOOD_PW);
	cr_assert_eq(r.status, 200, "login: %ld %s", r.status, r.body);
	snprintf(out->tenant_id, sizeof(out->tenant_id), "%s",
		 json_string_value(h_json_path(r.json, "data.tenant.id")));
	ident_take_tokens(out, r.json);
	h_resp_free(&r);
}

int ident_sql(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return h_sh("psql '%s' -qAtX -v ON_ERROR_STOP=1 -c \"%s\" >/dev/null",
		    h_env("DATABASE_URL"), sql);
}
