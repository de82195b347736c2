/* A channel is one external system a seller's accounts live on: a marketplace or an ERP,
 * its API reached by our client. The core never names one. Each channel fills in one channel_t and
 * registers it once (src/channels/registry.c); the core walks the list and calls what each
 * supplies, as PostgreSQL's executor calls a foreign data wrapper's FdwRoutine. A callback a
 * channel has no use for is NULL, and the core checks.
 *
 * What the core owns: the loop, the accounts table, the janitor's timers, the limiter, the
 * durable webhook intake, the jobs, the envelope. What a channel supplies: data (its name, its
 * rate table) and callbacks (start its routes and jobs, refresh a token, sync an account, parse
 * a notification). How a provider's errors map to the envelope is the channel's own: one mapper
 * per channel, used by all of its handlers. */
#ifndef SH_CHANNEL_H
#define SH_CHANNEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pg.h"

struct app;
struct config_loader;
struct req;
struct sync_plan;

/* What went wrong in a call to a channel's provider, as the core needs to know it: whether to
 * try again, whether the seller must connect the account again. Each channel's client maps its
 * provider's answers onto these; how they reach a client (status, code) is the channel's one
 * mapper. */
enum channel_err {
	CHANNEL_OK,
	CHANNEL_ERR_INVALID_GRANT, /* the code or refresh token is dead: reconnect */
	CHANNEL_ERR_EXPIRED,	   /* the account's authorization expired earlier */
	CHANNEL_ERR_UNAUTHORIZED,  /* refused even after a refresh */
	CHANNEL_ERR_FORBIDDEN,
	CHANNEL_ERR_NOT_FOUND,	  /* the provider has no such thing, or no such account here */
	CHANNEL_ERR_RATE_LIMITED, /* 429 after the retries */
	CHANNEL_ERR_TRANSIENT,	  /* network, timeout, 5xx, a lock or database hiccup: try later */
	CHANNEL_ERR_CONFIG,	  /* the channel's application settings are missing */
	CHANNEL_ERR_BAD_RESPONSE, /* an answer we could not read */
	CHANNEL_ERR_OTHER,	  /* any other refusal */
};

/* Short, fixed text for an error kind that names no channel ("authorization expired: ..."). */
const char *channel_err_name(enum channel_err e);

/* What a token grant answers: valid only during the callback. */
typedef struct channel_grant {
	const char *access_token, *refresh_token;
	long expires_in; /* seconds */
} channel_grant_t;
/* grant is NULL unless err is CHANNEL_OK; message is one line without secrets. */
typedef void (*channel_grant_cb)(enum channel_err err, const char *message,
				 const channel_grant_t *grant, void *arg);

/* One row of a channel's outgoing rate table: the calls of one operation, per account, go
 * through a token bucket of `rate` per second holding at most `burst`, which starts with `start`
 * tokens. op "" is the row of every operation without its own. */
typedef struct channel_rate {
	const char *op;
	double rate;
	double burst;
	double start; /* tokens of a new bucket: burst when the provider's starts full */
} channel_rate_t;

/* How a notification was refused: the answer's status and code, and a sentence for the
 * client. An ignored one is not an error: answered 200 as the provider wants (a refusal would
 * be retried for hours), counted, never stored; a topic the channel does not take. */
typedef struct channel_reject {
	int status;
	const char *code;
	const char *message;
	bool ignored;
} channel_reject_t;

/* A channel's notifications on their way into its table, committed in groups by the core's
 * intake (src/api/webhooks.c): one statement stores a whole group with its job. */
typedef struct channel_intake {
	void *(*batch_new)(void);
	void (*batch_free)(void *batch);
	size_t (*batch_count)(const void *batch);
	/* Check one notification (raw is its body as received, body the parsed JSON) and append
	 * it to batch: NULL when taken, else why not (*details may get field problems). A
	 * notification of a topic the channel does not know is not taken: it is ignored. */
	const channel_reject_t *(*add)(struct app *app, void *batch, json_t *body, const char *raw,
				       size_t raw_len, json_t **details);
	/* Commit batch and, when any notification is new, one job that processes them; the
	 * result's one row is (job id or NULL, how many were new). source: "webhook" or the
	 * channel's own recovery feed. */
	void (*store)(struct app *app, void *batch, const char *source, pg_cb cb, void *arg);
} channel_intake_t;

/* The end of a channel operation started by the core: error NULL on success, else one line
 * without secrets. */
typedef void (*channel_done_cb)(const char *error, void *arg);

/* Syncing one stored row again now (POST /api/shipments/:id/sync). code NULL on success; else
 * the envelope's code for the channel's failure (502) and a sentence without secrets. */
typedef void (*channel_resync_cb)(const char *code, const char *error, void *arg);

/* A listing (or one of its variations) whose offered quantity the core wants set: what the
 * channel stored of it and of its account; valid only during the call. */
typedef struct channel_listing {
	const char *tenant_id, *account_id;
	const char *account_external_id; /* accounts.external_id: the seller at the channel */
	const json_t *account_settings;	 /* accounts.settings */
	const char *external_id;	 /* the listing's id at the channel */
	const char *variation;		 /* the variation's id at the channel, "" for none */
	const char *logistic_type;	 /* listings.logistic_type, "" when none */
	const json_t *raw;		 /* listings.raw */
} channel_listing_t;

/* The end of a stock push. CHANNEL_OK and message NULL: the listing offers the quantity now.
 * CHANNEL_OK with a message: not pushed, and never will be, because the channel keeps this
 * listing's stock itself (Amazon's FBA); the message says so. Else the error kind (transient and
 * rate limited are tried again later) and one line without secrets. */
typedef void (*channel_push_cb)(enum channel_err err, const char *message, void *arg);

/* The job kind of an account's backfill (POST /api/sync/start) is the channel's name with this
 * suffix; the channel registers its handler. */
#define CHANNEL_SYNC_JOB_SUFFIX "_sync"

typedef struct channel {
	const char *name;  /* "ml": accounts.channel, /webhooks/:channel, the limiter prefix */
	const char *title; /* the name sellers know it by, for sentences */

	/* "/api/<name>-accounts": the core serves its list, one, change, remove, pause and resume
	 * (src/api/channel_accounts.c); the channel its connect (POST). NULL: none. */
	const char *accounts_path;

	/* Read the channel's settings at start (config_str, config_url... of config.h, which
	 * report a bad value in one line and stop the start); the result is the channel's
	 * config (config_t.channel_cfg), freed by config_free. NULL: the channel has none. */
	void *(*configure)(struct config_loader *l);
	void (*config_free)(void *cfg);

	/* After the core modules exist: register routes and job handlers, build the channel's
	 * state (returned; NULL is a valid state). stop runs before the clients are freed (work
	 * in flight ends instead of going on), free after them. */
	void *(*start)(struct app *app);
	void (*stop)(void *state);
	void (*free)(void *state);

	/* The outgoing rate table, read once the configuration is loaded: rows into out (at most
	 * max), their count returned. */
	size_t (*rates)(const struct app *app, channel_rate_t *out, size_t max);

	/* Trade the account's refresh token for new tokens at the provider (the token upkeep,
	 * include/upkeep.h, holds the account's lock and stores the answer). Not retried once it
	 * may have reached the provider: refresh tokens may be single-use. NULL when the
	 * channel's accounts have no expiring tokens. */
	void (*grant)(struct app *app, const char *account_id, const char *refresh_token,
		      channel_grant_cb cb, void *arg);
	/* The janitor's scheduled sync of a due account. NULL: never scheduled. */
	void (*sync)(struct app *app, const char *account_id, channel_done_cb cb, void *arg);
	/* Extra maintenance the janitor runs hourly (spent OAuth states, ...). NULL: none. */
	void (*maintain)(struct app *app);

	/* The job board (GET /api/admin/jobs): the channel's jobs that belong to no tenant (a
	 * group of notifications) but concern tenant $1, as a SELECT of whole rows of jobs; and,
	 * when one of its jobs is retried by hand, a statement that reopens what the job gave up
	 * on, reading the CTE retried(id). NULL: none. */
	const char *tenant_jobs_sql;
	const char *reopen_sql;

	/* Fetch the shipment the account knows as external_id and store it, then done once.
	 * NULL: the channel syncs no single shipment on demand (409). */
	void (*resync_shipment)(struct app *app, const char *tenant_id, const char *account_id,
				const char *external_id, channel_resync_cb done, void *arg);

	/* Set the quantity a listing offers (the stock pushes, src/stock_push.c), then cb once.
	 * NULL: the channel's listings take no pushes. */
	void (*push_stock)(struct app *app, const channel_listing_t *listing, long quantity,
			   channel_push_cb cb, void *arg);

	/* The channel's questions still unanswered, for the QUESTION_UNANSWERED alert: a SELECT of
	 * (tenant_id uuid, ref text, asked_at timestamptz, title text, message text, data jsonb)
	 * over every tenant (the core filters and applies the rule's hours). NULL: none. */
	const char *alert_questions_sql;

	/* The values order_fulfillment (sql/0028) gives the channel's orders: who ships them
	 * (GET /api/orders?fulfillmentChannel=). NULL-terminated; NULL: the channel has no orders.
	 */
	const char *const *fulfillments;

	/* POST /webhooks/<name>. NULL: the channel takes no notifications. */
	const channel_intake_t *intake;

	/* What a sync of an account fetches and stores (sync_engine.h). NULL: never synced. */
	const struct sync_plan *plan;
} channel_t;

/* The registered channels (src/channels/registry.c), in registration order, NULL-terminated. */
extern const channel_t *const channels[];

/* The channel named name, NULL when none. */
const channel_t *channel_find(const char *name);

/* Every channel's fulfillments, in registration order, NULL-terminated. */
const char *const *channels_fulfillments(void);

/* Give the limiter every channel's rate table: the calls of an operation are keyed
 * "<channel>:<op>:<account>", so a row's prefix "<channel>:<op>:" (or "<channel>:" for the
 * default row) gives each account its own bucket per operation. */
void channels_configure_rates(struct app *app);
/* Start every channel (after the core modules), stop them, free them. */
void channels_start(struct app *app);
void channels_stop(struct app *app);
void channels_free(struct app *app);
/* The state ch->start returned in this process. */
void *channel_state(const struct app *app, const channel_t *ch);
/* The settings ch->configure returned. */
void *channel_config(const struct app *app, const channel_t *ch);

#endif
