/* JWT access tokens and opaque refresh tokens: issue, verify, hash. */
#include "tokens.h"
#include "util.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKEN_LEN 4096

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

char *tokens_access_new(const char *secret, long now_s, long ttl_s, const char *user_id,
			const char *tenant_id, const char *role)
{
	unsigned char rnd[12];
	char rhex[25], jti[48];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	hex(rnd, sizeof(rnd), rhex);
	/* The id carries the issue time in ms (iat has only seconds): "revoke what was issued
	 * up to now" must not also revoke a token signed later in the same second. */
	long long ms = (long long)now_s * 1000 + wall_ms() % 1000;
	snprintf(jti, sizeof(jti), "t%013lld-%s", ms, rhex);
	jwt_t *jwt = NULL;
	if (jwt_new(&jwt) != 0)
		return NULL;
	char *out = NULL;
	if (jwt_add_grant(jwt, "sub", user_id) == 0 && jwt_add_grant(jwt, "tid", tenant_id) == 0 &&
	    jwt_add_grant(jwt, "role", role) == 0 && jwt_add_grant_int(jwt, "iat", now_s) == 0 &&
	    jwt_add_grant_int(jwt, "exp", now_s + ttl_s) == 0 &&
	    jwt_add_grant(jwt, "jti", jti) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret)) ==
		0)
		out = jwt_encode_str(jwt);
	jwt_free(jwt);
	return out;
}

static bool copy_grant(jwt_t *jwt, const char *name, char *out, size_t size)
{
	const char *v = jwt_get_grant(jwt, name);
	if (!v || !*v || strlen(v) >= size)
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

/* A NumericDate claim: a plain non-negative JSON integer. libjwt's jwt_get_grant_int reads a
 * string, a real, a boolean or null as 0 without an error, which made a malformed "exp" look
 * merely expired; the claim's JSON text is checked here instead. */
static bool int_claim(jwt_t *jwt, const char *name, long *out)
{
	char *js = jwt_get_grants_json(jwt, name);
	bool ok = js && *js && strlen(js) <= 15 && strspn(js, "0123456789") == strlen(js);
	if (ok)
		*out = strtol(js, NULL, 10);
	free(js);
	return ok;
}

enum token_status tokens_access_verify(const char *secret, const char *token, long now_s,
				       access_claims_t *out)
{
	if (!token || strlen(token) > MAX_TOKEN_LEN)
		return TOKEN_INVALID;
	jwt_t *jwt = NULL;
	if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) != 0)
		return TOKEN_INVALID;
	/* libjwt accepts what the header names; only HS256 is ours ("none" carries no signature).
	 */
	enum token_status st = TOKEN_INVALID;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto done;
	memset(out, 0, sizeof(*out));
	if (!copy_grant(jwt, "sub", out->sub, sizeof(out->sub)) ||
	    !copy_grant(jwt, "tid", out->tid, sizeof(out->tid)) ||
	    !copy_grant(jwt, "role", out->role, sizeof(out->role)) ||
	    !copy_grant(jwt, "jti", out->jti, sizeof(out->jti)))
		goto done;
	if (!int_claim(jwt, "exp", &out->exp) || !int_claim(jwt, "iat", &out->iat) ||
	    out->exp <= out->iat || out->iat > now_s + TOKENS_CLOCK_SKEW_S)
		goto done;
	st = now_s >= out->exp ? TOKEN_EXPIRED : TOKEN_OK;
done:
	jwt_free(jwt);
	return st;
}

long long tokens_issued_ms(const access_claims_t *c)
{
	const char *j = c->jti;
	if (j[0] == 't' && strlen(j) == 39 && j[14] == '-' && strspn(j + 1, "0123456789") == 13)
		return strtoll(j + 1, NULL, 10);
	return (long long)c->iat * 1000 + 999; /* an older token: the end of its second */
}

bool tokens_refresh_new(char out[TOKENS_REFRESH_LEN + 1])
{
	unsigned char rnd[32];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return false;
	unsigned char b64[45];
	EVP_EncodeBlock(b64, rnd, sizeof(rnd)); /* 44 chars, the last one '=' */
	for (int i = 0; i < TOKENS_REFRESH_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[TOKENS_REFRESH_LEN] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(b64, sizeof(b64));
	return true;
}

bool tokens_refresh_valid(const char *s)
{
	if (!s || strlen(s) != TOKENS_REFRESH_LEN)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	return true;
}

void tokens_hash(const char *s, char out[TOKENS_HASH_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)s, strlen(s), md);
	hex(md, sizeof(md), out);
}
