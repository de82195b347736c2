/* Mercado Livre notifications into ml_notifications, each group with its processing job. */
#ifndef SH_ML_INTAKE_H
#define SH_ML_INTAKE_H

#include "ml.h"
#include "notification_rows.h"

extern const channel_intake_t ml_intake;

/* Commit rows (source "webhook" or "missed_feeds") and, when any is new, the job that
 * processes them; the result's one row is (job id or NULL, how many were new). */
void ml_intake_store(app_t *app, notification_rows_t *rows, const char *source, pg_cb cb,
		     void *arg);

#endif
