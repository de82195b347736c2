/* Helpers shared by the marketsim tests: the app's credentials, the OAuth dance, and requests
 * with a bearer token. */
#ifndef MARKETSIM_HELPERS_H
#define MARKETSIM_HELPERS_H

#include <pthread.h>
#include <stdint.h>

#include "harness.h"

typedef struct msh_app {
	char client_id[32], client_secret[64];
	int64_t sellers[16];
	size_t n_sellers;
} msh_app_t;

typedef struct msh_tokens {
	char access[256], refresh[128];
	int64_t user_id;
} msh_tokens_t;

/* Start marketsim (cr_assert on failure) and read its app and sellers. */
void msh_start(h_proc_t *p, msh_app_t *app, const char *const extra_args[]);
/* Stop it with SIGTERM and assert a clean exit. */
void msh_stop(h_proc_t *p);
void msh_read_app(const h_proc_t *p, msh_app_t *app);
/* GET /authorization as seller; returns the code (static storage). */
const char *msh_authorize(const h_proc_t *p, const msh_app_t *app, int64_t seller,
			  const char *challenge);
/* POST /oauth/token with a form body. */
h_resp_t msh_token(const h_proc_t *p, const char *form);
/* Full code flow; cr_asserts success. */
void msh_login(const h_proc_t *p, const msh_app_t *app, int64_t seller, msh_tokens_t *t);
/* API request with the bearer token (and x-format-new: true); token may be NULL. */
h_resp_t msh_api(const h_proc_t *p, const char *method, const char *token, const char *path,
		 const char *body);
h_resp_t msh_get(const h_proc_t *p, const char *token, const char *path);
/* Control request with a JSON body (may be NULL). */
h_resp_t msh_sim(const h_proc_t *p, const char *method, const char *path, const char *json);
/* POST /_sim/clock with json ({"frozen":true}, {"advanceMs":N}, ...), asserting a 200. */
void msh_clock(const h_proc_t *p, const char *json);
/* Move marketsim's clock forward by ms milliseconds. */
void msh_clock_advance(const h_proc_t *p, long long ms);
/* Assert the standard error body {"message","error","status","cause":[]}. */
void msh_assert_error(const h_resp_t *r, long status, const char *error);
const char *msh_str(json_t *obj, const char *key);

/* A tiny HTTP receiver on its own thread (for notifications): it records every body and answers
 * 500 to the first fail_first requests, then 200, each after delay_ms. */
typedef struct msh_receiver {
	int fd, port;
	int fail_first; /* answer 500 to this many requests, then 200 */
	int delay_ms;	/* wait before answering */
	int hits;
	json_t *bodies; /* every body received, in order */
	pthread_mutex_t mu;
	volatile int stop;
	pthread_t th;
} msh_receiver_t;
void msh_receiver_start(msh_receiver_t *rc, int fail_first, int delay_ms);
void msh_receiver_stop(msh_receiver_t *rc);
int msh_receiver_hits(msh_receiver_t *rc);
/* The i-th body received (a new reference), NULL when there is none yet. */
json_t *msh_receiver_body(msh_receiver_t *rc, int i);

#endif
