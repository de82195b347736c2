/* Every channel's synced shipments: see the header. */
#include "shipments.h"
#include "channel.h"
#include "sql_json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

// clang-format off
#define SHIPMENT_JSON                                                                              \
	"json_build_object('id', s.id, 'accountId', s.account_id, 'channel', s.channel,"           \
	" 'mlShipmentId', " SQL_ML_ONLY("s.channel", SQL_ID("s.external_id")) ","                  \
	" 'externalId', s.external_id,"                                                            \
	" 'orderId', (SELECT o.id FROM orders o WHERE o.tenant_id = s.tenant_id"                   \
	"   AND o.account_id = s.account_id AND o.shipment_external_id = s.external_id LIMIT 1),"  \
	" 'status', s.status, 'substatus', s.substatus, 'mode', s.mode,"                           \
	" 'logisticType', s.logistic_type, 'trackingNumber', s.tracking_number,"                   \
	" 'trackingMethod', s.tracking_method, 'declaredValue', s.declared_value,"                 \
	" 'shippingCost', s.shipping_cost, 'currency', s.currency,"                                \
	" 'estimatedDelivery', " SQL_TS("s.estimated_delivery") ","                                \
	" 'sla', json_build_object('status', s.sla_status,"                                        \
	"   'expectedDate', " SQL_TS("s.sla_expected_date") "),"                                   \
	" 'destination', json_build_object('city', s.dest_city, 'state', s.dest_state,"            \
	"   'zipCode', s.dest_zip, 'receiverName', s.receiver_name),"                              \
	" 'dateCreated', " SQL_TS("s.date_created") ", 'lastUpdated', " SQL_TS("s.last_updated") "," \
	" 'syncedAt', " SQL_TS("s.synced_at") ")"

#define SHIPMENT_FILTERS                                                                           \
	" WHERE s.tenant_id = $1 AND ($2::uuid IS NULL OR s.account_id = $2::uuid)"                \
	" AND ($3::text IS NULL OR s.status = $3)"                                                 \
	" AND ($4::text IS NULL OR s.logistic_type = $4)"                                          \
	" AND ($5::text IS NULL OR s.channel = $5)"

/* The page is chosen first and only its rows are rendered. */
static const char list_sql[] =
    "SELECT " SHIPMENT_JSON "::text, s.date_created::text, s.id"
    " FROM (SELECT s.* FROM shipments s" SHIPMENT_FILTERS
    " AND ($6::timestamptz IS NULL OR (s.date_created, s.id) < ($6::timestamptz, $7::uuid))"
    " ORDER BY s.date_created DESC, s.id DESC LIMIT $8 OFFSET $9) s"
    " ORDER BY s.date_created DESC, s.id DESC";

static const char count_sql[] = "SELECT count(*) FROM shipments s" SHIPMENT_FILTERS;

/* The columns after the JSON are what a resync needs. */
static const char get_sql[] =
    "SELECT " SHIPMENT_JSON "::text, s.account_id, s.external_id, s.channel FROM shipments s"
    " WHERE s.id = $1 AND s.tenant_id = $2";

static const char stats_sql[] =
    "SELECT json_build_object('total', count(*),"
    " 'byStatus', coalesce((SELECT json_object_agg(status, n) FROM (SELECT status, count(*) n"
    "   FROM shipments WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)"
    "   GROUP BY status) x), '{}'),"
    " 'byLogisticType', coalesce((SELECT json_object_agg(coalesce(logistic_type, 'unknown'), n)"
    "   FROM (SELECT logistic_type, count(*) n FROM shipments WHERE tenant_id = $1"
    "   AND ($2::uuid IS NULL OR account_id = $2::uuid) GROUP BY logistic_type) x), '{}'),"
    " 'pending', count(*) FILTER (WHERE status IN ('pending', 'handling', 'ready_to_ship')),"
    " 'inTransit', count(*) FILTER (WHERE status = 'shipped'),"
    " 'delivered', count(*) FILTER (WHERE status = 'delivered'),"
    " 'delayed', count(*) FILTER (WHERE sla_status = 'delayed'))::text"
    " FROM shipments WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)";

// clang-format on

enum get_col { GET_JSON, GET_ACCOUNT_ID, GET_EXTERNAL_ID, GET_CHANNEL };

void shipments_list(app_t *app, const char *tenant_id, const shipments_filter_t *f,
		    const page_t *page, paging_cb cb, void *arg)
{
	page_params_t pp;
	paging_params(page, &pp);
	const char *p[] = {tenant_id,	    f->account_id,  f->status, f->logistic_type, f->channel,
			   page->after_key, page->after_id, pp.limit,  pp.offset};
	pg_stmt_t stmts[] = {{list_sql, 9, p}, {count_sql, 5, p}};
	paging_read(app->pg, stmts, cb, arg);
}

void shipments_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg)
{
	const char *p[] = {id, tenant_id};
	pg_query_prepared(app->pg, get_sql, 2, p, cb, arg);
}

void shipments_stats(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, account_id};
	pg_query_prepared(app->pg, stats_sql, 2, p, cb, arg);
}

/* --- syncing one again: read it, its channel fetches and stores it, read it back ----------- */

/* Owned here from shipments_resync until cb ran. */
typedef struct resync {
	app_t *app;
	char tenant_id[64], id[64];
	char *account_id, *external_id; /* the row's, for its channel */
	const channel_t *channel;
	shipment_resync_cb cb;
	void *arg;
} resync_t;

static void finish(resync_t *s, const shipment_resync_t *out)
{
	s->cb(out, s->arg);
	free(s->account_id);
	free(s->external_id);
	free(s);
}

static void reread(const PGresult *res, const char *err, void *arg)
{
	resync_t *s = arg;
	finish(s, &(shipment_resync_t){.res = res, .err = err, .channel_title = s->channel->title});
}

static void channel_done(const char *code, const char *error, void *arg)
{
	resync_t *s = arg;
	if (code) {
		finish(s, &(shipment_resync_t){.code = code, .error = error});
		return;
	}
	shipments_get(s->app, s->tenant_id, s->id, reread, s);
}

static void found(const PGresult *res, const char *err, void *arg)
{
	resync_t *s = arg;
	if (err || PQntuples(res) != 1) {
		finish(s, &(shipment_resync_t){.res = res, .err = err});
		return;
	}
	s->channel = channel_find(pg_value(res, 0, GET_CHANNEL));
	if (!s->channel || !s->channel->resync_shipment) {
		finish(s, &(shipment_resync_t){.unsupported = true, .res = res});
		return;
	}
	s->account_id = xstrdup(pg_value(res, 0, GET_ACCOUNT_ID));
	s->external_id = xstrdup(pg_value(res, 0, GET_EXTERNAL_ID));
	/* May call back before it returns: s is not touched after it. */
	s->channel->resync_shipment(s->app, s->tenant_id, s->account_id, s->external_id,
				    channel_done, s);
}

void shipments_resync(app_t *app, const char *tenant_id, const char *id, shipment_resync_cb cb,
		      void *arg)
{
	resync_t *s = xcalloc(1, sizeof(*s));
	s->app = app;
	snprintf(s->tenant_id, sizeof(s->tenant_id), "%s", tenant_id);
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->cb = cb;
	s->arg = arg;
	shipments_get(app, tenant_id, id, found, s);
}
