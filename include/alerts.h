/* Alerts (sql/0027_alerts.sql): a tenant's rules and delivery settings, the alerts themselves
 * (one row per episode of a condition), their evaluation and their delivery. Evaluation is SQL:
 * a stock change marks its SKUs (a trigger) and the timer here evaluates the marked ones every
 * ALERT_OUTBOX_MS, the janitor evaluates every tenant on ALERT_SWEEP_MS, and a change of settings
 * evaluates its tenant. A firing sets the alert's deliver_at (now, the next hour or day for a
 * digest, the end of the quiet hours); the same timer then turns what is due into durable
 * delivery jobs (alert_delivery.c). */
#ifndef SH_ALERTS_H
#define SH_ALERTS_H

#include "app.h"
#include "paging.h"
#include "pg.h"

typedef struct alerts alerts_t;

extern const char *const alert_types[];
extern const char *const alert_severities[];
extern const char *const alert_frequencies[];

/* After the jobs module and the channels: registers the delivery jobs, starts the outbox. */
alerts_t *alerts_new(app_t *app);
void alerts_free(alerts_t *a);

/* Evaluate every type for tenant_id (NULL: every tenant); cb gets one row, column 0 how many
 * fired. Then the outbox runs at once, so an immediate alert leaves without waiting a tick. */
void alerts_evaluate(app_t *app, const char *tenant_id, pg_cb cb, void *arg);

/* cb gets one row, column 0 the settings' JSON (the webhook's secret masked). */
void alerts_settings_get(app_t *app, const char *tenant_id, pg_cb cb, void *arg);

/* What POST /api/alerts/settings changes: a section left NULL/false keeps what is stored. */
typedef struct alert_settings_change {
	const char *rules; /* JSON array text of {type, enabled, threshold, frequency, severity} */
	bool channels;	   /* email and webhook are replaced (NULL: none) */
	const char *email, *webhook_url, *webhook_secret_sealed; /* secret NULL: keep it */
	const char *webhook_secret; /* as the body gave it (the check's), sealed before saving */
	bool allow_internal; /* the check's input: a webhook URL may name an internal address */
	bool schedule;	     /* quiet hours and zone replaced */
	const char *quiet_from, *quiet_to, *timezone;
} alert_settings_change_t;
/* Saves; cb gets the statement's answer (an error 23514: a webhook without a secret). */
void alerts_settings_save(app_t *app, const char *tenant_id, const alert_settings_change_t *c,
			  pg_cb cb, void *arg);

typedef struct alerts_filter {
	const char *status, *severity, *type; /* NULL: any */
} alerts_filter_t;
/* One row: (the page as a JSON array text, the total matching, the summary JSON text
 * {total, critical, unread}). */
void alerts_list(app_t *app, const char *tenant_id, const alerts_filter_t *f, const page_t *page,
		 pg_cb cb, void *arg);
/* One row, column 0 the alert's JSON with its activity; no row: not the tenant's. */
void alerts_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg);
/* Acknowledge or resolve (status), with resolution and notes (NULL: kept), logged with actor.
 * One row: (the status before, NULL when the tenant has no such alert; the alert's JSON after,
 * NULL when the change was refused: a resolved alert cannot be acknowledged). */
void alerts_update(app_t *app, const char *tenant_id, const char *id, const char *status,
		   const char *resolution, const char *notes, const char *actor, pg_cb cb,
		   void *arg);

#endif
