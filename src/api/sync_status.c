/* GET /api/sync/status across channels: besides each account's progress (api/sync.c), the
 * tenant's running jobs, last and next sync, each channel's API health from its recent runs,
 * and the rate limits of its accounts as this process's limiter holds them. */
#include "api.h"
#include "channel.h"
#include "identity.h"
#include "ratelimit.h"
#include "sync_runs.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_RATES 16

typedef struct limits_walk {
	json_t *ops; /* the channel's {op: {rate, burst, available}} */
	const char *account;
	size_t plen;
} limits_walk_t;

/* The tightest of the tenant's accounts: the least available, the slowest rate. */
static void put_op(json_t *ops, const char *op, double rate, double burst, double available)
{
	json_t *o = json_object_get(ops, op);
	if (o) {
		available = fmin(available, json_number_value(json_object_get(o, "available")));
		rate = fmin(rate, json_number_value(json_object_get(o, "rate")));
	}
	json_object_set_new(ops, op,
			    json_pack("{s:f, s:f, s:f}", "rate", round(rate * 1000) / 1000, "burst",
				      burst, "available", floor(available * 100) / 100));
}

/* A bucket "<channel>:<op>:<account>" of one of the tenant's accounts. */
static void bucket(const char *key, const tbucket_t *b, void *arg)
{
	limits_walk_t *w = arg;
	size_t klen = strlen(key), alen = strlen(w->account);
	if (klen < w->plen + alen + 1 || strcmp(key + klen - alen, w->account) != 0 ||
	    key[klen - alen - 1] != ':')
		return;
	char op[64];
	snprintf(op, sizeof(op), "%.*s", (int)(klen - alen - 1 - w->plen), key + w->plen);
	put_op(w->ops, op, b->rate, b->burst, b->tokens);
}

/* An operation no call has used yet in this process: its bucket as a first call makes it. */
static void fresh(app_t *app, json_t *ops, const char *channel, const char *op, const char *account)
{
	if (json_object_get(ops, op))
		return;
	char key[160];
	snprintf(key, sizeof(key), "%s:%s:%s", channel, op, account);
	double rate, burst, start;
	if (ratelimit_rule(app->limits, key, &rate, &burst, &start))
		put_op(ops, op, rate, burst, start);
}

static json_t *rate_limits(app_t *app, const PGresult *accounts)
{
	json_t *out = json_object();
	for (int i = 0; i < PQntuples(accounts); i++) {
		const char *account = pg_value(accounts, i, 0), *channel = pg_value(accounts, i, 1);
		const channel_t *ch = channel_find(channel);
		if (!ch || !ch->rates)
			continue;
		json_t *ops = json_object_get(out, channel);
		if (!ops) {
			ops = json_object();
			json_object_set_new(out, channel, ops);
		}
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "%s:", channel);
		limits_walk_t w = {ops, account, strlen(prefix)};
		ratelimit_each(app->limits, prefix, now_us(), bucket, &w);
		channel_rate_t rows[MAX_RATES];
		size_t n = ch->rates(app, rows, MAX_RATES);
		for (size_t k = 0; k < n; k++)
			fresh(app, ops, channel, *rows[k].op ? rows[k].op : "default", account);
	}
	return out;
}

typedef struct overview_call {
	req_t *r;
	json_t *data;
} overview_call_t;

static void overview_done(PGresult *const *results, int n, const char *err, void *arg)
{
	overview_call_t *c = arg;
	if (err) {
		json_decref(c->data);
		identity_db_error(c->r, "sync: status overview", pg_batch_failed(results, n), err);
		return;
	}
	json_t *o = json_loads(pg_value(results[0], 0, 0), 0, NULL);
	json_t *health = json_object_get(o, "health");
	json_t *api = json_object();
	for (size_t i = 0; channels[i]; i++) {
		json_t *h = json_object_get(health, channels[i]->name);
		json_object_set_new(
		    api, channels[i]->name,
		    h ? json_incref(h)
		      : json_pack("{s:s, s:i}", "status", "unknown", "accounts", 0));
	}
	json_object_set(c->data, "currentJobs", json_object_get(o, "currentJobs"));
	json_object_set(c->data, "lastSync", json_object_get(o, "lastSync"));
	json_object_set(c->data, "nextScheduledSync", json_object_get(o, "nextScheduledSync"));
	json_object_set_new(c->data, "apiHealth", api);
	json_object_set_new(c->data, "rateLimits", rate_limits(c->r->app, results[1]));
	json_decref(o);
	http_ok(c->r, 200, c->data, NULL);
}

void sync_status_overview(req_t *r, json_t *data)
{
	overview_call_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->data = data;
	sync_runs_overview(r->app, r->tenant_id, overview_done, c);
}
