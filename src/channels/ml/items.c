/* Items: the upsert (item + variations with their SKUs, into the channel-neutral listings and
 * listing_variations, channel 'ml') and the "items" notification fetcher. */
#include "log.h"
#include "data.h"
#include "notifications.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $3 is a JSON array of item documents. Variations are replaced only for items whose row was
 * written (the newer document wins). The SKU is the SELLER_SKU attribute, else
 * seller_custom_field, unless the seller linked or unlinked the listing by hand. */
static const char upsert_sql[] =
    "WITH doc AS ("
    " SELECT DISTINCT ON (d->>'id') d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE d->>'id' IS NOT NULL AND d->>'last_updated' IS NOT NULL"
    " ORDER BY d->>'id', (d->>'last_updated')::timestamptz DESC),"
    " up AS ("
    " INSERT INTO listings AS cur (tenant_id, account_id, channel, external_id, title, status,"
    "  sub_status, price, currency, available_quantity, sold_quantity, sku, category_id, "
    "listing_type,"
    "  logistic_type, permalink, thumbnail, variation_count, date_created, last_updated, raw,"
    "  synced_at)"
    " SELECT $1, $2, 'ml', d->>'id', coalesce(d->>'title', ''), coalesce(d->>'status', ''),"
    "  ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(d->'sub_status') = 'array'"
    "   THEN d->'sub_status' ELSE '[]' END)),"
    "  (d->>'price')::numeric, d->>'currency_id', coalesce((d->>'available_quantity')::int, 0),"
    "  coalesce((d->>'sold_quantity')::int, 0),"
    "  coalesce((SELECT a->>'value_name' FROM jsonb_array_elements(CASE WHEN"
    "   jsonb_typeof(d->'attributes') = 'array' THEN d->'attributes' ELSE '[]' END) a"
    "   WHERE a->>'id' = 'SELLER_SKU' LIMIT 1), d->>'seller_custom_field'),"
    "  d->>'category_id', d->>'listing_type_id', d->'shipping'->>'logistic_type',"
    "  d->>'permalink', d->>'thumbnail',"
    "  CASE WHEN jsonb_typeof(d->'variations') = 'array' THEN jsonb_array_length(d->'variations')"
    "   ELSE 0 END,"
    "  (d->>'date_created')::timestamptz, (d->>'last_updated')::timestamptz, d, now()"
    " FROM doc"
    " ON CONFLICT (tenant_id, account_id, external_id) DO UPDATE SET title = excluded.title,"
    "  status = excluded.status, sub_status = excluded.sub_status, price = excluded.price,"
    "  currency = excluded.currency, available_quantity = excluded.available_quantity,"
    "  sold_quantity = excluded.sold_quantity,"
    "  sku = CASE WHEN cur.sku_by_hand THEN cur.sku ELSE excluded.sku END,"
    "  category_id = excluded.category_id, listing_type = excluded.listing_type,"
    "  logistic_type = excluded.logistic_type, permalink = excluded.permalink,"
    "  thumbnail = excluded.thumbnail, variation_count = excluded.variation_count,"
    "  date_created = excluded.date_created, last_updated = excluded.last_updated,"
    "  raw = excluded.raw, synced_at = excluded.synced_at"
    " WHERE excluded.last_updated >= cur.last_updated"
    " RETURNING id, raw),"
    " gone AS (DELETE FROM listing_variations v USING up WHERE v.listing_id = up.id),"
    " vars AS ("
    " INSERT INTO listing_variations (listing_id, tenant_id, account_id, channel, external_id, sku,"
    "  price, available_quantity, sold_quantity, attributes)"
    " SELECT up.id, $1, $2, 'ml', v->>'id',"
    "  (SELECT a->>'value_name' FROM jsonb_array_elements(CASE WHEN"
    "   jsonb_typeof(v->'attributes') = 'array' THEN v->'attributes' ELSE '[]' END) a"
    "   WHERE a->>'id' = 'SELLER_SKU' LIMIT 1),"
    "  (v->>'price')::numeric, coalesce((v->>'available_quantity')::int, 0),"
    "  coalesce((v->>'sold_quantity')::int, 0), coalesce(v->'attribute_combinations', '[]')"
    " FROM up, jsonb_array_elements(up.raw->'variations') v"
    " WHERE jsonb_typeof(up.raw->'variations') = 'array')"
    " SELECT count(*) FROM up";

void ml_items_upsert(app_t *app, const char *tenant_id, const char *account_id, const char *docs,
		     ml_store_cb cb, void *arg)
{
	const char *params[] = {tenant_id, account_id, docs};
	ml_store_run(app, upsert_sql, 3, params, cb, arg);
}

/* "/items/MLB123" */
static void fetch_item(struct app *app, const ml_notice_t *n, ml_notice_done_fn done, void *arg)
{
	char id[41];
	if (!ml_resource_id(n->resource, "/items/", false, 40, id, sizeof(id))) {
		done(NULL, false, "not an item resource", arg);
		return;
	}
	char path[80];
	snprintf(path, sizeof(path), "/items/%s", id);
	ml_fetch_one(app, n->tenant_id, n->account_id, path, ml_items_upsert, done, arg);
}

void ml_items_register_fetcher(void)
{
	notifications_register_topic("items", fetch_item);
}
