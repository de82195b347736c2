/* /api/finance: the summary, the transactions and the P&L of March 2026 checked against the
 * figures worked out by hand from money_seed.c's orders (two channels, fees from payments and
 * from lines, a refund, shipping), the comparison period, bad input, and another tenant's
 * orders never counted. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money_seed.h"

TestSuite(finance, .timeout = 90);

#define MARCH "startDate=2026-03-01&endDate=2026-03-31"

static double num(json_t *root, const char *path)
{
	json_t *v = h_json_path(root, path);
	cr_assert(json_is_number(v), "%s is not a number", path);
	return json_number_value(v);
}

/* The entry of array at path whose key is value. */
static json_t *entry(json_t *root, const char *path, const char *key, const char *value)
{
	size_t i;
	json_t *e;
	json_array_foreach(h_json_path(root, path), i, e)
	{
		const char *v = json_string_value(json_object_get(e, key));
		if (v && strcmp(v, value) == 0)
			return e;
	}
	cr_assert_fail("no %s=%s in %s", key, value, path);
	return NULL;
}

/* March, sold orders M-1, M-2, Z-1, Z-2 (M-3 is cancelled, M-9 is April's):
 *   gross 100 + 75 + 200 + 60 = 435; refunds 20 (Z-2); net 415
 *   product 2x10 + 1x25 + 4x25 + 3x10 = 175; fees 12 + 9 + 30 + (9 - 3) = 57; shipping 8
 *   profit gross 415 - 175 = 240; net 240 - 57 - 8 = 175; margin 175 / 415 = 42.17 % */
Test(finance, summary_matches_the_hand_computed_figures)
{
	money_world_t w;
	money_world_make(&w, NULL);
	h_resp_t r = money_get(&w, false, "/api/finance/summary?period=custom&" MARCH, 200);
	json_t *j = r.json;
	cr_assert_float_eq(num(j, "data.revenue.gross"), 435, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.revenue.refunds"), 20, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.revenue.net"), 415, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.costs.product"), 175, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.costs.marketplaceFees"), 57, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.costs.shipping"), 8, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.costs.total"), 240, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.profit.gross"), 240, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.profit.net"), 175, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.profit.margin"), 42.17, 0.001, "%s", r.body);
	/* the trend by day: four days with sales, 03-05's net 40 */
	cr_assert_eq(json_array_size(h_json_path(j, "data.revenue.trend")), 4, "%s", r.body);
	json_t *d5 = entry(j, "data.revenue.trend", "period", "2026-03-05");
	cr_assert_float_eq(json_number_value(json_object_get(d5, "net")), 40, 0.001);
	/* by channel: ml 175 revenue, profit 175 - 45 - 21 - 8 = 101; amazon 240, 240 - 130 - 36 */
	json_t *ml = entry(j, "data.breakdown.byChannel", "channel", "ml");
	cr_assert_float_eq(json_number_value(json_object_get(ml, "revenue")), 175, 0.001);
	cr_assert_float_eq(json_number_value(json_object_get(ml, "profit")), 101, 0.001);
	json_t *az = entry(j, "data.breakdown.byChannel", "channel", "amazon");
	cr_assert_float_eq(json_number_value(json_object_get(az, "profit")), 74, 0.001);
	/* by product: SKU-B 75 + 200 sold for 1x25 + 4x25; by category mesa the same */
	json_t *b = entry(j, "data.breakdown.byProduct", "sku", "SKU-B");
	cr_assert_float_eq(json_number_value(json_object_get(b, "revenue")), 275, 0.001);
	cr_assert_float_eq(json_number_value(json_object_get(b, "grossProfit")), 150, 0.001);
	cr_assert_eq(json_integer_value(json_object_get(b, "units")), 5);
	json_t *mesa = entry(j, "data.breakdown.byCategory", "category", "mesa");
	cr_assert_float_eq(json_number_value(json_object_get(mesa, "revenue")), 275, 0.001);
	h_resp_free(&r);

	/* one channel; and by week */
	r = money_get(&w, false, "/api/finance/summary?channel=amazon&groupBy=week&" MARCH, 200);
	cr_assert_float_eq(num(r.json, "data.revenue.gross"), 260, 0.001, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.revenue.trend")), 1, "%s", r.body);
	h_resp_free(&r);
	/* tenant b: its own 999 only */
	r = money_get(&w, true, "/api/finance/summary?" MARCH, 200);
	cr_assert_float_eq(num(r.json, "data.revenue.gross"), 999, 0.001, "%s", r.body);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

/* March's movements: sales 100, 75, 200, 60 (435); refund -20; fees -12, -9, -30, -9 and the
 * refund's +3; shipping -8. Credits 438, debits 88, net 350. */
Test(finance, transactions_list_every_movement_with_totals)
{
	money_world_t w;
	money_world_make(&w, NULL);
	h_resp_t r = money_get(&w, false, "/api/finance/transactions?" MARCH "&limit=100", 200);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.transactions")), 11, "%s", r.body);
	cr_assert_eq(num(r.json, "data.pagination.total"), 11, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.totals.credits"), 438, 0.001, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.totals.debits"), 88, 0.001, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.totals.net"), 350, 0.001, "%s", r.body);
	h_resp_free(&r);

	r = money_get(&w, false, "/api/finance/transactions?type=fee&" MARCH, 200);
	cr_assert_eq(num(r.json, "data.pagination.total"), 5, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.totals.net"), -57, 0.001, "%s", r.body);
	h_resp_free(&r);
	r = money_get(&w, false, "/api/finance/transactions?minAmount=50&" MARCH "&limit=2&page=2",
		      200);
	/* sales 100, 75, 200, 60: four of 50 or more, the second page of two */
	cr_assert_eq(num(r.json, "data.pagination.total"), 4, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.transactions")), 2, "%s", r.body);
	cr_assert_eq(num(r.json, "data.pagination.page"), 2, "%s", r.body);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

/* March against February (previous_period, 28 days before 03-01 back to 02-01 for a 31-day
 * March is 01-29..02-28): February has the bulk orders, 30 x 10. */
Test(finance, pnl_with_a_comparison_period_and_variance)
{
	money_world_t w;
	money_world_make(&w, NULL);
	money_world_bulk(&w, 30);
	h_resp_t r =
	    money_get(&w, false, "/api/finance/pnl?" MARCH "&compareWith=previous_period", 200);
	json_t *j = r.json;
	cr_assert_float_eq(num(j, "data.current.revenue.total"), 415, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.current.revenue.lines.refunds"), -20, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.current.cogs.total"), 175, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.current.grossProfit"), 240, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.current.operatingExpenses.total"), 65, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.current.netIncome"), 175, 0.001, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(j, "data.comparison.startDate")),
			 "2026-01-29");
	cr_assert_float_eq(num(j, "data.comparison.revenue.total"), 300, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.variance.revenue.amount"), 115, 0.001, "%s", r.body);
	cr_assert_float_eq(num(j, "data.variance.revenue.pct"), 38.33, 0.001, "%s", r.body);
	h_resp_free(&r);
	/* without compareWith: no comparison */
	r = money_get(&w, false, "/api/finance/pnl?" MARCH, 200);
	cr_assert(json_is_null(h_json_path(r.json, "data.comparison")), "%s", r.body);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

Test(finance, bad_input_is_a_400_naming_the_field)
{
	money_world_t w;
	money_world_make(&w, NULL);
	static const struct {
		const char *path, *field;
	} cases[] = {
	    {"/api/finance/summary?period=decade", "period"},
	    {"/api/finance/summary?groupBy=hour", "groupBy"},
	    {"/api/finance/summary?period=custom&startDate=2026-13-01&endDate=2026-12-01",
	     "startDate"},
	    {"/api/finance/summary?startDate=2020-01-01&endDate=2024-01-01", "endDate"},
	    {"/api/finance/transactions?type=gift", "type"},
	    {"/api/finance/transactions?minAmount=-5", "minAmount"},
	    {"/api/finance/transactions?limit=101", "limit"},
	    {"/api/finance/pnl?compareWith=last_week", "compareWith"},
	    {"/api/finance/pnl?startDate=2026-03-10&endDate=2026-03-01", "endDate"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_resp_t r = ident_call(&w.srv, "GET", cases[i].path, w.a.access, NULL);
		cr_assert_eq(r.status, 400, "%s: %s", cases[i].path, r.body);
		cr_assert_not_null(strstr(r.body, h_fmt("\"field\":\"%s\"", cases[i].field)),
				   "%s: %s", cases[i].path, r.body);
		h_resp_free(&r);
	}
	h_server_stop_clean(&w.srv);
}
