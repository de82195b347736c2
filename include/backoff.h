/* Retry timing: exponential backoff with full jitter, and Retry-After parsing. Pure functions. */
#ifndef SH_BACKOFF_H
#define SH_BACKOFF_H

#include <stdint.h>

/* Delay before retry number `attempt` (1 = first retry): a uniform draw from
 * [0, min(cap, base * 2^(attempt-1))], using `rnd` (any 32 random bits). */
int64_t backoff_delay_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint32_t rnd);
/* Retry-After as delta-seconds or an HTTP-date; milliseconds from now, or -1 when unparseable. */
int64_t retry_after_ms(const char *value, int64_t now_wall_ms);

#endif
