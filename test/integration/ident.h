/* Helpers for the identity tests (auth.c, users.c): unique e-mails, JSON calls with a bearer
 * token, signing up a fresh tenant, and SQL through psql for states the API cannot reach. */
#ifndef SH_TEST_IDENT_H
#define SH_TEST_IDENT_H

#include "harness.h"

#define GOOD_PW "Passw0rdGood"

typedef struct session {
	char email[128];
	char user_id[40], tenant_id[40];
	char access[1024], refresh[64];
} session_t;

/* "tag-<pid>-<n>-<random>@test.example.com": unique across parallel test processes. */
const char *ident_email(const char *tag);
/* method path with an optional bearer token and JSON body. */
h_resp_t ident_call(const h_proc_t *s, const char *method, const char *path, const char *token,
		    const char *body);
/* Register a new tenant and its owner; fails the test on anything but 201. */
void ident_signup(const h_proc_t *s, session_t *out);
/* Owner `by` adds a user with role; then signs them in. */
void ident_add_user(const h_proc_t *s, const session_t *by, const char *role, session_t *out);
/* Sign in; the response (caller frees). */
h_resp_t ident_login(const h_proc_t *s, const char *email, const char *password);
/* Copy tokens out of a {tokens:{...}} data object. */
void ident_take_tokens(session_t *out, json_t *root);
/* Run SQL against the test database; the exit status of psql. */
int ident_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *ident_code(const h_resp_t *r);

#endif
