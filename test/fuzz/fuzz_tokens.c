/* Access tokens as the /api auth hook gets them (Authorization: Bearer <token>):
 * tokens_access_verify with the server's secret, and the refresh token's shape check. Half the
 * inputs are a real signed token with the fuzzer's bytes spliced into it, so the claims' checks
 * behind a good signature are reached too. Input: the token. */
#include "fuzz.h"

#include "tokens.h"

#define SECRET "a-jwt-secret-of-more-than-thirty-two-characters"
#define NOW    1764633600L

static char *good;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	good = tokens_access_new(SECRET, NOW, 900, "3f0c2b1e-8a4d-4c7e-9b2a-1d5e6f7a8b9c",
				 "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "owner");
	return good ? 0 : 1;
}

static void verify(const char *token)
{
	access_claims_t c;
	switch (tokens_access_verify(SECRET, token, NOW, &c)) {
	case TOKEN_OK:
		if (!c.sub[0] || !c.tid[0] || !c.role[0] || c.exp <= c.iat ||
		    c.iat > NOW + TOKENS_CLOCK_SKEW_S)
			abort(); /* an accepted token has every claim */
		tokens_issued_ms(&c);
		break;
	case TOKEN_INVALID:
	case TOKEN_EXPIRED:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = fuzz_cstr(data, size);
	verify(token);
	tokens_refresh_valid(token);
	if (size > 0 && data[0] & 1) {
		/* the good token with the input written over it from an offset the input picks */
		size_t n = strlen(good), at = size > 1 ? data[1] % (n + 1) : 0;
		char *mixed = malloc(n + size + 1);
		memcpy(mixed, good, at);
		memcpy(mixed + at, token, strlen(token) + 1);
		if (at + strlen(token) < n)
			memcpy(mixed + at + strlen(token), good + at + strlen(token),
			       n - at - strlen(token) + 1);
		verify(mixed);
		free(mixed);
	}
	free(token);
	return 0;
}
