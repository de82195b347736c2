/* Amazon's documents into the channel-neutral tables (channel 'amazon'): see data.h. */
#include "data.h"
#include "util.h"

#include <stdlib.h>

// clang-format off
/* An order document (getOrders' Order, or a report's order) with its OrderItems when it has
 * them: the newest LastUpdateDate wins; lines are replaced only by a document that carries
 * them. item-price is the whole line's (amazon.md 3.2): the unit price divides it. */
static const char orders_sql[] =
    "WITH doc AS ("
    " SELECT DISTINCT ON (d->>'AmazonOrderId') d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE d->>'AmazonOrderId' IS NOT NULL AND d->>'LastUpdateDate' IS NOT NULL"
    "  AND d->>'PurchaseDate' IS NOT NULL"
    " ORDER BY d->>'AmazonOrderId', (d->>'LastUpdateDate')::timestamptz DESC),"
    " up AS ("
    " INSERT INTO orders AS cur (tenant_id, account_id, channel, external_id, status,"
    "  date_created, last_updated, total_amount, currency, tags, raw, synced_at)"
    " SELECT $1, $2, 'amazon', d->>'AmazonOrderId', coalesce(d->>'OrderStatus', 'Unknown'),"
    "  (d->>'PurchaseDate')::timestamptz, (d->>'LastUpdateDate')::timestamptz,"
    "  coalesce((d->'OrderTotal'->>'Amount')::numeric, 0),"
    "  coalesce(d->'OrderTotal'->>'CurrencyCode', 'USD'),"
    "  ARRAY[coalesce(d->>'FulfillmentChannel', 'MFN')], d, now()"
    " FROM doc"
    " ON CONFLICT (tenant_id, account_id, external_id) DO UPDATE SET status = excluded.status,"
    "  date_created = excluded.date_created, last_updated = excluded.last_updated,"
    "  total_amount = excluded.total_amount, currency = excluded.currency, tags = excluded.tags,"
    "  raw = CASE WHEN excluded.raw ? 'OrderItems' THEN excluded.raw"
    "   ELSE excluded.raw || jsonb_build_object('OrderItems', cur.raw->'OrderItems') END,"
    "  synced_at = excluded.synced_at"
    " WHERE excluded.last_updated >= cur.last_updated"
    " RETURNING id, raw),"
    " gone AS (DELETE FROM order_items x USING up WHERE x.order_id = up.id"
    "  AND jsonb_typeof(up.raw->'OrderItems') = 'array'),"
    " lines AS ("
    " INSERT INTO order_items (order_id, tenant_id, account_id, channel, listing_external_id,"
    "  title, sku, quantity, unit_price, currency)"
    " SELECT up.id, $1, $2, 'amazon', coalesce(nullif(l->>'SellerSKU', ''), l->>'ASIN'),"
    "  l->>'Title', nullif(l->>'SellerSKU', ''), coalesce((l->>'QuantityOrdered')::int, 0),"
    "  round((l->'ItemPrice'->>'Amount')::numeric"
    "   / nullif((l->>'QuantityOrdered')::int, 0), 2), l->'ItemPrice'->>'CurrencyCode'"
    " FROM up, jsonb_array_elements(up.raw->'OrderItems') l"
    " WHERE jsonb_typeof(up.raw->'OrderItems') = 'array')"
    " SELECT count(*) FROM up";

/* A listings report's rows: the seller's SKUs are the listings' ids. An FBA listing's quantity
 * is Amazon's (inventory summaries), so a row without one keeps the stored quantity. */
static const char listings_sql[] =
    "WITH doc AS ("
    " SELECT DISTINCT ON (d->>'SellerSKU') d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE coalesce(d->>'SellerSKU', '') <> '' ORDER BY d->>'SellerSKU'),"
    " up AS ("
    " INSERT INTO listings AS cur (tenant_id, account_id, channel, external_id, title, status,"
    "  price, currency, available_quantity, sku, listing_type, logistic_type, last_updated,"
    "  raw, synced_at)"
    " SELECT $1, $2, 'amazon', d->>'SellerSKU', coalesce(d->>'Title', ''),"
    "  lower(coalesce(d->>'Status', '')), (d->'Price'->>'Amount')::numeric,"
    "  d->'Price'->>'CurrencyCode', coalesce((d->>'Quantity')::int, 0), d->>'SellerSKU',"
    "  d->>'FulfillmentChannel',"
    "  CASE WHEN d->>'FulfillmentChannel' LIKE 'AMAZON%' THEN 'AFN' ELSE 'MFN' END, now(), d,"
    "  now()"
    " FROM doc"
    " ON CONFLICT (tenant_id, account_id, external_id) DO UPDATE SET title = excluded.title,"
    "  status = excluded.status, price = excluded.price, currency = excluded.currency,"
    "  available_quantity = CASE WHEN excluded.raw ? 'Quantity'"
    "   THEN excluded.available_quantity ELSE cur.available_quantity END,"
    "  listing_type = excluded.listing_type, logistic_type = excluded.logistic_type,"
    "  last_updated = excluded.last_updated, synced_at = excluded.synced_at,"
    "  raw = excluded.raw || (SELECT coalesce(jsonb_object_agg(k, v), '{}')"
    "   FROM jsonb_each(cur.raw) e (k, v) WHERE k IN ('inventory', 'pricing', 'catalog'))"
    " RETURNING 1)"
    " SELECT count(*) FROM up";

/* The seller's SKUs and their ASINs, for the pricing and catalog calls (20 of each per call). */
static const char skus_sql[] =
    "SELECT external_id, raw->>'ASIN' FROM listings WHERE tenant_id = $1 AND account_id = $2"
    " AND channel = 'amazon' ORDER BY external_id";

/* getPricing's entries ({status, SellerSKU, Product: {Offers: [...]}}): the seller's own offer
 * (its listing price, the buying price with shipping) kept in raw.pricing, the price updated.
 * Pricing and catalog lock their listings in SKU order first (target), as the listings report
 * and the inventory do: a page of each stored at once, each locking in its own join's order,
 * deadlocked. */
static const char pricing_sql[] =
    "WITH doc AS (SELECT DISTINCT ON (d->>'SellerSKU') d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE d->>'status' = 'Success' AND d->>'SellerSKU' IS NOT NULL),"
    " target AS (SELECT l.id, d FROM listings l JOIN doc ON l.external_id = d->>'SellerSKU'"
    "  WHERE l.tenant_id = $1 AND l.account_id = $2 AND l.channel = 'amazon'"
    "  ORDER BY l.external_id FOR UPDATE OF l),"
    " up AS (UPDATE listings l SET raw = l.raw || jsonb_build_object('pricing', d->'Product'),"
    "  price = coalesce((d->'Product'->'Offers'->0->'BuyingPrice'->'ListingPrice'->>'Amount')"
    "   ::numeric, l.price)"
    " FROM target t WHERE l.id = t.id RETURNING 1)"
    " SELECT count(*) FROM up";

/* searchCatalogItems' items ({asin, summaries: [{brand, itemName, browseClassification}],
 * salesRanks, classifications}): kept in raw.catalog of every listing of the ASIN, its
 * category the browse classification's. */
static const char catalog_sql[] =
    "WITH doc AS (SELECT DISTINCT ON (d->>'asin') d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE d->>'asin' IS NOT NULL),"
    " target AS (SELECT l.id, d FROM listings l JOIN doc ON l.raw->>'ASIN' = d->>'asin'"
    "  WHERE l.tenant_id = $1 AND l.account_id = $2 AND l.channel = 'amazon'"
    "  ORDER BY l.external_id FOR UPDATE OF l),"
    " up AS (UPDATE listings l SET raw = l.raw || jsonb_build_object('catalog', d),"
    "  category_id = coalesce(d->'summaries'->0->'browseClassification'->>'classificationId',"
    "   l.category_id)"
    " FROM target t WHERE l.id = t.id RETURNING 1)"
    " SELECT count(*) FROM up";

/* FBA inventory summaries: the fulfillable quantity of each SKU is its listing's stock. A SKU
 * with no listing yet gets one (the listings report fills in the rest). */
static const char inventory_sql[] =
    "WITH doc AS ("
    " SELECT DISTINCT ON (d->>'sellerSku') d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE coalesce(d->>'sellerSku', '') <> '' ORDER BY d->>'sellerSku'),"
    " up AS ("
    " INSERT INTO listings AS cur (tenant_id, account_id, channel, external_id, title, status,"
    "  available_quantity, sku, logistic_type, last_updated, raw, synced_at)"
    " SELECT $1, $2, 'amazon', d->>'sellerSku', coalesce(d->>'productName', ''), 'active',"
    "  coalesce((d->'inventoryDetails'->>'fulfillableQuantity')::int,"
    "   (d->>'totalQuantity')::int, 0), d->>'sellerSku', 'AFN', now(),"
    "  jsonb_build_object('inventory', d), now()"
    " FROM doc"
    " ON CONFLICT (tenant_id, account_id, external_id) DO UPDATE"
    "  SET available_quantity = excluded.available_quantity, logistic_type = 'AFN',"
    "  raw = cur.raw || excluded.raw, synced_at = excluded.synced_at"
    " RETURNING 1)"
    " SELECT count(*) FROM up";
/* listFinancialEvents' shipment and refund events ({kind, event}) as payments of their orders:
 * what was charged (Principal, Tax, ShippingCharge...; negative for a refund) and Amazon's fees
 * (Commission, FBA fees...: negative amounts in the event, positive here). An event whose order
 * is not stored (older than the orders synced) is skipped; an event read again (or held twice)
 * replaces itself.
 * CurrencyAmount is a number in the model and a string in some answers: numeric takes both. */
#define EVENT_ITEMS(e)                                                                             \
    "jsonb_array_elements(coalesce(" e "->'ShipmentItemList', " e "->'ShipmentItemAdjustmentList'," \
    " '[]'))"
/* Account costs ({kind: ads|service_fee, event}): ad spend (ProductAdsPaymentEvent, camelCase;
 * a charge costs, a refund gives back, whatever the sign) and service fees (subscription...;
 * negative FeeList amounts). A service fee event has no date nor id: it is dated when first
 * read and known by its content. */
#define AD_COSTS(docs)                                                                             \
    " SELECT 'advertising' AS kind, CASE WHEN lower(e->>'transactionType') = 'refund' THEN -1"    \
    "  ELSE 1 END * abs((e->'transactionValue'->>'CurrencyAmount')::numeric) AS amount,"           \
    "  e->'transactionValue'->>'CurrencyCode' AS currency, (e->>'postedDate')::timestamptz"        \
    "  AS posted, 'ads:' || (e->>'invoiceId') || ':' || coalesce(e->>'transactionType', '')"      \
    "  || ':' || (e->>'postedDate') AS ext"                                                       \
    " FROM " docs " d CROSS JOIN LATERAL (SELECT d->'event' AS e) x"                              \
    " WHERE d->>'kind' = 'ads' AND e->>'postedDate' IS NOT NULL"                                  \
    "  AND e->'transactionValue'->>'CurrencyAmount' IS NOT NULL"
#define FEE_COSTS(docs)                                                                            \
    " SELECT 'other', -(SELECT sum((f->'FeeAmount'->>'CurrencyAmount')::numeric)"                 \
    "  FROM jsonb_array_elements(e->'FeeList') f), (SELECT f->'FeeAmount'->>'CurrencyCode'"       \
    "  FROM jsonb_array_elements(e->'FeeList') f LIMIT 1), now(), 'fee:' || md5(e::text)"        \
    " FROM " docs " d CROSS JOIN LATERAL (SELECT d->'event' AS e) x"                              \
    " WHERE d->>'kind' = 'service_fee' AND jsonb_typeof(e->'FeeList') = 'array'"                  \
    "  AND jsonb_array_length(e->'FeeList') > 0"
/* FINANCES_SQL(source, docs): docs, rows of a jsonb array of {kind, event} in source. */
#define FINANCES_SQL(source, docs)                                                                 \
    source " ev AS ("                                                                              \
    " SELECT o.id AS order_id, d->>'kind' AS kind, (e->>'PostedDate')::timestamptz AS posted,"     \
    "  (d->>'kind') || ':' || (e->>'AmazonOrderId') || ':' || (e->>'PostedDate') AS ext,"          \
    "  (SELECT coalesce(sum((c->'ChargeAmount'->>'CurrencyAmount')::numeric), 0)"                  \
    "   FROM " EVENT_ITEMS("e") " i, jsonb_array_elements(coalesce(i->'ItemChargeList',"           \
    "   i->'ItemChargeAdjustmentList', '[]')) c) AS charges,"                                      \
    "  (SELECT -coalesce(sum((f->'FeeAmount'->>'CurrencyAmount')::numeric), 0)"                    \
    "   FROM " EVENT_ITEMS("e") " i, jsonb_array_elements(coalesce(i->'ItemFeeList',"              \
    "   i->'ItemFeeAdjustmentList', '[]')) f) AS fees,"                                            \
    "  (SELECT c->'ChargeAmount'->>'CurrencyCode'"                                                 \
    "   FROM " EVENT_ITEMS("e") " i, jsonb_array_elements(coalesce(i->'ItemChargeList',"           \
    "   i->'ItemChargeAdjustmentList', '[]')) c LIMIT 1) AS currency"                              \
    " FROM " docs " d CROSS JOIN LATERAL (SELECT d->'event' AS e) x"                               \
    " JOIN orders o ON o.tenant_id = $1 AND o.account_id = $2"                                     \
    "  AND o.external_id = x.e->>'AmazonOrderId'"                                                  \
    " WHERE x.e->>'PostedDate' IS NOT NULL AND d->>'kind' IN ('shipment', 'refund')),"             \
    " gone AS (DELETE FROM payments p USING ev WHERE p.order_id = ev.order_id"                     \
    "  AND p.external_id = ev.ext),"                                                               \
    " ins AS (INSERT INTO payments (order_id, tenant_id, account_id, channel, external_id,"        \
    "  status, payment_type, transaction_amount, marketplace_fee, currency, date_approved)"        \
    " SELECT DISTINCT ON (order_id, ext) order_id, $1, $2, 'amazon', ext, kind,"                   \
    "  'financial_event', charges, fees, currency, posted FROM ev RETURNING 1),"                    \
    " cost AS (INSERT INTO account_costs (tenant_id, account_id, channel, kind, amount,"            \
    "  currency, posted_at, external_id)"                                                          \
    " SELECT DISTINCT ON (ext) $1, $2, 'amazon', kind, amount, currency, posted, ext FROM ("        \
    AD_COSTS(docs) " UNION ALL " FEE_COSTS(docs) ") c"                                             \
    " ON CONFLICT (account_id, external_id) DO UPDATE"                                             \
    "  SET amount = excluded.amount, currency = excluded.currency RETURNING 1)"                    \
    " SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM cost)"
static const char finances_sql[] = FINANCES_SQL("WITH", "jsonb_array_elements($3::jsonb)");
/* A backfill reads the events while its orders report is still being built: they wait in
 * amazon_finance_pending until the orders are stored, then go in all at once (and any an
 * earlier run left there, whose orders may be stored by now). */
static const char hold_sql[] =
    "INSERT INTO amazon_finance_pending (tenant_id, account_id, docs)"
    " VALUES ($1, $2, $3::jsonb) RETURNING jsonb_array_length(docs)";
static const char release_sql[] = FINANCES_SQL(
    "WITH held AS (DELETE FROM amazon_finance_pending WHERE tenant_id = $1 AND account_id = $2"
    " RETURNING docs),",
    "held CROSS JOIN LATERAL jsonb_array_elements(held.docs)");
// clang-format on

typedef struct store {
	amazon_store_cb cb;
	void *arg;
} store_t;

static void stored(const PGresult *res, const char *err, void *arg)
{
	store_t *s = arg;
	s->cb(err, err ? 0 : (long)pg_int(res, 0, 0, 0), s->arg);
	free(s);
}

/* Bulk: a report's chunk (250 orders through every trigger) and the held events' release, the
 * large stores that take turns and let acknowledgements commit between them (pg_query_bulk).
 * A page (of events, stock, prices) is small and its run waits for it: it goes at once. */
static void run_as(app_t *app, bool bulk, const char *sql, const char *tenant_id,
		   const char *account_id, const char *docs, amazon_store_cb cb, void *arg)
{
	store_t *s = xcalloc(1, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	const char *params[] = {tenant_id, account_id, docs};
	(bulk ? pg_query_bulk : pg_query_prepared)(app->pg, sql, 3, params, stored, s);
}

static void run(app_t *app, const char *sql, const char *tenant_id, const char *account_id,
		const char *docs, amazon_store_cb cb, void *arg)
{
	run_as(app, false, sql, tenant_id, account_id, docs, cb, arg);
}

void amazon_orders_upsert(app_t *app, const char *tenant_id, const char *account_id,
			  const char *docs, amazon_store_cb cb, void *arg)
{
	run_as(app, true, orders_sql, tenant_id, account_id, docs, cb, arg);
}

void amazon_listings_upsert(app_t *app, const char *tenant_id, const char *account_id,
			    const char *docs, amazon_store_cb cb, void *arg)
{
	run_as(app, true, listings_sql, tenant_id, account_id, docs, cb, arg);
}

void amazon_inventory_upsert(app_t *app, const char *tenant_id, const char *account_id,
			     const char *docs, amazon_store_cb cb, void *arg)
{
	run(app, inventory_sql, tenant_id, account_id, docs, cb, arg);
}

void amazon_finances_upsert(app_t *app, const char *tenant_id, const char *account_id,
			    const char *docs, amazon_store_cb cb, void *arg)
{
	run(app, finances_sql, tenant_id, account_id, docs, cb, arg);
}

void amazon_pricing_upsert(app_t *app, const char *tenant_id, const char *account_id,
			   const char *docs, amazon_store_cb cb, void *arg)
{
	run(app, pricing_sql, tenant_id, account_id, docs, cb, arg);
}

void amazon_catalog_upsert(app_t *app, const char *tenant_id, const char *account_id,
			   const char *docs, amazon_store_cb cb, void *arg)
{
	run(app, catalog_sql, tenant_id, account_id, docs, cb, arg);
}

void amazon_skus(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id, account_id};
	pg_query_prepared(app->pg, skus_sql, 2, params, cb, arg);
}

void amazon_finances_hold(app_t *app, const char *tenant_id, const char *account_id,
			  const char *docs, amazon_store_cb cb, void *arg)
{
	run(app, hold_sql, tenant_id, account_id, docs, cb, arg);
}

void amazon_finances_release(app_t *app, const char *tenant_id, const char *account_id,
			     amazon_store_cb cb, void *arg)
{
	store_t *s = xcalloc(1, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	const char *params[] = {tenant_id, account_id};
	pg_query_bulk(app->pg, release_sql, 2, params, stored, s);
}
