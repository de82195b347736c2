/* crypto: sealing round trips, tampering, keys and rotation, PKCE (RFC 7636 appendix B), HMAC
 * (RFC 4231 case 2), base64url. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

static crypto_keys_t keys(unsigned char cur, unsigned char old, bool has_old)
{
	crypto_keys_t k;
	memset(k.current, cur, 32);
	memset(k.old, old, 32);
	k.has_old = has_old;
	return k;
}

Test(crypto, seal_then_open_round_trips_and_hides_the_plaintext)
{
	crypto_keys_t k = keys(1, 0, false);
	const char *token = "APP_USR-123456-090515-8cc4abcdef-1234567";
	char *s1 = crypto_seal(&k, token), *s2 = crypto_seal(&k, token);
	cr_assert(s1 && s2);
	cr_assert_eq(strncmp(s1, "v1:", 3), 0);
	cr_assert_null(strstr(s1, "APP_USR"));
	cr_assert_str_neq(s1, s2, "a fresh nonce every time");
	char *p = crypto_open(&k, s1);
	cr_assert_str_eq(p, token);
	cr_assert(crypto_is_current(&k, s1));
	crypto_free_secret(p);
	free(s1);
	free(s2);
}

Test(crypto, tampering_or_a_wrong_key_fails)
{
	crypto_keys_t k = keys(1, 0, false), other = keys(2, 0, false);
	char *s = crypto_seal(&k, "secret-token");
	size_t n = strlen(s);
	for (size_t i = 12; i < n; i += 3) {
		char *t = strdup(s);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		cr_assert_null(crypto_open(&k, t), "flipped position %zu still opened", i);
		free(t);
	}
	cr_assert_null(crypto_open(&other, s));
	char *t = strdup(s);
	t[n - 2] = '\0'; /* truncated */
	cr_assert_null(crypto_open(&k, t));
	free(t);
	cr_assert_null(crypto_open(&k, "v1:00000000:"));
	cr_assert_null(crypto_open(&k, "plaintext"));
	cr_assert_null(crypto_open(&k, NULL));
	free(s);
}

Test(crypto, the_old_key_opens_old_values_after_a_rotation)
{
	crypto_keys_t before = keys(7, 0, false), after = keys(8, 7, true);
	char *s = crypto_seal(&before, "refresh-TG-1");
	cr_assert_not(crypto_is_current(&after, s));
	char *p = crypto_open(&after, s);
	cr_assert_str_eq(p, "refresh-TG-1");
	char *moved = crypto_seal(&after, p);
	cr_assert(crypto_is_current(&after, moved));
	cr_assert_null(crypto_open(&before, moved));
	crypto_free_secret(p);
	free(s);
	free(moved);
}

Test(crypto, the_key_id_is_not_something_that_can_be_swapped)
{
	crypto_keys_t a = keys(1, 2, true), b = keys(2, 0, false);
	char *s = crypto_seal(&b, "x");
	/* Relabel a value sealed with key 2 as key 1: the header is authenticated. */
	char kid1[CRYPTO_KID_LEN + 1];
	crypto_key_id(a.current, kid1);
	char *t = strdup(s);
	memcpy(t + 3, kid1, CRYPTO_KID_LEN);
	cr_assert_null(crypto_open(&a, t));
	free(t);
	free(s);
}

Test(crypto, pkce_s256_matches_rfc7636_appendix_b)
{
	char c[CRYPTO_PKCE_LEN + 1];
	crypto_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c);
	cr_assert_str_eq(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	char v[CRYPTO_PKCE_LEN + 1];
	cr_assert(crypto_pkce_verifier(v));
	cr_assert_eq(strlen(v), 43);
	cr_assert_eq(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
		     43);
}

Test(crypto, hmac_sha256_and_sha256_known_vectors)
{
	unsigned char mac[32];
	const char *data = "what do ya want for nothing?";
	cr_assert(crypto_hmac_sha256("Jefe", 4, data, strlen(data), mac));
	char hex[65];
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", mac[i]);
	cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	crypto_sha256_hex("abc", 3, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(crypto, base64url_round_trips_every_length)
{
	unsigned char in[40], out[40];
	for (int i = 0; i < 40; i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		char enc[64];
		size_t len = crypto_b64url_encode(in, n, enc);
		cr_assert_null(strpbrk(enc, "+/="));
		cr_assert_eq(crypto_b64url_decode(enc, len, out, sizeof(out)), (long)n);
		cr_assert_eq(memcmp(in, out, n), 0);
	}
	cr_assert_eq(crypto_b64url_decode("a$bc", 4, out, sizeof(out)), -1);
}
