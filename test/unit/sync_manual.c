/* The sync types of POST /api/sync/manual mapped onto a plan's resources (sync_manage.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "sync_manage.h"

static const char *const o_s[] = {"orders", "shipments", NULL};
static const char *const it[] = {"items", NULL};
static const char *const q[] = {"questions", NULL};
static const char *const o[] = {"orders", NULL};

/* A marketplace like the first channel: items, orders, shipments, questions. */
static const sync_resource_t market_res[] = {
    {"items", it, false, NULL, NULL},
    {"orders", o_s, true, NULL, NULL},
    {"shipments", o_s, false, NULL, NULL},
    {"questions", q, true, NULL, NULL},
};
static const sync_plan_t market = {market_res, 4, NULL, NULL, NULL, NULL, NULL};

/* One with stock, finances and pricing of its own. */
static const sync_resource_t seller_res[] = {
    {"orders", o, false, NULL, NULL},	  {"items", it, false, NULL, NULL},
    {"inventory", it, false, NULL, NULL}, {"finances", o, false, NULL, NULL},
    {"pricing", it, false, NULL, NULL},
};
static const sync_plan_t seller = {seller_res, 5, NULL, NULL, NULL, NULL, NULL};

static unsigned bit(const char *type)
{
	return 1u << sync_type_index(type);
}

Test(sync_manual, orders_take_the_orders_scope_and_lacking_types_are_said)
{
	sync_manual_map_t m;
	sync_manual_map(&market, bit("orders") | bit("inventory"), &m);
	cr_assert_str_eq(m.scope, "orders");
	cr_assert_eq(m.served, bit("orders"));
	cr_assert_eq(m.lacking, bit("inventory"));
	cr_assert_eq(m.resources, (1u << 1) | (1u << 2)); /* orders and shipments, not items */
}

Test(sync_manual, types_of_different_scopes_take_all)
{
	sync_manual_map_t m;
	sync_manual_map(&market, bit("orders") | bit("questions"), &m);
	cr_assert_str_eq(m.scope, "all");
	cr_assert_eq(m.resources, 0xfu);
	sync_manual_map(&seller, bit("finance") | bit("orders"), &m);
	cr_assert_str_eq(m.scope, "orders");
	cr_assert_eq(m.lacking, 0u);
	sync_manual_map(&seller, bit("inventory") | bit("pricing"), &m);
	cr_assert_str_eq(m.scope, "items");
	cr_assert_eq(m.resources, (1u << 1) | (1u << 2) | (1u << 4));
}

Test(sync_manual, nothing_served_is_no_scope)
{
	sync_manual_map_t m;
	sync_manual_map(&market, bit("pricing") | bit("finance"), &m);
	cr_assert_null(m.scope);
	cr_assert_eq(m.served, 0u);
	cr_assert_eq(m.lacking, bit("pricing") | bit("finance"));
	sync_manual_map(NULL, bit("orders"), &m);
	cr_assert_null(m.scope);
	cr_assert_eq(sync_type_index("bogus"), -1);
}
