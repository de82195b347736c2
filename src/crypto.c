/* AES-256-GCM sealing, hashes, HMAC, random tokens and PKCE over OpenSSL's EVP interface. */
#include "crypto.h"
#include "util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN 12
#define TAG_LEN	  16
/* "v1:" + kid + ":" */
#define HEADER_LEN (sizeof(CRYPTO_SEALED_PREFIX) - 1 + CRYPTO_KID_LEN + 1)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t crypto_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64url_value(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;
	return p ? (int)(p - b64url) : -1;
}

long crypto_b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_size)
{
	if (n % 4 == 1)
		return -1;
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= out_size)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	return (long)o;
}

void crypto_key_id(const unsigned char key[32], char out[CRYPTO_KID_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256(key, 32, d);
	snprintf(out, CRYPTO_KID_LEN + 1, "%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256(data, len, d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

bool crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			unsigned char out[32])
{
	unsigned int n = 0;
	return HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) && n == 32;
}

bool crypto_random_token(size_t n, char *out, size_t out_size)
{
	unsigned char buf[128];
	if (n > sizeof(buf) || out_size < (4 * n + 2) / 3 + 1 || RAND_bytes(buf, (int)n) != 1)
		return false;
	crypto_b64url_encode(buf, n, out);
	OPENSSL_cleanse(buf, n);
	return true;
}

bool crypto_pkce_verifier(char out[CRYPTO_PKCE_LEN + 1])
{
	return crypto_random_token(32, out, CRYPTO_PKCE_LEN + 1);
}

void crypto_pkce_challenge(const char *verifier, char out[CRYPTO_PKCE_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)verifier, strlen(verifier), d);
	crypto_b64url_encode(d, sizeof(d), out);
}

void crypto_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* One GCM pass; the header ("v1:<kid>:") is the additional authenticated data. */
static bool gcm(bool enc, const unsigned char key[32], const unsigned char *nonce, const char *aad,
		const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0;
	bool ok =
	    ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
	    EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &fin) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

char *crypto_seal(const crypto_keys_t *k, const char *plain)
{
	size_t n = strlen(plain), raw_len = NONCE_LEN + n + TAG_LEN;
	unsigned char *raw = xmalloc(raw_len);
	char kid[CRYPTO_KID_LEN + 1], header[HEADER_LEN + 1];
	crypto_key_id(k->current, kid);
	snprintf(header, sizeof(header), CRYPTO_SEALED_PREFIX "%s:", kid);
	char *out = NULL;
	if (RAND_bytes(raw, NONCE_LEN) == 1 &&
	    gcm(true, k->current, raw, header, (const unsigned char *)plain, n, raw + NONCE_LEN,
		raw + NONCE_LEN + n)) {
		out = xmalloc(HEADER_LEN + 4 * ((raw_len + 2) / 3) + 1);
		memcpy(out, header, HEADER_LEN);
		crypto_b64url_encode(raw, raw_len, out + HEADER_LEN);
	}
	OPENSSL_cleanse(raw, raw_len);
	free(raw);
	return out;
}

static const unsigned char *key_for(const crypto_keys_t *k, const char *kid)
{
	char id[CRYPTO_KID_LEN + 1];
	crypto_key_id(k->current, id);
	if (memcmp(id, kid, CRYPTO_KID_LEN) == 0)
		return k->current;
	if (k->has_old) {
		crypto_key_id(k->old, id);
		if (memcmp(id, kid, CRYPTO_KID_LEN) == 0)
			return k->old;
	}
	return NULL;
}

char *crypto_open(const crypto_keys_t *k, const char *sealed)
{
	if (!sealed || strlen(sealed) < HEADER_LEN ||
	    strncmp(sealed, CRYPTO_SEALED_PREFIX, sizeof(CRYPTO_SEALED_PREFIX) - 1) != 0 ||
	    sealed[HEADER_LEN - 1] != ':')
		return NULL;
	const unsigned char *key = key_for(k, sealed + sizeof(CRYPTO_SEALED_PREFIX) - 1);
	if (!key)
		return NULL;
	const char *body = sealed + HEADER_LEN;
	size_t blen = strlen(body), cap = blen * 3 / 4 + 3;
	unsigned char *raw = xmalloc(cap);
	long raw_len = crypto_b64url_decode(body, blen, raw, cap);
	char *plain = NULL;
	if (raw_len >= NONCE_LEN + TAG_LEN) {
		char header[HEADER_LEN + 1];
		memcpy(header, sealed, HEADER_LEN);
		header[HEADER_LEN] = '\0';
		size_t n = (size_t)raw_len - NONCE_LEN - TAG_LEN;
		plain = xmalloc(n + 1);
		if (gcm(false, key, raw, header, raw + NONCE_LEN, n, (unsigned char *)plain,
			raw + NONCE_LEN + n) &&
		    memchr(plain, '\0', n) == NULL) {
			plain[n] = '\0';
		} else {
			OPENSSL_cleanse(plain, n);
			free(plain);
			plain = NULL;
		}
	}
	OPENSSL_cleanse(raw, cap);
	free(raw);
	return plain;
}

bool crypto_is_current(const crypto_keys_t *k, const char *sealed)
{
	char kid[CRYPTO_KID_LEN + 1];
	crypto_key_id(k->current, kid);
	return sealed && strncmp(sealed, CRYPTO_SEALED_PREFIX, 3) == 0 &&
	       strncmp(sealed + 3, kid, CRYPTO_KID_LEN) == 0 && sealed[3 + CRYPTO_KID_LEN] == ':';
}
