/* Orders: the upsert (order + lines + payments into the channel-neutral orders, order_items
 * and payments, channel 'ml'; the per-day totals follow through the order_days triggers) and the
 * "orders_v2" notification fetcher, which also refreshes the order's shipment. */
#include "log.h"
#include "data.h"
#include "notifications.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char upsert_sql[] =
    "WITH doc AS ("
    " SELECT DISTINCT ON (d->>'id') d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE d->>'id' IS NOT NULL AND coalesce(d->>'last_updated', d->>'date_last_updated')"
    "  IS NOT NULL"
    " ORDER BY d->>'id',"
    "  coalesce(d->>'last_updated', d->>'date_last_updated')::timestamptz DESC),"
    " up AS ("
    " INSERT INTO orders AS cur (tenant_id, account_id, channel, external_id, status,"
    "  status_detail, date_created, date_closed, last_updated, total_amount, paid_amount,"
    "  currency, buyer_id, buyer_nickname, pack_id, shipment_external_id, tags, raw, synced_at)"
    " SELECT $1, $2, 'ml', d->>'id', coalesce(d->>'status', 'unknown'),"
    "  d->>'status_detail', (d->>'date_created')::timestamptz,"
    "  (d->>'date_closed')::timestamptz,"
    "  coalesce(d->>'last_updated', d->>'date_last_updated')::timestamptz,"
    "  coalesce((d->>'total_amount')::numeric, 0), (d->>'paid_amount')::numeric,"
    "  coalesce(d->>'currency_id', 'BRL'), (d->'buyer'->>'id')::bigint,"
    "  d->'buyer'->>'nickname', (d->>'pack_id')::bigint, d->'shipping'->>'id',"
    "  ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(d->'tags') = 'array'"
    "   THEN d->'tags' ELSE '[]' END)), d, now()"
    " FROM doc"
    " ON CONFLICT (tenant_id, account_id, external_id) DO UPDATE SET status = excluded.status,"
    "  status_detail = excluded.status_detail, date_created = excluded.date_created,"
    "  date_closed = excluded.date_closed, last_updated = excluded.last_updated,"
    "  total_amount = excluded.total_amount, paid_amount = excluded.paid_amount,"
    "  currency = excluded.currency, buyer_id = excluded.buyer_id,"
    "  buyer_nickname = coalesce(excluded.buyer_nickname, cur.buyer_nickname),"
    "  pack_id = excluded.pack_id, shipment_external_id = excluded.shipment_external_id,"
    "  tags = excluded.tags,"
    "  raw = excluded.raw, synced_at = excluded.synced_at"
    " WHERE excluded.last_updated >= cur.last_updated"
    " RETURNING id, raw),"
    " gone_lines AS (DELETE FROM order_items x USING up WHERE x.order_id = up.id),"
    " gone_pays AS (DELETE FROM payments x USING up WHERE x.order_id = up.id),"
    " lines AS ("
    " INSERT INTO order_items (order_id, tenant_id, account_id, channel, listing_external_id,"
    "  variation_external_id, title, sku, quantity, unit_price, sale_fee, currency)"
    " SELECT up.id, $1, $2, 'ml', l->'item'->>'id', l->'item'->>'variation_id',"
    "  l->'item'->>'title', coalesce(l->'item'->>'seller_sku', l->'item'->>'seller_custom_field'),"
    "  coalesce((l->>'quantity')::int, 0), (l->>'unit_price')::numeric,"
    "  (l->>'sale_fee')::numeric, l->>'currency_id'"
    " FROM up, jsonb_array_elements(up.raw->'order_items') l"
    " WHERE jsonb_typeof(up.raw->'order_items') = 'array'),"
    " pays AS ("
    " INSERT INTO payments (order_id, tenant_id, account_id, channel, external_id, status,"
    "  status_detail, payment_type, payment_method_id, installments, transaction_amount, "
    "total_paid_amount,"
    "  shipping_cost, marketplace_fee, currency, date_approved)"
    " SELECT up.id, $1, $2, 'ml', p->>'id', p->>'status', p->>'status_detail',"
    "  p->>'payment_type', p->>'payment_method_id', (p->>'installments')::int,"
    "  (p->>'transaction_amount')::numeric, (p->>'total_paid_amount')::numeric,"
    "  (p->>'shipping_cost')::numeric, (p->>'marketplace_fee')::numeric, p->>'currency_id',"
    "  (p->>'date_approved')::timestamptz"
    " FROM up, jsonb_array_elements(up.raw->'payments') p"
    " WHERE jsonb_typeof(up.raw->'payments') = 'array')"
    " SELECT count(*) FROM up";

void ml_orders_upsert(app_t *app, const char *tenant_id, const char *account_id, const char *docs,
		      ml_store_cb cb, void *arg)
{
	const char *params[] = {tenant_id, account_id, docs};
	ml_store_run(app, upsert_sql, 3, params, cb, arg);
}

/* One orders_v2 notification for one account: order → upsert → its shipment. */
typedef struct order_fetch {
	app_t *app;
	char tenant_id[40], account_id[40];
	int64_t shipment_id;
	char note[80];
	ml_notice_done_fn done;
	void *arg;
} order_fetch_t;

static void shipment_done(const char *err, bool retry, const char *note, void *arg)
{
	order_fetch_t *o = arg;
	o->done(err, retry, o->note[0] ? o->note : note, o->arg);
	free(o);
}

static void order_stored(const char *err, long written, void *arg)
{
	order_fetch_t *o = arg;
	if (err) {
		o->done(err, true, NULL, o->arg);
		free(o);
		return;
	}
	if (!written)
		snprintf(o->note, sizeof(o->note), "%s", "older than the stored copy");
	if (o->shipment_id <= 0) {
		shipment_done(NULL, false, NULL, o);
		return;
	}
	char path[64];
	snprintf(path, sizeof(path), "/shipments/%" PRId64, o->shipment_id);
	ml_fetch_one(o->app, o->tenant_id, o->account_id, path, ml_shipments_upsert, shipment_done,
		     o);
}

static void order_got(const ml_result_t *res, void *arg)
{
	order_fetch_t *o = arg;
	if (res->err != ML_OK) {
		if (res->err == ML_ERR_NOT_FOUND)
			o->done(NULL, false, "gone at Mercado Livre (404)", o->arg);
		else
			o->done(res->message ? res->message : ml_err_name(res->err),
				res->err == ML_ERR_RATE_LIMITED || res->err == ML_ERR_TRANSIENT,
				NULL, o->arg);
		free(o);
		return;
	}
	o->shipment_id = (int64_t)json_integer_value(
	    json_object_get(json_object_get(res->body, "shipping"), "id"));
	json_t *arr = json_pack("[O]", res->body);
	char *docs = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	ml_orders_upsert(o->app, o->tenant_id, o->account_id, docs, order_stored, o);
	free(docs);
}

/* "/orders/2000008000001" */
static void fetch_order(struct app *app, const ml_notice_t *n, ml_notice_done_fn done, void *arg)
{
	char id[20];
	if (!ml_resource_id(n->resource, "/orders/", true, 19, id, sizeof(id))) {
		done(NULL, false, "not an order resource", arg);
		return;
	}
	order_fetch_t *o = xcalloc(1, sizeof(*o));
	o->app = app;
	snprintf(o->tenant_id, sizeof(o->tenant_id), "%s", n->tenant_id);
	snprintf(o->account_id, sizeof(o->account_id), "%s", n->account_id);
	o->done = done;
	o->arg = arg;
	char path[48];
	snprintf(path, sizeof(path), "/orders/%s", id);
	ml_account_get(app, n->account_id, ML_SYNC_OP, path, order_got, o);
}

void ml_orders_register_fetcher(void)
{
	notifications_register_topic("orders_v2", fetch_order);
	notifications_register_topic("orders", fetch_order);
}
