/* The ERP forwarding's routes: POST /api/erp/forward runs a pass for the caller's tenant now (the
 * janitor's sync of the Tiny account runs one too); GET /api/erp/pending lists the marketplace
 * orders not yet in the ERP, with why. */
#include "api.h"
#include "forward.h"
#include "listing.h"
#include "paging.h"
#include "permissions.h"
#include "sql_json.h"

// clang-format off
/* Orders of a tenant with a Tiny account that have no pedido there yet. */
#define PENDING_FROM                                                                               \
	" FROM orders o LEFT JOIN erp_orders e ON e.order_id = o.id"                               \
	" WHERE o.tenant_id = $1 AND o.channel <> 'tiny'"                                          \
	" AND o.status NOT IN ('cancelled', 'invalid')"                                          \
	" AND EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = $1 AND a.channel = 'tiny')"    \
	" AND (e.status IS NULL OR e.status <> 'sent')"

static const char pending_sql[] =
    "SELECT json_build_object('orderId', o.id, 'channel', o.channel,"
    " 'externalId', o.external_id, 'accountId', o.account_id,"
    " 'dateCreated', " SQL_TS("o.date_created") ", 'status', coalesce(e.status, 'pending'),"
    " 'reason', coalesce(e.last_error, CASE e.status WHEN 'failed' THEN 'refused by Tiny'"
    "  ELSE 'waiting to be sent to Tiny' END), 'attempts', coalesce(e.attempts, 0),"
    " 'updatedAt', " SQL_TS("e.updated_at") ")::text, NULL" PENDING_FROM
    " ORDER BY o.date_created DESC, o.id DESC LIMIT $2 OFFSET $3";
static const char pending_count_sql[] = "SELECT count(*)" PENDING_FROM;
// clang-format on

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
	if (!perm_require(r, "orders.view"))
		return;
	tiny_forward_run(r->app, r->tenant_id, NULL, ran, r);
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
	const char *p[] = {r->tenant_id, pp.limit, pp.offset};
	pg_stmt_t stmts[] = {{pending_sql, 3, p}, {pending_count_sql, 1, p}};
	paging_read(((app_t *)r->app)->pg, stmts, list_page_done, list_ctx(r, "orders", &l));
}

void tiny_forward_routes(app_t *app)
{
	http_route(app->http, "POST", "/api/erp/forward", forward, ROUTE_AUTH,
		   "Send the tenant's marketplace orders to Tiny now (each once, by "
		   "numero_ecommerce) -> {sent, held, pending, failed} of this pass");
	http_route(app->http, "GET", "/api/erp/pending", pending, ROUTE_AUTH,
		   "Marketplace orders not yet in the ERP, with the reason (page, limit)");
}
