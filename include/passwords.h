/* Passwords: the policy (pure) and argon2id hashing and verification, which run on the worker
 * threads so the loop never spends the ~20-50 ms and 19 MiB a hash costs. */
#ifndef SH_PASSWORDS_H
#define SH_PASSWORDS_H

#include <stdbool.h>

#include "workers.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 128 /* bounds the work an attacker can ask of a hash */

/* NULL when pw satisfies the policy (8..128 characters with an upper-case letter, a lower-case
 * letter and a digit), else the problem as one phrase for a validation detail. */
const char *password_problem(const char *pw);

/* hash is the argon2id encoded string (malloc'd, the callback frees it), NULL on failure. */
typedef void (*password_hash_cb)(char *hash, void *arg);
/* ok is true only when pw matches encoded. */
typedef void (*password_verify_cb)(bool ok, void *arg);

/* Both copy pw (and wipe the copy) and call back exactly once on the loop. */
void password_hash(workers_t *w, const char *pw, password_hash_cb cb, void *arg);
/* encoded NULL verifies against a dummy hash, so an unknown e-mail costs what a wrong password
 * costs and the caller answers both the same way. */
void password_verify(workers_t *w, const char *encoded, const char *pw, password_verify_cb cb,
		     void *arg);

/* The blocking primitives the jobs use (also for tests and the bench). */
char *password_hash_now(const char *pw);
bool password_verify_now(const char *encoded, const char *pw);

#endif
