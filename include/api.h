/* Route registration, one function per resource file in src/api/. */
#ifndef SH_API_H
#define SH_API_H

#include "app.h"

/* /health, /ready, /metrics, /openapi.json */
void api_ops_routes(app_t *app);
/* /api/auth: register, login, refresh, logout, me */
void api_auth_routes(app_t *app);
/* /api/users and /api/users/:id */
void api_users_routes(app_t *app);

/* POST /webhooks/:channel */
void api_webhooks_routes(app_t *app);
/* /api/admin/jobs */
void api_admin_jobs_routes(app_t *app);

/* GET /api/accounts: every channel's accounts */
void api_accounts_routes(app_t *app);
/* /api/<channel>-accounts of the channels that name such a path: list, one, change, remove,
 * pause, resume */
void api_channel_accounts_routes(app_t *app);
/* /api/sync: start, status, history */
void api_sync_routes(app_t *app);
/* POST /api/sync/manual (api/sync_manual.c). */
void api_sync_manage_routes(app_t *app);
/* Answer GET /api/sync/status with data (stolen) plus the tenant's overview (api/sync_status.c). */
void sync_status_overview(req_t *r, json_t *data);
/* /api/items, /api/orders, /api/shipments: synced marketplace data */
void api_items_routes(app_t *app);
void api_orders_routes(app_t *app);
void api_shipments_routes(app_t *app);
/* /api/inventory and /api/products/:sku/listings/:listingId: one stock truth per SKU */
void api_inventory_routes(app_t *app);
/* /api/inventory/discrepancies and /api/inventory/reconcile (and the reconcile job's handler) */
void api_discrepancies_routes(app_t *app);
/* GET /api/products, PUT /api/products/:sku: the SKU master and the seller's settings */
void api_products_routes(app_t *app);
void api_products_list(req_t *r); /* GET /api/products (src/api/products_list.c) */
/* /api/alerts and /api/alerts/settings */
void api_alerts_routes(app_t *app);
/* /api/metrics: dashboard and realtime */
void api_metrics_routes(app_t *app);
/* GET /api/orders/export and /api/exports/:id: the orders as csv, xlsx or json files */
void api_exports_routes(app_t *app);
/* /api/finance: summary, transactions, pnl */
void api_finance_routes(app_t *app);

/* Request bodies checked field by field (pure: no I/O, fuzzed by test/fuzz/fuzz_bodies.c). Each
 * returns the problems (NULL when the body is good); the strings point into r's arena. */
typedef struct register_body {
	const char *email, *password, *full_name, *company, *phone, *timezone, *language;
} register_body_t;
json_t *register_body_check(req_t *r, register_body_t *b);
json_t *login_body_check(req_t *r, const char **email, const char **password);
typedef struct sync_start_body {
	const char *account_id, *scope; /* scope NULL: all */
	long long days;
} sync_start_body_t;
json_t *sync_start_body_check(req_t *r, sync_start_body_t *b);
/* PUT /api/products/:sku's body (prefix "") or bulk-update's updates (prefix "updates."):
 * problems added to d. */
json_t *product_settings_check(req_t *r, json_t *body, const char *prefix, json_t *d);
/* POST /api/products/bulk-update: *skus (1 to 100 SKUs) and *updates, borrowed from r->body. */
json_t *product_bulk_check(req_t *r, json_t **skus, json_t **updates);
/* POST /api/inventory/reconcile: *source (erp|sellerhub) and *skus (the array as JSON text, or
 * NULL for all: true). */
json_t *reconcile_body_check(req_t *r, const char **source, const char **skus);

/* POST /api/sync/manual: the types asked for (bits, 1 << sync_type_index), the account (NULL:
 * every one) and the backfill's reach in days from dateRange.from (from and to as given). */
typedef struct sync_manual_body {
	unsigned types;
	int days;
	const char *account_id, *from, *to;
} sync_manual_body_t;
json_t *sync_manual_body_check(req_t *r, sync_manual_body_t *b);
/* POST /api/alerts/settings: the change the body asks for (alerts.h), borrowed from r->body
 * and r's arena; the webhook secret is left plain for the handler to seal. A webhook URL at an
 * internal address (netaddr_host_is_internal) is a problem unless c->allow_internal. */
struct alert_settings_change;
json_t *alert_settings_check(req_t *r, struct alert_settings_change *c);
/* GET /api/orders/export's query (format, fields, startDate, endDate) into spec (exports.h). */
struct export_spec;
json_t *export_query_check(req_t *r, struct export_spec *spec);

/* The OpenAPI document: built from the routes registered so far and their docs. */
json_t *openapi_document(const app_t *app);

#endif
