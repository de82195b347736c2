/* Access and refresh tokens. Access tokens are JWT HS256 (libjwt) with the claims sub, tid, role,
 * iat, exp and jti; refresh tokens are 256 random bits, base64url, stored only as their SHA-256.
 * Everything here is pure given the secret and the clock, so it is unit-tested directly. */
#ifndef SH_TOKENS_H
#define SH_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKENS_REFRESH_LEN  43 /* base64url of 32 bytes, no padding */
#define TOKENS_HASH_LEN	    64 /* hex SHA-256 */
#define TOKENS_REFRESH_DAYS 30
/* How far in the future an access token's "iat" may be (clocks of processes differ a little). */
#define TOKENS_CLOCK_SKEW_S 60

enum token_status { TOKEN_OK, TOKEN_INVALID, TOKEN_EXPIRED };

typedef struct access_claims {
	char sub[40]; /* user id */
	char tid[40]; /* tenant id */
	char role[16];
	char jti[40];
	long iat, exp;
} access_claims_t;

/* A signed access token (malloc'd) valid for ttl_s from now_s; NULL only on a library failure. */
char *tokens_access_new(const char *secret, long now_s, long ttl_s, const char *user_id,
			const char *tenant_id, const char *role);
/* Verify signature (HS256 only: `none` and every other alg are refused), shape and expiry.
 * "exp" and "iat" must be integers with exp > iat and iat at most TOKENS_CLOCK_SKEW_S ahead of
 * now_s, else TOKEN_INVALID; TOKEN_EXPIRED only for a well-formed token past its exp. */
enum token_status tokens_access_verify(const char *secret, const char *token, long now_s,
				       access_claims_t *out);

/* When the token was signed, in ms since the epoch (from its jti; the end of its iat second for
 * a jti without it). */
long long tokens_issued_ms(const access_claims_t *c);

/* A fresh refresh token into out (TOKENS_REFRESH_LEN + 1 bytes); false if the RNG failed. */
bool tokens_refresh_new(char out[TOKENS_REFRESH_LEN + 1]) __attribute__((warn_unused_result));
/* True when s has the shape of a refresh token (cheap check before touching the database). */
bool tokens_refresh_valid(const char *s);
/* Hex SHA-256 of s into out (TOKENS_HASH_LEN + 1 bytes). */
void tokens_hash(const char *s, char out[TOKENS_HASH_LEN + 1]);

#endif
