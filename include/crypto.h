/* Secrets at rest and on the wire: AES-256-GCM sealing of marketplace tokens (the stored value
 * names its key, so ENCRYPTION_KEY can rotate while ENCRYPTION_KEY_OLD still opens old values),
 * SHA-256, HMAC-SHA256, random tokens and the PKCE verifier/challenge (RFC 7636). Pure functions
 * over OpenSSL; unit-tested directly. */
#ifndef SH_CRYPTO_H
#define SH_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_KID_LEN	     8 /* hex of the first 4 bytes of SHA-256(key) */
#define CRYPTO_SHA256_HEX    64
#define CRYPTO_PKCE_LEN	     43 /* base64url of 32 bytes: verifier and S256 challenge */
#define CRYPTO_SEALED_PREFIX "v1:"

/* The keys a process can open with; `current` also seals. */
typedef struct crypto_keys {
	unsigned char current[32];
	unsigned char old[32];
	bool has_old;
} crypto_keys_t;

/* "v1:<kid>:<base64url(nonce | ciphertext | tag)>" (malloc'd), NULL on a library failure. The
 * key id is authenticated too, so a value cannot be moved to another key's slot. */
char *crypto_seal(const crypto_keys_t *k, const char *plain) __attribute__((warn_unused_result));
/* The plaintext (malloc'd; clear it with crypto_free_secret), or NULL when the value is
 * malformed, tampered with, or sealed with a key this process does not have. */
char *crypto_open(const crypto_keys_t *k, const char *sealed) __attribute__((warn_unused_result));
/* True when the value is sealed with the current key (else a re-seal job should move it). */
bool crypto_is_current(const crypto_keys_t *k, const char *sealed);
/* Zero then free a secret string (NULL is fine). */
void crypto_free_secret(char *s);

/* The key id of a key into out (CRYPTO_KID_LEN + 1 bytes). */
void crypto_key_id(const unsigned char key[32], char out[CRYPTO_KID_LEN + 1]);
/* Hex SHA-256 of len bytes into out (CRYPTO_SHA256_HEX + 1 bytes). */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX + 1]);
/* HMAC-SHA256 of data with key into out (32 bytes). */
bool crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			unsigned char out[32]) __attribute__((warn_unused_result));
/* n random bytes as base64url without padding into out ((4 * n + 2) / 3 + 1 bytes). */
bool crypto_random_token(size_t n, char *out, size_t out_size) __attribute__((warn_unused_result));
/* base64url without padding; returns the length written (out needs 4 * ((n + 2) / 3) + 1). */
size_t crypto_b64url_encode(const unsigned char *in, size_t n, char *out);
/* Decode base64url without padding; the length, or -1 when malformed or out is too small. */
long crypto_b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_size);

/* A PKCE code verifier: 32 random bytes as base64url (43 characters). */
bool crypto_pkce_verifier(char out[CRYPTO_PKCE_LEN + 1]) __attribute__((warn_unused_result));
/* The S256 challenge: base64url(SHA-256(verifier)) without padding. */
void crypto_pkce_challenge(const char *verifier, char out[CRYPTO_PKCE_LEN + 1]);

#endif
