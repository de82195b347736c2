/* Backoff bounds and Retry-After parsing. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "backoff.h"

Test(backoff, ceiling_doubles_until_cap)
{
	/* The largest draw (rnd = all ones) sits just under the ceiling; rnd = 0 gives 0. */
	int64_t expect[] = {200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000};
	for (int a = 1; a <= 9; a++) {
		int64_t hi = backoff_delay_ms(a, 200, 10000, UINT32_MAX);
		cr_expect(hi <= expect[a - 1] && hi >= expect[a - 1] - 1, "attempt %d: %lld", a,
			  (long long)hi);
		cr_expect_eq(backoff_delay_ms(a, 200, 10000, 0), 0);
	}
}

Test(backoff, jitter_is_uniform_within_bounds)
{
	/* Sweep the random input: every result in [0, ceiling], monotone in rnd, and the middle
	 * of the range lands near the middle of the window (full jitter, not "half jitter"). */
	for (int a = 1; a <= 80; a++) {
		int64_t ceiling = a >= 7 ? 10000 : 200LL << (a - 1);
		int64_t prev = -1;
		for (uint64_t r = 0; r <= UINT32_MAX; r += 0x1000193) {
			int64_t d = backoff_delay_ms(a, 200, 10000, (uint32_t)r);
			cr_assert(d >= 0 && d <= ceiling, "attempt %d rnd %llu -> %lld", a,
				  (unsigned long long)r, (long long)d);
			cr_assert(d >= prev);
			prev = d;
		}
		int64_t mid = backoff_delay_ms(a, 200, 10000, UINT32_MAX / 2);
		cr_expect(mid >= ceiling / 2 - 1 && mid <= ceiling / 2 + 1);
	}
}

Test(backoff, huge_attempts_do_not_overflow)
{
	int attempts[] = {62, 63, 64, 65, 100, 1000, INT32_MAX};
	for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		int64_t d = backoff_delay_ms(attempts[i], 200, 10000, UINT32_MAX);
		cr_expect(d >= 9999 && d <= 10000, "attempt %d -> %lld", attempts[i], (long long)d);
	}
	/* A huge cap and base still stay within [0, cap]. */
	int64_t d = backoff_delay_ms(64, INT64_MAX / 2, INT64_MAX, UINT32_MAX);
	cr_expect(d > 0 && d <= INT64_MAX);
	d = backoff_delay_ms(3, INT64_MAX, INT64_MAX, UINT32_MAX);
	cr_expect(d > INT64_MAX / 2);
}

Test(backoff, degenerate_inputs)
{
	cr_expect_eq(backoff_delay_ms(0, 200, 10000, UINT32_MAX),
		     backoff_delay_ms(1, 200, 10000, UINT32_MAX));
	cr_expect_eq(backoff_delay_ms(-5, 200, 10000, UINT32_MAX), 200);
	cr_expect_eq(backoff_delay_ms(3, 0, 10000, UINT32_MAX), 0);
	cr_expect_eq(backoff_delay_ms(3, 200, 0, UINT32_MAX), 0);
	/* cap below base: the cap wins from the first retry */
	cr_expect(backoff_delay_ms(1, 500, 100, UINT32_MAX) <= 100);
}

Test(retry_after, delta_seconds)
{
	cr_expect_eq(retry_after_ms("1", 0), 1000);
	cr_expect_eq(retry_after_ms("0", 0), 0);
	cr_expect_eq(retry_after_ms(" 120 ", 0), 120000);
	cr_expect_eq(retry_after_ms("007", 0), 7000);
	/* absurd values clamp instead of wrapping negative */
	cr_expect(retry_after_ms("99999999999999999999999999", 0) > 0);
}

Test(retry_after, http_dates)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	int64_t now = 784111777LL * 1000;
	cr_expect_eq(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now - 2500), 2500);
	cr_expect_eq(retry_after_ms("Sun, 06 Nov 1994 08:50:37 GMT", now), 60000);
	cr_expect_eq(retry_after_ms("Sunday, 06-Nov-94 08:49:47 GMT", now), 10000);
	cr_expect_eq(retry_after_ms("Sun Nov  6 08:49:40 1994", now), 3000);
	/* a date in the past means "now" */
	cr_expect_eq(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now + 5000), 0);
	/* a date far ahead */
	cr_expect_eq(retry_after_ms("Wed, 01 Jan 2031 00:00:00 GMT", 1924992000LL * 1000), 0);
	cr_expect_eq(retry_after_ms("Wed, 01 Jan 2031 00:00:01 GMT", 1924992000LL * 1000), 1000);
}

Test(retry_after, garbage_is_rejected)
{
	const char *bad[] = {NULL,
			     "",
			     "   ",
			     "-5",
			     "1.5",
			     "10s",
			     "abc",
			     "0x10",
			     "Sun, 06 Nov 1994 08:49:37",
			     "Sun, 06 Nov 1994 08:49:37 GMT trailing",
			     "Sun, 32 Nov 1994 08:49:37 GMT",
			     "Sun, 06 Foo 1994 08:49:37 GMT",
			     "1994-11-06T08:49:37Z"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(retry_after_ms(bad[i], 0), -1, "accepted \"%s\"",
			     bad[i] ? bad[i] : "(null)");
}
