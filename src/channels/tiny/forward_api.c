/* The ERP forwarding's routes: POST /api/erp/forward runs a pass for the caller's tenant now (the
 * janitor's sync of the Tiny account runs one too); GET /api/erp/pending lists the marketplace
 * orders not yet in the ERP, with why. */
#include "api.h"
#include "forward.h"
#include "listing.h"
#include "paging.h"
#include "permissions.h"

static void ran(const forward_counts_t *c, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		list_db_error(r, "tiny: forward", NULL, err);
		return;
	}
	http_ok(r, 200,
		json_pack("{s:i, s:i, s:i, s:i}", "sent", c->sent, "held", c->held, "pending",
			  c->pending, "failed", c->failed),
		"Forwarding pass done");
}

static void forward(req_t *r)
{
	if (!perm_require(r, "erp.forward"))
		return;
	tiny_forward_run(r->app, r->tenant_id, NULL, FORWARD_BY_HAND, ran, r);
}

static void pending(req_t *r)
{
	if (!perm_require(r, "orders.view"))
		return;
	json_t *d = NULL;
	list_req_t l;
	list_parse(r, &l, &d);
	if (l.cursor_key)
		d = http_problem(d, "cursor", "is not taken here: use page and limit");
	if (d) {
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&l);
	page_params_t pp;
	paging_params(&page, &pp);
	tiny_forward_pending(r->app, r->tenant_id, &pp, list_page_done, list_ctx(r, "orders", &l));
}

void tiny_forward_routes(app_t *app)
{
	http_route(app->http, "POST", "/api/erp/forward", forward, ROUTE_AUTH,
		   "Send the tenant's marketplace orders to Tiny now (each once, by "
		   "numero_ecommerce; held and failed ones tried again; owner or admin) -> "
		   "{sent, held, pending, failed} of this pass");
	http_route(app->http, "GET", "/api/erp/pending", pending, ROUTE_AUTH,
		   "Marketplace orders not yet in the ERP, with the reason (page, limit)");
}
