/* What a tenant reads of its Mercado Livre notifications (GET /api/webhooks/stats and /pending):
 * only what arrived for its accounts since each was connected. */
#ifndef SH_ML_NOTIFICATION_VIEWS_H
#define SH_ML_NOTIFICATION_VIEWS_H

#include "app.h"
#include "pg.h"

/* One row, one JSON text: total, byStatus, byTopic, lagMs {p50, p95, max}, oldestPending, over
 * the last hours. */
void ml_notification_stats(app_t *app, const char *tenant_id, const char *hours, pg_cb cb,
			   void *arg);
/* The waiting ones, oldest first: rows of (total, JSON text with the notification's job). */
void ml_notification_backlog(app_t *app, const char *tenant_id, const char *limit,
			     const char *offset, pg_cb cb, void *arg);

#endif
