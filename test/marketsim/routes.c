/* Every path marketsim answers, in one table: the Mercado Livre API (api.mercadolibre.com), the
 * auth host's authorization page, Amazon (LWA, Seller Central's consent page, the Selling
 * Partner API by operation, report documents), and the /_sim/ control API. The first match wins, so
 * fixed segments (/items/bulk) come before parameters (/items/:id). */
#include "amazon.h"
#include "marketsim.h"
#include "tiny.h"

#define GET    EVHTTP_REQ_GET
#define POST   EVHTTP_REQ_POST
#define PUT    EVHTTP_REQ_PUT
#define PATCH  EVHTTP_REQ_PATCH
#define DELETE EVHTTP_REQ_DELETE

const ms_route_t ms_routes[] = {
    {GET, "/authorization", h_authorization, ROUTE_AUTHZ, NULL},
    {POST, "/oauth/token", h_oauth_token, ROUTE_TOKEN, NULL},
    {GET, "/users/me", h_users_me, ROUTE_AUTH, NULL},
    {GET, "/users/:id/items/search", h_items_search, ROUTE_AUTH, NULL},
    {GET, "/users/:id", h_user, ROUTE_AUTH, NULL},
    {GET, "/items/bulk", h_items_bulk, ROUTE_AUTH, NULL},
    {GET, "/items", h_items_multiget, ROUTE_AUTH, NULL},
    {GET, "/items/:id", h_item_get, ROUTE_AUTH, NULL},
    {PUT, "/items/:id", h_item_put, ROUTE_AUTH, NULL},
    {GET, "/orders/search", h_orders_search, ROUTE_AUTH, NULL},
    {GET, "/orders/:id", h_order_get, ROUTE_AUTH, NULL},
    {GET, "/shipments/:id/sla", h_shipment_sla, ROUTE_AUTH, NULL},
    {GET, "/shipments/:id", h_shipment_get, ROUTE_AUTH, NULL},
    {GET, "/questions/search", h_questions_search, ROUTE_AUTH, NULL},
    {GET, "/questions/:id", h_question_get, ROUTE_AUTH, NULL},
    {POST, "/answers", h_answers_post, ROUTE_AUTH, NULL},
    {GET, "/post-purchase/v1/claims/search", h_claims_search, ROUTE_AUTH, NULL},
    {GET, "/post-purchase/v1/claims/:id", h_claim_get, ROUTE_AUTH, NULL},
    {GET, "/missed_feeds", h_missed_feeds, ROUTE_AUTH, NULL},

#define AMZ ROUTE_AMAZON
    {POST, "/auth/o2/token", h_am_token, ROUTE_AMAZON_OPEN, NULL},
    {GET | POST, "/api2/:service", h_tiny_api, ROUTE_TINY, NULL},

    {GET, "/apps/authorize/consent", h_am_consent, ROUTE_AMAZON_OPEN, NULL},
    {GET, "/amazon-reports/:doc", h_am_document_download, ROUTE_AMAZON_OPEN, NULL},
    {GET, "/orders/v0/orders", h_am_orders, AMZ, "getOrders"},
    {GET, "/orders/v0/orders/:id", h_am_order, AMZ, "getOrder"},
    {GET, "/orders/v0/orders/:id/orderItems", h_am_order_items, AMZ, "getOrderItems"},
    {GET, "/fba/inventory/v1/summaries", h_am_inventory, AMZ, "getInventorySummaries"},
    {GET, "/finances/v0/financialEventGroups", h_am_event_groups, AMZ, "listFinancialEventGroups"},
    {GET, "/finances/v0/financialEventGroups/:id/financialEvents", h_am_events_by_group, AMZ,
     "listFinancialEventsByGroupId"},
    {GET, "/finances/v0/financialEvents", h_am_events, AMZ, "listFinancialEvents"},
    {GET, "/finances/v0/orders/:id/financialEvents", h_am_events_by_order, AMZ,
     "listFinancialEventsByOrderId"},
    {GET, "/catalog/2022-04-01/items", h_am_catalog_search, AMZ, "searchCatalogItems"},
    {GET, "/catalog/2022-04-01/items/:asin", h_am_catalog_item, AMZ, "getCatalogItem"},
    {GET, "/products/pricing/v0/price", h_am_pricing, AMZ, "getPricing"},
    {GET, "/products/pricing/v0/items/:asin/offers", h_am_item_offers, AMZ, "getItemOffers"},
    {GET, "/listings/2021-08-01/items/:seller/:sku", h_am_listing_get, AMZ, "getListingsItem"},
    {PATCH, "/listings/2021-08-01/items/:seller/:sku", h_am_listing_patch, AMZ,
     "patchListingsItem"},
    {POST, "/reports/2021-06-30/reports", h_am_report_create, AMZ, "createReport"},
    {GET, "/reports/2021-06-30/reports", h_am_reports_list, AMZ, "getReports"},
    {GET, "/reports/2021-06-30/reports/:id", h_am_report_get, AMZ, "getReport"},
    {DELETE, "/reports/2021-06-30/reports/:id", h_am_report_cancel, AMZ, "cancelReport"},
    {GET, "/reports/2021-06-30/documents/:id", h_am_report_document, AMZ, "getReportDocument"},

    {POST, "/_sim/reset", h_sim_reset, ROUTE_CONTROL, NULL},
    {GET, "/_sim/sellers", h_sim_sellers, ROUTE_CONTROL, NULL},
    {POST, "/_sim/notifications/target", h_sim_notify_target, ROUTE_CONTROL, NULL},
    {POST, "/_sim/orders", h_sim_orders, ROUTE_CONTROL, NULL},
    {POST, "/_sim/questions", h_sim_questions, ROUTE_CONTROL, NULL},
    {PATCH, "/_sim/items/:id", h_sim_item_patch, ROUTE_CONTROL, NULL},
    {POST, "/_sim/faults", h_sim_faults_add, ROUTE_CONTROL, NULL},
    {DELETE, "/_sim/faults", h_sim_faults_clear, ROUTE_CONTROL, NULL},
    {POST, "/_sim/grants/:seller_id/revoke", h_sim_grant_revoke, ROUTE_CONTROL, NULL},
    {POST, "/_sim/tokens/expire", h_sim_tokens_expire, ROUTE_CONTROL, NULL},
    {GET, "/_sim/requests", h_sim_requests, ROUTE_CONTROL, NULL},
    {GET, "/_sim/stats", h_sim_stats, ROUTE_CONTROL, NULL},
    {GET, "/_sim/stock-writes", h_sim_stock_writes, ROUTE_CONTROL, NULL},
    {GET, "/_sim/clock", h_sim_clock_get, ROUTE_CONTROL, NULL},
    {POST, "/_sim/clock", h_sim_clock_post, ROUTE_CONTROL, NULL},
    {GET, "/_sim/amazon", h_sim_amazon, ROUTE_CONTROL, NULL},
    {POST, "/_sim/amazon/notify", h_sim_amazon_notify, ROUTE_CONTROL, NULL},
    {POST, "/_sim/amazon/sellers/:id/revoke", h_sim_amazon_revoke, ROUTE_CONTROL, NULL},
    {POST, "/_sim/amazon/sellers/:id/tokens/expire", h_sim_amazon_expire, ROUTE_CONTROL, NULL},
    {PATCH, "/_sim/amazon/orders/:id", h_sim_amazon_order, ROUTE_CONTROL, NULL},
    {PATCH, "/_sim/amazon/skus/:seller/:sku", h_sim_amazon_sku, ROUTE_CONTROL, NULL},
    {GET, "/_sim/amazon/skus/:seller", h_sim_amazon_skus, ROUTE_CONTROL, NULL},
    {POST, "/_sim/amazon/reports/fail", h_sim_amazon_reports_fail, ROUTE_CONTROL, NULL},
    {GET, "/_sim/tiny", h_sim_tiny_get, ROUTE_CONTROL, NULL},
    {POST, "/_sim/tiny/companies/:id", h_sim_tiny_company, ROUTE_CONTROL, NULL},
    {POST, "/_sim/tiny/stock", h_sim_tiny_stock, ROUTE_CONTROL, NULL},
    {POST, "/_sim/tiny/orders/:id/situacao", h_sim_tiny_order_situacao, ROUTE_CONTROL, NULL},
    {POST, "/_sim/tiny/orders/:id/nota", h_sim_tiny_order_nota, ROUTE_CONTROL, NULL},
};

const size_t ms_routes_len = sizeof(ms_routes) / sizeof(ms_routes[0]);
