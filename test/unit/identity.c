/* Identity's pure pieces: password policy, field checks, the permission table, token math. */
#include <criterion/criterion.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "passwords.h"
#include "permissions.h"
#include "tokens.h"
#include "validate.h"

#define SECRET "unit-test-secret-that-is-long-enough-1234"
#define UID    "0a1c4d18-8eec-4e03-adf8-efb82983f105"
#define TID    "2245d8f6-9723-4bb5-9123-7465bfb341a4"

Test(password_policy, accepts_and_names_the_missing_class)
{
	cr_assert_null(password_problem("Passw0rd"));
	cr_assert_null(password_problem("çãoÁé Abc1")); /* UTF-8 counts characters */
	cr_assert_str_eq(password_problem("Pa1"), "must be at least 8 characters");
	cr_assert_str_eq(password_problem("ção1Abc"), "must be at least 8 characters");
	cr_assert_str_eq(password_problem("password1"), "must contain an upper-case letter");
	cr_assert_str_eq(password_problem("PASSWORD1"), "must contain a lower-case letter");
	cr_assert_str_eq(password_problem("Passwords"), "must contain a digit");
	char long_pw[200];
	memset(long_pw, 'a', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = 0;
	long_pw[0] = 'A', long_pw[1] = '1';
	cr_assert_str_eq(password_problem(long_pw), "must be at most 128 characters");
}

Test(password_hash, argon2id_round_trip_and_dummy, .timeout = 20)
{
	char *h = password_hash_now("Passw0rd!");
	cr_assert_not_null(h);
	cr_assert(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0, "%s", h);
	cr_assert(password_verify_now(h, "Passw0rd!"));
	cr_assert_not(password_verify_now(h, "Passw0rd?"));
	/* The dummy (NULL) never matches, whatever the password. */
	cr_assert_not(password_verify_now(NULL, "Passw0rd!"));
	cr_assert_not(password_verify_now(NULL, ""));
	char *h2 = password_hash_now("Passw0rd!");
	cr_assert_str_neq(h, h2); /* salted */
	free(h);
	free(h2);
}

Test(validate, emails)
{
	const char *good[] = {"a@b.co", "first.last+tag@sub.example.com.br", "x_y-z@a-b.io",
			      "UPPER@Example.COM"};
	const char *bad[] = {"",	 "plain",      "@b.co",	      "a@",	  "a@b",
			     "a@b.c",	 "a b@c.com",  ".a@b.co",     "a.@b.co",  "a..b@c.co",
			     "a@-b.co",	 "a@b-.co",    "a@b..co",     "a@b.c0m",  "a@@b.co",
			     "a@b.co\n", "\"q\"@b.co", "a@[1.2.3.4]", "a@b_c.com"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_assert(validate_email(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_not(validate_email(bad[i]), "%s", bad[i]);
	char longest[300];
	memset(longest, 'a', 64);
	strcpy(longest + 64, "@");
	for (int i = 0; i < 3; i++)
		strcat(longest, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.");
	strcat(longest, "com");
	cr_assert_eq(strlen(longest), 64 + 1 + 192 + 3);
	cr_assert_not(validate_email(longest)); /* 260 > 254 */
	char local65[100];
	memset(local65, 'a', 65);
	strcpy(local65 + 65, "@b.co");
	cr_assert_not(validate_email(local65));
}

Test(validate, uuid_timezone_phone)
{
	cr_assert(validate_uuid(UID));
	cr_assert(validate_uuid("0A1C4D18-8EEC-4E03-ADF8-EFB82983F105"));
	cr_assert_not(validate_uuid("0a1c4d18-8eec-4e03-adf8-efb82983f10"));
	cr_assert_not(validate_uuid("0a1c4d18x8eec-4e03-adf8-efb82983f105"));
	cr_assert_not(validate_uuid("zzzzzzzz-8eec-4e03-adf8-efb82983f105"));
	cr_assert_not(validate_uuid(NULL));
	cr_assert(validate_timezone("America/Sao_Paulo"));
	cr_assert(validate_timezone("UTC"));
	cr_assert(validate_timezone("Etc/GMT+3"));
	cr_assert(validate_timezone("America/Argentina/Buenos_Aires"));
	cr_assert_not(validate_timezone("../etc/passwd"));
	cr_assert_not(validate_timezone("America//X"));
	cr_assert_not(validate_timezone("/UTC"));
	cr_assert_not(validate_timezone("Europe/Lisbon;"));
	cr_assert(validate_phone("+55 (11) 98765-4321"));
	cr_assert_not(validate_phone("12345"));
	cr_assert_not(validate_phone("+55 11 9876x4321"));
}

Test(permissions, table)
{
	const char *r[] = {"owner", "admin", "member", "viewer"};
	for (int i = 0; i < 4; i++) {
		cr_assert(perm_role_valid(r[i]));
		cr_assert(perm_role_has(r[i], "orders.view"), "%s", r[i]);
		cr_assert(perm_role_has(r[i], "accounts.view"), "%s", r[i]);
		cr_assert_eq(perm_role_rank(r[i]), 4 - i);
	}
	cr_assert(perm_role_has("owner", "users.manage"));
	cr_assert(perm_role_has("admin", "users.manage"));
	cr_assert_not(perm_role_has("member", "users.manage"));
	cr_assert_not(perm_role_has("viewer", "users.manage"));
	cr_assert(perm_role_has("owner", "tenant.manage"));
	cr_assert_not(perm_role_has("admin", "tenant.manage"));
	cr_assert(perm_role_has("member", "sync.run"));
	cr_assert_not(perm_role_has("viewer", "sync.run"));
	cr_assert(perm_role_has("admin", "accounts.manage"));
	cr_assert_not(perm_role_has("member", "accounts.manage"));
	cr_assert_not(perm_role_has("owner", "no.such.permission"));
	cr_assert_not(perm_role_valid("root"));
	cr_assert_not(perm_role_valid(NULL));
	cr_assert_not(perm_role_has(NULL, "orders.view"));
	cr_assert_eq(perm_role_rank("root"), 0);

	json_t *v = perm_list("viewer");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *p = json_string_value(json_array_get(v, i));
		cr_assert(strstr(p, ".view"), "viewer may only view, has %s", p);
	}
	json_t *o = perm_list("owner");
	cr_assert_gt(json_array_size(o), json_array_size(v));
	json_decref(v);
	json_decref(o);
}

Test(tokens, refresh_tokens_are_random_base64url_and_hashed)
{
	char a[TOKENS_REFRESH_LEN + 1], b[TOKENS_REFRESH_LEN + 1];
	cr_assert(tokens_refresh_new(a));
	cr_assert(tokens_refresh_new(b));
	cr_assert_eq(strlen(a), 43);
	cr_assert_str_neq(a, b);
	cr_assert(tokens_refresh_valid(a));
	cr_assert_not(tokens_refresh_valid("short"));
	cr_assert_not(tokens_refresh_valid("++++++++++++++++++++++++++++++++++++++++++="));
	char h[TOKENS_HASH_LEN + 1];
	tokens_hash("abc", h);
	cr_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	tokens_hash(a, h);
	cr_assert_eq(strlen(h), 64);
}

static char *sign(jwt_alg_t alg, const char *key, long iat, long exp)
{
	jwt_t *j;
	jwt_new(&j);
	jwt_add_grant(j, "sub", UID);
	jwt_add_grant(j, "tid", TID);
	jwt_add_grant(j, "role", "owner");
	jwt_add_grant(j, "jti", "abc");
	jwt_add_grant_int(j, "iat", iat);
	jwt_add_grant_int(j, "exp", exp);
	jwt_set_alg(j, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0);
	char *s = jwt_encode_str(j);
	jwt_free(j);
	return s;
}

Test(tokens, access_token_round_trip_and_expiry)
{
	char *t = tokens_access_new(SECRET, 1000, 900, UID, TID, "admin");
	cr_assert_not_null(t);
	access_claims_t c;
	cr_assert_eq(tokens_access_verify(SECRET, t, 1000, &c), TOKEN_OK);
	cr_assert_str_eq(c.sub, UID);
	cr_assert_str_eq(c.tid, TID);
	cr_assert_str_eq(c.role, "admin");
	cr_assert_eq(c.iat, 1000);
	cr_assert_eq(c.exp, 1900);
	cr_assert_eq(strlen(c.jti), 39, "%s", c.jti); /* t<ms>-<random> */
	cr_assert(tokens_issued_ms(&c) >= 1000000 && tokens_issued_ms(&c) <= 1000999);
	cr_assert_eq(tokens_access_verify(SECRET, t, 1899, &c), TOKEN_OK);
	cr_assert_eq(tokens_access_verify(SECRET, t, 1900, &c), TOKEN_EXPIRED);
	char *t2 = tokens_access_new(SECRET, 1000, 900, UID, TID, "admin");
	access_claims_t c2;
	tokens_access_verify(SECRET, t2, 1000, &c2);
	cr_assert_str_neq(c.jti, c2.jti);
	free(t);
	free(t2);
}

Test(tokens, forged_tokens_are_invalid)
{
	access_claims_t c;
	char *t = tokens_access_new(SECRET, 1000, 900, UID, TID, "viewer");
	/* Tampered payload: flip one character in the middle part. */
	char *dot = strchr(t, '.');
	dot[5] = dot[5] == 'A' ? 'B' : 'A';
	cr_assert_eq(tokens_access_verify(SECRET, t, 1000, &c), TOKEN_INVALID);
	free(t);

	char *none = sign(JWT_ALG_NONE, NULL, 1000, 1900);
	cr_assert_eq(tokens_access_verify(SECRET, none, 1000, &c), TOKEN_INVALID, "%s", none);
	free(none);
	char *other = sign(JWT_ALG_HS256, "another-secret-another-secret-another", 1000, 1900);
	cr_assert_eq(tokens_access_verify(SECRET, other, 1000, &c), TOKEN_INVALID);
	free(other);
	char *hs384 = sign(JWT_ALG_HS384, SECRET, 1000, 1900);
	cr_assert_eq(tokens_access_verify(SECRET, hs384, 1000, &c), TOKEN_INVALID);
	free(hs384);
	char *ok = sign(JWT_ALG_HS256, SECRET, 1000, 1900);
	cr_assert_eq(tokens_access_verify(SECRET, ok, 1000, &c), TOKEN_OK);
	free(ok);
	cr_assert_eq(tokens_access_verify(SECRET, "", 1000, &c), TOKEN_INVALID);
	cr_assert_eq(tokens_access_verify(SECRET, "a.b.c", 1000, &c), TOKEN_INVALID);
	cr_assert_eq(tokens_access_verify(SECRET, NULL, 1000, &c), TOKEN_INVALID);
}
