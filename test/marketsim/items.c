/* Items: a seller's item search (offset paging capped at 1000, and search_type=scan with an
 * expiring scroll_id), one item, the two multiget forms (/items?ids= and /items/bulk?ids=) and
 * PUT /items/{id} with Mercado Livre's stock and status rules. */
#include "marketsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

#define OFFSET_CAP   1000
#define MULTIGET_MAX 20

struct scroll {
	size_t *ix; /* matching item indices, snapshotted at the first call; NULL once done */
	size_t n, pos, limit;
	int64_t seller_id;
	int64_t expires_us;
};

struct ms_scrolls {
	strmap_t *map;
};

struct ms_scrolls *ms_scrolls_new(void)
{
	struct ms_scrolls *s = xcalloc(1, sizeof(*s));
	s->map = strmap_new();
	return s;
}

static void scroll_free(void *p)
{
	struct scroll *s = p;
	free(s->ix);
	free(s);
}

void ms_scrolls_free(struct ms_scrolls *s)
{
	if (!s)
		return;
	strmap_free(s->map, scroll_free);
	free(s);
}

/* ---- views ---- */

/* Other sellers see a range bucket instead of the real stock. */
static int quantity_bucket(json_int_t q)
{
	static const int buckets[] = {50000, 5000, 500, 250, 200, 150, 100, 50, 1};
	for (size_t i = 0; i < ARRAY_LEN(buckets); i++)
		if (q >= buckets[i])
			return buckets[i];
	return 0;
}

json_t *ms_item_view(const ms_item_t *it, const ms_seller_t *caller)
{
	if (caller && caller->id == it->seller_id)
		return json_incref(it->json);
	json_t *v = json_deep_copy(it->json);
	static const char *const owner_only[] = {"sold_quantity", "start_time", "stop_time",
						 "channels", "initial_quantity"};
	for (size_t i = 0; i < ARRAY_LEN(owner_only); i++)
		json_object_del(v, owner_only[i]);
	json_object_set_new(v, "available_quantity",
			    json_integer(quantity_bucket(
				json_integer_value(json_object_get(v, "available_quantity")))));
	size_t k;
	json_t *var;
	json_array_foreach(json_object_get(v, "variations"), k, var)
	{
		json_object_del(var, "sold_quantity");
		json_object_set_new(var, "available_quantity",
				    json_integer(quantity_bucket(json_integer_value(
					json_object_get(var, "available_quantity")))));
	}
	return v;
}

/* ---- GET /users/{id}/items/search ---- */

static const char *item_str(const ms_item_t *it, const char *key)
{
	const char *s = json_string_value(json_object_get(it->json, key));
	return s ? s : "";
}

static bool has_sku(const ms_item_t *it, const char *sku)
{
	json_t *holders[64];
	size_t nh = 0, k;
	json_t *var;
	holders[nh++] = it->json;
	json_array_foreach(json_object_get(it->json, "variations"), k, var)
	{
		if (nh < ARRAY_LEN(holders))
			holders[nh++] = var;
	}
	for (size_t h = 0; h < nh; h++) {
		json_t *a;
		json_array_foreach(json_object_get(holders[h], "attributes"), k, a)
		{
			const char *id = json_string_value(json_object_get(a, "id"));
			const char *v = json_string_value(json_object_get(a, "value_name"));
			if (id && v && strcmp(id, "SELLER_SKU") == 0 && strcmp(v, sku) == 0)
				return true;
		}
	}
	return false;
}

static const ms_data_t *sort_data;
static bool sort_desc;
static const char *sort_key;

/* Timestamps share one offset, so their strings sort chronologically. */
static int cmp_items(const void *a, const void *b)
{
	const ms_item_t *x = &sort_data->items[*(const size_t *)a];
	const ms_item_t *y = &sort_data->items[*(const size_t *)b];
	int c = strcmp(item_str(x, sort_key), item_str(y, sort_key));
	if (c == 0)
		c = strcmp(x->id, y->id) < 0 ? -1 : 1;
	return sort_desc ? -c : c;
}

static json_t *sort_json(const char *id)
{
	static const struct {
		const char *id, *name;
	} names[] = {{"stop_time_asc", "Por data de finalização (ascendente)"},
		     {"stop_time_desc", "Por data de finalização (descendente)"},
		     {"start_time_asc", "Por data de início (ascendente)"},
		     {"start_time_desc", "Por data de início (descendente)"}};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(names[i].id, id) == 0)
			return json_pack("{s:s, s:s}", "id", names[i].id, "name", names[i].name);
	return NULL;
}

/* Indices of the seller's items matching the request's filters, in the requested order. */
static size_t *matching_items(ms_req_t *r, int64_t seller_id, const char *order, size_t *n)
{
	ms_data_t *d = r->ms->data;
	const char *status = ms_arg(r, "status"), *sku = ms_arg(r, "seller_sku");
	const char *custom = ms_arg(r, "sku");
	size_t *ix = xcalloc(d->n_items ? d->n_items : 1, sizeof(*ix));
	size_t count = 0;
	for (size_t i = 0; i < d->n_items; i++) {
		const ms_item_t *it = &d->items[i];
		if (it->seller_id != seller_id)
			continue;
		if (status && strcmp(item_str(it, "status"), status) != 0)
			continue;
		if (sku && !has_sku(it, sku))
			continue;
		if (custom && strcmp(item_str(it, "seller_custom_field"), custom) != 0)
			continue;
		ix[count++] = i;
	}
	sort_data = d;
	sort_desc = strstr(order, "_desc") != NULL;
	sort_key = strncmp(order, "start", 5) == 0 ? "start_time" : "stop_time";
	qsort(ix, count, sizeof(*ix), cmp_items);
	*n = count;
	return ix;
}

static json_t *search_body(ms_req_t *r, int64_t seller_id, const char *order, json_t *paging,
			   json_t *results)
{
	char sid[24];
	snprintf(sid, sizeof(sid), "%lld", (long long)seller_id);
	json_t *available = json_array();
	static const char *const all[] = {"stop_time_asc", "stop_time_desc", "start_time_asc",
					  "start_time_desc"};
	for (size_t i = 0; i < ARRAY_LEN(all); i++)
		if (strcmp(all[i], order) != 0)
			json_array_append_new(available, sort_json(all[i]));
	return json_pack("{s:s, s:n, s:o, s:o, s:[o], s:o}", "seller_id", sid, "query", "paging",
			 paging, "results", results, "orders", sort_json(order), "available_orders",
			 available);
}

static json_t *ids_of(ms_data_t *d, const size_t *ix, size_t from, size_t to)
{
	json_t *a = json_array();
	for (size_t i = from; i < to; i++)
		json_array_append_new(a, json_string(d->items[ix[i]].id));
	return a;
}

static void scan(ms_req_t *r, int64_t seller_id, const char *order, long limit)
{
	ms_t *ms = r->ms;
	const char *scroll_id = ms_arg(r, "scroll_id");
	struct scroll *s;
	char id[64];
	if (scroll_id) {
		s = strmap_get(ms->scrolls->map, scroll_id);
		if (!s || s->seller_id != seller_id || ms_now_us(ms) > s->expires_us) {
			ms_reply_error(r, 400, "bad_request", "Invalid or expired scroll_id");
			return;
		}
		snprintf(id, sizeof(id), "%s", scroll_id);
	} else {
		s = xcalloc(1, sizeof(*s));
		s->seller_id = seller_id;
		s->limit = (size_t)limit;
		s->ix = matching_items(r, seller_id, order, &s->n);
		unsigned char raw[16];
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			die("marketsim: getrandom failed");
		int n = 0;
		for (size_t i = 0; i < sizeof(raw); i++)
			n += snprintf(id + n, sizeof(id) - (size_t)n, "%02x", raw[i]);
		free(strmap_put(ms->scrolls->map, id, s));
	}
	s->expires_us = ms_now_us(ms) + (int64_t)(ms->opt.scroll_ttl * 1e6);
	size_t from = s->pos, to = s->pos + s->limit < s->n ? s->pos + s->limit : s->n;
	json_t *results = s->ix ? ids_of(ms->data, s->ix, from, to) : json_array();
	s->pos = to;
	json_t *body = search_body(
	    r, seller_id, order,
	    json_pack("{s:I, s:I}", "limit", (json_int_t)s->limit, "total", (json_int_t)s->n),
	    results);
	json_object_set_new(body, "scroll_id", json_string(id));
	if (s->ix && s->pos >= s->n) { /* keep the scroll, drop its snapshot */
		free(s->ix);
		s->ix = NULL;
	}
	ms_reply_json(r, 200, body);
}

void h_items_search(ms_req_t *r)
{
	int64_t seller_id;
	if (!ms_parse_id(r->params[0], &seller_id) || !ms_seller_find(r->ms->data, seller_id)) {
		ms_reply_error(r, 404, "not_found", "User not found");
		return;
	}
	if (seller_id != r->seller->id) {
		ms_reply_error(r, 403, ms_error_code(403),
			       "Caller is not the owner of these items");
		return;
	}
	const char *status = ms_arg(r, "status");
	static const char *const statuses[] = {"active",  "paused",	    "closed",
					       "pending", "not_yet_active", "programmed"};
	bool ok = !status;
	for (size_t i = 0; status && i < ARRAY_LEN(statuses); i++)
		ok |= strcmp(status, statuses[i]) == 0;
	if (!ok) {
		ms_reply_error(r, 400, "bad_request", "Invalid status: %s", status);
		return;
	}
	const char *order = ms_arg(r, "orders") ? ms_arg(r, "orders") : "stop_time_asc";
	json_t *order_json = sort_json(order);
	if (!order_json) {
		ms_reply_error(r, 400, "bad_request", "Invalid order: %s", order);
		return;
	}
	json_decref(order_json);
	long limit, offset;
	if (!ms_arg_long(r, "limit", 50, &limit) || !ms_arg_long(r, "offset", 0, &offset))
		return;
	if (limit > 100) {
		ms_reply_error(r, 400, "bad_request", "Limit must be a lower or equal than 100");
		return;
	}
	const char *type = ms_arg(r, "search_type");
	if (type && strcmp(type, "scan") == 0) {
		if (ms_arg(r, "offset")) {
			ms_reply_error(r, 400, "bad_request",
				       "offset can not be used with search_type=scan");
			return;
		}
		scan(r, seller_id, order, limit);
		return;
	}
	if (offset >= OFFSET_CAP) {
		ms_reply_error(r, 400, "bad_request",
			       "The requested offset is higher than the allowed (%d). Use "
			       "search_type=scan to go further",
			       OFFSET_CAP);
		return;
	}
	size_t n;
	size_t *ix = matching_items(r, seller_id, order, &n);
	size_t from = (size_t)offset < n ? (size_t)offset : n;
	size_t to = from + (size_t)limit;
	if (to > n)
		to = n;
	if (to > OFFSET_CAP) /* offset paging never reaches past the 1000th result */
		to = OFFSET_CAP;
	json_t *results = ids_of(r->ms->data, ix, from, to);
	free(ix);
	ms_reply_json(r, 200,
		      search_body(r, seller_id, order,
				  json_pack("{s:I, s:I, s:I}", "limit", (json_int_t)limit, "offset",
					    (json_int_t)offset, "total", (json_int_t)n),
				  results));
}

/* ---- GET /items/{id}, multiget ---- */

void h_item_get(ms_req_t *r)
{
	ms_item_t *it = ms_item_find(r->ms->data, r->params[0]);
	if (!it) {
		ms_reply_error(r, 404, "not_found", "Item with id %s not found", r->params[0]);
		return;
	}
	ms_reply_json(r, 200, ms_item_view(it, r->seller));
}

/* Keep only the selected attributes (a comma list, each with `prefix` in front). */
static json_t *select_fields(json_t *body, const char *attrs, const char *prefix)
{
	if (!attrs)
		return body;
	json_t *out = json_object();
	size_t plen = strlen(prefix);
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		for (const char *p = attrs; *p;) {
			const char *end = strchr(p, ',');
			size_t n = end ? (size_t)(end - p) : strlen(p);
			if (n == plen + strlen(key) && strncmp(p, prefix, plen) == 0 &&
			    strncmp(p + plen, key, strlen(key)) == 0) {
				json_object_set(out, key, v);
				break;
			}
			p += n + (end ? 1 : 0);
		}
	}
	json_decref(body);
	return out;
}

static void multiget(ms_req_t *r, bool bulk)
{
	const char *ids = ms_arg(r, "ids");
	if (!ids || !*ids) {
		ms_reply_error(r, 400, "bad_request", "ids is required");
		return;
	}
	size_t count = 1;
	for (const char *p = ids; *p; p++)
		count += *p == ',';
	if (count > MULTIGET_MAX) {
		ms_reply_error(r, 400, "bad_request", "Max %d ids per request", MULTIGET_MAX);
		return;
	}
	const char *attrs = ms_arg(r, "attributes");
	json_t *out = json_array();
	for (const char *p = ids; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *id = arena_strndup(r->arena, p, n);
		p += n + (end ? 1 : 0);
		ms_item_t *it = ms_item_find(r->ms->data, id);
		int code = it ? 200 : 404;
		json_t *body =
		    it ? select_fields(ms_item_view(it, r->seller), attrs, bulk ? "body." : "")
		       : json_pack("{s:s, s:s, s:i, s:[]}", "message",
				   arena_printf(r->arena, "Item with id %s not found", id), "error",
				   "not_found", "status", 404, "cause");
		if (bulk)
			json_array_append_new(out, json_pack("{s:s, s:i, s:o}", "id", id,
							     "status_code", code, "body", body));
		else
			json_array_append_new(out,
					      json_pack("{s:i, s:o}", "code", code, "body", body));
	}
	ms_reply_json(r, 200, out);
}

void h_items_multiget(ms_req_t *r)
{
	multiget(r, false);
}

void h_items_bulk(ms_req_t *r)
{
	multiget(r, true);
}

/* ---- PUT /items/{id} ---- */

static void set_sub_status(json_t *item, const char *sub)
{
	json_object_set_new(item, "sub_status", sub ? json_pack("[s]", sub) : json_array());
}

static bool has_sub_status(json_t *item, const char *sub)
{
	size_t k;
	json_t *v;
	json_array_foreach(json_object_get(item, "sub_status"), k, v)
	{
		if (strcmp(json_string_value(v), sub) == 0)
			return true;
	}
	return false;
}

static json_t *find_variation(json_t *item, json_t *id)
{
	size_t k;
	json_t *var;
	json_array_foreach(json_object_get(item, "variations"), k, var)
	{
		if (json_equal(json_object_get(var, "id"), id))
			return var;
	}
	return NULL;
}

/* The item's stock is now new_qty. Zero stock pauses (new, non-free items); stock back
 * reactivates, unless the seller paused the item themselves. */
static void set_stock(json_t *j, json_int_t new_qty)
{
	json_object_set_new(j, "available_quantity", json_integer(new_qty));
	bool pausable =
	    strcmp(json_string_value(json_object_get(j, "condition")), "new") == 0 &&
	    strcmp(json_string_value(json_object_get(j, "listing_type_id")), "free") != 0;
	const char *now_status = json_string_value(json_object_get(j, "status"));
	if (new_qty == 0 && strcmp(now_status, "active") == 0 && pausable) {
		json_object_set_new(j, "status", json_string("paused"));
		set_sub_status(j, "out_of_stock");
	} else if (new_qty > 0 && has_sub_status(j, "out_of_stock")) {
		json_object_set_new(j, "status", json_string("active"));
		set_sub_status(j, NULL);
	}
}

void ms_item_sell(ms_t *ms, ms_item_t *it, int64_t variation_id, int qty)
{
	json_t *j = it->json;
	json_t *vars = json_object_get(j, "variations");
	json_t *sold = json_object_get(j, "sold_quantity");
	json_object_set_new(j, "sold_quantity", json_integer(json_integer_value(sold) + qty));
	json_int_t new_qty;
	if (json_array_size(vars) > 0) {
		json_t *vid = json_integer(variation_id);
		json_t *v = find_variation(j, vid);
		json_decref(vid);
		if (v) {
			json_int_t left =
			    json_integer_value(json_object_get(v, "available_quantity")) - qty;
			json_object_set_new(v, "available_quantity",
					    json_integer(left > 0 ? left : 0));
			json_object_set_new(
			    v, "sold_quantity",
			    json_integer(json_integer_value(json_object_get(v, "sold_quantity")) +
					 qty));
		}
		new_qty = 0;
		size_t k;
		json_array_foreach(vars, k, v)
		{
			new_qty += json_integer_value(json_object_get(v, "available_quantity"));
		}
	} else {
		new_qty = json_integer_value(json_object_get(j, "available_quantity")) - qty;
		new_qty = new_qty > 0 ? new_qty : 0;
	}
	set_stock(j, new_qty);
	json_object_set_new(j, "last_updated", ms_time_json(ms_wall_ms(ms)));
}

static bool invalid(ms_req_t *r, const char *msg)
{
	ms_reply_error(r, 400, "validation_error", "%s", msg);
	return false;
}

/* The SELLER_SKU attribute (added when missing) and seller_custom_field both become sku. */
static void set_seller_sku(json_t *item, const char *sku)
{
	json_t *attrs = json_object_get(item, "attributes");
	size_t k;
	json_t *a;
	json_array_foreach(attrs, k, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "id")), "SELLER_SKU") == 0) {
			json_object_set_new(a, "value_name", json_string(sku));
			json_object_set_new(item, "seller_custom_field", json_string(sku));
			return;
		}
	}
	if (json_is_array(attrs))
		json_array_append_new(attrs, json_pack("{s:s, s:s, s:n, s:s, s:s}", "id",
						       "SELLER_SKU", "name", "SKU", "value_id",
						       "value_name", sku, "value_type", "string"));
	json_object_set_new(item, "seller_custom_field", json_string(sku));
}

bool ms_item_update(ms_req_t *r, ms_item_t *it, json_t *body, bool as_seller)
{
	json_t *j = it->json;
	json_t *price = json_object_get(body, "price");
	json_t *qty = json_object_get(body, "available_quantity");
	json_t *status = json_object_get(body, "status");
	json_t *title = json_object_get(body, "title");
	json_t *vars = json_object_get(body, "variations");
	json_t *deleted = json_object_get(body, "deleted");
	/* The control API only (the site's seller edits attributes): the item's SKU. */
	json_t *sku = as_seller ? NULL : json_object_get(body, "seller_sku");
	const char *cur = json_string_value(json_object_get(j, "status"));
	bool has_vars = json_array_size(json_object_get(j, "variations")) > 0;

	/* Validate everything before changing anything. */
	if (strcmp(cur, "closed") == 0 && !deleted && !(status && !as_seller))
		return invalid(r, "Item is closed and can not be modified");
	if (price && (!json_is_number(price) || json_number_value(price) <= 0))
		return invalid(r, "price must be a positive number");
	if (qty && (!json_is_integer(qty) || json_integer_value(qty) < 0))
		return invalid(r, "available_quantity must be a non-negative integer");
	if (qty && has_vars)
		return invalid(r, "Stock of an item with variations is set per variation");
	if (status &&
	    (!json_is_string(status) || (strcmp(json_string_value(status), "active") != 0 &&
					 strcmp(json_string_value(status), "paused") != 0 &&
					 strcmp(json_string_value(status), "closed") != 0)))
		return invalid(r, "status must be active, paused or closed");
	if (title && (!json_is_string(title) || json_string_length(title) == 0 ||
		      json_string_length(title) > 60))
		return invalid(r, "title must have 1 to 60 characters");
	if (title && as_seller && json_integer_value(json_object_get(j, "sold_quantity")) > 0)
		return invalid(r, "title can only be changed while the item has no sales");
	if (deleted && (strcmp(cur, "closed") != 0 || !json_is_string(deleted) ||
			strcmp(json_string_value(deleted), "true") != 0))
		return invalid(r, "Only closed items can be deleted, with \"deleted\":\"true\"");
	if (sku && (!json_is_string(sku) || json_string_length(sku) == 0))
		return invalid(r, "seller_sku must be a non-empty string");
	if (vars) {
		size_t k;
		json_t *v;
		if (!json_is_array(vars))
			return invalid(r, "variations must be an array");
		json_array_foreach(vars, k, v)
		{
			json_t *vq = json_object_get(v, "available_quantity");
			if (!find_variation(j, json_object_get(v, "id")))
				return invalid(r, "Unknown variation id");
			if (vq && (!json_is_integer(vq) || json_integer_value(vq) < 0))
				return invalid(r,
					       "available_quantity must be a non-negative integer");
		}
	}

	if (title)
		json_object_set(j, "title", title);
	if (sku)
		set_seller_sku(j, json_string_value(sku));
	if (price) {
		json_t *p = json_real(json_number_value(price));
		json_object_set(j, "price", p);
		json_object_set(j, "base_price", p);
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(j, "variations"), k, v)
		{
			json_object_set(v, "price", p);
		}
		json_decref(p);
	}
	json_int_t new_qty = json_integer_value(json_object_get(j, "available_quantity"));
	bool stock_changed = false;
	if (vars) {
		size_t k;
		json_t *v;
		json_array_foreach(vars, k, v)
		{
			json_t *vq = json_object_get(v, "available_quantity");
			if (vq)
				json_object_set(find_variation(j, json_object_get(v, "id")),
						"available_quantity", vq);
			if (vq && as_seller) {
				char vid[32];
				snprintf(vid, sizeof(vid), "%lld",
					 (long long)json_integer_value(json_object_get(v, "id")));
				ms_stock_write(r->ms, "ml", it->id, vid, json_integer_value(vq));
			}
		}
		new_qty = 0;
		json_array_foreach(json_object_get(j, "variations"), k, v)
		{
			new_qty += json_integer_value(json_object_get(v, "available_quantity"));
		}
		stock_changed = true;
	}
	if (qty) {
		new_qty = json_integer_value(qty);
		stock_changed = true;
		if (as_seller)
			ms_stock_write(r->ms, "ml", it->id, NULL, new_qty);
	}
	if (stock_changed)
		set_stock(j, new_qty);
	if (status) {
		const char *s = json_string_value(status);
		json_int_t stock = json_integer_value(json_object_get(j, "available_quantity"));
		if (strcmp(s, "active") == 0 && stock == 0) {
			json_object_set_new(j, "status", json_string("paused"));
			set_sub_status(j, "out_of_stock");
		} else {
			json_object_set_new(j, "status", json_string(s));
			set_sub_status(j, strcmp(s, "paused") == 0 ? "paused_by_seller" : NULL);
		}
	}
	if (deleted)
		set_sub_status(j, "deleted");
	json_object_set_new(j, "last_updated", ms_time_json(ms_wall_ms(r->ms)));
	return true;
}

void h_item_put(ms_req_t *r)
{
	ms_item_t *it = ms_item_find(r->ms->data, r->params[0]);
	if (!it) {
		ms_reply_error(r, 404, "not_found", "Item with id %s not found", r->params[0]);
		return;
	}
	if (it->seller_id != r->seller->id) {
		ms_reply_error(r, 403, ms_error_code(403), "Caller is not the owner of item %s",
			       it->id);
		return;
	}
	json_t *body = ms_body_json(r);
	if (!body) {
		ms_reply_error(r, 400, "bad_request", "The body must be a JSON object");
		return;
	}
	bool ok = ms_item_update(r, it, body, true);
	json_decref(body);
	if (!ok)
		return;
	ms_reply_json(r, 200, ms_item_view(it, r->seller));
	char resource[48];
	snprintf(resource, sizeof(resource), "/items/%s", it->id);
	ms_notify_emit(r->ms, "items", resource, it->seller_id);
}
