/* Redis-backed request limits (general per user/address, failed logins per e-mail and per
 * address and e-mail) with
 * an in-process fallback for logins while Redis is unreachable. */
#include "throttle.h"
#include "log.h"
#include "metrics.h"
#include "tokens.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define GENERAL_WINDOW_MS 60000
#define LOCAL_SLOTS	  4096 /* failed-login counters kept in this process */

/* INCR with the window set on the first hit; returns {count, ms left}. */
static const char general_script[] =
    "local n = redis.call('INCR', KEYS[1]) "
    "local ttl = redis.call('PTTL', KEYS[1]) "
    "if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end "
    "return {n, ttl}";

static const char login_check_script[] =
    "return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('TTL', KEYS[1]), "
    "tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('TTL', KEYS[2])}";

static const char login_fail_script[] =
    "for i = 1, 2 do "
    "  if redis.call('INCR', KEYS[i]) == 1 or redis.call('TTL', KEYS[i]) < 0 then "
    "    redis.call('EXPIRE', KEYS[i], ARGV[1]) end "
    "end return 1";

/* Fixed-window counters in a direct-mapped table keyed by a seeded hash, so nobody can aim
 * collisions at a victim's slot. A collision only ever replaces an expired or other entry: the
 * table is a fallback, Redis is the real limit. */
typedef struct slot {
	uint64_t key;
	int count;
	int64_t until_ms;
} slot_t;

struct throttle {
	uint64_t seed;
	slot_t slots[LOCAL_SLOTS];
	metric_t *limited_user, *limited_ip, *limited_login, *redis_down;
};

throttle_t *throttle_new(void)
{
	throttle_t *t = xcalloc(1, sizeof(*t));
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = (uint64_t)now_us();
	static const char name[] = "sellerhub_rate_limited_total";
	static const char help[] = "Requests refused by a rate limit";
	t->limited_user = metrics_counter(name, help, "scope=\"user\"");
	t->limited_ip = metrics_counter(name, help, "scope=\"ip\"");
	t->limited_login = metrics_counter(name, help, "scope=\"login\"");
	t->redis_down = metrics_counter("sellerhub_rate_limit_redis_errors_total",
					"Rate-limit checks answered without Redis", "");
	return t;
}

void throttle_free(throttle_t *t)
{
	free(t);
}

static uint64_t key_hash(const throttle_t *t, const char *s)
{
	uint64_t h = 1469598103934665603ULL ^ t->seed; /* FNV-1a, seeded */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ? h : 1;
}

static slot_t *local_slot(throttle_t *t, const char *key, bool create)
{
	uint64_t h = key_hash(t, key);
	slot_t *s = &t->slots[h % LOCAL_SLOTS];
	int64_t now = now_ms();
	if (s->key == h && s->until_ms > now)
		return s;
	if (!create)
		return NULL;
	*s = (slot_t){.key = h, .count = 0, .until_ms = now + LOGIN_WINDOW_S * 1000LL};
	return s;
}

/* --- general limit ------------------------------------------------------------------------ */

static void general_reply(redisReply *reply, const char *err, void *arg)
{
	req_t *r = arg;
	app_t *app = r->app;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
		metric_inc(app->throttle->redis_down); /* fail open: availability over the limit */
		http_continue(r);
		return;
	}
	long long n = reply->element[0]->integer, ttl_ms = reply->element[1]->integer;
	long long limit = app->cfg.rate_limit_per_minute;
	long long reset = (ttl_ms + 999) / 1000;
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", limit);
	http_set_header(r, "RateLimit-Limit", buf);
	snprintf(buf, sizeof(buf), "%lld", n >= limit ? 0 : limit - n);
	http_set_header(r, "RateLimit-Remaining", buf);
	snprintf(buf, sizeof(buf), "%lld", reset);
	http_set_header(r, "RateLimit-Reset", buf);
	if (n <= limit) {
		http_continue(r);
		return;
	}
	metric_inc(r->user_id ? app->throttle->limited_user : app->throttle->limited_ip);
	http_set_header(r, "Retry-After", buf);
	http_error(r, 429, "RATE_LIMITED",
		   "Too many requests; retry after the time in Retry-After.", NULL);
}

static void general_hook(req_t *r)
{
	app_t *app = r->app;
	const char *key = r->user_id ? arena_printf(r->arena, "rl:u:%s", r->user_id)
				     : arena_printf(r->arena, "rl:ip:%s", r->client_ip);
	redis_command(app->redis, general_reply, r, "EVAL %s 1 %s %d", general_script, key,
		      GENERAL_WINDOW_MS);
}

void throttle_install(app_t *app)
{
	http_add_hook(app->http, "/api", general_hook, false);
}

/* --- failed logins ------------------------------------------------------------------------- */

/* Keys name the e-mail by its hash: Redis needs no personal data to count. ekey counts the
 * e-mail's failures from anywhere, pkey those from one address. */
static void login_keys(const char *email, const char *ip, char ekey[80], char pkey[160])
{
	char lower[256];
	size_t i = 0;
	for (; email[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)email[i]);
	lower[i] = '\0';
	char h[TOKENS_HASH_LEN + 1];
	tokens_hash(lower, h);
	snprintf(ekey, 80, "login:fail:e:%s", h);
	snprintf(pkey, 160, "login:fail:p:%.64s:%s", ip, h);
}

typedef struct check {
	app_t *app;
	char ekey[80], pkey[160];
	throttle_login_cb cb;
	void *arg;
} check_t;

static int retry_after(long long ttl)
{
	return ttl > 0 ? (int)ttl : LOGIN_WINDOW_S;
}

static void check_reply(redisReply *reply, const char *err, void *arg)
{
	check_t *c = arg;
	throttle_t *t = c->app->throttle;
	bool allowed = true;
	int wait = 0;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
		/* Fail closed on what this process has seen itself. */
		metric_inc(t->redis_down);
		const slot_t *e = local_slot(t, c->ekey, false), *p = local_slot(t, c->pkey, false);
		int64_t now = now_ms();
		if (e && e->count >= LOGIN_MAX_PER_EMAIL)
			allowed = false, wait = (int)((e->until_ms - now + 999) / 1000);
		if (p && p->count >= LOGIN_MAX_PER_PAIR) {
			int w = (int)((p->until_ms - now + 999) / 1000);
			allowed = false, wait = w > wait ? w : wait;
		}
	} else {
		redisReply **el = reply->element;
		if (el[0]->integer >= LOGIN_MAX_PER_EMAIL)
			allowed = false, wait = retry_after(el[1]->integer);
		if (el[2]->integer >= LOGIN_MAX_PER_PAIR) {
			int w = retry_after(el[3]->integer);
			allowed = false, wait = w > wait ? w : wait;
		}
	}
	if (!allowed)
		metric_inc(t->limited_login);
	c->cb(allowed, wait < 1 ? 1 : wait, c->arg);
	free(c);
}

void throttle_login_check(app_t *app, const char *email, const char *ip, throttle_login_cb cb,
			  void *arg)
{
	check_t *c = xcalloc(1, sizeof(*c));
	c->app = app;
	c->cb = cb;
	c->arg = arg;
	login_keys(email, ip, c->ekey, c->pkey);
	redis_command(app->redis, check_reply, c, "EVAL %s 2 %s %s", login_check_script, c->ekey,
		      c->pkey);
}

static void ignore_reply(redisReply *reply, const char *err, void *arg)
{
	if (err)
		log_debug("throttle: counter update failed: %s", err);
}

void throttle_login_failed(app_t *app, const char *email, const char *ip)
{
	char ekey[80], pkey[160];
	login_keys(email, ip, ekey, pkey);
	local_slot(app->throttle, ekey, true)->count++;
	local_slot(app->throttle, pkey, true)->count++;
	redis_command(app->redis, ignore_reply, NULL, "EVAL %s 2 %s %s %d", login_fail_script, ekey,
		      pkey, LOGIN_WINDOW_S);
}

void throttle_login_succeeded(app_t *app, const char *email, const char *ip)
{
	char ekey[80], pkey[160];
	login_keys(email, ip, ekey, pkey);
	slot_t *s = local_slot(app->throttle, ekey, false);
	if (s)
		s->count = 0;
	if ((s = local_slot(app->throttle, pkey, false)))
		s->count = 0;
	redis_command(app->redis, ignore_reply, NULL, "DEL %s %s", ekey, pkey);
}
