/* Processing stored Mercado Livre notifications (the "ml_notifications" job, one per group
 * committed together): find every connected account with each notification's user_id, in any
 * tenant, and hand the resource to the fetcher registered for its topic. Unknown user_id: the
 * notification is an orphan (counted, not retried). See notifications.c. */
#ifndef SH_ML_NOTIFICATIONS_H
#define SH_ML_NOTIFICATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobs.h"

struct app;

/* What a topic fetcher is given: one resource for one account (notification_id is the first of
 * the group's notifications naming it). */
typedef struct ml_notice {
	int64_t notification_id;
	const char *topic;
	const char *resource;
	int64_t ml_user_id;
	const char *account_id; /* ml_accounts.id */
	const char *tenant_id;
} ml_notice_t;

/* A fetcher GETs the resource with the account's token and upserts it, then calls done(err,
 * retry, arg) once: err NULL on success; retry false for a permanent outcome (e.g. 404). */
typedef void (*ml_notice_done_fn)(const char *err, bool retry, const char *note, void *arg);
typedef void (*ml_fetcher_fn)(struct app *app, const ml_notice_t *n, ml_notice_done_fn done,
			      void *arg);

/* The job kind that processes a group of stored notifications. */
#define ML_NOTIFICATIONS_JOB "ml_notifications"

/* The id a notification's resource names, into out (pure; fuzzed by
 * test/fuzz/fuzz_ml_resources.c): resource is prefix + id, or with prefix NULL the id is its
 * last segment ("/post-purchase/v1/claims/5", "5"). The id is 1..max characters, digits only or
 * else an item id's letters, digits, '_' and '-': nothing that would change the path it goes
 * into. False when there is no such id (or it does not fit size). */
bool ml_resource_id(const char *resource, const char *prefix, bool digits_only, size_t max,
		    char *out, size_t size);

void notifications_register_jobs(struct app *app);
/* The topics sellerhub takes from Mercado Livre (the data it keeps): the intake and the
 * missed-feeds poller store no other. */
bool notifications_topic_kept(const char *topic);
void notifications_register_topic(const char *topic, ml_fetcher_fn fn);

#endif
