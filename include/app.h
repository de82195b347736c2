/* The process-wide context handed to every handler: the loop and the shared clients. Owned by
 * main.c; a module takes what it needs from here, it keeps no globals of its own. */
#ifndef SH_APP_H
#define SH_APP_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "http.h"
#include "httpc.h"
#include "pg.h"
#include "redis.h"
#include "workers.h"

struct throttle;
struct auth;

typedef struct app {
	struct event_base *base;
	config_t cfg;
	http_server_t *http;
	pg_pool_t *pg;
	redis_t *redis;
	workers_t *workers;
	httpc_t *httpc;		      /* every outgoing call */
	ratelimit_t *limits;	      /* per (provider, account, operation) buckets used by httpc */
	struct throttle *throttle;    /* request and login limits (throttle.h) */
	struct auth *auth;	      /* user state cache of the /api hook (auth.h) */
	struct jobs *jobs;	      /* background jobs (jobs.h) */
	struct webhooks *webhooks;    /* notification intake (webhooks.h) */
	void **channel_states;	      /* what each channel's start returned (channel.h) */
	struct upkeep *upkeep;	      /* token refreshes in flight (upkeep.h) */
	struct janitor *janitor;      /* the accounts\' periodic work (janitor.h) */
	struct tenant_events *events; /* event streams fed by NOTIFY (tenant_events.h) */
	struct alerts *alerts;	      /* alert evaluation and its delivery outbox (alerts.h) */
	struct exports *exports;      /* orders export jobs and files (exports.h) */
	int64_t started_ms;
} app_t;

#endif
