/* marketsim: a Mercado Livre and Amazon simulator for tests, benchmarks and demos (Amazon's part
 * is described in amazon.h). One process, one libevent loop; the whole simulated marketplace is
 * the ms_t below, and each module owns one part of it. */
#ifndef MARKETSIM_H
#define MARKETSIM_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define MS_SITE	      "MLB"
#define MS_MAX_PARAMS 4

/* ---- options.c: command-line flags, also accepted as JSON by POST /_sim/reset ---- */

typedef struct ms_options {
	int port;
	uint64_t seed;
	int sellers, items, orders, questions, claims; /* claims < 0: about one per 40 orders */
	double rate, burst;	    /* the application's request budget; rate 0 = unlimited */
	int token_ttl;		    /* access token life in seconds (21600 documented) */
	int code_ttl;		    /* authorization code life in seconds (600) */
	double scroll_ttl;	    /* scan scroll_id life in seconds (300) */
	int64_t now_ms;		    /* reference "now" of the seeded data (wall clock, ms) */
	char notify_url[512];	    /* notification target; "" = none configured */
	double notify_retry_scale;  /* multiplies the hour-long retry schedule (1 = real time) */
	int notify_attempts;	    /* attempts before a notification is missed (8 documented) */
	int notify_timeout_ms;	    /* a 200 must arrive within this (500 documented) */
	bool pkce_required;	    /* the app has PKCE switched on: code_challenge is mandatory */
	char grant_error_field[24]; /* "error_description" (documented) or "message" (observed) */
	char client_id[24];	    /* numeric APP ID; derived from the seed when empty */
	char client_secret[48];	    /* derived from the seed when empty */
	char redirect_uri[512];	    /* registered redirect URI; "" = accept any http(s) URI */
	/* Amazon (amazon.h): sizes are per seller */
	int amazon_sellers, amazon_orders, amazon_skus;
	double amazon_rate_scale;      /* multiplies the documented restore rates; 0 = unlimited */
	int amazon_token_ttl;	       /* LWA access token life in seconds (3600 documented) */
	double amazon_report_queue_s;  /* a report waits IN_QUEUE this long ... */
	double amazon_report_build_s;  /* ... then stays IN_PROGRESS this long, then DONE */
	bool amazon_report_plain;      /* documents without GZIP (default: compressed) */
	char amazon_redirect_uri[512]; /* registered OAuth redirect URI; "" = any http(s) URI */
	/* Tiny ERP (tiny.h): its companies, their catalogues and limits */
	int tiny_companies, tiny_products, tiny_orders; /* per company for products and orders */
	char tiny_plan[128];	    /* plan of each company, comma list used in turn */
	int tiny_limit;		    /* calls per minute instead of the plan's (0 = the plan's) */
	int tiny_latency_ms;	    /* every Tiny answer takes this long (concurrency shows) */
	char tiny_webhook_url[512]; /* every company's webhook target; "" = none */
} ms_options_t;

void ms_options_defaults(ms_options_t *o);
/* Parse argv into o; false with a message in err on a bad flag. --help prints usage and exits. */
bool ms_options_parse_argv(ms_options_t *o, int argc, char **argv, char *err, size_t errlen);
/* Apply the keys of a JSON object (flag names with '_' for '-'); false with err on a bad value. */
bool ms_options_apply_json(ms_options_t *o, json_t *obj, char *err, size_t errlen);
/* Fill the fields derived from the seed (client id/secret) and clamp sizes. */
void ms_options_finish(ms_options_t *o);

/* ---- data.c (store and lookups) and seed.c (building entities) ---- */

typedef struct ms_seller {
	int64_t id;
	char nickname[40];
	char email[80];
	json_t *json; /* private view (/users/me) */
} ms_seller_t;

typedef struct ms_item {
	char id[24];
	int64_t seller_id;
	json_t *json; /* owner's view */
} ms_item_t;

typedef struct ms_order {
	int64_t id, seller_id, buyer_id;
	int64_t created_ms, closed_ms, updated_ms; /* closed_ms 0 = never confirmed */
	json_t *json;
} ms_order_t;

/* shipments[i] belongs to orders[i]: one forward shipment per order. */
typedef struct ms_shipment {
	int64_t id, seller_id;
	int64_t expected_ms; /* promised handling limit, for /sla */
	json_t *json;	     /* new format (x-format-new) */
} ms_shipment_t;

typedef struct ms_question {
	int64_t id, seller_id, buyer_id;
	int64_t created_ms, updated_ms;
	json_t *json; /* search view (api_version=4) */
} ms_question_t;

typedef struct ms_claim {
	int64_t id, seller_id, order_id;
	json_t *json;
} ms_claim_t;

typedef struct ms_data {
	ms_seller_t *sellers;
	size_t n_sellers;
	ms_item_t *items;
	size_t n_items;
	ms_order_t *orders;
	ms_shipment_t *shipments;
	size_t n_orders, cap_orders;
	ms_question_t *questions;
	size_t n_questions, cap_questions;
	ms_claim_t *claims;
	size_t n_claims;
	uint64_t rng;	/* draws for entities made after start (control API) */
	int64_t now_ms; /* reference time of the seeded data */
} ms_data_t;

#define MS_ITEM_BASE	 3000000001LL
#define MS_ORDER_BASE	 2000008000001LL
#define MS_SHIPMENT_BASE 44000000001LL
#define MS_PAYMENT_BASE	 90000000001LL
#define MS_QUESTION_BASE 12000000001LL
#define MS_CLAIM_BASE	 5200000001LL

/* Build the whole catalogue from o (seed, sizes, now). */
ms_data_t *ms_data_new(const ms_options_t *o);
void ms_data_free(ms_data_t *d);
ms_seller_t *ms_seller_find(ms_data_t *d, int64_t id);
ms_item_t *ms_item_find(ms_data_t *d, const char *id);
ms_order_t *ms_order_find(ms_data_t *d, int64_t id);
ms_shipment_t *ms_shipment_find(ms_data_t *d, int64_t id);
ms_question_t *ms_question_find(ms_data_t *d, int64_t id);
ms_claim_t *ms_claim_find(ms_data_t *d, int64_t id);

/* seed.c: entity builders, used for the seeded catalogue and by the control API. */
void ms_seed_catalogue(ms_data_t *d, const ms_options_t *o);
/* A new order of seller for item (NULL = any active item of the seller), created at when_ms,
 * with its shipment; status "paid" unless given. Returns NULL when the seller has no item. */
ms_order_t *ms_seed_new_order(ms_data_t *d, ms_seller_t *seller, ms_item_t *item, int quantity,
			      const char *status, int64_t when_ms);
ms_question_t *ms_seed_new_question(ms_data_t *d, ms_item_t *item, const char *text,
				    int64_t when_ms);

/* ---- clock.c: the simulator's clock, and times as Mercado Livre renders them ---- */

/* marketsim's "now" is the real clock plus an offset that POST /_sim/clock moves forward, or an
 * instant it froze. Every expiry, the rate budget, the notification schedule and every time
 * marketsim writes read it, so a test moves time instead of waiting. It never goes back. */
typedef struct ms_clock {
	bool frozen;
	int64_t offset_us;	/* added to the real monotonic clock while running */
	int64_t wall_offset_ms; /* ... and to the real wall clock */
	int64_t frozen_us;	/* while frozen: the simulated monotonic instant */
	int64_t frozen_wall_ms; /* ... and the simulated wall clock */
} ms_clock_t;
struct ms;
int64_t ms_now_us(const struct ms *ms);	 /* simulated monotonic time, microseconds */
int64_t ms_wall_ms(const struct ms *ms); /* simulated wall clock, ms since the epoch */

/* "2026-01-10T14:03:22.000-03:00" (Brazil's offset, as resources on MLB show it). */
void ms_time_fmt(int64_t wall_ms, char *buf, size_t size);
json_t *ms_time_json(int64_t wall_ms);
/* ISO-8601 with optional milliseconds and Z/±hh:mm; a bare date is midnight UTC. */
bool ms_time_parse(const char *s, int64_t *wall_ms);

/* ---- strmap.c: string-keyed hash map (keys copied, values owned by the caller) ---- */

typedef struct strmap strmap_t;
strmap_t *strmap_new(void);
/* Frees the map; calls free_value on every value when it is not NULL. */
void strmap_free(strmap_t *m, void (*free_value)(void *));
void *strmap_get(const strmap_t *m, const char *key);
/* Inserts or replaces; returns the previous value (NULL when new). */
void *strmap_put(strmap_t *m, const char *key, void *value);

/* ---- faults.c: injected failures ---- */

typedef struct ms_fault {
	char path[256]; /* exact path, or a prefix when it ends in '*'; "*" = everything */
	char method[8]; /* "" = any */
	int status;	/* 0 = answer normally (after the latency) */
	double rate;	/* chance per matching request */
	int latency_ms;
	long count; /* remaining injections; < 0 = unlimited */
	bool drop;  /* close the connection without answering */
} ms_fault_t;

typedef struct ms_faults ms_faults_t;
ms_faults_t *ms_faults_new(uint64_t seed);
void ms_faults_free(ms_faults_t *f);
/* Parse and add one fault from its JSON; false with err on a bad field. Returns its index. */
bool ms_faults_add(ms_faults_t *f, json_t *spec, int *index, char *err, size_t errlen);
void ms_faults_clear(ms_faults_t *f);
/* The fault to apply to this request (consuming one of its count), or -1. */
int ms_faults_pick(ms_faults_t *f, const char *method, const char *path);
const ms_fault_t *ms_faults_get(const ms_faults_t *f, int index);

/* ---- server.c: routing, request context, replies ---- */

typedef struct ms ms_t;
typedef struct ms_req ms_req_t;
typedef void (*ms_handler_fn)(ms_req_t *r);

enum route_flags {
	ROUTE_AUTH = 1,	   /* needs a valid bearer token; r->seller is its owner */
	ROUTE_TOKEN = 2,   /* the OAuth token endpoint: its 429 is local_rate_limited */
	ROUTE_CONTROL = 4, /* /_sim/: no budget, no faults, not logged */
	ROUTE_AUTHZ = 8,   /* the auth host's page: no budget */
	ROUTE_AMAZON = 16, /* an SP-API operation: x-amz-access-token, the operation's bucket */
	ROUTE_AMAZON_OPEN = 32, /* LWA, the consent page, report documents: no budget, no token */
	ROUTE_TINY = 64, /* Tiny ERP's API: its own limits per company, not the app's budget */
};

typedef struct ms_route {
	int methods; /* EVHTTP_REQ_* mask */
	const char *pattern;
	ms_handler_fn fn;
	unsigned flags;
	const char *op; /* ROUTE_AMAZON: the operation's name in the rate table */
} ms_route_t;

/* routes.c: every path marketsim answers. */
extern const ms_route_t ms_routes[];
extern const size_t ms_routes_len;

/* One incoming request; owned by server.c, freed right after its reply. Handlers must reply
 * exactly once, before they return. */
struct ms_req {
	ms_t *ms;
	struct evhttp_request *req;
	enum evhttp_cmd_type method;
	const char *path;  /* decoded path without the query */
	const char *query; /* raw query string, "" when none */
	struct evkeyvalq args;
	const char *params[MS_MAX_PARAMS]; /* path parameters matched by ':name' segments */
	const ms_route_t *route;
	const ms_seller_t *seller;    /* token owner on ROUTE_AUTH routes */
	struct am_seller *amz_seller; /* token owner on ROUTE_AMAZON routes */
	arena_t *arena;
	int status;	  /* 0 until replied */
	ms_fault_t fault; /* copy of the fault applied after a delay */
	bool faulted;
	bool path_known; /* some route has this path (so a wrong method is a 405) */
	struct event delay;
	struct ms_req *prev, *next; /* list of delayed requests, for shutdown */
};

bool ms_server_start(ms_t *ms, int port);
void ms_server_stop(ms_t *ms);
const char *ms_arg(ms_req_t *r, const char *name);
/* Integer query argument: def when absent; false (and a 400 sent) when malformed. */
bool ms_arg_long(ms_req_t *r, const char *name, long def, long *out);
const char *ms_header(ms_req_t *r, const char *name);
/* The body as a NUL-terminated string in the arena (NULL when empty). */
const char *ms_body(ms_req_t *r);
/* A token endpoint's parameters into kv: the form body, or a JSON object's string members.
 * False when the body cannot be parsed. */
bool ms_body_params(ms_req_t *r, struct evkeyvalq *kv);
/* The body as a JSON object, or NULL (nothing replied: the caller chooses the error). */
json_t *ms_body_json(ms_req_t *r);
/* Reply with body (stolen; may be NULL for an empty body). */
void ms_reply_json(ms_req_t *r, int status, json_t *body);
/* The standard error body {"message","error","status","cause":[]}. */
void ms_reply_error(ms_req_t *r, int status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ms_reply_redirect(ms_req_t *r, const char *location);
/* The documented error code for a bare HTTP status (429 too_many_requests, 503 ...). */
const char *ms_error_code(int status);

/* ---- traffic.c: request log and counters (for /_sim/requests and /_sim/stats) ---- */

typedef struct ms_traffic ms_traffic_t;
ms_traffic_t *ms_traffic_new(void);
void ms_traffic_free(ms_traffic_t *t);
void ms_traffic_record(ms_traffic_t *t, const char *method, const char *path, const char *query,
		       int status, int64_t at_wall_ms);
void ms_traffic_count(ms_traffic_t *t, const char *counter);
json_t *ms_traffic_requests(ms_traffic_t *t, const char *path, const char *method, long limit);
json_t *ms_traffic_stats(ms_traffic_t *t);

/* ---- budget.c: the application's token bucket ---- */

typedef struct ms_budget {
	double rate, burst, tokens;
	int64_t last_us;
} ms_budget_t;
void ms_budget_init(ms_budget_t *b, double rate, double burst);
bool ms_budget_take(ms_budget_t *b, int64_t now_us);

/* ---- oauth.c: authorization codes, grants, tokens ---- */

typedef struct ms_auth ms_auth_t;
ms_auth_t *ms_auth_new(void);
void ms_auth_free(ms_auth_t *a);
/* The seller owning the bearer token in the Authorization header, or NULL with a 401 sent. */
const ms_seller_t *ms_auth_check(ms_req_t *r);
bool ms_auth_revoke(ms_t *ms, int64_t seller_id);
int ms_auth_expire(ms_t *ms, int64_t seller_id);

/* ---- notify.c: notifications to the app's callback URL, and missed feeds ---- */

typedef struct ms_notify ms_notify_t;
ms_notify_t *ms_notify_new(ms_t *ms);
void ms_notify_free(ms_notify_t *n);
/* Set the target; "" or NULL switches notifications off. False when url is not http://. */
bool ms_notify_set_target(ms_notify_t *n, const char *url);
void ms_notify_emit(ms_t *ms, const char *topic, const char *resource, int64_t user_id);
json_t *ms_notify_stats(ms_notify_t *n);
/* The clock moved: re-arm each waiting attempt for its time on the new clock. */
void ms_notify_clock_moved(ms_notify_t *n);

/* ---- the simulator ---- */

typedef struct ms_server ms_server_t;

struct ms {
	struct event_base *base;
	ms_options_t boot; /* from the command line: /_sim/reset starts from these */
	ms_options_t opt;  /* in force */
	ms_data_t *data;
	ms_auth_t *auth;
	ms_notify_t *notify;
	ms_traffic_t *traffic;
	ms_faults_t *faults;
	ms_budget_t budget;
	ms_clock_t clock;
	struct ms_scrolls *scrolls; /* items.c */
	struct am_state *amazon;    /* amazon.h */
	struct tiny *tiny;	    /* Tiny ERP (tiny.h) */
	json_t *stock_writes;	    /* stock_writes.c */
	ms_server_t *server;
};

/* stock_writes.c: record one stock write of the app (variation NULL or "" for none). */
void ms_stock_write(ms_t *ms, const char *channel, const char *id, const char *variation,
		    long quantity);
void h_sim_stock_writes(ms_req_t *r);

/* main.c: (re)build every part of the simulated state from ms->opt. */
void ms_state_build(ms_t *ms);
void ms_state_free(ms_t *ms);

/* items.c: open scan scrolls */
struct ms_scrolls *ms_scrolls_new(void);
void ms_scrolls_free(struct ms_scrolls *s);

/* Handlers (one file per resource). */
void h_authorization(ms_req_t *r);
void h_oauth_token(ms_req_t *r);
void h_users_me(ms_req_t *r);
void h_user(ms_req_t *r);
void h_items_search(ms_req_t *r);
void h_item_get(ms_req_t *r);
void h_item_put(ms_req_t *r);
void h_items_multiget(ms_req_t *r);
void h_items_bulk(ms_req_t *r);
void h_orders_search(ms_req_t *r);
void h_order_get(ms_req_t *r);
void h_shipment_get(ms_req_t *r);
void h_shipment_sla(ms_req_t *r);
void h_questions_search(ms_req_t *r);
void h_question_get(ms_req_t *r);
void h_answers_post(ms_req_t *r);
void h_claims_search(ms_req_t *r);
void h_claim_get(ms_req_t *r);
void h_missed_feeds(ms_req_t *r);
void h_sim_reset(ms_req_t *r);
void h_sim_sellers(ms_req_t *r);
void h_sim_notify_target(ms_req_t *r);
void h_sim_orders(ms_req_t *r);
void h_sim_questions(ms_req_t *r);
void h_sim_item_patch(ms_req_t *r);
void h_sim_faults_add(ms_req_t *r);
void h_sim_faults_clear(ms_req_t *r);
void h_sim_grant_revoke(ms_req_t *r);
void h_sim_tokens_expire(ms_req_t *r);
void h_sim_requests(ms_req_t *r);
void h_sim_stats(ms_req_t *r);
void h_sim_clock_get(ms_req_t *r);
void h_sim_clock_post(ms_req_t *r);

/* Shared helpers for handlers. */
bool ms_parse_id(const char *s, int64_t *out);
/* The item view the caller may see: owner's view, or the public view for other sellers. */
json_t *ms_item_view(const ms_item_t *it, const ms_seller_t *caller);
/* Apply an item change (PUT /items as the seller, or PATCH /_sim/items as the site, which may also
 * retitle a sold item): false with a 400 sent on bad input. */
bool ms_item_update(ms_req_t *r, ms_item_t *it, json_t *body, bool as_seller);
/* A sale of qty units lowers the item's (and the variation's, when variation_id is not 0) stock,
 * never below 0, with the same pause rule as a stock change. */
void ms_item_sell(ms_t *ms, ms_item_t *it, int64_t variation_id, int qty);
json_t *ms_question_single_view(ms_t *ms, const ms_question_t *q);

#endif
