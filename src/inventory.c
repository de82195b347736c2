/* One stock truth per SKU: see the header. The JSON of a SKU is inventory_item_json (SQL, one
 * definition for the list and the adjustment's answer). */
#include "inventory.h"
#include "sql_json.h"

const char *const inventory_levels[] = {"critical", "low", "normal", "high", "excess", NULL};

// clang-format off
#define INVENTORY_FILTERS                                                                          \
	" WHERE p.tenant_id = $1 AND ($2::text IS NULL OR p.sku = $2)"                             \
	" AND ($3::text IS NULL OR p.sku ILIKE '%' || $3 || '%' OR p.title ILIKE '%' || $3 || '%')"\
	INVENTORY_LEVEL_SQL("$4")                                                                  \
	" AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = p.tenant_id"\
	"  AND l.sku = p.sku COLLATE \"default\" AND l.channel = $5))"

static const char list_sql[] =
    "SELECT inventory_item_json(p)::text, NULL FROM (SELECT p.* FROM products p"
    INVENTORY_FILTERS " ORDER BY p.sku LIMIT $6 OFFSET $7) p ORDER BY p.sku";
static const char count_sql[] = "SELECT count(*) FROM products p" INVENTORY_FILTERS;

static const char history_sql[] =
    "SELECT json_build_object('at', " SQL_TS("c.at") ", 'delta', c.delta, 'onHand', c.on_hand,"
    " 'reserved', c.reserved, 'available', c.available, 'cause', c.cause, 'ref', c.ref)::text,"
    " NULL FROM stock_changes c WHERE c.tenant_id = $1 AND c.sku = $2"
    " ORDER BY c.at DESC, c.id DESC LIMIT $3 OFFSET $4";
/* -1: no such SKU (a 404, not an empty history). */
static const char history_count_sql[] =
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM products WHERE tenant_id = $1 AND sku = $2)"
    " THEN (SELECT count(*) FROM stock_changes WHERE tenant_id = $1 AND sku = $2) ELSE -1 END";

static const char adjust_sql[] =
    "SELECT inventory_adjust($1, $2, $3::int, $4::int, $5)::text";

/* A listing's SKU is set only when the SKU is the tenant's (and the listing is asked for its
 * available); unset only from that SKU. Either is by hand: the channel's sync keeps it
 * (sql/0031, sql/0038). */
static const char link_sql[] = "SELECT inventory_link_listing($1, $2, $3::uuid, $4::boolean)";
// clang-format on

void inventory_list(app_t *app, const char *tenant_id, const inventory_filter_t *f,
		    const page_t *page, paging_cb cb, void *arg)
{
	page_params_t pp;
	paging_params(page, &pp);
	const char *p[] = {tenant_id, f->sku, f->q, f->level, f->channel, pp.limit, pp.offset};
	pg_stmt_t stmts[] = {{list_sql, 7, p}, {count_sql, 5, p}};
	paging_read(app->pg, stmts, cb, arg);
}

void inventory_history(app_t *app, const char *tenant_id, const char *sku, const page_t *page,
		       paging_cb cb, void *arg)
{
	page_params_t pp;
	paging_params(page, &pp);
	const char *p[] = {tenant_id, sku, pp.limit, pp.offset};
	pg_stmt_t stmts[] = {{history_sql, 4, p}, {history_count_sql, 2, p}};
	paging_read(app->pg, stmts, cb, arg);
}

void inventory_adjust(app_t *app, const char *tenant_id, const char *sku, const char *on_hand,
		      const char *buffer, const char *ref, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, sku, on_hand, buffer, ref};
	pg_query_prepared(app->pg, adjust_sql, 5, p, cb, arg);
}

void inventory_link(app_t *app, const char *tenant_id, const char *sku, const char *listing_id,
		    bool link, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, sku, listing_id, link ? "true" : "false"};
	pg_query_prepared(app->pg, link_sql, 4, p, cb, arg);
}
