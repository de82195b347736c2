/* The ERP forwarding's routes: POST /api/erp/forward runs a pass for the caller's tenant now, held
 * and failed orders included, then reads back the sent ones due a look (the ERP sweep, loop.c,
 * and the janitor's sync of the Tiny account run passes too); GET /api/erp/pending lists the
 * marketplace orders not yet in the ERP, with why. */
#include "api.h"
#include "arena.h"
#include "forward.h"
#include "listing.h"
#include "paging.h"
#include "permissions.h"
#include "status.h"

typedef struct hand_run {
	req_t *r;
	forward_counts_t sent;
} hand_run_t;

static void read_back(const status_counts_t *c, const char *err, void *arg)
{
	hand_run_t *h = arg;
	if (err) {
		list_db_error(h->r, "tiny: status", NULL, err);
		return;
	}
	const forward_counts_t *f = &h->sent;
	http_ok(h->r, 200,
		json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "sent", f->sent, "held", f->held,
			  "pending", f->pending, "failed", f->failed, "read", c->read, "invoices",
			  c->invoices, "cancelled", c->cancelled),
		"Forwarding pass done");
}

/* The orders sent, then the sent ones due a read or a cancellation. */
static void ran(const forward_counts_t *c, const char *err, void *arg)
{
	hand_run_t *h = arg;
	if (err) {
		list_db_error(h->r, "tiny: forward", NULL, err);
		return;
	}
	h->sent = *c;
	tiny_status_run(h->r->app, h->r->tenant_id, NULL, read_back, h);
}

static void forward(req_t *r)
{
	if (!perm_require(r, "erp.forward"))
		return;
	hand_run_t *h = arena_calloc(r->arena, 1, sizeof(*h));
	h->r = r;
	tiny_forward_run(r->app, r->tenant_id, NULL, FORWARD_BY_HAND, ran, h);
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
		   "{sent, held, pending, failed, read, invoices, cancelled} of this pass");
	http_route(app->http, "GET", "/api/erp/pending", pending, ROUTE_AUTH,
		   "Marketplace orders not yet in the ERP, with the reason (page, limit)");
}
