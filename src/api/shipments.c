/* /api/shipments: the synced shipments of the caller's tenant, their stats, and syncing one
 * again from its channel (channel_t.resync_shipment). */
#include "api.h"
#include "listing.h"
#include "log.h"
#include "channel.h"
#include "permissions.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

// clang-format off
#define SHIPMENT_JSON                                                                              \
	"json_build_object('id', s.id, 'accountId', s.account_id,"                                 \
	" 'mlShipmentId', " SQL_ID("s.external_id") ","                                            \
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
	" AND ($4::text IS NULL OR s.logistic_type = $4)"

/* The page is chosen first and only its rows are rendered (see questions.c). */
static const char list_sql[] =
    "SELECT " SHIPMENT_JSON "::text, s.date_created::text, s.id"
    " FROM (SELECT s.* FROM shipments s" SHIPMENT_FILTERS
    " AND ($5::timestamptz IS NULL OR (s.date_created, s.id) < ($5::timestamptz, $6::uuid))"
    " ORDER BY s.date_created DESC, s.id DESC LIMIT $7 OFFSET $8) s"
    " ORDER BY s.date_created DESC, s.id DESC";

static const char count_sql[] = "SELECT count(*) FROM shipments s" SHIPMENT_FILTERS;

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

static pg_pool_t *pool(req_t *r)
{
	return ((app_t *)r->app)->pg;
}

static void shipments_list(req_t *r)
{
	list_filtered(r, "orders.view", "shipments", "status", "logisticType", list_sql, count_sql);
}

static void shipments_get(req_t *r)
{
	const char *id;
	if (!perm_require(r, "orders.view") || !(id = list_id(r, "shipment")))
		return;
	const char *p[] = {id, r->tenant_id};
	list_one(r, "shipment", get_sql, 2, p);
}

static void shipments_stats(req_t *r)
{
	list_stats(r, "orders.view", "shipments: stats", stats_sql);
}

/* --- POST /api/shipments/:id/sync: the row's channel fetches it again, then the stored row --- */

typedef struct resync_call {
	req_t *r;
	const char *id, *channel;
} resync_call_t;

static void reread_row(const PGresult *res, const char *err, void *arg)
{
	resync_call_t *f = arg;
	if (err || PQntuples(res) != 1) {
		list_one_answer(f->r, "shipment", res, err);
		return;
	}
	const channel_t *ch = channel_find(f->channel);
	http_ok(f->r, 200, list_json_cell(res, 0, 0),
		arena_printf(f->r->arena, "Shipment synced from %s", ch ? ch->title : f->channel));
}

static void resynced(const char *code, const char *error, void *arg)
{
	resync_call_t *f = arg;
	if (code) {
		http_error(f->r, 502, code,
			   arena_printf(f->r->arena, "Syncing the shipment failed: %s.", error),
			   NULL);
		return;
	}
	const char *p[] = {f->id, f->r->tenant_id};
	pg_query_prepared(pool(f->r), get_sql, 2, p, reread_row, f);
}

static void resync_found(const PGresult *res, const char *err, void *arg)
{
	resync_call_t *f = arg;
	if (err || PQntuples(res) != 1) {
		list_one_answer(f->r, "shipment", res, err);
		return;
	}
	f->channel = arena_strdup(f->r->arena, pg_value(res, 0, 3));
	const channel_t *ch = channel_find(f->channel);
	if (!ch || !ch->resync_shipment) {
		http_error(f->r, 409, "NOT_SUPPORTED",
			   "This shipment's channel does not sync one shipment on demand.", NULL);
		return;
	}
	ch->resync_shipment(f->r->app, f->r->tenant_id,
			    arena_strdup(f->r->arena, pg_value(res, 0, 1)),
			    arena_strdup(f->r->arena, pg_value(res, 0, 2)), resynced, f);
}

static void shipments_sync(req_t *r)
{
	const char *id;
	if (!perm_require(r, "orders.manage") || !(id = list_id(r, "shipment")))
		return;
	resync_call_t *f = arena_calloc(r->arena, 1, sizeof(*f));
	f->r = r;
	f->id = id;
	const char *p[] = {id, r->tenant_id};
	pg_query_prepared(pool(r), get_sql, 2, p, resync_found, f);
}

void api_shipments_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/shipments", shipments_list, ROUTE_AUTH,
		   "Synced shipments, newest first (accountId, status, logisticType; page/limit "
		   "or cursor)");
	http_route(s, "GET", "/api/shipments/stats", shipments_stats, ROUTE_AUTH,
		   "Shipment counts by status and logistic type, pending and delayed");
	http_route(s, "GET", "/api/shipments/:id", shipments_get, ROUTE_AUTH,
		   "One shipment: status, tracking, SLA, destination");
	http_route(
	    s, "POST", "/api/shipments/:id/sync", shipments_sync, ROUTE_AUTH | ROUTE_NO_BODY,
	    "Sync one shipment from its channel now (with its SLA where the channel has one)");
}
