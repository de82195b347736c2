/* Marketplace notification intake (src/api/webhooks.c): storage with their jobs, shared by
 * POST /webhooks/ml and the missed-feeds poller. */
#ifndef SH_WEBHOOKS_H
#define SH_WEBHOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "notification_rows.h"
#include "pg.h"

struct app;
typedef struct webhooks webhooks_t;

webhooks_t *webhooks_new(struct app *app);
void webhooks_free(webhooks_t *w);

/* Store a group of notifications (source "webhook" or "missed_feeds") and, when any is new,
 * one job that processes them, in one statement; the result's one row is (job id or NULL, how
 * many were new). */
void webhooks_store(struct app *app, notification_rows_t *rows, const char *source, pg_cb cb,
		    void *arg);

#endif
