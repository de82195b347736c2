/* /api/shipments: the synced shipments of the caller's tenant, every channel's (?channel= one),
 * their stats, and syncing one again from its channel, through src/shipments.c. */
#include "api.h"
#include "listing.h"
#include "permissions.h"
#include "shipments.h"

static void list(req_t *r)
{
	if (!perm_require(r, "orders.view"))
		return;
	json_t *d = NULL;
	list_req_t l;
	list_parse(r, &l, &d);
	shipments_filter_t f = {
	    .account_id = list_uuid_param(r, "accountId", &d),
	    .status = list_text_param(r, "status", 40, &d),
	    .logistic_type = list_text_param(r, "logisticType", 40, &d),
	    .channel = list_channel_param(r, &d),
	};
	if (d) {
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&l);
	shipments_list(r->app, r->tenant_id, &f, &page, list_page_done,
		       list_ctx(r, "shipments", &l));
}

static void get(req_t *r)
{
	const char *id;
	if (!perm_require(r, "orders.view") || !(id = list_id(r, "shipment")))
		return;
	shipments_get(r->app, r->tenant_id, id, list_one_done, list_ctx(r, "shipment", NULL));
}

static void stats(req_t *r)
{
	const char *account;
	if (list_stats_request(r, "orders.view", &account))
		shipments_stats(r->app, r->tenant_id, account, list_value_done,
				list_ctx(r, "shipments: stats", NULL));
}

static void resynced(const shipment_resync_t *s, void *arg)
{
	req_t *r = arg;
	if (s->code)
		http_error(r, 502, s->code,
			   arena_printf(r->arena, "Syncing the shipment failed: %s.", s->error),
			   NULL);
	else if (s->unsupported)
		http_error(r, 409, "NOT_SUPPORTED",
			   "This shipment's channel does not sync one shipment on demand.", NULL);
	else if (s->err || PQntuples(s->res) != 1)
		list_one_answer(r, "shipment", s->res, s->err);
	else
		http_ok(r, 200, list_json_cell(s->res, 0, 0),
			arena_printf(r->arena, "Shipment synced from %s", s->channel_title));
}

/* POST /api/shipments/:id/sync: the row's channel fetches it again, then the stored row. */
static void sync_one(req_t *r)
{
	const char *id;
	if (!perm_require(r, "orders.manage") || !(id = list_id(r, "shipment")))
		return;
	shipments_resync(r->app, r->tenant_id, id, resynced, r);
}

void api_shipments_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/shipments", list, ROUTE_AUTH,
		   "Synced shipments of every channel, newest first (accountId, channel, status, "
		   "logisticType; page/limit or cursor)");
	http_route(s, "GET", "/api/shipments/stats", stats, ROUTE_AUTH,
		   "Shipment counts by status and logistic type, pending and delayed");
	http_route(s, "GET", "/api/shipments/:id", get, ROUTE_AUTH,
		   "One shipment: status, tracking, SLA, destination");
	http_route(
	    s, "POST", "/api/shipments/:id/sync", sync_one, ROUTE_AUTH | ROUTE_NO_BODY,
	    "Sync one shipment from its channel now (with its SLA where the channel has one)");
}
