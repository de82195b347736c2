/* marketsim: orders search (limit, sorting, status and hour-granular date filters), orders,
 * shipments (x-format-new), questions and answers, claims and users. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marketsim_helpers.h"

static h_proc_t sim;
static msh_app_t app;
static msh_tokens_t tok;

static void start(void)
{
	const char *args[] = {
	    "--orders", "400", "--questions", "120", "--now", "2026-03-01T12:00:00Z", NULL};
	msh_start(&sim, &app, args);
	msh_login(&sim, &app, app.sellers[0], &tok);
}

static void stop(void)
{
	msh_stop(&sim);
}

TestSuite(marketsim_orders, .init = start, .fini = stop, .timeout = 30);

static h_resp_t orders(const char *query)
{
	char path[768];
	snprintf(path, sizeof(path), "/orders/search?seller=%lld%s", (long long)app.sellers[0],
		 query);
	return msh_get(&sim, tok.access, path);
}

static int64_t parse_time(const char *s)
{
	/* "2026-01-10T14:03:22.000-03:00" → ms since the epoch */
	struct tm tm = {0};
	int ms = 0, oh = 0, om = 0;
	char sign = '+';
	sscanf(s, "%d-%d-%dT%d:%d:%d.%d%c%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	       &tm.tm_min, &tm.tm_sec, &ms, &sign, &oh, &om);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t t = (int64_t)timegm(&tm) * 1000 + ms;
	int64_t off = ((int64_t)oh * 60 + om) * 60000;
	return sign == '-' ? t + off : t - off;
}

/* Every order of the seller, by paging with limit 50. */
static json_t *all_orders(const char *query)
{
	json_t *all = json_array();
	for (int off = 0;; off += 50) {
		char q[512];
		snprintf(q, sizeof(q), "%s&offset=%d&limit=50", query, off);
		h_resp_t r = orders(q);
		cr_assert_eq(r.status, 200, "%s", r.body);
		json_t *res = json_object_get(r.json, "results");
		json_array_extend(all, res);
		json_int_t total =
		    json_integer_value(json_object_get(json_object_get(r.json, "paging"), "total"));
		size_t n = json_array_size(res);
		h_resp_free(&r);
		if (n == 0 || (json_int_t)json_array_size(all) >= total)
			break;
	}
	return all;
}

static int64_t sort_key(json_t *o)
{
	json_t *c = json_object_get(o, "date_closed");
	return parse_time(json_is_string(c) ? json_string_value(c) : msh_str(o, "date_created"));
}

Test(marketsim_orders, search_shape_limit_paging_and_sort)
{
	h_resp_t r = orders("");
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *paging = json_object_get(r.json, "paging");
	json_int_t total = json_integer_value(json_object_get(paging, "total"));
	cr_assert_gt(total, 100);
	cr_assert_eq(json_integer_value(json_object_get(paging, "limit")), 50);
	cr_assert_eq(json_integer_value(json_object_get(paging, "offset")), 0);
	cr_assert_str_eq(msh_str(json_object_get(r.json, "sort"), "id"), "date_asc");
	cr_assert(json_is_array(json_object_get(r.json, "available_sorts")));
	cr_assert_str_eq(msh_str(r.json, "display"), "complete");
	json_t *o = json_array_get(json_object_get(r.json, "results"), 0);
	cr_assert(json_is_integer(json_object_get(o, "id")));
	cr_assert_str_eq(msh_str(o, "currency_id"), "BRL");
	cr_assert(json_is_number(json_object_get(o, "total_amount")));
	json_t *lines = json_object_get(o, "order_items");
	cr_assert(json_array_size(lines) >= 1 && json_array_size(lines) <= 3);
	json_t *item = json_object_get(json_array_get(lines, 0), "item");
	cr_assert(strncmp(msh_str(item, "id"), "MLB", 3) == 0);
	cr_assert(json_is_string(json_object_get(item, "seller_sku")));
	cr_assert(json_is_integer(json_object_get(json_array_get(lines, 0), "quantity")));
	json_t *pay = json_array_get(json_object_get(o, "payments"), 0);
	cr_assert(json_is_integer(json_object_get(pay, "id")));
	cr_assert(json_is_string(json_object_get(pay, "status")));
	cr_assert(json_is_integer(json_object_get(json_object_get(o, "shipping"), "id")));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "seller"), "id")),
		     app.sellers[0]);
	h_resp_free(&r);

	h_resp_t big = orders("&limit=52");
	msh_assert_error(&big, 400, "bad_request");
	cr_assert_str_eq(msh_str(big.json, "message"), "Limit must be a lower or equal than 51");
	h_resp_free(&big);
	h_resp_t max = orders("&limit=51");
	cr_assert_eq(json_array_size(json_object_get(max.json, "results")), 51);
	h_resp_free(&max);

	json_t *asc = all_orders("");
	cr_assert_eq((json_int_t)json_array_size(asc), total, "paging reaches every order once");
	json_t *ids = json_object();
	for (size_t i = 0; i < json_array_size(asc); i++) {
		json_t *x = json_array_get(asc, i);
		char k[32];
		snprintf(k, sizeof(k), "%lld",
			 (long long)json_integer_value(json_object_get(x, "id")));
		json_object_set_new(ids, k, json_true());
		if (i)
			cr_assert_geq(sort_key(x), sort_key(json_array_get(asc, i - 1)));
	}
	cr_assert_eq((json_int_t)json_object_size(ids), total);
	json_t *desc = all_orders("&sort=date_desc");
	cr_assert(
	    json_equal(json_array_get(desc, 0), json_array_get(asc, json_array_size(asc) - 1)));
	h_resp_t bad = orders("&sort=price_asc");
	cr_assert_eq(bad.status, 400);
	h_resp_free(&bad);
	json_decref(ids);
	json_decref(asc);
	json_decref(desc);
}

Test(marketsim_orders, status_and_date_filters)
{
	json_t *all = all_orders("");
	/* Count by hand, then ask the API. */
	const char *from = "2026-02-01T10:59:00.000-03:00", *to = "2026-02-15T10:00:00.000-03:00";
	int64_t from_h = parse_time("2026-02-01T10:00:00.000-03:00") / 3600000;
	int64_t to_h = parse_time(to) / 3600000;
	size_t want_range = 0, want_status = 0;
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *o = json_array_get(all, i);
		int64_t h = parse_time(msh_str(o, "date_created")) / 3600000;
		want_range += h >= from_h && h <= to_h;
		const char *st = msh_str(o, "status");
		want_status += strcmp(st, "paid") == 0 || strcmp(st, "cancelled") == 0;
	}
	char q[512];
	snprintf(q, sizeof(q), "&order.date_created.from=%s&order.date_created.to=%s", from, to);
	json_t *ranged = all_orders(q);
	cr_assert_eq(json_array_size(ranged), want_range, "date filters count to the hour");
	json_t *by_status = all_orders("&order.status=paid,cancelled");
	cr_assert_eq(json_array_size(by_status), want_status);
	for (size_t i = 0; i < json_array_size(by_status); i++) {
		const char *st = msh_str(json_array_get(by_status, i), "status");
		cr_assert(strcmp(st, "paid") == 0 || strcmp(st, "cancelled") == 0);
	}
	json_t *updated = all_orders("&order.date_last_updated.from=2026-02-20T00:00:00.000-03:00");
	for (size_t i = 0; i < json_array_size(updated); i++)
		cr_assert_geq(parse_time(msh_str(json_array_get(updated, i), "last_updated")),
			      parse_time("2026-02-20T00:00:00.000-03:00"));
	cr_assert_gt(json_array_size(updated), 0);
	cr_assert_lt(json_array_size(updated), json_array_size(all));
	/* Orders fall within the 90 days before --now. */
	int64_t now = parse_time("2026-03-01T12:00:00.000+00:00");
	for (size_t i = 0; i < json_array_size(all); i++) {
		int64_t t = parse_time(msh_str(json_array_get(all, i), "date_created"));
		cr_assert(t <= now && t >= now - 90LL * 86400000);
	}
	h_resp_t bad = orders("&order.status=shipped");
	cr_assert_eq(bad.status, 400);
	h_resp_free(&bad);
	json_decref(all);
	json_decref(ranged);
	json_decref(by_status);
	json_decref(updated);
}

Test(marketsim_orders, order_and_shipment_by_id)
{
	h_resp_t list = orders("&limit=1");
	json_t *o = json_array_get(json_object_get(list.json, "results"), 0);
	long long oid = (long long)json_integer_value(json_object_get(o, "id"));
	long long sid =
	    (long long)json_integer_value(json_object_get(json_object_get(o, "shipping"), "id"));
	char path[96];
	snprintf(path, sizeof(path), "/orders/%lld", oid);
	h_resp_t one = msh_get(&sim, tok.access, path);
	cr_assert_eq(one.status, 200);
	cr_assert(json_equal(one.json, o), "GET /orders/{id} matches the search result");
	msh_tokens_t other;
	msh_login(&sim, &app, app.sellers[1], &other);
	h_resp_t not_owned = msh_get(&sim, other.access, path);
	msh_assert_error(&not_owned, 403, "not_owned_order");
	h_resp_t missing = msh_get(&sim, tok.access, "/orders/1");
	msh_assert_error(&missing, 404, "order_not_found");
	h_resp_t bad = msh_get(&sim, tok.access, "/orders/abc");
	msh_assert_error(&bad, 400, "invalid_order_id");

	snprintf(path, sizeof(path), "/shipments/%lld", sid);
	char auth[300];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok.access);
	const char *no_format[] = {auth, NULL};
	h_resp_t old = h_http("GET", h_url(&sim, path), NULL, no_format);
	cr_assert_eq(old.status, 400, "x-format-new is required");
	h_resp_t sh = msh_get(&sim, tok.access, path);
	cr_assert_eq(sh.status, 200, "%s", sh.body);
	cr_assert_eq(json_integer_value(json_object_get(sh.json, "id")), sid);
	cr_assert_null(json_object_get(sh.json, "order_id"), "new format has no order_id");
	cr_assert_null(json_object_get(sh.json, "receiver_address"));
	json_t *logistic = json_object_get(sh.json, "logistic");
	cr_assert(json_is_string(json_object_get(logistic, "type")));
	cr_assert_str_eq(msh_str(logistic, "direction"), "forward");
	json_t *dest = json_object_get(json_object_get(sh.json, "destination"), "shipping_address");
	cr_assert(json_is_string(json_object_get(dest, "zip_code")));
	cr_assert(json_is_object(json_object_get(dest, "city")));
	cr_assert(json_is_object(json_object_get(sh.json, "lead_time")));
	snprintf(path, sizeof(path), "/shipments/%lld/sla", sid);
	h_resp_t sla = msh_get(&sim, tok.access, path);
	const char *st = msh_str(sla.json, "status");
	cr_assert(strcmp(st, "on_time") == 0 || strcmp(st, "delayed") == 0 ||
		  strcmp(st, "early") == 0 || strcmp(st, "insuficient_info") == 0);
	cr_assert(json_is_string(json_object_get(sla.json, "expected_date")));
	h_resp_t *all[] = {&list, &one, &not_owned, &missing, &bad, &old, &sh, &sla};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		h_resp_free(all[i]);
}

Test(marketsim_orders, shipments_come_in_every_status)
{
	const char *want[] = {"to_be_agreed",  "pending",      "handling",
			      "ready_to_ship", "shipped",      "delivered",
			      "not_delivered", "not_verified", "cancelled"};
	json_t *seen = json_object();
	for (size_t s = 0; s < app.n_sellers; s++) {
		msh_tokens_t t;
		msh_login(&sim, &app, app.sellers[s], &t);
		for (int off = 0;; off += 50) {
			char path[128];
			snprintf(path, sizeof(path),
				 "/orders/search?seller=%lld&offset=%d&limit=50",
				 (long long)app.sellers[s], off);
			h_resp_t r = msh_get(&sim, t.access, path);
			json_t *res = json_object_get(r.json, "results");
			for (size_t i = 0; i < json_array_size(res); i++) {
				json_t *o = json_array_get(res, i);
				snprintf(path, sizeof(path), "/shipments/%lld",
					 (long long)json_integer_value(json_object_get(
					     json_object_get(o, "shipping"), "id")));
				h_resp_t sh = msh_get(&sim, t.access, path);
				json_object_set_new(seen, msh_str(sh.json, "status"), json_true());
				h_resp_free(&sh);
			}
			size_t n = json_array_size(res);
			h_resp_free(&r);
			if (n < 50)
				break;
		}
	}
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert(json_object_get(seen, want[i]), "no shipment in status %s", want[i]);
	json_decref(seen);
}

static h_resp_t questions(const char *query)
{
	char path[256];
	snprintf(path, sizeof(path), "/questions/search?seller_id=%lld&api_version=4%s",
		 (long long)app.sellers[0], query);
	return msh_get(&sim, tok.access, path);
}

Test(marketsim_orders, questions_search_and_answers)
{
	h_resp_t all = questions("&limit=100");
	cr_assert_eq(all.status, 200, "%s", all.body);
	json_int_t total = json_integer_value(json_object_get(all.json, "total"));
	cr_assert_gt(total, 0);
	json_t *q0 = json_array_get(json_object_get(all.json, "questions"), 0);
	cr_assert(json_is_integer(json_object_get(q0, "id")));
	cr_assert(json_is_string(json_object_get(q0, "item_id")));
	cr_assert(json_is_string(json_object_get(q0, "text")));
	cr_assert(json_is_integer(json_object_get(json_object_get(q0, "from"), "id")));
	cr_assert(json_is_object(json_object_get(all.json, "filters")));
	h_resp_t un = questions("&status=UNANSWERED&limit=100");
	h_resp_t an = questions("&status=ANSWERED&limit=100");
	json_int_t nu = json_integer_value(json_object_get(un.json, "total"));
	json_int_t na = json_integer_value(json_object_get(an.json, "total"));
	cr_assert_gt(nu, 0);
	cr_assert_gt(na, 0);
	cr_assert_leq(nu + na, total);
	json_t *answered = json_array_get(json_object_get(an.json, "questions"), 0);
	cr_assert_str_eq(msh_str(json_object_get(answered, "answer"), "status"), "ACTIVE");
	json_t *open = json_array_get(json_object_get(un.json, "questions"), 0);
	cr_assert(json_is_null(json_object_get(open, "answer")));
	long long qid = (long long)json_integer_value(json_object_get(open, "id"));
	h_resp_t page = questions("&limit=2&offset=1");
	cr_assert_eq(json_array_size(json_object_get(page.json, "questions")), 2);
	cr_assert(json_equal(json_array_get(json_object_get(page.json, "questions"), 0),
			     json_array_get(json_object_get(all.json, "questions"), 1)));

	char body[2600];
	snprintf(body, sizeof(body), "{\"question_id\":%lld,\"text\":\"Oi\",\"extra\":1}", qid);
	h_resp_t extra = msh_api(&sim, "POST", tok.access, "/answers", body);
	msh_assert_error(&extra, 400, "invalid_post_body");
	h_resp_t str_id = msh_api(&sim, "POST", tok.access, "/answers",
				  "{\"question_id\":\"12\",\"text\":\"Oi\"}");
	msh_assert_error(&str_id, 400, "invalid_question");
	int n = snprintf(body, sizeof(body), "{\"question_id\":%lld,\"text\":\"", qid);
	for (int i = 0; i < 2001; i++)
		body[n++] = 'a';
	snprintf(body + n, sizeof(body) - (size_t)n, "\"}");
	h_resp_t longer = msh_api(&sim, "POST", tok.access, "/answers", body);
	cr_assert_eq(longer.status, 400, "more than 2000 characters");
	snprintf(body, sizeof(body),
		 "{\"question_id\":%lld,\"text\":\"Olá! Temos sim, pode comprar. Obrigado!\"}",
		 qid);
	h_resp_t ok = msh_api(&sim, "POST", tok.access, "/answers", body);
	cr_assert_eq(ok.status, 200, "%s", ok.body);
	cr_assert_str_eq(msh_str(ok.json, "status"), "ANSWERED");
	cr_assert_str_eq(msh_str(json_object_get(ok.json, "answer"), "text"),
			 "Olá! Temos sim, pode comprar. Obrigado!");
	h_resp_t twice = msh_api(&sim, "POST", tok.access, "/answers", body);
	cr_assert_eq(twice.status, 400);
	char path[64];
	snprintf(path, sizeof(path), "/questions/%lld", qid);
	h_resp_t single = msh_get(&sim, tok.access, path);
	cr_assert_str_eq(msh_str(single.json, "status"), "ANSWERED");
	cr_assert(json_is_integer(json_object_get(single.json, "buyer_id")));
	cr_assert(json_is_string(json_object_get(single.json, "last_updated")));
	h_resp_t no_api = msh_get(&sim, tok.access, "/questions/search?seller_id=1");
	cr_assert_eq(no_api.status, 400);
	h_resp_t *rs[] = {&all,	   &un, &an,	&page,	 &extra, &str_id,
			  &longer, &ok, &twice, &single, &no_api};
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		h_resp_free(rs[i]);
}

Test(marketsim_orders, claims_need_a_real_filter)
{
	h_resp_t paging_only =
	    msh_get(&sim, tok.access, "/post-purchase/v1/claims/search?offset=0&limit=10");
	msh_assert_error(&paging_only, 400, "invalid_query");
	h_resp_t half =
	    msh_get(&sim, tok.access, "/post-purchase/v1/claims/search?players.role=respondent");
	msh_assert_error(&half, 400, "invalid_params");
	char path[256];
	snprintf(path, sizeof(path),
		 "/post-purchase/v1/claims/search?players.user_id=%lld&players.role=respondent",
		 (long long)app.sellers[0]);
	h_resp_t r = msh_get(&sim, tok.access, path);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *paging = json_object_get(r.json, "paging");
	cr_assert_eq(json_integer_value(json_object_get(paging, "limit")), 30);
	json_t *data = json_object_get(r.json, "data");
	cr_assert_gt(json_array_size(data), 0);
	json_t *c = json_array_get(data, 0);
	const char *st = msh_str(c, "status");
	cr_assert(strcmp(st, "opened") == 0 || strcmp(st, "closed") == 0);
	cr_assert_str_eq(msh_str(c, "resource"), "order");
	cr_assert(json_is_array(json_object_get(c, "players")));
	snprintf(path, sizeof(path), "/post-purchase/v1/claims/%lld",
		 (long long)json_integer_value(json_object_get(c, "id")));
	h_resp_t one = msh_get(&sim, tok.access, path);
	cr_assert(json_equal(one.json, c));
	snprintf(path, sizeof(path), "/orders/%lld",
		 (long long)json_integer_value(json_object_get(c, "resource_id")));
	h_resp_t order = msh_get(&sim, tok.access, path);
	cr_assert_gt(json_array_size(json_object_get(order.json, "mediations")), 0);
	h_resp_t *rs[] = {&paging_only, &half, &r, &one, &order};
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		h_resp_free(rs[i]);
}

Test(marketsim_orders, users_private_and_public_views)
{
	char path[64];
	snprintf(path, sizeof(path), "/users/%lld", (long long)app.sellers[1]);
	h_resp_t pub = msh_get(&sim, tok.access, path);
	cr_assert_eq(pub.status, 200);
	cr_assert_null(json_object_get(pub.json, "email"), "public view hides the email");
	cr_assert(json_is_string(json_object_get(pub.json, "nickname")));
	cr_assert_gt(json_integer_value(json_object_get(pub.json, "id")), 2147483647LL,
		     "ids past Int32");
	snprintf(path, sizeof(path), "/users/%lld", (long long)app.sellers[0]);
	h_resp_t mine = msh_get(&sim, tok.access, path);
	cr_assert(json_is_string(json_object_get(mine.json, "email")));
	cr_assert_str_eq(msh_str(mine.json, "site_id"), "MLB");
	h_resp_free(&pub);
	h_resp_free(&mine);
}
