/* Catalog Items 2022-04-01: getCatalogItem and searchCatalogItems (identifiers of a type, or
 * keywords, brandNames, classificationIds; pageSize ≤ 20, pageToken) over every seller's ASINs,
 * with the summaries, identifiers, images, productTypes, salesRanks and classifications data
 * sets. New-style answers: the resource itself, no payload wrapper. */
#include "amazon.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define TOKEN_LIFE_MS (24 * 3600000LL)

static const char *const datasets[] = {
    "summaries",       "identifiers", "images",	    "productTypes",  "salesRanks",
    "classifications", "attributes",  "dimensions", "relationships", "vendorDetails"};

static bool datasets_ok(ms_req_t *r, const char **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < sizeof(datasets) / sizeof(datasets[0]) && strcmp(list[i], datasets[k]))
			k++;
		if (k == sizeof(datasets) / sizeof(datasets[0])) {
			am_error(r, 400, "InvalidInput", "Invalid includedData value: %s", list[i]);
			return false;
		}
	}
	return true;
}

static void upc(const am_sku_t *k, char out[16])
{
	unsigned long long h = 1469598103934665603ULL;
	for (const char *p = k->asin; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(out, 16, "8%011llu", h % 100000000000ULL);
}

static json_t *item_json(const am_sku_t *k, const char **inc, size_t n_inc)
{
	const am_product_t *p = &am_products[k->product];
	static const char *dflt[] = {"summaries"};
	if (!n_inc) {
		inc = dflt;
		n_inc = 1;
	}
	char title[160], code[16];
	am_sku_title(k, title, sizeof(title));
	json_t *j = json_pack("{s:s}", "asin", k->asin);
	if (am_csv_has(inc, n_inc, "summaries"))
		json_object_set_new(
		    j, "summaries",
		    json_pack("[{s:s, s:b, s:b, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:b, s:s, s:s, "
			      "s:b, s:s, s:s, s:s}]",
			      "marketplaceId", AM_MARKETPLACE, "adultProduct", 0, "autographed", 0,
			      "brand", am_sku_brand(k), "browseClassification", "displayName",
			      p->category, "classificationId", p->classification,
			      "itemClassification", "BASE_PRODUCT", "itemName", title,
			      "manufacturer", am_sku_brand(k), "memorabilia", 0, "modelNumber",
			      k->sku, "packageQuantity", "1", "tradeInEligible", 0,
			      "websiteDisplayGroup", p->display_group, "websiteDisplayGroupName",
			      p->category, "partNumber", k->sku));
	if (am_csv_has(inc, n_inc, "identifiers")) {
		upc(k, code);
		json_object_set_new(j, "identifiers",
				    json_pack("[{s:s, s:[{s:s, s:s}]}]", "marketplaceId",
					      AM_MARKETPLACE, "identifiers", "identifierType",
					      "UPC", "identifier", code));
	}
	if (am_csv_has(inc, n_inc, "images")) {
		char *link = NULL;
		if (asprintf(&link, "https://m.media-amazon.com/images/I/%s.jpg", k->asin) < 0)
			die("marketsim: out of memory");
		json_object_set_new(j, "images",
				    json_pack("[{s:s, s:[{s:s, s:s, s:i, s:i}]}]", "marketplaceId",
					      AM_MARKETPLACE, "images", "variant", "MAIN", "link",
					      link, "height", 500, "width", 500));
		free(link);
	}
	if (am_csv_has(inc, n_inc, "productTypes"))
		json_object_set_new(j, "productTypes",
				    json_pack("[{s:s, s:s}]", "marketplaceId", AM_MARKETPLACE,
					      "productType", p->product_type));
	if (am_csv_has(inc, n_inc, "salesRanks")) {
		int rank =
		    1 + (int)((unsigned char)k->asin[9] * 97 + (unsigned char)k->asin[8] * 13) *
			    (k->offers + 1);
		json_object_set_new(
		    j, "salesRanks",
		    json_pack("[{s:s, s:[{s:s, s:s, s:i}], s:[{s:s, s:s, s:i}]}]", "marketplaceId",
			      AM_MARKETPLACE, "classificationRanks", "classificationId",
			      p->classification, "title", p->category, "rank", rank,
			      "displayGroupRanks", "websiteDisplayGroup", p->display_group, "title",
			      p->category, "rank", rank * 40));
	}
	if (am_csv_has(inc, n_inc, "classifications"))
		json_object_set_new(j, "classifications",
				    json_pack("[{s:s, s:[{s:s, s:s}]}]", "marketplaceId",
					      AM_MARKETPLACE, "classifications", "displayName",
					      p->category, "classificationId", p->classification));
	if (am_csv_has(inc, n_inc, "attributes"))
		json_object_set_new(j, "attributes",
				    json_pack("{s:[{s:s, s:s}], s:[{s:s, s:s}]}", "item_name",
					      "value", title, "marketplace_id", AM_MARKETPLACE,
					      "brand", "value", am_sku_brand(k), "marketplace_id",
					      AM_MARKETPLACE));
	return j;
}

void h_am_catalog_item(ms_req_t *r)
{
	size_t n_inc;
	const char **inc = am_csv(r, "includedData", &n_inc);
	if (!am_marketplace_ok(r, "marketplaceIds", true) || !datasets_ok(r, inc, n_inc))
		return;
	am_sku_t *k = strmap_get(r->ms->amazon->asins, r->params[0]);
	if (!k) {
		am_error(r, 404, "NotFound", "Requested item '%s' not found in marketplace '%s'.",
			 r->params[0], AM_MARKETPLACE);
		return;
	}
	am_reply(r, 200, item_json(k, inc, n_inc));
}

struct search {
	const char **ids, **keywords, **brands, **classes;
	size_t n_ids, n_keywords, n_brands, n_classes;
	const char *id_type;
	am_seller_t *id_seller; /* identifiersType=SKU */
};

static bool search_matches(const struct search *q, const am_sku_t *k, am_seller_t *owner)
{
	if (q->n_ids) {
		if (strcmp(q->id_type, "ASIN") == 0)
			return am_csv_has(q->ids, q->n_ids, k->asin);
		if (strcmp(q->id_type, "SKU") == 0)
			return owner == q->id_seller && am_csv_has(q->ids, q->n_ids, k->sku);
		char code[16];
		upc(k, code);
		return am_csv_has(q->ids, q->n_ids, code);
	}
	char title[160];
	am_sku_title(k, title, sizeof(title));
	for (size_t i = 0; i < q->n_keywords; i++)
		if (!strcasestr(title, q->keywords[i]))
			return false;
	if (q->n_brands && !am_csv_has(q->brands, q->n_brands, am_sku_brand(k)))
		return false;
	if (q->n_classes &&
	    !am_csv_has(q->classes, q->n_classes, am_products[k->product].classification))
		return false;
	return true;
}

void h_am_catalog_search(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	struct search q = {0};
	size_t n_inc;
	long page, pos = 0;
	const char **inc = am_csv(r, "includedData", &n_inc);
	if (!am_marketplace_ok(r, "marketplaceIds", true) || !datasets_ok(r, inc, n_inc) ||
	    !am_arg_int(r, "pageSize", 1, 20, 10, &page))
		return;
	q.ids = am_csv(r, "identifiers", &q.n_ids);
	q.keywords = am_csv(r, "keywords", &q.n_keywords);
	q.brands = am_csv(r, "brandNames", &q.n_brands);
	q.classes = am_csv(r, "classificationIds", &q.n_classes);
	q.id_type = ms_arg(r, "identifiersType");
	const char *bad = NULL;
	if (!q.n_ids && !q.n_keywords)
		bad = "Either identifiers or keywords must be provided";
	else if (q.n_ids && q.n_keywords)
		bad = "identifiers and keywords cannot be used together";
	else if (q.n_ids > 20)
		bad = "identifiers accepts at most 20 values";
	else if (q.n_ids && !q.id_type)
		bad = "identifiersType is required with identifiers";
	else if (q.n_ids && strcmp(q.id_type, "ASIN") && strcmp(q.id_type, "SKU") &&
		 strcmp(q.id_type, "UPC"))
		bad = "identifiersType must be ASIN, SKU or UPC";
	else if (q.n_ids && strcmp(q.id_type, "SKU") == 0 &&
		 !(q.id_seller = am_seller_find(a, ms_arg(r, "sellerId"))))
		bad = "sellerId is required with identifiersType SKU";
	else if (q.id_seller && q.id_seller != am_req_seller(r))
		bad = "sellerId must be the caller's";
	if (bad) {
		am_error(r, 400, "InvalidInput", "%s", bad);
		return;
	}
	const char *token = ms_arg(r, "pageToken");
	if (token) {
		json_t *c = am_token_decode(r, token, "searchCatalogItems");
		if (!c)
			return;
		pos = (long)json_integer_value(json_object_get(c, "p"));
		json_decref(c);
	}
	json_t *items = json_array(), *brands = json_object(), *classes = json_object();
	long seen = 0;
	bool more = false;
	for (size_t si = 0; si < a->n_sellers; si++) {
		am_seller_t *s = &a->sellers[si];
		for (size_t i = 0; i < s->n_skus; i++) {
			const am_sku_t *k = &s->skus[i];
			if (!search_matches(&q, k, s))
				continue;
			const char *b = am_sku_brand(k), *cl = am_products[k->product].category;
			json_object_set_new(
			    brands, b,
			    json_integer(json_integer_value(json_object_get(brands, b)) + 1));
			json_object_set_new(
			    classes, cl,
			    json_integer(json_integer_value(json_object_get(classes, cl)) + 1));
			if (seen++ < pos)
				continue;
			if ((long)json_array_size(items) == page)
				more = true;
			else
				json_array_append_new(items, item_json(k, inc, n_inc));
		}
	}
	json_t *rb = json_array(), *rc = json_array();
	const char *key;
	json_t *v;
	json_object_foreach(brands, key, v) json_array_append_new(
	    rb, json_pack("{s:O, s:s}", "numberOfResults", v, "brandName", key));
	json_object_foreach(classes, key, v)
	    json_array_append_new(rc, json_pack("{s:O, s:s, s:s}", "numberOfResults", v,
						"displayName", key, "classificationId", key));
	json_decref(brands);
	json_decref(classes);
	json_t *pagination = json_object();
	if (more)
		json_object_set_new(
		    pagination, "nextToken",
		    json_string(am_token_encode(r, "searchCatalogItems",
						json_pack("{s:I}", "p", (json_int_t)(pos + page)),
						TOKEN_LIFE_MS)));
	if (pos > 0)
		json_object_set_new(
		    pagination, "previousToken",
		    json_string(am_token_encode(
			r, "searchCatalogItems",
			json_pack("{s:I}", "p", (json_int_t)(pos > page ? pos - page : 0)),
			TOKEN_LIFE_MS)));
	am_reply(r, 200,
		 json_pack("{s:I, s:o, s:{s:o, s:o}, s:o}", "numberOfResults", (json_int_t)seen,
			   "pagination", pagination, "refinements", "brands", rb, "classifications",
			   rc, "items", items));
}
