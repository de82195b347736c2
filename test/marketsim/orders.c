/* Orders: GET /orders/search?seller= with Mercado Livre's filters (status list, date ranges that
 * only count to the hour), date_asc/date_desc sorting and the 51-row limit, and GET /orders/{id}.
 */
#include "marketsim.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define HOUR_MS		 3600000LL
#define ORDERS_LIMIT_MAX 51

static const char *const order_statuses[] = {
    "confirmed",	  "payment_required", "payment_in_process", "partially_paid", "paid",
    "partially_refunded", "pending_cancel",   "cancelled",	    "invalid"};

struct range {
	bool has_from, has_to;
	int64_t from_h, to_h; /* whole hours since the epoch */
};

static int64_t hour_of(int64_t ms)
{
	return ms >= 0 ? ms / HOUR_MS : (ms - HOUR_MS + 1) / HOUR_MS;
}

/* Read name.from / name.to; false with a 400 sent when one is malformed. */
static bool read_range(ms_req_t *r, const char *name, struct range *out)
{
	memset(out, 0, sizeof(*out));
	const char *ends[2] = {"from", "to"};
	for (int i = 0; i < 2; i++) {
		char *key = arena_printf(r->arena, "%s.%s", name, ends[i]);
		const char *v = ms_arg(r, key);
		if (!v)
			continue;
		int64_t ms;
		if (!ms_time_parse(v, &ms)) {
			ms_reply_error(r, 400, "bad_request", "Invalid date for %s: %s", key, v);
			return false;
		}
		if (i == 0) {
			out->has_from = true;
			out->from_h = hour_of(ms);
		} else {
			out->has_to = true;
			out->to_h = hour_of(ms);
		}
	}
	return true;
}

static bool in_range(const struct range *rg, int64_t ms)
{
	if (!rg->has_from && !rg->has_to)
		return true;
	if (ms == 0)
		return false;
	int64_t h = hour_of(ms);
	return (!rg->has_from || h >= rg->from_h) && (!rg->has_to || h <= rg->to_h);
}

static bool status_listed(const char *list, const char *status)
{
	size_t n = strlen(status);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, status, n) == 0)
			return true;
		p += len + (end ? 1 : 0);
	}
	return false;
}

static bool statuses_valid(const char *list)
{
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool ok = false;
		for (size_t i = 0; i < ARRAY_LEN(order_statuses); i++)
			ok |= strlen(order_statuses[i]) == len &&
			      strncmp(order_statuses[i], p, len) == 0;
		if (!ok)
			return false;
		p += len + (end ? 1 : 0);
	}
	return true;
}

static bool has_item(const ms_order_t *o, const char *item_id)
{
	size_t k;
	json_t *line;
	json_array_foreach(json_object_get(o->json, "order_items"), k, line)
	{
		const char *id =
		    json_string_value(json_object_get(json_object_get(line, "item"), "id"));
		if (id && strcmp(id, item_id) == 0)
			return true;
	}
	return false;
}

/* Sellers' searches sort by date_closed (creation for orders never confirmed), then id. */
static const ms_order_t *sort_base;
static int sort_dir;

static int cmp_orders(const void *a, const void *b)
{
	const ms_order_t *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
	int64_t kx = x->closed_ms ? x->closed_ms : x->created_ms;
	int64_t ky = y->closed_ms ? y->closed_ms : y->created_ms;
	int c = kx != ky ? (kx < ky ? -1 : 1) : (x->id < y->id ? -1 : x->id > y->id);
	return c * sort_dir;
}

void h_orders_search(ms_req_t *r)
{
	ms_data_t *d = r->ms->data;
	const char *seller_s = ms_arg(r, "seller");
	int64_t seller_id;
	if (!seller_s) {
		ms_reply_error(r, 400, "bad_request", "The seller or buyer parameter is required");
		return;
	}
	if (!ms_parse_id(seller_s, &seller_id)) {
		ms_reply_error(r, 400, "bad_request", "Invalid seller: %s", seller_s);
		return;
	}
	if (seller_id != r->seller->id) {
		ms_reply_error(r, 403, ms_error_code(403), "caller.id does not match the seller");
		return;
	}
	long limit, offset;
	if (!ms_arg_long(r, "limit", 50, &limit) || !ms_arg_long(r, "offset", 0, &offset))
		return;
	if (limit > ORDERS_LIMIT_MAX) {
		ms_reply_error(r, 400, "bad_request", "Limit must be a lower or equal than 51");
		return;
	}
	const char *status = ms_arg(r, "order.status");
	if (status && !statuses_valid(status)) {
		ms_reply_error(r, 400, "bad_request", "Invalid order.status: %s", status);
		return;
	}
	const char *sort = ms_arg(r, "sort") ? ms_arg(r, "sort") : "date_asc";
	if (strcmp(sort, "date_asc") != 0 && strcmp(sort, "date_desc") != 0) {
		ms_reply_error(r, 400, "bad_request", "Invalid sort: %s", sort);
		return;
	}
	struct range created, closed, updated;
	if (!read_range(r, "order.date_created", &created) ||
	    !read_range(r, "order.date_closed", &closed) ||
	    !read_range(r, "order.date_last_updated", &updated))
		return;
	const char *item = ms_arg(r, "item"), *q = ms_arg(r, "q");
	int64_t q_id = 0;
	if (q && !ms_parse_id(q, &q_id))
		q_id = -1;

	size_t *ix = xcalloc(d->n_orders ? d->n_orders : 1, sizeof(*ix)), n = 0;
	for (size_t i = 0; i < d->n_orders; i++) {
		const ms_order_t *o = &d->orders[i];
		if (o->seller_id != seller_id)
			continue;
		if (status &&
		    !status_listed(status, json_string_value(json_object_get(o->json, "status"))))
			continue;
		if (!in_range(&created, o->created_ms) || !in_range(&closed, o->closed_ms) ||
		    !in_range(&updated, o->updated_ms))
			continue;
		if (item && !has_item(o, item))
			continue;
		if (q && o->id != q_id && !has_item(o, q))
			continue;
		ix[n++] = i;
	}
	sort_base = d->orders;
	sort_dir = strcmp(sort, "date_desc") == 0 ? -1 : 1;
	qsort(ix, n, sizeof(*ix), cmp_orders);
	json_t *results = json_array();
	for (size_t i = (size_t)offset; i < n && i < (size_t)offset + (size_t)limit; i++)
		json_array_append(results, d->orders[ix[i]].json);
	free(ix);
	bool asc = sort_dir > 0;
	ms_reply_json(
	    r, 200,
	    json_pack("{s:s?, s:o, s:{s:s, s:s}, s:[{s:s, s:s}], s:[], s:{s:I, s:I, s:I}, s:s}",
		      "query", q, "results", results, "sort", "id", sort, "name",
		      asc ? "Date ascending" : "Date descending", "available_sorts", "id",
		      asc ? "date_desc" : "date_asc", "name",
		      asc ? "Date descending" : "Date ascending", "filters", "paging", "total",
		      (json_int_t)n, "offset", (json_int_t)offset, "limit", (json_int_t)limit,
		      "display", "complete"));
}

void h_order_get(ms_req_t *r)
{
	int64_t id;
	if (!ms_parse_id(r->params[0], &id)) {
		ms_reply_error(r, 400, "invalid_order_id", "Invalid order id: %s", r->params[0]);
		return;
	}
	ms_order_t *o = ms_order_find(r->ms->data, id);
	if (!o) {
		ms_reply_error(r, 404, "order_not_found", "Order %lld not found", (long long)id);
		return;
	}
	if (o->seller_id != r->seller->id) {
		ms_reply_error(r, 403, "not_owned_order",
			       "The order %lld does not belong to the caller", (long long)id);
		return;
	}
	ms_reply_json(r, 200, json_incref(o->json));
}
