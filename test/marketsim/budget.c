/* The application's request budget: one token bucket for the whole app, because Mercado Livre
 * limits per client id, not per seller. Refilled lazily on each take. */
#include "marketsim.h"

void ms_budget_init(ms_budget_t *b, double rate, double burst)
{
	b->rate = rate;
	b->burst = burst;
	b->tokens = burst;
	b->last_us = 0;
}

bool ms_budget_take(ms_budget_t *b, int64_t now_us)
{
	if (b->rate <= 0)
		return true;
	if (b->last_us) {
		b->tokens += (double)(now_us - b->last_us) * b->rate / 1e6;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	b->last_us = now_us;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}
