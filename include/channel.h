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
struct req;
struct sync_plan;

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
 * client. */
typedef struct channel_reject {
	int status;
	const char *code;
	const char *message;
} channel_reject_t;

/* A channel's notifications on their way into its table, committed in groups by the core's
 * intake (src/api/webhooks.c): one statement stores a whole group with its job. */
typedef struct channel_intake {
	void *(*batch_new)(void);
	void (*batch_free)(void *batch);
	size_t (*batch_count)(const void *batch);
	/* Check one notification (raw is its body as received, body the parsed JSON) and append
	 * it to batch: NULL when taken, else why not (*details may get field problems). */
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

/* The job kind of an account's backfill (POST /api/sync/start) is the channel's name with this
 * suffix; the channel registers its handler. */
#define CHANNEL_SYNC_JOB_SUFFIX "_sync"

typedef struct channel {
	const char *name;  /* "ml": accounts.channel, /webhooks/:channel, the limiter prefix */
	const char *title; /* the name sellers know it by, for sentences */

	/* After the core modules exist: register routes and job handlers, build the channel's
	 * state (returned; NULL is a valid state). stop runs before the clients are freed (work
	 * in flight ends instead of going on), free after them. */
	void *(*start)(struct app *app);
	void (*stop)(void *state);
	void (*free)(void *state);

	/* The outgoing rate table, read once the configuration is loaded: rows into out (at most
	 * max), their count returned. */
	size_t (*rates)(const struct app *app, channel_rate_t *out, size_t max);

	/* Token upkeep (the janitor): refresh the account's access token because it expires
	 * soon. NULL when the channel's accounts have no expiring tokens. */
	void (*refresh)(struct app *app, const char *account_id, channel_done_cb cb, void *arg);
	/* The janitor's scheduled sync of a due account. NULL: never scheduled. */
	void (*sync)(struct app *app, const char *account_id, channel_done_cb cb, void *arg);
	/* Extra maintenance the janitor runs hourly (spent OAuth states, ...). NULL: none. */
	void (*maintain)(struct app *app);

	/* POST /webhooks/<name>. NULL: the channel takes no notifications. */
	const channel_intake_t *intake;

	/* What a sync of an account fetches and stores (sync_engine.h). NULL: never synced. */
	const struct sync_plan *plan;
} channel_t;

/* The registered channels (src/channels/registry.c), in registration order, NULL-terminated. */
extern const channel_t *const channels[];

/* The channel named name, NULL when none. */
const channel_t *channel_find(const char *name);

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

#endif
