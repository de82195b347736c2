/* The dashboard's figures (sql/0019_dashboard.sql): the period KPIs from the daily rollup
 * dashboard_days, the charts from the period's orders, and the realtime snapshot. Each answer is
 * one row whose one column is the JSON document the API returns under data. */
#ifndef SH_DASHBOARD_H
#define SH_DASHBOARD_H

#include "app.h"
#include "pg.h"

/* A dashboard request: dates are YYYY-MM-DD in the tenant's time zone, both ends included;
 * prev_start/prev_end NULL for no comparison; channel and account_id NULL for every one. */
typedef struct dashboard_query {
	const char *start, *end, *prev_start, *prev_end, *channel, *account_id;
} dashboard_query_t;

/* cb gets one row, column 0 the JSON {period, kpis, charts, alerts, currency}. */
void dashboard_figures(app_t *app, const char *tenant_id, const dashboard_query_t *q, pg_cb cb,
		       void *arg);
/* cb gets one row, column 0 the tenant's dashboard version (bumped by every order write). */
void dashboard_version(app_t *app, const char *tenant_id, pg_cb cb, void *arg);
/* cb gets one row, column 0 the JSON of GET /api/metrics/realtime. */
void dashboard_realtime(app_t *app, const char *tenant_id, const char *channel,
			const char *account_id, pg_cb cb, void *arg);

#endif
