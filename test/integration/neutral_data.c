/* The channel-neutral synced data: /api/orders and /api/items answer each row's channel and take
 * ?channel= (an unknown one is 400; another tenant's rows never show), and migration 0013 carries
 * every Mercado Livre row into the neutral tables, nothing lost. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"

TestSuite(neutral_data, .timeout = 90);

/* SQL of any length (the harness's helpers take short statements) on the database at url,
 * stopping at the first error: psql's exit status. */
__attribute__((format(printf, 2, 3))) static int sql_at(const char *url, const char *f, ...)
{
	char *sql = NULL;
	va_list ap;
	va_start(ap, f);
	int n = vasprintf(&sql, f, ap);
	va_end(ap);
	cr_assert_geq(n, 0);
	char path[600];
	static __thread int seq;
	snprintf(path, sizeof(path), "%s/neutral-%d-%d.sql", h_env("SH_TEST_DIR"), (int)getpid(),
		 seq++);
	FILE *out = fopen(path, "w");
	cr_assert_not_null(out);
	fputs(sql, out);
	fclose(out);
	free(sql);
	return h_sh("psql -X -q '%s' -v ON_ERROR_STOP=1 -f '%s' >/dev/null", url, path);
}

/* An account of channel in the tenant, made as its channel would (SQL: no connect flow); its id
 * into id (40 bytes). */
static void add_account(const char *tenant_id, const char *channel, const char *external_id,
			char *id)
{
	cr_assert_eq(
	    ident_sql("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
		      " access_token_sealed) VALUES ('%s', '%s', '%s', 'Loja %s', 'v1:k:x')",
		      tenant_id, channel, external_id, external_id),
	    0);
	char *v = h_sql_text("SELECT id FROM accounts WHERE tenant_id = '%s' AND channel = '%s'"
			     " AND external_id = '%s'",
			     tenant_id, channel, external_id);
	snprintf(id, 40, "%s", v);
	free(v);
}

/* The rows of data.<list> as a JSON array, and the one whose field is value. */
static json_t *row_with(json_t *rows, const char *field, const char *value)
{
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *v = json_string_value(json_object_get(row, field));
		if (v && strcmp(v, value) == 0)
			return row;
	}
	return NULL;
}

static h_resp_t get(const h_proc_t *srv, const session_t *s, const char *path)
{
	h_resp_t r = ident_call(srv, "GET", path, s->access, NULL);
	cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
	return r;
}

static void assert_bad_channel(const h_proc_t *srv, const session_t *s, const char *path)
{
	h_resp_t r = ident_call(srv, "GET", path, s->access, NULL);
	cr_assert_eq(r.status, 400, "%s: %s", path, r.body);
	cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED");
	cr_assert_not_null(strstr(r.body, "\"channel\""), "%s", r.body);
	h_resp_free(&r);
}

/* ?channel=<another channel>: 400 while no such channel is registered, else only its rows. */
static void assert_other_channel(const h_proc_t *srv, const session_t *s, const char *path,
				 const char *list, const char *other_id)
{
	h_resp_t r = ident_call(srv, "GET", path, s->access, NULL);
	if (r.status == 400) {
		cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED");
	} else {
		cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
		json_t *rows = h_json_path(r.json, list);
		cr_assert_eq(json_array_size(rows), 1, "%s", r.body);
		cr_assert_not_null(row_with(rows, "id", other_id), "%s", r.body);
	}
	h_resp_free(&r);
}

Test(neutral_data, orders_and_items_carry_their_channel_and_filter_by_it)
{
	h_proc_t srv;
	cr_assert(h_server_start(&srv, NULL));
	session_t a, b;
	ident_signup(&srv, &a);
	ident_signup(&srv, &b);
	char ml[40], amz[40], b_amz[40];
	char ext[40];
	snprintf(ext, sizeof(ext), "%d", 700000 + getpid());
	add_account(a.tenant_id, "ml", ext, ml);
	add_account(a.tenant_id, "amazon", "A1NEUTRAL", amz);
	add_account(b.tenant_id, "amazon", "A1NEUTRALB", b_amz);

	/* Mercado Livre's rows through its old names (the channel comes from the account), the
	 * other channel's straight into the neutral tables. */
	cr_assert_eq(
	    sql_at(h_env("DATABASE_URL"),
		   "INSERT INTO ml_orders (tenant_id, account_id, ml_id, status, date_created,"
		   " last_updated, total_amount, raw) VALUES ('%s', '%s', 2000000001234, 'paid',"
		   " '2026-03-01T10:00:00Z', now(), 10, '{}');"
		   "INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
		   " date_created, last_updated, total_amount, raw) VALUES"
		   " ('%s', '%s', 'amazon', '113-1234567-1234567', 'paid', '2026-03-02T10:00:00Z',"
		   " now(), 20, '{\"AmazonOrderId\": \"113-1234567-1234567\"}'),"
		   " ('%s', '%s', 'amazon', '113-7654321-7654321', 'paid', '2026-03-02T10:00:00Z',"
		   " now(), 30, '{}');"
		   "INSERT INTO ml_items (tenant_id, account_id, ml_id, title, last_updated, raw) "
		   "VALUES"
		   " ('%s', '%s', 'MLB9000000001', 'Caneca', now(), '{}');"
		   "INSERT INTO listings (tenant_id, account_id, channel, external_id, title,"
		   " last_updated, raw) VALUES ('%s', '%s', 'amazon', 'B0NEUTRAL1', 'Mug', now(), "
		   "'{}'),"
		   " ('%s', '%s', 'amazon', 'B0NEUTRAL2', 'Cup', now(), '{}')",
		   a.tenant_id, ml, a.tenant_id, amz, b.tenant_id, b_amz, a.tenant_id, ml,
		   a.tenant_id, amz, b.tenant_id, b_amz),
	    0);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s' AND channel ="
			       " 'ml' AND external_id = '2000000001234'",
			       ml),
		     1);
	char *ml_order = h_sql_text("SELECT id FROM orders WHERE account_id = '%s'", ml);
	char *amz_order = h_sql_text("SELECT id FROM orders WHERE account_id = '%s'", amz);
	char *ml_item = h_sql_text("SELECT id FROM listings WHERE account_id = '%s'", ml);
	char *amz_item = h_sql_text("SELECT id FROM listings WHERE account_id = '%s'", amz);

	/* Unfiltered: both channels of the tenant, each with its channel; never the other
	 * tenant's. The list, its first page and every count path agree. */
	static const char *const all_orders[] = {"/api/orders", "/api/orders?page=1&limit=10",
						 "/api/orders?status=paid",
						 "/api/orders?from=2026-01-01"};
	for (size_t i = 0; i < sizeof(all_orders) / sizeof(*all_orders); i++) {
		h_resp_t r = get(&srv, &a, all_orders[i]);
		json_t *rows = h_json_path(r.json, "data.orders");
		cr_assert_eq(json_array_size(rows), 2, "%s: %s", all_orders[i], r.body);
		cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 2,
			     "%s: %s", all_orders[i], r.body);
		json_t *m = row_with(rows, "id", ml_order), *o = row_with(rows, "id", amz_order);
		cr_assert(m && o, "%s", r.body);
		cr_assert_str_eq(json_string_value(json_object_get(m, "channel")), "ml");
		cr_assert_eq(json_integer_value(json_object_get(m, "mlOrderId")), 2000000001234);
		cr_assert_str_eq(json_string_value(json_object_get(o, "channel")), "amazon");
		cr_assert_null(strstr(r.body, "113-7654321"), "another tenant's order: %s", r.body);
		h_resp_free(&r);
	}
	/* ?channel=ml: the Mercado Livre order alone, on every count path. */
	static const char *const ml_orders[] = {"/api/orders?channel=ml",
						"/api/orders?channel=ml&status=paid",
						"/api/orders?channel=ml&from=2026-01-01"};
	for (size_t i = 0; i < sizeof(ml_orders) / sizeof(*ml_orders); i++) {
		h_resp_t r = get(&srv, &a, ml_orders[i]);
		json_t *rows = h_json_path(r.json, "data.orders");
		cr_assert_eq(json_array_size(rows), 1, "%s: %s", ml_orders[i], r.body);
		cr_assert_not_null(row_with(rows, "id", ml_order), "%s", r.body);
		cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 1,
			     "%s: %s", ml_orders[i], r.body);
		h_resp_free(&r);
	}
	assert_other_channel(&srv, &a, "/api/orders?channel=amazon", "data.orders", amz_order);
	assert_bad_channel(&srv, &a, "/api/orders?channel=nosuch");
	assert_bad_channel(&srv, &a, "/api/orders?channel=ML");

	/* The detail says the channel too; the other tenant gets 404 for it. */
	h_resp_t r = get(&srv, &a, h_fmt("/api/orders/%s", amz_order));
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.order.channel")), "amazon");
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.order.externalId")),
			 "113-1234567-1234567");
	h_resp_free(&r);
	r = ident_call(&srv, "GET", h_fmt("/api/orders/%s", amz_order), b.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = get(&srv, &b, "/api/orders");
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 1, "%s",
		     r.body);
	cr_assert_not_null(strstr(r.body, "113-7654321"), "%s", r.body);
	cr_assert_null(strstr(r.body, ml_order), "%s", r.body);
	h_resp_free(&r);

	/* Items: the same. */
	r = get(&srv, &a, "/api/items");
	json_t *rows = h_json_path(r.json, "data.items");
	cr_assert_eq(json_array_size(rows), 2, "%s", r.body);
	cr_assert_str_eq(
	    json_string_value(json_object_get(row_with(rows, "id", ml_item), "channel")), "ml");
	cr_assert_str_eq(
	    json_string_value(json_object_get(row_with(rows, "id", amz_item), "channel")),
	    "amazon");
	cr_assert_null(strstr(r.body, "B0NEUTRAL2"), "another tenant's listing: %s", r.body);
	h_resp_free(&r);
	static const char *const ml_items[] = {"/api/items?channel=ml",
					       "/api/items?channel=ml&sort=price",
					       "/api/items?channel=ml&q=Caneca"};
	for (size_t i = 0; i < sizeof(ml_items) / sizeof(*ml_items); i++) {
		r = get(&srv, &a, ml_items[i]);
		rows = h_json_path(r.json, "data.items");
		cr_assert_eq(json_array_size(rows), 1, "%s: %s", ml_items[i], r.body);
		cr_assert_not_null(row_with(rows, "id", ml_item), "%s", r.body);
		cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 1);
		h_resp_free(&r);
	}
	r = get(&srv, &a, "/api/items?channel=ml&q=Mug");
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.items")), 0, "%s", r.body);
	h_resp_free(&r);
	assert_other_channel(&srv, &a, "/api/items?channel=amazon", "data.items", amz_item);
	assert_bad_channel(&srv, &a, "/api/items?channel=nosuch");
	r = get(&srv, &a, h_fmt("/api/items/%s", amz_item));
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.item.channel")), "amazon");
	h_resp_free(&r);
	r = ident_call(&srv, "GET", h_fmt("/api/items/%s", amz_item), b.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = get(&srv, &b, "/api/items?channel=ml");
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.items")), 0, "%s", r.body);
	h_resp_free(&r);

	free(ml_order);
	free(amz_order);
	free(ml_item);
	free(amz_item);
	h_server_stop_clean(&srv);
}

/* The neutral id beside the legacy one: row is an order, item or shipment object of channel
 * ml (the legacy field is the channel's id) or of another (the legacy field is null). */
static void assert_ids(json_t *row, const char *legacy, const char *channel, const char *ext)
{
	cr_assert_not_null(row);
	cr_assert_str_eq(json_string_value(json_object_get(row, "channel")), channel);
	cr_assert_str_eq(json_string_value(json_object_get(row, "externalId")), ext);
	json_t *old = json_object_get(row, legacy);
	cr_assert_not_null(old, "%s is always there", legacy);
	if (strcmp(channel, "ml") != 0) {
		cr_assert(json_is_null(old), "%s of a %s row", legacy, channel);
		return;
	}
	if (json_is_integer(old)) {
		char n[32];
		snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(old));
		cr_assert_str_eq(n, ext);
	} else {
		cr_assert_str_eq(json_string_value(old), ext);
	}
}

/* Orders, items and shipments of another channel than ml: each says its channel and its id as
 * externalId, the ml* id fields are null for it (and the channel's id for ml's rows), and
 * ?channel= leaves it out or keeps it alone. */
Test(neutral_data, another_channels_rows_have_external_id_not_an_ml_id)
{
	h_proc_t srv;
	cr_assert(h_server_start(&srv, NULL));
	session_t a;
	ident_signup(&srv, &a);
	char ml[40], amz[40], ext[40];
	snprintf(ext, sizeof(ext), "%d", 800000 + getpid());
	add_account(a.tenant_id, "ml", ext, ml);
	add_account(a.tenant_id, "amazon", "A1EXTERNAL", amz);
	cr_assert_eq(
	    sql_at(h_env("DATABASE_URL"),
		   "INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
		   " date_created, last_updated, total_amount, shipment_external_id, raw) VALUES"
		   " ('%s', '%s', 'ml', '2000000005678', 'paid', '2026-04-01T10:00:00Z', now(), 10,"
		   " '46000000001', '{}'),"
		   " ('%s', '%s', 'amazon', '114-0000001-0000001', 'paid', '2026-04-02T10:00:00Z',"
		   " now(), 20, 'TBA000000001', '{}');"
		   "INSERT INTO listings (tenant_id, account_id, channel, external_id, title,"
		   " last_updated, raw) VALUES ('%s', '%s', 'ml', 'MLB9000000077', 'Caneca', now(),"
		   " '{}'), ('%s', '%s', 'amazon', 'B0EXTERNAL', 'Mug', now(), '{}');"
		   "INSERT INTO shipments (tenant_id, account_id, channel, external_id, status,"
		   " date_created, last_updated, raw) VALUES ('%s', '%s', 'ml', '46000000001',"
		   " 'shipped', '2026-04-01T11:00:00Z', now(), '{}'), ('%s', '%s', 'amazon',"
		   " 'TBA000000001', 'shipped', '2026-04-02T11:00:00Z', now(), '{}')",
		   a.tenant_id, ml, a.tenant_id, amz, a.tenant_id, ml, a.tenant_id, amz,
		   a.tenant_id, ml, a.tenant_id, amz),
	    0);
	char *amz_order = h_sql_text("SELECT id FROM orders WHERE account_id = '%s'", amz);
	char *amz_item = h_sql_text("SELECT id FROM listings WHERE account_id = '%s'", amz);
	char *amz_ship = h_sql_text("SELECT id FROM shipments WHERE account_id = '%s'", amz);

	/* The lists, by each of their paths (the first page, filtered, past a cursor). */
	static const struct {
		const char *path, *rows, *legacy, *ml_ext, *amz_ext;
	} lists[] = {
	    {"/api/orders", "data.orders", "mlOrderId", "2000000005678", "114-0000001-0000001"},
	    {"/api/orders?status=paid", "data.orders", "mlOrderId", "2000000005678",
	     "114-0000001-0000001"},
	    {"/api/items", "data.items", "mlItemId", "MLB9000000077", "B0EXTERNAL"},
	    {"/api/shipments", "data.shipments", "mlShipmentId", "46000000001", "TBA000000001"},
	};
	for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		h_resp_t r = get(&srv, &a, lists[i].path);
		json_t *rows = h_json_path(r.json, lists[i].rows);
		cr_assert_eq(json_array_size(rows), 2, "%s: %s", lists[i].path, r.body);
		assert_ids(row_with(rows, "externalId", lists[i].ml_ext), lists[i].legacy, "ml",
			   lists[i].ml_ext);
		assert_ids(row_with(rows, "externalId", lists[i].amz_ext), lists[i].legacy,
			   "amazon", lists[i].amz_ext);
		h_resp_free(&r);

		/* ?channel=ml: the other channel's row is left out, on the list and its total. */
		const char *sep = strchr(lists[i].path, '?') ? "&" : "?";
		const char *only_ml = h_fmt("%s%schannel=ml", lists[i].path, sep);
		r = get(&srv, &a, only_ml);
		rows = h_json_path(r.json, lists[i].rows);
		cr_assert_eq(json_array_size(rows), 1, "%s: %s", only_ml, r.body);
		assert_ids(json_array_get(rows, 0), lists[i].legacy, "ml", lists[i].ml_ext);
		cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 1,
			     "%s: %s", only_ml, r.body);
		h_resp_free(&r);
		assert_bad_channel(&srv, &a, h_fmt("%s%schannel=nosuch", lists[i].path, sep));
	}
	/* A page of one: the cursor walks on to the other channel's shipment. */
	h_resp_t r = get(&srv, &a, "/api/shipments?limit=1");
	const char *next = json_string_value(h_json_path(r.json, "data.nextCursor"));
	cr_assert_not_null(next, "%s", r.body);
	h_resp_t r2 = get(&srv, &a, h_fmt("/api/shipments?limit=1&cursor=%s", next));
	assert_ids(json_array_get(h_json_path(r2.json, "data.shipments"), 0), "mlShipmentId", "ml",
		   "46000000001");
	h_resp_free(&r2);
	h_resp_free(&r);
	assert_other_channel(&srv, &a, "/api/shipments?channel=amazon", "data.shipments", amz_ship);

	/* A cursor whose sort key the statement cannot read fails the page but not its count:
	 * 400, as a value in the query string that PostgreSQL could not read. */
	char raw[128], hex[260];
	snprintf(raw, sizeof(raw), "not a key|%s", amz_ship);
	for (size_t i = 0; raw[i]; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)raw[i]);
	static const char *const unreadable[] = {"/api/shipments", "/api/items?sort=price"};
	for (size_t i = 0; i < sizeof(unreadable) / sizeof(*unreadable); i++) {
		const char *path = h_fmt("%s%scursor=%s", unreadable[i],
					 strchr(unreadable[i], '?') ? "&" : "?", hex);
		r = ident_call(&srv, "GET", path, a.access, NULL);
		cr_assert_eq(r.status, 400, "%s: %s", path, r.body);
		cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED");
		h_resp_free(&r);
	}

	/* The details: the same fields, and the order's shipment too. */
	r = get(&srv, &a, h_fmt("/api/orders/%s", amz_order));
	assert_ids(h_json_path(r.json, "data.order"), "mlOrderId", "amazon", "114-0000001-0000001");
	assert_ids(h_json_path(r.json, "data.shipment"), "mlShipmentId", "amazon", "TBA000000001");
	h_resp_free(&r);
	r = get(&srv, &a, h_fmt("/api/items/%s", amz_item));
	assert_ids(h_json_path(r.json, "data.item"), "mlItemId", "amazon", "B0EXTERNAL");
	h_resp_free(&r);
	r = get(&srv, &a, h_fmt("/api/shipments/%s", amz_ship));
	assert_ids(h_json_path(r.json, "data"), "mlShipmentId", "amazon", "TBA000000001");
	h_resp_free(&r);

	free(amz_order);
	free(amz_item);
	free(amz_ship);
	h_server_stop_clean(&srv);
}

/* Every table of the synced data as the old names read it: row count and a digest of the rows
 * (each row's text, in order). */
static const char *const old_tables[] = {
    "ml_items",	     "ml_item_variations", "ml_orders",	   "ml_order_items", "ml_order_payments",
    "ml_order_days", "ml_shipments",	   "ml_questions", "ml_claims",	     NULL};

static void digest(const char *url, const char *out)
{
	cr_assert_eq(h_sh("rm -f '%s'", out), 0);
	for (int i = 0; old_tables[i]; i++)
		cr_assert_eq(h_sh("psql -X -tA '%s' -c \"SELECT '%s', count(*),"
				  " md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
				  " FROM %s x\" >> '%s'",
				  url, old_tables[i], old_tables[i], out),
			     0);
}

/* A private database migrated to 0012, given Mercado Livre's synced data, then migrated on. */
Test(neutral_data, migration_0013_keeps_every_synced_row_and_what_reads_it)
{
	const char *url = h_private_db_at(12);

	/* Two tenants, three accounts; per account items with variations, orders over days and
	 * statuses with lines and payments, shipments, a question and a claim. */
	cr_assert_eq(
	    sql_at(
		url,
		"INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', "
		"'A'),"
		" ('00000000-0000-0000-0000-00000000000b', 'B');\n"
		"INSERT INTO accounts (tenant_id, channel, external_id, nickname, is_primary,"
		" access_token_sealed, refresh_token_sealed, token_expires_at)"
		" SELECT CASE WHEN g = 2 THEN '00000000-0000-0000-0000-00000000000b'::uuid"
		" ELSE '00000000-0000-0000-0000-00000000000a'::uuid END, 'ml', (1000 + g)::text,"
		" 'seller' || g, g <> 1, 'v1:k:a', 'v1:k:r', now() FROM generate_series(0, 2) g;\n"
		"INSERT INTO ml_items (tenant_id, account_id, ml_id, title, status, sub_status, "
		"price,"
		" currency, available_quantity, sold_quantity, sku, category_id, listing_type,"
		" logistic_type, permalink, thumbnail, variation_count, date_created, last_updated,"
		" raw) SELECT a.tenant_id, a.id, 'MLB' || a.external_id || g, 'Item ' || g,"
		" CASE WHEN g %% 3 = 0 THEN 'paused' ELSE 'active' END, '{deleted}', 10.5 * g, "
		"'BRL',"
		" g, 2 * g, 'SKU-' || g, 'MLB1055', 'gold_special', 'fulfillment',"
		" 'https://x/' || g, NULL, 2, now() - g * interval '1 day', now(),"
		" jsonb_build_object('id', 'MLB' || a.external_id || g)"
		" FROM accounts a, generate_series(1, 7) g;\n"
		"INSERT INTO ml_item_variations (item_id, tenant_id, account_id, variation_id, sku,"
		" price, available_quantity, sold_quantity, attributes)"
		" SELECT i.id, i.tenant_id, i.account_id, 170000000000 + v, i.sku || '-' || v,"
		" i.price, v, 0, '[{\"id\": \"COLOR\"}]' FROM ml_items i, generate_series(1, 2) "
		"v;\n"
		"INSERT INTO ml_orders (tenant_id, account_id, ml_id, status, status_detail,"
		" date_created, date_closed, last_updated, total_amount, paid_amount, currency,"
		" buyer_id, buyer_nickname, pack_id, shipping_id, tags, raw)"
		" SELECT a.tenant_id, a.id, 2000000000000 + a.external_id::bigint * 100 + g,"
		" (ARRAY['paid', 'cancelled', 'confirmed'])[1 + g %% 3], NULL,"
		" '2026-01-01T12:00:00Z'::timestamptz + (g %% 4) * interval '1 day', NULL, now(),"
		" 10 * g + 0.25, 10 * g, 'BRL', 500 + g, 'buyer' || g,"
		" CASE WHEN g %% 2 = 0 THEN 9000 + g END, 40000000000 + a.external_id::bigint * "
		"100 + g,"
		" '{paid,delivered}', jsonb_build_object('id', g) FROM accounts a,"
		" generate_series(1, 9) g;\n"
		"INSERT INTO ml_order_items (order_id, tenant_id, item_ml_id, variation_id, title, "
		"sku,"
		" quantity, unit_price, sale_fee, currency)"
		" SELECT o.id, o.tenant_id, 'MLB' || l, 170000000000 + l, 'Line ' || l, 'SKU-' || "
		"l, l,"
		" 5.5, 1.1, 'BRL' FROM ml_orders o, generate_series(1, 2) l;\n"
		"INSERT INTO ml_order_payments (order_id, tenant_id, payment_id, status, "
		"payment_type,"
		" installments, transaction_amount, total_paid_amount, marketplace_fee, currency,"
		" date_approved) SELECT o.id, o.tenant_id, o.ml_id + 7, 'approved', 'credit_card', "
		"3,"
		" o.total_amount, o.total_amount, 1.5, 'BRL', now() FROM ml_orders o;\n"
		"INSERT INTO ml_shipments (tenant_id, account_id, ml_id, status, substatus, mode,"
		" logistic_type, tracking_number, declared_value, currency, sla_status, dest_city,"
		" date_created, last_updated, raw)"
		" SELECT o.tenant_id, o.account_id, o.shipping_id, 'shipped', 'in_hub', 'me2',"
		" 'fulfillment', 'BR' || o.shipping_id, o.total_amount, 'BRL', 'on_time', 'Recife',"
		" o.date_created, now(), '{}' FROM ml_orders o WHERE o.ml_id %% 3 <> 0;\n"
		"INSERT INTO ml_questions (tenant_id, account_id, ml_id, item_ml_id, status, text,"
		" date_created, last_updated, raw) SELECT tenant_id, account_id, 77 + "
		"sold_quantity,"
		" ml_id, 'UNANSWERED', 'Tem azul?', now(), now(), '{}' FROM ml_items;\n"
		"INSERT INTO ml_claims (tenant_id, account_id, ml_id, status, last_updated, raw)"
		" SELECT tenant_id, id, 5000 + external_id::bigint, 'opened', now(), '{}'"
		" FROM accounts;\n"),
	    0);
	char before[600], after[600];
	snprintf(before, sizeof(before), "%s/data-%d.before", h_env("SH_TEST_DIR"), (int)getpid());
	snprintf(after, sizeof(after), "%s/data-%d.after", h_env("SH_TEST_DIR"), (int)getpid());
	digest(url, before);
	long long orders = h_sql_int_at(url, "SELECT count(*) FROM ml_orders");
	cr_assert_eq(orders, 27);
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM ml_shipments"), 18);

	cr_assert_eq(h_migrate(url), 0);
	cr_assert_geq(h_sql_int_at(url, "SELECT max(version) FROM schema_migrations"), 13);
	digest(url, after);
	cr_assert_eq(h_sh("cmp -s '%s' '%s'", before, after), 0,
		     "the synced data read through its old names changed (diff %s %s)", before,
		     after);

	/* The rows are in the neutral tables, each with its channel and account. */
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM orders WHERE channel = 'ml'"), orders);
	cr_assert_eq(h_sql_int_at(url, "SELECT (SELECT count(*) FROM listings WHERE channel = 'ml')"
				       " + (SELECT count(*) FROM shipments WHERE channel = 'ml')"),
		     21 + 18);
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM order_items x JOIN orders o"
				       " ON o.id = x.order_id AND o.account_id = x.account_id"
				       " AND o.channel = x.channel"),
		     2 * orders);
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM payments x JOIN orders o"
				       " ON o.id = x.order_id AND o.account_id = x.account_id"
				       " AND o.channel = x.channel"),
		     orders);
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM listing_variations v JOIN listings i"
				       " ON i.id = v.listing_id AND i.account_id = v.account_id"
				       " AND i.channel = v.channel"),
		     42);
	/* The indexes that the lists, the stats, the upserts and the sync read, by their new
	 * names. */
	cr_assert_eq(
	    h_sql_int_at(
		url,
		"SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname IN"
		" ('listings_pkey', 'listings_key', 'listings_updated_idx', 'listings_price_idx',"
		" 'listings_sold_idx', 'listings_stock_idx', 'listings_status_idx',"
		" 'listings_account_idx', 'listings_sku_idx', 'listing_variations_pkey',"
		" 'listing_variations_listing_idx', 'listing_variations_sku_idx', 'orders_pkey',"
		" 'orders_key', 'orders_created_idx', 'orders_account_idx', 'orders_status_idx',"
		" 'orders_shipment_idx', 'order_items_pkey', 'order_items_order_idx',"
		" 'payments_pkey', 'payments_order_idx', 'order_days_pkey', 'shipments_pkey',"
		" 'shipments_key', 'shipments_created_idx', 'shipments_status_idx',"
		" 'shipments_account_idx')"),
	    28);
	/* The old names are views now, every one. */
	cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM pg_class WHERE relkind = 'v' AND"
				       " relname IN ('ml_items', 'ml_item_variations', 'ml_orders',"
				       " 'ml_order_items', 'ml_order_payments', 'ml_order_days',"
				       " 'ml_shipments')"),
		     7);

	/* The per-day totals follow every write, through the old names or the new. */
	cr_assert_eq(
	    sql_at(
		url,
		"INSERT INTO ml_orders (tenant_id, account_id, ml_id, status, date_created,"
		" last_updated, total_amount, raw) SELECT tenant_id, id, 99, 'paid', now(), now(),"
		" 5, '{}' FROM accounts WHERE external_id = '1000';\n"
		"UPDATE ml_orders SET status = 'cancelled' WHERE ml_id = '2000000100001';\n"
		"UPDATE orders SET total_amount = total_amount + 1 WHERE external_id ="
		" '2000000100002';\n"
		"DELETE FROM ml_orders WHERE ml_id = '2000000100003';\n"),
	    0);
	cr_assert_eq(
	    h_sql_int_at(url,
			 "SELECT count(*) FROM (SELECT account_id, status, count(*) AS n,"
			 " sum(total_amount) AS m FROM orders GROUP BY 1, 2) o FULL JOIN"
			 " (SELECT account_id, status, sum(orders) AS n, sum(amount) AS m"
			 " FROM order_days WHERE day = '-infinity' AND orders <> 0 GROUP BY 1, 2) d"
			 " USING (account_id, status) WHERE o.n IS DISTINCT FROM d.n"
			 " OR o.m IS DISTINCT FROM d.m"),
	    0);
	cr_assert_eq(h_sql_int_at(url, "SELECT sum(orders) FROM ml_order_days"
				       " WHERE day = '-infinity'"),
		     orders);
	/* A row keeps its account's channel; deleting the account deletes its data. */
	cr_assert_neq(h_sh("psql -X -q '%s' -c \"INSERT INTO orders (tenant_id, account_id,"
			   " channel, external_id, status, date_created, last_updated, raw)"
			   " SELECT tenant_id, id, 'amazon', 'X-1', 'paid', now(), now(), '{}'"
			   " FROM accounts LIMIT 1\" >/dev/null 2>&1",
			   url),
		      0);
	char *gone = NULL;
	{
		char out[600];
		snprintf(out, sizeof(out), "%s/data-%d.gone", h_env("SH_TEST_DIR"), (int)getpid());
		cr_assert_eq(h_sh("psql -X -tA '%s' -v ON_ERROR_STOP=1 -c \"DELETE FROM accounts"
				  " WHERE external_id = '1001' RETURNING id\" | head -1 > '%s'",
				  url, out),
			     0);
		FILE *f = fopen(out, "r");
		cr_assert_not_null(f);
		char line[64] = "";
		cr_assert_not_null(fgets(line, sizeof(line), f));
		fclose(f);
		line[strcspn(line, "\n")] = '\0';
		gone = strdup(line);
	}
	static const char *const data_tables[] = {
	    "listings", "listing_variations", "orders",	   "order_items",
	    "payments", "order_days",	      "shipments", NULL};
	for (int i = 0; data_tables[i]; i++)
		cr_assert_eq(h_sql_int_at(url, "SELECT count(*) FROM %s WHERE account_id = '%s'",
					  data_tables[i], gone),
			     0, "%s kept rows of a deleted account", data_tables[i]);
	cr_assert_gt(h_sql_int_at(url, "SELECT count(*) FROM orders"), 0);
	free(gone);
	h_private_db_drop(url);
}
