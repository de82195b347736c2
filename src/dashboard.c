/* The dashboard's figures: see the header. Every figure reads a rollup kept by triggers (sql/0019,
 * sql/0029), never the orders: the KPIs, the trend and the channels dashboard_days; the products,
 * categories, hours and states their own tables, at month grain for the period's whole months and
 * day grain for the days at its edges. The top products without a filter read the SKUs' totals
 * over every channel and account (sql/0034). */
#include "dashboard.h"

#include <stdio.h>
#include <time.h>

// clang-format off
/* $1 tenant, $2/$3 the period, $4/$5 the comparison (NULL: none), $6 channel, $7 account, $8/$9
 * the period's whole months (below). */
#define FILTERS(T) " AND ($6::text IS NULL OR " T ".channel = $6) AND ($7::uuid IS NULL OR " T ".account_id = $7::uuid)"

/* The period's whole months are [$8, $9) (dashboard_figures computes them once: as expressions
 * they were evaluated again on every rollup row); its other days are read by day. */
#define MONTHS_FROM "$8::date"
#define MONTHS_TO   "$9::date"
/* The rows of rollup T (grain, bucket) that cover the period once, with the filters. */
#define SPAN(T)                                                                                    \
	" " T ".tenant_id = $1 AND ((" T ".grain = 'm' AND " T ".bucket >= " MONTHS_FROM           \
	" AND " T ".bucket < " MONTHS_TO ") OR (" T ".grain = 'd'"                                 \
	" AND " T ".bucket BETWEEN $2::date AND $3::date AND (" T ".bucket < " MONTHS_FROM         \
	" OR " T ".bucket >= " MONTHS_TO ")))" FILTERS(T)

#define ROLLUP(FROM, TO)                                                                           \
	"SELECT coalesce(sum(sold), 0) AS sold, coalesce(sum(revenue), 0) AS revenue,"            \
	" coalesce(sum(units), 0) AS units,"                                                       \
	" coalesce(sum(revenue - fees - product_cost), 0) AS profit,"                              \
	" coalesce(round(sum(revenue) / nullif(sum(sold), 0), 2), 0) AS aov"                       \
	" FROM dashboard_days d WHERE d.tenant_id = $1 AND d.day BETWEEN " FROM " AND " TO          \
	FILTERS("d")

/* A KPI's change in percent (null when the previous value is 0). */
#define CHANGE(F) "round((c." F " - p." F ") * 100.0 / nullif(abs(p." F "), 0), 2)"
/* A KPI: {value} alone without a comparison, else with previous and changePct. */
#define KPI(F)                                                                                     \
	"CASE WHEN $4::date IS NULL THEN json_build_object('value', c." F ") ELSE"                 \
	" json_build_object('value', c." F ", 'previous', p." F ", 'changePct', " CHANGE(F)       \
	") END"

static const char figures_sql[] =
    "WITH c AS (" ROLLUP("$2::date", "$3::date") "),"
    " p AS (" ROLLUP("$4::date", "$5::date") ")"
    " SELECT json_build_object("
    " 'period', CASE WHEN $4::date IS NULL THEN json_build_object("
    "  'current', json_build_object('startDate', $2::date, 'endDate', $3::date))"
    "  ELSE json_build_object("
    "  'current', json_build_object('startDate', $2::date, 'endDate', $3::date),"
    "  'previous', json_build_object('startDate', $4::date, 'endDate', $5::date),"
    "  'change', json_build_object('revenue', " CHANGE("revenue") ", 'orders', " CHANGE("sold") ","
    "   'units', " CHANGE("units") ", 'profit', " CHANGE("profit") ","
    "   'avgOrderValue', " CHANGE("aov") ")) END,"
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
    "  'topProducts', coalesce((SELECT json_agg(json_build_object('sku', x.sku,"
    "    'title', coalesce((SELECT pr.title FROM products pr WHERE pr.tenant_id = $1"
    "     AND pr.sku = x.sku), x.title), 'units', x.units, 'revenue', x.revenue)"
    "    ORDER BY x.revenue DESC, x.sku)"
    "   FROM (SELECT * FROM dashboard_top_totals($1, $2::date, $3::date, 10)"
    "    WHERE $6::text IS NULL AND $7::uuid IS NULL UNION ALL"
    "    SELECT * FROM dashboard_top_skus($1, $2::date, $3::date, $6, $7::uuid, 10)"
    "    WHERE $6::text IS NOT NULL OR $7::uuid IS NOT NULL) x), '[]'),"
    "  'salesByCategory', coalesce((SELECT json_agg(x ORDER BY x.revenue DESC, x.category) FROM"
    "   (SELECT nullif(k.category, '') AS category, sum(k.units) AS units,"
    "    sum(k.revenue) AS revenue FROM dashboard_categories k WHERE" SPAN("k")
    "    GROUP BY k.category HAVING sum(k.units) <> 0 OR sum(k.revenue) <> 0) x), '[]'),"
    "  'salesByChannel', coalesce((SELECT json_agg(x ORDER BY x.revenue DESC, x.channel) FROM"
    "   (SELECT d.channel, sum(sold) AS orders, sum(revenue) AS revenue, sum(units) AS units"
    "    FROM dashboard_days d WHERE d.tenant_id = $1 AND d.day BETWEEN $2::date AND $3::date"
    FILTERS("d") " GROUP BY 1 HAVING sum(orders) <> 0) x), '[]'),"
    "  'hourlyPerformance', (SELECT json_agg(json_build_object('hour', h,"
    "    'orders', coalesce(t.orders, 0), 'revenue', coalesce(t.revenue, 0)) ORDER BY h)"
    "   FROM generate_series(0, 23) h LEFT JOIN"
    "   (SELECT t.hour, sum(t.orders) AS orders, sum(t.revenue) AS revenue"
    "    FROM dashboard_hours t WHERE" SPAN("t") " GROUP BY 1) t ON t.hour = h),"
    "  'geographicDistribution', coalesce((SELECT json_agg(x ORDER BY x.revenue DESC, x.state)"
    "   FROM (SELECT t.state, sum(t.orders) AS orders, sum(t.revenue) AS revenue"
    "    FROM dashboard_states t WHERE" SPAN("t") " GROUP BY 1 HAVING sum(t.orders) <> 0) x),"
    "   '[]')),"
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

/* The first day of the month of "YYYY-MM-DD" + days, plus months, into out (11 bytes). */
static void month_of(const char *day, int days, int months, char *out)
{
	struct tm tm = {0};
	if (sscanf(day, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3) {
		snprintf(out, 11, "%s", day); /* validated by the caller: not reached */
		return;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_mday += days;
	time_t t = timegm(&tm);
	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_mon += months;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

void dashboard_figures(app_t *app, const char *tenant_id, const dashboard_query_t *q, pg_cb cb,
		       void *arg)
{
	/* Whole months from the first month starting on or after start, up to the month of the
	 * day after end. */
	char from[11], to[11];
	month_of(q->start, -1, 1, from);
	month_of(q->end, 1, 0, to);
	const char *p[] = {tenant_id,	  q->start, q->end, q->prev_start, q->prev_end, q->channel,
			   q->account_id, from,	    to};
	/* Unprepared: planned for these bounds each time. A prepared statement's generic plan (from
	 * a pooled connection's sixth call) scanned the hours and states rollups 2-3x slower:
	 * 1 year at 1,000,000 orders cold p50 78 -> 25-37 ms. */
	pg_query(app->pg, figures_sql, 9, p, cb, arg);
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
