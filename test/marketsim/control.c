/* The /_sim/ control API (JSON): reset with new options, list the app and sellers, add orders
 * and questions (with their notifications), change items as the site would, inject faults,
 * revoke grants and expire tokens, read back the request log and counters; the clock is in
 * clock.c. */
#include "amazon.h"
#include "marketsim.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

void h_sim_reset(ms_req_t *r)
{
	ms_t *ms = r->ms;
	json_t *body = ms_body_json(r);
	if (!body && ms_body(r)) {
		ms_reply_error(r, 400, "bad_request", "The body must be a JSON object");
		return;
	}
	ms_options_t o = ms->boot;
	char err[256];
	if (body && !ms_options_apply_json(&o, body, err, sizeof(err))) {
		json_decref(body);
		ms_reply_error(r, 400, "bad_request", "%s", err);
		return;
	}
	json_decref(body);
	ms_options_finish(&o);
	ms_state_free(ms);
	ms->opt = o;
	ms_state_build(ms);
	ms_data_t *d = ms->data;
	ms_reply_json(r, 200,
		      json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "seed", (json_int_t)o.seed,
				"sellers", (json_int_t)d->n_sellers, "items",
				(json_int_t)d->n_items, "orders", (json_int_t)d->n_orders,
				"questions", (json_int_t)d->n_questions, "claims",
				(json_int_t)d->n_claims));
}

void h_sim_sellers(ms_req_t *r)
{
	ms_t *ms = r->ms;
	json_t *list = json_array();
	for (size_t i = 0; i < ms->data->n_sellers; i++) {
		ms_seller_t *s = &ms->data->sellers[i];
		json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s}", "id",
						      (json_int_t)s->id, "nickname", s->nickname,
						      "email", s->email, "site_id", MS_SITE));
	}
	json_t *app = json_pack("{s:s, s:s}", "client_id", ms->opt.client_id, "client_secret",
				ms->opt.client_secret);
	if (ms->opt.redirect_uri[0])
		json_object_set_new(app, "redirect_uri", json_string(ms->opt.redirect_uri));
	ms_reply_json(r, 200, json_pack("{s:o, s:o}", "app", app, "sellers", list));
}

void h_sim_notify_target(ms_req_t *r)
{
	json_t *body = ms_body_json(r);
	json_t *url = json_object_get(body, "url");
	const char *u = json_is_string(url) ? json_string_value(url) : "";
	if (!body || !(json_is_string(url) || json_is_null(url)) ||
	    !ms_notify_set_target(r->ms->notify, u)) {
		json_decref(body);
		ms_reply_error(r, 400, "bad_request", "url must be an http:// URL (or null)");
		return;
	}
	snprintf(r->ms->opt.notify_url, sizeof(r->ms->opt.notify_url), "%s", u);
	json_decref(body);
	ms_reply_json(r, 200, json_pack("{s:s}", "url", r->ms->opt.notify_url));
}

/* The seller named by body.seller_id, or NULL with the error sent. */
static ms_seller_t *body_seller(ms_req_t *r, json_t *body)
{
	json_t *sid = json_object_get(body, "seller_id");
	ms_seller_t *s =
	    json_is_integer(sid) ? ms_seller_find(r->ms->data, json_integer_value(sid)) : NULL;
	if (!s)
		ms_reply_error(r, json_is_integer(sid) ? 404 : 400, "bad_request",
			       "seller_id must name a seller");
	return s;
}

static ms_item_t *body_item(ms_req_t *r, json_t *body, const ms_seller_t *s, bool required)
{
	json_t *iid = json_object_get(body, "item_id");
	if (!iid && !required)
		return NULL;
	ms_item_t *it = ms_item_find(r->ms->data, json_string_value(iid));
	if (!it || it->seller_id != s->id)
		ms_reply_error(r, 400, "bad_request", "item_id must name an item of the seller");
	return it;
}

static void sim_orders(ms_req_t *r, json_t *body)
{
	ms_t *ms = r->ms;
	ms_seller_t *s = body_seller(r, body);
	if (!s)
		return;
	ms_item_t *it = body_item(r, body, s, false);
	if (!it && r->status)
		return;
	json_t *qty = json_object_get(body, "quantity"), *status = json_object_get(body, "status");
	if (qty && (!json_is_integer(qty) || json_integer_value(qty) < 1 ||
		    json_integer_value(qty) > 100)) {
		ms_reply_error(r, 400, "bad_request", "quantity must be an integer in 1..100");
		return;
	}
	static const char *const allowed[] = {"paid", "payment_required", "payment_in_process",
					      "confirmed", "cancelled"};
	bool ok = !status;
	for (size_t i = 0; status && i < ARRAY_LEN(allowed); i++)
		ok |= json_is_string(status) && strcmp(json_string_value(status), allowed[i]) == 0;
	if (!ok) {
		ms_reply_error(r, 400, "bad_request",
			       "status must be paid, payment_required, payment_in_process, "
			       "confirmed or cancelled");
		return;
	}
	int64_t when = ms_wall_ms(ms) / 1000 * 1000;
	ms_order_t *o = ms_seed_new_order(ms->data, s, it, qty ? (int)json_integer_value(qty) : 0,
					  json_string_value(status), when);
	if (!o) {
		ms_reply_error(r, 400, "bad_request", "the seller has no items");
		return;
	}
	/* The sale takes its units from the items (a cancelled order never held any). */
	if (strcmp(json_string_value(json_object_get(o->json, "status")), "cancelled") != 0) {
		size_t k;
		json_t *line;
		json_array_foreach(json_object_get(o->json, "order_items"), k, line)
		{
			json_t *item = json_object_get(line, "item");
			ms_item_t *sold =
			    ms_item_find(ms->data, json_string_value(json_object_get(item, "id")));
			if (sold)
				ms_item_sell(
				    ms, sold,
				    json_integer_value(json_object_get(item, "variation_id")),
				    (int)json_integer_value(json_object_get(line, "quantity")));
		}
	}
	ms_reply_json(r, 201, json_incref(o->json));
	char resource[48];
	snprintf(resource, sizeof(resource), "/orders/%lld", (long long)o->id);
	ms_notify_emit(ms, "orders_v2", resource, s->id);
}

void h_sim_orders(ms_req_t *r)
{
	json_t *body = ms_body_json(r);
	if (!body) {
		ms_reply_error(r, 400, "bad_request", "The body must be a JSON object");
		return;
	}
	sim_orders(r, body);
	json_decref(body);
}

void h_sim_questions(ms_req_t *r)
{
	json_t *body = ms_body_json(r);
	ms_seller_t *s = body ? body_seller(r, body) : NULL;
	ms_item_t *it = s ? body_item(r, body, s, true) : NULL;
	json_t *text = json_object_get(body, "text");
	if (!body)
		ms_reply_error(r, 400, "bad_request", "The body must be a JSON object");
	else if (it && (!json_is_string(text) || json_string_length(text) == 0))
		ms_reply_error(r, 400, "bad_request", "text is required");
	if (r->status) {
		json_decref(body);
		return;
	}
	ms_question_t *q = ms_seed_new_question(r->ms->data, it, json_string_value(text),
						ms_wall_ms(r->ms) / 1000 * 1000);
	json_decref(body);
	ms_reply_json(r, 201, ms_question_single_view(r->ms, q));
	char resource[48];
	snprintf(resource, sizeof(resource), "/questions/%lld", (long long)q->id);
	ms_notify_emit(r->ms, "questions", resource, q->seller_id);
}

void h_sim_item_patch(ms_req_t *r)
{
	ms_item_t *it = ms_item_find(r->ms->data, r->params[0]);
	if (!it) {
		ms_reply_error(r, 404, "not_found", "Item with id %s not found", r->params[0]);
		return;
	}
	json_t *body = ms_body_json(r);
	if (!body) {
		ms_reply_error(r, 400, "bad_request", "The body must be a JSON object");
		return;
	}
	bool ok = ms_item_update(r, it, body, false);
	json_decref(body);
	if (!ok)
		return;
	ms_reply_json(r, 200, json_incref(it->json));
	char resource[48];
	snprintf(resource, sizeof(resource), "/items/%s", it->id);
	ms_notify_emit(r->ms, "items", resource, it->seller_id);
}

void h_sim_faults_add(ms_req_t *r)
{
	json_t *body = ms_body_json(r);
	char err[256];
	int ix;
	if (!body) {
		ms_reply_error(r, 400, "bad_request", "The body must be a JSON object");
		return;
	}
	if (!ms_faults_add(r->ms->faults, body, &ix, err, sizeof(err))) {
		json_decref(body);
		ms_reply_error(r, 400, "bad_request", "%s", err);
		return;
	}
	json_decref(body);
	const ms_fault_t *f = ms_faults_get(r->ms->faults, ix);
	ms_reply_json(r, 201,
		      json_pack("{s:i, s:s, s:s, s:i, s:f, s:i, s:I, s:b}", "id", ix, "path",
				f->path, "method", f->method, "status", f->status, "rate", f->rate,
				"latency_ms", f->latency_ms, "count", (json_int_t)f->count, "drop",
				f->drop));
}

void h_sim_faults_clear(ms_req_t *r)
{
	ms_faults_clear(r->ms->faults);
	ms_reply_json(r, 200, json_pack("{s:b}", "cleared", 1));
}

void h_sim_grant_revoke(ms_req_t *r)
{
	int64_t id;
	if (!ms_parse_id(r->params[0], &id) || !ms_seller_find(r->ms->data, id)) {
		ms_reply_error(r, 404, "not_found", "Unknown seller %s", r->params[0]);
		return;
	}
	ms_reply_json(r, 200, json_pack("{s:b}", "revoked", ms_auth_revoke(r->ms, id)));
}

void h_sim_tokens_expire(ms_req_t *r)
{
	json_t *body = ms_body_json(r);
	ms_seller_t *s = body ? body_seller(r, body) : NULL;
	json_decref(body);
	if (!body)
		ms_reply_error(r, 400, "bad_request", "The body must be a JSON object");
	if (!s)
		return;
	ms_reply_json(r, 200, json_pack("{s:i}", "expired_grants", ms_auth_expire(r->ms, s->id)));
}

void h_sim_requests(ms_req_t *r)
{
	long limit;
	if (!ms_arg_long(r, "limit", 100, &limit))
		return;
	ms_reply_json(
	    r, 200,
	    ms_traffic_requests(r->ms->traffic, ms_arg(r, "path"), ms_arg(r, "method"), limit));
}

void h_sim_stats(ms_req_t *r)
{
	json_t *s = ms_traffic_stats(r->ms->traffic);
	json_object_set_new(s, "notifications", ms_notify_stats(r->ms->notify));
	json_object_set_new(s, "amazon", am_op_stats(r->ms->amazon));
	ms_reply_json(r, 200, s);
}
