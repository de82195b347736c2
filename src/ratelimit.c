/* Token buckets per key, configured by key prefix, with AIMD on provider 429s. In-process: each
 * sellerhub process paces its own calls. */
#include "ratelimit.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* On a 429 the rate halves, but never below max_rate / AIMD_FLOOR_DIV: a provider that throttles
 * briefly should not starve a sync for minutes. Each success adds max_rate / AIMD_STEP_DIV, so a
 * bucket at half rate is back to full after AIMD_STEP_DIV / 2 good answers, gently enough to find
 * the provider's real limit again without a burst of new 429s. */
#define AIMD_FLOOR_DIV 16.0
#define AIMD_STEP_DIV  32.0

static void refill(tbucket_t *b, int64_t now_us)
{
	if (now_us <= b->last_us)
		return; /* a clock that stands still or steps back never takes tokens away */
	b->tokens += (double)(now_us - b->last_us) * b->rate / 1e6;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->last_us = now_us;
}

void tbucket_init(tbucket_t *b, double rate, double burst, int64_t now_us)
{
	b->rate = rate;
	b->max_rate = rate;
	/* A bucket smaller than one token could never hand one out. */
	b->burst = burst < 1.0 ? 1.0 : burst;
	b->tokens = b->burst;
	b->last_us = now_us;
}

int64_t tbucket_take(tbucket_t *b, int64_t now_us)
{
	if (b->rate <= 0)
		return 0; /* rate 0 means "not limited" (an exemption under a limited prefix) */
	refill(b, now_us);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	int64_t wait = (int64_t)ceil((1.0 - b->tokens) * 1e6 / b->rate);
	return wait > 0 ? wait : 1;
}

void tbucket_slow_down(tbucket_t *b, int64_t now_us)
{
	if (b->rate <= 0)
		return;
	refill(b, now_us);
	double floor_rate = b->max_rate / AIMD_FLOOR_DIV;
	b->rate /= 2.0;
	if (b->rate < floor_rate)
		b->rate = floor_rate;
	/* The provider just said we are over its limit: whatever burst we saved is not real. */
	if (b->tokens > 0)
		b->tokens = 0;
}

void tbucket_speed_up(tbucket_t *b)
{
	if (b->rate <= 0)
		return;
	b->rate += b->max_rate / AIMD_STEP_DIV;
	if (b->rate > b->max_rate)
		b->rate = b->max_rate;
}

/* One configured prefix. */
struct rule {
	char *prefix;
	size_t len;
	double rate, burst;
	double start; /* tokens in a new bucket */
};

/* One bucket per key seen, chained in a fixed table. */
struct entry {
	struct entry *next;
	tbucket_t b;
	char key[];
};

/* The table is bounded: keys are (provider, account, operation), so thousands of accounts fit,
 * and past RL_MAX_KEYS buckets that are at rest (full, at their configured rate) are dropped,
 * since a fresh bucket behaves exactly like them. */
#define RL_SLOTS    4096
#define RL_MAX_KEYS 65536

struct ratelimit {
	struct rule *rules;
	size_t nrules;
	struct entry *slots[RL_SLOTS];
	size_t nkeys;
};

static uint32_t hash_key(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static const struct rule *match_rule(const ratelimit_t *rl, const char *key)
{
	const struct rule *best = NULL;
	for (size_t i = 0; i < rl->nrules; i++) {
		const struct rule *r = &rl->rules[i];
		if ((!best || r->len > best->len) && strncmp(key, r->prefix, r->len) == 0)
			best = r;
	}
	return best;
}

ratelimit_t *ratelimit_new(void)
{
	return xcalloc(1, sizeof(ratelimit_t));
}

void ratelimit_free(ratelimit_t *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < RL_SLOTS; i++) {
		for (struct entry *e = rl->slots[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	for (size_t i = 0; i < rl->nrules; i++)
		free(rl->rules[i].prefix);
	free(rl->rules);
	free(rl);
}

static bool at_rest(struct entry *e, int64_t now_us)
{
	refill(&e->b, now_us);
	return e->b.rate >= e->b.max_rate && e->b.tokens >= e->b.burst;
}

static void evict_idle(ratelimit_t *rl, int64_t now_us)
{
	for (size_t i = 0; i < RL_SLOTS; i++) {
		struct entry **pp = &rl->slots[i];
		while (*pp) {
			struct entry *e = *pp;
			if (at_rest(e, now_us)) {
				*pp = e->next;
				free(e);
				rl->nkeys--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static struct entry *find(ratelimit_t *rl, const char *key)
{
	for (struct entry *e = rl->slots[hash_key(key) % RL_SLOTS]; e; e = e->next) {
		if (strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/* The bucket for key, created on first use; NULL when no prefix limits the key (or when the
 * table is full of busy buckets, where failing open beats refusing to call out). */
static struct entry *lookup(ratelimit_t *rl, const char *key, int64_t now_us)
{
	struct entry *e = find(rl, key);
	if (e)
		return e;
	const struct rule *r = match_rule(rl, key);
	if (!r)
		return NULL;
	if (rl->nkeys >= RL_MAX_KEYS) {
		evict_idle(rl, now_us);
		if (rl->nkeys >= RL_MAX_KEYS)
			return NULL;
	}
	size_t len = strlen(key);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	tbucket_init(&e->b, r->rate, r->burst, now_us);
	if (r->start < e->b.tokens)
		e->b.tokens = r->start;
	uint32_t slot = hash_key(key) % RL_SLOTS;
	e->next = rl->slots[slot];
	rl->slots[slot] = e;
	rl->nkeys++;
	return e;
}

void ratelimit_configure(ratelimit_t *rl, const char *prefix, double rate, double burst)
{
	ratelimit_configure_start(rl, prefix, rate, burst, burst);
}

void ratelimit_configure_start(ratelimit_t *rl, const char *prefix, double rate, double burst,
			       double start)
{
	struct rule *r = NULL;
	for (size_t i = 0; i < rl->nrules; i++) {
		if (strcmp(rl->rules[i].prefix, prefix) == 0)
			r = &rl->rules[i];
	}
	if (!r) {
		rl->rules = xrealloc(rl->rules, (rl->nrules + 1) * sizeof(*rl->rules));
		r = &rl->rules[rl->nrules++];
		r->prefix = xstrdup(prefix);
		r->len = strlen(prefix);
	}
	r->rate = rate;
	r->burst = burst;
	r->start = start < 0 ? 0 : start;
	/* The rules array may have moved and a new prefix may now be the longest match for
	 * existing keys: drop every bucket so each is rebuilt from its current rule on next use.
	 * Configuration happens at start-up, so losing AIMD state here costs nothing. */
	for (size_t i = 0; i < RL_SLOTS; i++) {
		for (struct entry *e = rl->slots[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
		rl->slots[i] = NULL;
	}
	rl->nkeys = 0;
}

int64_t ratelimit_acquire(ratelimit_t *rl, const char *key, int64_t now_us)
{
	struct entry *e = lookup(rl, key, now_us);
	return e ? tbucket_take(&e->b, now_us) : 0;
}

void ratelimit_adapt(ratelimit_t *rl, const char *key, double rate, int64_t now_us)
{
	if (!(rate > 0) || !isfinite(rate))
		return;
	struct entry *e = lookup(rl, key, now_us);
	if (!e || fabs(e->b.max_rate - rate) <= rate / 100)
		return; /* not limited, or the rate it already has */
	refill(&e->b, now_us);
	e->b.max_rate = rate;
	if (e->b.rate > rate)
		e->b.rate = rate;
}

void ratelimit_throttled(ratelimit_t *rl, const char *key, int64_t now_us)
{
	struct entry *e = lookup(rl, key, now_us);
	if (e)
		tbucket_slow_down(&e->b, now_us);
}

void ratelimit_succeeded(ratelimit_t *rl, const char *key)
{
	struct entry *e = find(rl, key);
	if (e)
		tbucket_speed_up(&e->b);
}

void ratelimit_each(ratelimit_t *rl, const char *prefix, int64_t now_us,
		    void (*fn)(const char *key, const tbucket_t *b, void *arg), void *arg)
{
	size_t len = strlen(prefix);
	for (size_t i = 0; i < RL_SLOTS; i++)
		for (struct entry *e = rl->slots[i]; e; e = e->next)
			if (strncmp(e->key, prefix, len) == 0) {
				tbucket_t b = e->b;
				refill(&b, now_us);
				fn(e->key, &b, arg);
			}
}

bool ratelimit_rule(const ratelimit_t *rl, const char *key, double *rate, double *burst,
		    double *start)
{
	const struct rule *r = match_rule(rl, key);
	if (!r || r->rate <= 0)
		return false;
	*rate = r->rate;
	*burst = r->burst;
	*start = r->start < r->burst ? r->start : r->burst;
	return true;
}
