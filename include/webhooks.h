/* Marketplace notification intake (src/api/webhooks.c): validation, storage with their jobs,
 * shared by POST /webhooks/ml and the missed-feeds poller. */
#ifndef SH_WEBHOOKS_H
#define SH_WEBHOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pg.h"

struct app;
typedef struct webhooks webhooks_t;

webhooks_t *webhooks_new(struct app *app);
void webhooks_free(webhooks_t *w);

/* A notification body as a row to store, lenient about the documented variants (_id or id,
 * user_id as a string, "recieved", resource without its slash). NULL when it is not a
 * notification (problems added to *details) or, with app_id_required set, when it belongs to
 * another application (*foreign). */
json_t *webhooks_row(json_t *body, const char *source, int64_t app_id_required, json_t **details,
		     bool *foreign);
/* Store rows (a JSON array from webhooks_row) and, when any is new, one job that processes
 * them, in one statement; the result's one row is (job id or NULL, how many were new). */
void webhooks_store(struct app *app, const json_t *rows, pg_cb cb, void *arg);

#endif
