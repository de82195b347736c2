/* Every path marketsim answers, in one table: the Mercado Livre API (api.mercadolibre.com), the
 * auth host's authorization page, and the /_sim/ control API. The first match wins, so fixed
 * segments (/items/bulk) come before parameters (/items/:id). */
#include "marketsim.h"
#include "tiny.h"

#define GET    EVHTTP_REQ_GET
#define POST   EVHTTP_REQ_POST
#define PUT    EVHTTP_REQ_PUT
#define PATCH  EVHTTP_REQ_PATCH
#define DELETE EVHTTP_REQ_DELETE

const ms_route_t ms_routes[] = {
    {GET, "/authorization", h_authorization, ROUTE_AUTHZ},
    {POST, "/oauth/token", h_oauth_token, ROUTE_TOKEN},
    {GET, "/users/me", h_users_me, ROUTE_AUTH},
    {GET, "/users/:id/items/search", h_items_search, ROUTE_AUTH},
    {GET, "/users/:id", h_user, ROUTE_AUTH},
    {GET, "/items/bulk", h_items_bulk, ROUTE_AUTH},
    {GET, "/items", h_items_multiget, ROUTE_AUTH},
    {GET, "/items/:id", h_item_get, ROUTE_AUTH},
    {PUT, "/items/:id", h_item_put, ROUTE_AUTH},
    {GET, "/orders/search", h_orders_search, ROUTE_AUTH},
    {GET, "/orders/:id", h_order_get, ROUTE_AUTH},
    {GET, "/shipments/:id/sla", h_shipment_sla, ROUTE_AUTH},
    {GET, "/shipments/:id", h_shipment_get, ROUTE_AUTH},
    {GET, "/questions/search", h_questions_search, ROUTE_AUTH},
    {GET, "/questions/:id", h_question_get, ROUTE_AUTH},
    {POST, "/answers", h_answers_post, ROUTE_AUTH},
    {GET, "/post-purchase/v1/claims/search", h_claims_search, ROUTE_AUTH},
    {GET, "/post-purchase/v1/claims/:id", h_claim_get, ROUTE_AUTH},
    {GET, "/missed_feeds", h_missed_feeds, ROUTE_AUTH},
    {GET | POST, "/api2/:service", h_tiny_api, ROUTE_TINY},

    {POST, "/_sim/reset", h_sim_reset, ROUTE_CONTROL},
    {GET, "/_sim/sellers", h_sim_sellers, ROUTE_CONTROL},
    {POST, "/_sim/notifications/target", h_sim_notify_target, ROUTE_CONTROL},
    {POST, "/_sim/orders", h_sim_orders, ROUTE_CONTROL},
    {POST, "/_sim/questions", h_sim_questions, ROUTE_CONTROL},
    {PATCH, "/_sim/items/:id", h_sim_item_patch, ROUTE_CONTROL},
    {POST, "/_sim/faults", h_sim_faults_add, ROUTE_CONTROL},
    {DELETE, "/_sim/faults", h_sim_faults_clear, ROUTE_CONTROL},
    {POST, "/_sim/grants/:seller_id/revoke", h_sim_grant_revoke, ROUTE_CONTROL},
    {POST, "/_sim/tokens/expire", h_sim_tokens_expire, ROUTE_CONTROL},
    {GET, "/_sim/requests", h_sim_requests, ROUTE_CONTROL},
    {GET, "/_sim/stats", h_sim_stats, ROUTE_CONTROL},
    {GET, "/_sim/clock", h_sim_clock_get, ROUTE_CONTROL},
    {POST, "/_sim/clock", h_sim_clock_post, ROUTE_CONTROL},
    {GET, "/_sim/tiny", h_sim_tiny_get, ROUTE_CONTROL},
    {POST, "/_sim/tiny/companies/:id", h_sim_tiny_company, ROUTE_CONTROL},
    {POST, "/_sim/tiny/stock", h_sim_tiny_stock, ROUTE_CONTROL},
    {POST, "/_sim/tiny/orders/:id/situacao", h_sim_tiny_order_situacao, ROUTE_CONTROL},
    {POST, "/_sim/tiny/orders/:id/nota", h_sim_tiny_order_nota, ROUTE_CONTROL},
};

const size_t ms_routes_len = sizeof(ms_routes) / sizeof(ms_routes[0]);
