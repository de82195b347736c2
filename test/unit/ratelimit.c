/* Token bucket arithmetic and the keyed limiter, on a fake clock. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>

#include "ratelimit.h"

#define SEC 1000000LL

Test(tbucket, burst_then_refill)
{
	tbucket_t b;
	tbucket_init(&b, 10, 5, 0);
	for (int i = 0; i < 5; i++)
		cr_expect_eq(tbucket_take(&b, 0), 0, "burst token %d", i);
	/* empty: one token at 10/s is 100 ms away */
	cr_expect_eq(tbucket_take(&b, 0), 100000);
	cr_expect_eq(tbucket_take(&b, 40000), 60000);
	cr_expect_eq(tbucket_take(&b, 100000), 0);
	cr_expect_eq(tbucket_take(&b, 100000), 100000);
	/* a long idle period refills to the burst, not beyond */
	int n = 0;
	while (tbucket_take(&b, 100 * SEC) == 0)
		n++;
	cr_expect_eq(n, 5);
}

Test(tbucket, paced_schedule_matches_rate)
{
	/* Taking as soon as allowed: 20 tokens at 10/s with burst 5 end at 1.5 s. */
	tbucket_t b;
	tbucket_init(&b, 10, 5, 0);
	int64_t t = 0;
	for (int i = 0; i < 20; i++) {
		int64_t w;
		while ((w = tbucket_take(&b, t)) > 0)
			t += w;
	}
	cr_expect(t >= 1500000 - 10 && t <= 1500000 + 10, "t = %lld", (long long)t);
}

Test(tbucket, clock_going_back_is_harmless)
{
	tbucket_t b;
	tbucket_init(&b, 1, 1, 10 * SEC);
	cr_expect_eq(tbucket_take(&b, 10 * SEC), 0);
	cr_expect_gt(tbucket_take(&b, 5 * SEC), 0);
	cr_expect_eq(b.tokens, 0);
	cr_expect_eq(tbucket_take(&b, 11 * SEC), 0);
}

Test(tbucket, tiny_burst_still_gives_tokens)
{
	tbucket_t b;
	tbucket_init(&b, 2, 0, 0);
	cr_expect_eq(tbucket_take(&b, 0), 0);
	cr_expect_eq(tbucket_take(&b, 0), 500000);
}

Test(tbucket, aimd_floor_and_recovery)
{
	tbucket_t b;
	tbucket_init(&b, 16, 4, 0);
	tbucket_slow_down(&b, 0);
	cr_expect_float_eq(b.rate, 8, 1e-9);
	cr_expect_eq(b.tokens, 0); /* the saved burst is gone: the next call waits */
	cr_expect_eq(tbucket_take(&b, 0), 125000);
	for (int i = 0; i < 20; i++)
		tbucket_slow_down(&b, 0);
	cr_expect_float_eq(b.rate, 1, 1e-9); /* floor = 16 / 16 */
	cr_expect_eq(tbucket_take(&b, 0), 1000000);
	/* additive increase: +16/32 per success, capped at max_rate */
	tbucket_speed_up(&b);
	cr_expect_float_eq(b.rate, 1.5, 1e-9);
	for (int i = 0; i < 29; i++)
		tbucket_speed_up(&b);
	cr_expect_float_eq(b.rate, 16, 1e-9);
	tbucket_speed_up(&b);
	cr_expect_float_eq(b.rate, 16, 1e-9);
	cr_expect_float_eq(b.max_rate, 16, 1e-9);
}

Test(ratelimit, longest_prefix_wins)
{
	ratelimit_t *rl = ratelimit_new();
	ratelimit_configure(rl, "ml:", 10, 2);
	ratelimit_configure(rl, "ml:42:", 1, 1);
	ratelimit_configure(rl, "ml:42:free", 0, 0);

	/* "ml:7:items" uses the ml: rule, burst 2 */
	cr_expect_eq(ratelimit_acquire(rl, "ml:7:items", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:7:items", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:7:items", 0), 100000);
	/* "ml:42:orders" matches the longer prefix: burst 1, rate 1/s */
	cr_expect_eq(ratelimit_acquire(rl, "ml:42:orders", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:42:orders", 0), SEC);
	/* rate 0 exempts; unknown prefixes are unlimited */
	for (int i = 0; i < 100; i++) {
		cr_expect_eq(ratelimit_acquire(rl, "ml:42:free", 0), 0);
		cr_expect_eq(ratelimit_acquire(rl, "amazon:1:orders", 0), 0);
	}
	ratelimit_free(rl);
}

Test(ratelimit, keys_have_their_own_buckets)
{
	ratelimit_t *rl = ratelimit_new();
	ratelimit_configure(rl, "tiny:", 1, 1);
	cr_expect_eq(ratelimit_acquire(rl, "tiny:1:a", 0), 0);
	cr_expect_gt(ratelimit_acquire(rl, "tiny:1:a", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "tiny:1:b", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "tiny:2:a", 0), 0);
	/* many distinct keys: each still gets its first token */
	char key[64];
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "tiny:%d:x", i);
		cr_assert_eq(ratelimit_acquire(rl, key, 0), 0);
		cr_assert_gt(ratelimit_acquire(rl, key, 0), 0);
	}
	ratelimit_free(rl);
}

Test(ratelimit, throttled_and_succeeded)
{
	ratelimit_t *rl = ratelimit_new();
	ratelimit_configure(rl, "ml:", 10, 1);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 0);
	ratelimit_throttled(rl, "ml:1:x", 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 200000); /* 5/s now */
	for (int i = 0; i < 10; i++)
		ratelimit_throttled(rl, "ml:1:x", 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 1600000); /* floor 10/16 per s */
	for (int i = 0; i < 40; i++)
		ratelimit_succeeded(rl, "ml:1:x");
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 100000); /* back at 10/s */
	/* another key is untouched, and unknown keys ignore the signals */
	ratelimit_throttled(rl, "ml:2:x", 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:3:x", 0), 0);
	ratelimit_throttled(rl, "other", 0);
	ratelimit_succeeded(rl, "other");
	cr_expect_eq(ratelimit_acquire(rl, "other", 0), 0);
	ratelimit_free(rl);
}

Test(ratelimit, reconfigure_applies_to_existing_keys)
{
	ratelimit_t *rl = ratelimit_new();
	ratelimit_configure(rl, "ml:", 1, 1);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), SEC);
	ratelimit_configure(rl, "ml:1:", 100, 3);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "ml:1:x", 0), 10000);
	ratelimit_free(rl);
}

/* x-amzn-RateLimit-Limit: a lower announced rate paces the key at once; a higher one is
 * reached by successes; another key and unlimited keys are untouched. */
Test(ratelimit, adapt_follows_the_announced_rate)
{
	ratelimit_t *rl = ratelimit_new();
	ratelimit_configure(rl, "amazon:", 2, 1);
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:a", 0), 0);
	ratelimit_adapt(rl, "amazon:getOrders:a", 0.5, 0);
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:a", 0), 2 * SEC);
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:b", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:b", 0), SEC / 2);
	/* Raised to 8/s: climbs from 0.5/s by 8/32 per success. */
	ratelimit_adapt(rl, "amazon:getOrders:a", 8, 0);
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:a", 0), 2 * SEC);
	for (int i = 0; i < 40; i++)
		ratelimit_succeeded(rl, "amazon:getOrders:a");
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:a", 10 * SEC), 0);
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:a", 10 * SEC), SEC / 8);
	/* Nonsense is ignored; unlimited keys stay unlimited. */
	ratelimit_adapt(rl, "amazon:getOrders:b", 0, 0);
	ratelimit_adapt(rl, "amazon:getOrders:b", -1, 0);
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:b", 4 * SEC), 0);
	cr_expect_eq(ratelimit_acquire(rl, "amazon:getOrders:b", 4 * SEC), SEC / 2);
	ratelimit_adapt(rl, "other", 0.001, 0);
	cr_expect_eq(ratelimit_acquire(rl, "other", 0), 0);
	cr_expect_eq(ratelimit_acquire(rl, "other", 0), 0);
	ratelimit_free(rl);
}
