/* The dashboard's figures: see the header. The KPIs and the per-day, per-channel charts read
 * dashboard_days (kept by triggers, never an order scan); the product, category, hour and state
 * charts read the period's orders through orders' (tenant_id, date_created) index. */
#include "dashboard.h"

// clang-format off
/* $1 tenant, $2/$3 the period, $4/$5 the comparison (NULL: none), $6 channel, $7 account. */
#define FILTERS(T) " AND ($6::text IS NULL OR " T ".channel = $6) AND ($7::uuid IS NULL OR " T ".account_id = $7::uuid)"

#define ROLLUP(FROM, TO)                                                                           \
	"SELECT coalesce(sum(sold), 0) AS sold, coalesce(sum(revenue), 0) AS revenue,"            \
	" coalesce(sum(units), 0) AS units,"                                                       \
	" coalesce(sum(revenue - fees - product_cost), 0) AS profit,"                              \
	" coalesce(round(sum(revenue) / nullif(sum(sold), 0), 2), 0) AS aov"                       \
	" FROM dashboard_days d WHERE d.tenant_id = $1 AND d.day BETWEEN " FROM " AND " TO          \
	FILTERS("d")

/* A KPI: {value} alone without a comparison, else with previous and changePct (null when the
 * previous value is 0). */
#define KPI(F)                                                                                     \
	"CASE WHEN $4::date IS NULL THEN json_build_object('value', c." F ") ELSE"                 \
	" json_build_object('value', c." F ", 'previous', p." F ", 'changePct',"                   \
	" round((c." F " - p." F ") * 100.0 / nullif(abs(p." F "), 0), 2)) END"

/* The period's sold orders, bounded in the tenant's zone (o: orders, z: the zone). */
#define PERIOD_WHERE                                                                               \
	" WHERE o.tenant_id = $1"                                                                  \
	" AND o.date_created >= ($2::date)::timestamp AT TIME ZONE z.tz"                          \
	" AND o.date_created < ($3::date + 1)::timestamp AT TIME ZONE z.tz"                       \
	" AND dashboard_sold(o.status)" FILTERS("o")

static const char figures_sql[] =
    "WITH z AS (SELECT coalesce((SELECT timezone FROM tenants WHERE id = $1), 'UTC') AS tz),"
    " c AS (" ROLLUP("$2::date", "$3::date") "),"
    " p AS (" ROLLUP("$4::date", "$5::date") "),"
    " lines AS (SELECT i.sku, i.listing_external_id, i.title, i.quantity,"
    "  i.quantity * coalesce(i.unit_price, 0) AS revenue"
    "  FROM orders o JOIN z ON true JOIN order_items i ON i.order_id = o.id" PERIOD_WHERE ")"
    " SELECT json_build_object("
    " 'period', json_strip_nulls(json_build_object("
    "  'current', json_build_object('startDate', $2::date, 'endDate', $3::date),"
    "  'previous', CASE WHEN $4::date IS NOT NULL THEN"
    "   json_build_object('startDate', $4::date, 'endDate', $5::date) END)),"
    " 'currency', coalesce((SELECT max(currency) FROM order_days WHERE tenant_id = $1"
    "  AND day = '-infinity'), 'BRL'),"
    " 'kpis', json_build_object('revenue', " KPI("revenue") ", 'orders', " KPI("sold") ","
    "  'units', " KPI("units") ", 'profit', " KPI("profit") ", 'avgOrderValue', " KPI("aov") ","
    "  'adCostShare', json_build_object('value', NULL),"
    "  'conversion', json_build_object('value', NULL)),"
    " 'charts', json_build_object("
    "  'salesTrend', (SELECT json_agg(json_build_object('date', g.day::date,"
    "    'revenue', coalesce(t.revenue, 0), 'orders', coalesce(t.sold, 0),"
    "    'units', coalesce(t.units, 0)) ORDER BY g.day)"
    "   FROM generate_series($2::date, $3::date, interval '1 day') g(day)"
    "   LEFT JOIN (SELECT d.day, sum(sold) AS sold, sum(revenue) AS revenue, sum(units) AS units"
    "    FROM dashboard_days d WHERE d.tenant_id = $1 AND d.day BETWEEN $2::date AND $3::date"
    FILTERS("d") " GROUP BY d.day) t ON t.day = g.day::date),"
    "  'topProducts', coalesce((SELECT json_agg(x ORDER BY x.revenue DESC, x.sku) FROM"
    "   (SELECT coalesce(sku, listing_external_id) AS sku, max(title) AS title,"
    "    sum(quantity) AS units, sum(revenue) AS revenue FROM lines GROUP BY 1"
    "    ORDER BY 4 DESC, 1 LIMIT 10) x), '[]'),"
    "  'salesByCategory', coalesce((SELECT json_agg(x ORDER BY x.revenue DESC) FROM"
    "   (SELECT pr.category, sum(l.quantity) AS units, sum(l.revenue) AS revenue FROM lines l"
    "    LEFT JOIN products pr ON pr.tenant_id = $1 AND pr.sku = l.sku GROUP BY 1) x), '[]'),"
    "  'salesByChannel', coalesce((SELECT json_agg(x ORDER BY x.revenue DESC, x.channel) FROM"
    "   (SELECT d.channel, sum(sold) AS orders, sum(revenue) AS revenue, sum(units) AS units"
    "    FROM dashboard_days d WHERE d.tenant_id = $1 AND d.day BETWEEN $2::date AND $3::date"
    FILTERS("d") " GROUP BY 1 HAVING sum(orders) <> 0) x), '[]'),"
    "  'hourlyPerformance', (SELECT json_agg(json_build_object('hour', h,"
    "    'orders', coalesce(t.orders, 0), 'revenue', coalesce(t.revenue, 0)) ORDER BY h)"
    "   FROM generate_series(0, 23) h LEFT JOIN"
    "   (SELECT extract(hour FROM o.date_created AT TIME ZONE z.tz)::int AS hour,"
    "    count(*) AS orders, sum(o.total_amount) AS revenue"
    "    FROM orders o JOIN z ON true" PERIOD_WHERE " GROUP BY 1) t"
    "   ON t.hour = h),"
    "  'geographicDistribution', coalesce((SELECT json_agg(x ORDER BY x.revenue DESC, x.state)"
    "   FROM (SELECT s.dest_state AS state, count(*) AS orders, sum(o.total_amount) AS revenue"
    "    FROM orders o JOIN z ON true JOIN shipments s ON s.tenant_id = o.tenant_id"
    "    AND s.account_id = o.account_id AND s.external_id = o.shipment_external_id"
    PERIOD_WHERE " AND s.dest_state IS NOT NULL GROUP BY 1) x), '[]')),"
    " 'alerts', (SELECT json_build_object('active', count(*),"
    "  'critical', count(*) FILTER (WHERE severity = 'critical'),"
    "  'warning', count(*) FILTER (WHERE severity IN ('high', 'medium')))"
    "  FROM alerts WHERE tenant_id = $1 AND status = 'active'))::text"
    " FROM c, p";
// clang-format on

static const char version_sql[] =
    "SELECT coalesce((SELECT version FROM dashboard_versions WHERE tenant_id = $1), 0)";

// clang-format off
/* $1 tenant, $2 channel, $3 account. Stock is the SKU's, whatever channel sells it. */
static const char realtime_sql[] =
    "WITH z AS (SELECT coalesce((SELECT timezone FROM tenants WHERE id = $1), 'UTC') AS tz),"
    " t AS (SELECT coalesce(sum(d.revenue), 0) AS sales, coalesce(sum(d.sold), 0) AS orders,"
    "  coalesce(sum(d.units), 0) AS units FROM dashboard_days d, z WHERE d.tenant_id = $1"
    "  AND d.day = (now() AT TIME ZONE z.tz)::date"
    "  AND ($2::text IS NULL OR d.channel = $2) AND ($3::uuid IS NULL OR d.account_id = $3::uuid)),"
    " a AS (SELECT * FROM accounts a WHERE a.tenant_id = $1"
    "  AND ($2::text IS NULL OR a.channel = $2) AND ($3::uuid IS NULL OR a.id = $3::uuid))"
    " SELECT json_build_object("
    " 'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " 'todaySales', t.sales, 'todayOrders', t.orders, 'todayUnits', t.units,"
    " 'currentInventoryValue', (SELECT coalesce(sum(greatest(on_hand, 0) * cost), 0)"
    "  FROM products WHERE tenant_id = $1 AND cost IS NOT NULL),"
    " 'lowStockProducts', (SELECT count(*) FROM products WHERE tenant_id = $1 AND active"
    "  AND min_stock_alert IS NOT NULL AND available <= min_stock_alert),"
    " 'activeAlerts', (SELECT count(*) FROM alerts WHERE tenant_id = $1 AND status = 'active'),"
    " 'syncStatus', CASE"
    "  WHEN EXISTS (SELECT 1 FROM sync_runs r JOIN a ON a.id = r.account_id"
    "   WHERE r.tenant_id = $1 AND r.status = 'running')"
    "   OR EXISTS (SELECT 1 FROM a WHERE last_sync_status = 'in_progress') THEN 'running'"
    "  WHEN EXISTS (SELECT 1 FROM a WHERE last_sync_status = 'failed') THEN 'error'"
    "  ELSE 'idle' END)::text FROM t";
// clang-format on

void dashboard_figures(app_t *app, const char *tenant_id, const dashboard_query_t *q, pg_cb cb,
		       void *arg)
{
	const char *p[] = {tenant_id,	q->start,   q->end,	  q->prev_start,
			   q->prev_end, q->channel, q->account_id};
	pg_query_prepared(app->pg, figures_sql, 7, p, cb, arg);
}

void dashboard_version(app_t *app, const char *tenant_id, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id};
	pg_query_prepared(app->pg, version_sql, 1, p, cb, arg);
}

void dashboard_realtime(app_t *app, const char *tenant_id, const char *channel,
			const char *account_id, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, channel, account_id};
	pg_query_prepared(app->pg, realtime_sql, 3, p, cb, arg);
}
