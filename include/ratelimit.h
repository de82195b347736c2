/* Token buckets. The arithmetic (tbucket_*) is pure so it can be unit-tested with a fake clock;
 * ratelimit_t keeps one bucket per key ("provider:account:operation") with rates configured by
 * key prefix. A 429 from a provider halves that bucket's rate (AIMD) and successes creep it back.
 */
#ifndef SH_RATELIMIT_H
#define SH_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tbucket {
	double rate;	 /* tokens per second, current (after AIMD) */
	double max_rate; /* configured rate */
	double burst;	 /* bucket size */
	double tokens;
	int64_t last_us;
} tbucket_t;

void tbucket_init(tbucket_t *b, double rate, double burst, int64_t now_us);
/* Take one token: 0 when taken, else microseconds until one is available (nothing taken). */
int64_t tbucket_take(tbucket_t *b, int64_t now_us);
/* Multiplicative decrease on a 429 (never below max_rate / 16; the saved burst is dropped too),
 * additive increase on success (max_rate / 32 per call, up to max_rate). */
void tbucket_slow_down(tbucket_t *b, int64_t now_us);
void tbucket_speed_up(tbucket_t *b);

typedef struct ratelimit ratelimit_t;

ratelimit_t *ratelimit_new(void);
void ratelimit_free(ratelimit_t *rl);
/* Every key that starts with prefix gets its own bucket with this rate and burst; the longest
 * matching prefix wins. Keys matching no prefix are not limited, nor are keys whose rule has
 * rate <= 0 (an exemption under a limited prefix). Reconfiguring resets existing buckets. */
void ratelimit_configure(ratelimit_t *rl, const char *prefix, double rate, double burst);
/* 0 when a token was taken for key, else microseconds to wait before asking again. */
/* The same, with start tokens in a new bucket instead of a full one: a provider's bucket that
 * calls we did not count (another process, a restart, a login) may have drained must not meet a
 * burst it no longer has. */
void ratelimit_configure_start(ratelimit_t *rl, const char *prefix, double rate, double burst,
			       double start);
int64_t ratelimit_acquire(ratelimit_t *rl, const char *key, int64_t now_us);
/* The provider announced key's rate (tokens per second): its bucket follows it from now on,
 * burst unchanged. A lower rate applies at once; a higher one is climbed to as successes come
 * (the AIMD step), so a wrong announcement cannot flood the provider. */
void ratelimit_adapt(ratelimit_t *rl, const char *key, double rate, int64_t now_us);
/* What the API shows (GET /api/sync/status): each bucket whose key starts with prefix, refilled
 * to now_us (a copy: nothing taken); and the rule a key would get (false: not limited). */
void ratelimit_each(ratelimit_t *rl, const char *prefix, int64_t now_us,
		    void (*fn)(const char *key, const tbucket_t *b, void *arg), void *arg);
bool ratelimit_rule(const ratelimit_t *rl, const char *key, double *rate, double *burst,
		    double *start);
void ratelimit_throttled(ratelimit_t *rl, const char *key, int64_t now_us); /* got a 429 */
void ratelimit_succeeded(ratelimit_t *rl, const char *key);

#endif
