/* GET /api/products: the caller's tenant's SKU master filtered, sorted and paged, with its
 * aggregations. Without a filter they come with the page (kept at write time); with one, from
 * Redis under the tenant's products version and the filter set, else from one pass over the
 * filtered products, then cached: a cached answer is the one the version's products give. */
#include "api.h"
#include "crypto.h"
#include "inventory.h"
#include "listing.h"
#include "log.h"
#include "permissions.h"
#include "products.h"
#include "redis.h"
#include "validate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGGS_TTL_S 300 /* a version's entries are never read again once the version moves */

static const char *const booleans[] = {"true", "false", NULL};

/* A cursor's key as the list wrote it: a decimal number (sent back to SQL as numeric). */
static bool decimal_text(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	return end != s && !*end && isfinite(v) && !strpbrk(s, "xXpPiInN");
}

/* ?name= as a decimal from lo to hi (text for SQL), NULL when absent; *out its value. */
static const char *decimal_param(req_t *r, const char *name, double lo, double hi, double *out,
				 json_t **details)
{
	const char *s = http_query(r, name);
	if (!s || !*s)
		return NULL;
	char *end;
	double v = strtod(s, &end);
	if (*end || end == s || !isfinite(v) || v < lo || v > hi) {
		*details =
		    http_problem(*details, name,
				 arena_printf(r->arena, "must be a number from %g to %g", lo, hi));
		return NULL;
	}
	*out = v;
	return arena_printf(r->arena, "%.4f", v);
}

/* A min/max pair of decimal parameters; min above max is a problem. */
static void range_params(req_t *r, const char *min_name, const char *max_name, double hi,
			 const char **min, const char **max, json_t **details)
{
	double lo_v = 0, hi_v = 0;
	*min = decimal_param(r, min_name, 0, hi, &lo_v, details);
	*max = decimal_param(r, max_name, 0, hi, &hi_v, details);
	if (*min && *max && lo_v > hi_v)
		*details = http_problem(*details, min_name,
					arena_printf(r->arena, "must not exceed %s", max_name));
}

/* A list in flight (r's arena): the page, kept while its aggregations are looked up. */
typedef struct products_ctx {
	req_t *r;
	list_req_t l;
	products_filter_t f;
	const char *items, *next;
	char *key; /* the aggregations' cache key; NULL: not cached (Redis down) */
} products_ctx_t;

static void reply(products_ctx_t *c, long long total, const char *aggs)
{
	req_t *r = c->r;
	long long pages = (total + c->l.limit - 1) / c->l.limit;
	size_t len = 256 + strlen(c->items) + strlen(aggs) + (c->next ? strlen(c->next) : 0);
	char *body = arena_alloc(r->arena, len);
	size_t at = (size_t)snprintf(
	    body, len,
	    "{\"success\":true,\"data\":{\"products\":%s,\"pagination\":"
	    "{\"page\":%d,\"limit\":%d,\"total\":%lld,\"pages\":%lld},\"nextCursor\":%s%s%s,"
	    "\"aggregations\":%s}}",
	    c->items, c->l.cursor_key ? 1 : c->l.page, c->l.limit, total, pages,
	    c->next ? "\"" : "", c->next ? c->next : "null", c->next ? "\"" : "", aggs);
	http_reply(r, 200, "application/json; charset=utf-8", body, at);
}

static void stored(redisReply *reply, const char *err, void *arg)
{
	(void)arg;
	if (err || (reply && reply->type == REDIS_REPLY_ERROR))
		log_warn("products: aggregations not cached: %s", err ? err : reply->str);
}

/* The cache key of f's aggregations at version: each filter length-prefixed (none: "-"), so
 * two filter sets never share one. */
static char *aggs_key(products_ctx_t *c, const char *version)
{
	const products_filter_t *f = &c->f;
	const char *v[] = {f->search,	 f->category,  f->brand,      f->active,     f->level,
			   f->price_min, f->price_max, f->margin_min, f->margin_max, f->channel};
	char *set = "";
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		set = v[i] ? arena_printf(c->r->arena, "%s%zu:%s", set, strlen(v[i]), v[i])
			   : arena_printf(c->r->arena, "%s-", set);
	char hash[CRYPTO_SHA256_HEX + 1];
	crypto_sha256_hex(set, strlen(set), hash);
	return arena_printf(c->r->arena, "products:aggs:%s:%s:%s", c->r->tenant_id, version, hash);
}

/* The filtered products' aggregations, read at their own version: cached under it. */
static void aggregated(const PGresult *res, const char *err, void *arg)
{
	products_ctx_t *c = arg;
	if (err || PQntuples(res) != 1) {
		list_db_error(c->r, "products: aggregations", res, err ? err : "no row");
		return;
	}
	const char *n = pg_value(res, 0, 0), *aggs = pg_value(res, 0, 1);
	if (c->key) {
		const char *value = arena_printf(c->r->arena, "%s\t%s", n, aggs);
		redis_command(((app_t *)c->r->app)->redis, stored, NULL, "SET %s %s EX %d",
			      aggs_key(c, pg_value(res, 0, 2)), value, AGGS_TTL_S);
	}
	reply(c, atoll(n), aggs);
}

/* A hit is "count\taggregations". */
static void cached(redisReply *reply_, const char *err, void *arg)
{
	products_ctx_t *c = arg;
	char *tab;
	if (!err && reply_ && reply_->type == REDIS_REPLY_STRING &&
	    (tab = memchr(reply_->str, '\t', reply_->len))) {
		http_set_header(c->r, "X-Cache", "hit");
		reply(c, atoll(reply_->str),
		      arena_strndup(c->r->arena, tab + 1,
				    reply_->len - (size_t)(tab + 1 - reply_->str)));
		return;
	}
	if (err)
		c->key = NULL; /* Redis is down: answer from PostgreSQL, cache nothing */
	http_set_header(c->r, "X-Cache", "miss");
	products_aggregations(c->r->app, c->r->tenant_id, &c->f, aggregated, c);
}

static void listed(const PGresult *res, const char *err, void *arg)
{
	products_ctx_t *c = arg;
	req_t *r = c->r;
	if (err || PQntuples(res) != 1) {
		list_db_error(r, "products: list", res, err ? err : "no row");
		return;
	}
	c->items = arena_strdup(r->arena, pg_value(res, 0, 0));
	/* A full page may have a next one: its cursor is the last row's (key, SKU). */
	if (atoll(pg_value(res, 0, 3)) == c->l.limit)
		c->next = list_cursor(r, pg_value(res, 0, 4), pg_value(res, 0, 5));
	if (!products_filtered(&c->f)) {
		reply(c, atoll(pg_value(res, 0, 1)), pg_value(res, 0, 2));
		return;
	}
	c->key = aggs_key(c, pg_value(res, 0, 6));
	redis_command(((app_t *)r->app)->redis, cached, c, "GET %s", c->key);
}

void api_products_list(req_t *r)
{
	if (!perm_require(r, "inventory.view"))
		return;
	json_t *d = NULL;
	products_ctx_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	list_parse_text_id(r, &c->l, &d);
	c->f = (products_filter_t){
	    .search = list_text_param(r, "search", 100, &d),
	    .category = list_text_param(r, "category", 200, &d),
	    .brand = list_text_param(r, "brand", 100, &d),
	    .active = validate_query_enum(r, "isActive", booleans, &d),
	    .level = validate_query_enum(r, "stockLevel", inventory_levels, &d),
	    .channel = list_channel_param(r, &d),
	    .sort = validate_query_enum(r, "sortBy", products_sorts, &d),
	    .order = validate_query_enum(r, "sortOrder", products_orders, &d),
	};
	products_filter_t *f = &c->f;
	range_params(r, "priceMin", "priceMax", PRODUCTS_COST_MAX, &f->price_min, &f->price_max,
		     &d);
	range_params(r, "marginMin", "marginMax", 100, &f->margin_min, &f->margin_max, &d);
	if (c->l.cursor_key && !decimal_text(c->l.cursor_key))
		d = http_problem(d, "cursor", "is not a cursor this API returned");
	if (d) {
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&c->l);
	products_list(r->app, r->tenant_id, f, &page, listed, c);
}
