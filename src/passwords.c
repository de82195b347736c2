/* argon2id with the OWASP parameters (m=19 MiB, t=2, p=1) on the worker threads. */
#include "passwords.h"
#include "util.h"

#include <argon2.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define ARGON_T	     2
#define ARGON_M_KIB  19456
#define ARGON_P	     1
#define ARGON_SALT   16
#define ARGON_HASH   32
#define ARGON_ENCLEN 128

/* The hash of a random password nobody knows, with the same parameters as real ones: verifying
 * against it costs exactly what a real verification costs. */
static const char dummy_hash[] = "$argon2id$v=19$m=19456,t=2,p=1$pOFumvw51QUPI6Te0vSkyQ$"
				 "y2S7e7JgMVsblGd3y5C5lS3Cz3L7QFf3n3YeTY7nVdE";

const char *password_problem(const char *pw)
{
	size_t chars = 0;
	bool upper = false, lower = false, digit = false;
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
		chars += (*p & 0xC0) != 0x80; /* count UTF-8 characters, not bytes */
		upper |= isupper(*p) != 0;
		lower |= islower(*p) != 0;
		digit |= isdigit(*p) != 0;
	}
	if (chars < PASSWORD_MIN)
		return "must be at least 8 characters";
	if (chars > PASSWORD_MAX)
		return "must be at most 128 characters";
	if (!upper)
		return "must contain an upper-case letter";
	if (!lower)
		return "must contain a lower-case letter";
	if (!digit)
		return "must contain a digit";
	return NULL;
}

char *password_hash_now(const char *pw)
{
	unsigned char salt[ARGON_SALT];
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return NULL;
	char *out = xmalloc(ARGON_ENCLEN);
	if (argon2id_hash_encoded(ARGON_T, ARGON_M_KIB, ARGON_P, pw, strlen(pw), salt, sizeof(salt),
				  ARGON_HASH, out, ARGON_ENCLEN) != ARGON2_OK) {
		free(out);
		return NULL;
	}
	return out;
}

bool password_verify_now(const char *encoded, const char *pw)
{
	/* argon2 compares the digests in constant time itself. */
	bool ok = argon2id_verify(encoded ? encoded : dummy_hash, pw, strlen(pw)) == ARGON2_OK;
	return ok && encoded != NULL;
}

/* One job on a worker: the fields below the line are written by the worker thread only, then
 * read on the loop in done(). Owned by the job; freed in done(). */
typedef struct job {
	char *pw;
	char *encoded;
	password_hash_cb hash_cb;
	password_verify_cb verify_cb;
	void *arg;
	/* --- results --- */
	char *hash;
	bool ok;
} job_t;

static void job_free(job_t *j)
{
	OPENSSL_cleanse(j->pw, strlen(j->pw));
	free(j->pw);
	free(j->encoded);
	free(j);
}

/* Hashing threads yield the CPU to the loop thread: on a small machine two busy hashers would
 * otherwise delay every request behind them. Linux nice values are per thread. */
static void lower_priority(void)
{
	static __thread bool done;
	if (!done) {
		done = true;
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	}
}

static void hash_work(void *arg)
{
	job_t *j = arg;
	lower_priority();
	j->hash = password_hash_now(j->pw);
}

static void hash_done(void *arg)
{
	job_t *j = arg;
	j->hash_cb(j->hash, j->arg);
	job_free(j);
}

static void verify_work(void *arg)
{
	job_t *j = arg;
	lower_priority();
	j->ok = password_verify_now(j->encoded, j->pw);
}

static void verify_done(void *arg)
{
	job_t *j = arg;
	j->verify_cb(j->ok, j->arg);
	job_free(j);
}

void password_hash(workers_t *w, const char *pw, password_hash_cb cb, void *arg)
{
	job_t *j = xcalloc(1, sizeof(*j));
	j->pw = xstrdup(pw);
	j->hash_cb = cb;
	j->arg = arg;
	workers_submit(w, hash_work, hash_done, j);
}

void password_verify(workers_t *w, const char *encoded, const char *pw, password_verify_cb cb,
		     void *arg)
{
	job_t *j = xcalloc(1, sizeof(*j));
	j->pw = xstrdup(pw);
	j->encoded = encoded ? xstrdup(encoded) : NULL;
	j->verify_cb = cb;
	j->arg = arg;
	workers_submit(w, verify_work, verify_done, j);
}
