/* Post-purchase claims: GET /post-purchase/v1/claims/search, which refuses paging alone
 * (invalid_query) and half-given pairs (invalid_params), and GET .../claims/{id}. A seller sees
 * the claims where they are the respondent. */
#include "marketsim.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CLAIMS_LIMIT_DEFAULT 30
#define CLAIMS_LIMIT_MAX     100
#define CLAIMS_WINDOW	     10000

/* Filters compared to the claim's top-level field of the same name. */
static const char *const field_filters[] = {"id",	"type",	     "stage",	"status",
					    "resource", "reason_id", "site_id", "parent_id"};

static bool field_is(json_t *claim, const char *field, const char *want)
{
	json_t *v = json_object_get(claim, field);
	if (json_is_string(v))
		return strcmp(json_string_value(v), want) == 0;
	if (json_is_integer(v)) {
		int64_t n;
		return ms_parse_id(want, &n) && n == json_integer_value(v);
	}
	return json_is_null(v) && strcmp(want, "null") == 0;
}

struct range {
	const char *field;
	int64_t after, before; /* exclusive bounds; 0 = open */
};

/* range=date_created:after:<ts>,before:<ts> */
static bool parse_range(const char *s, struct range *rg, arena_t *ar)
{
	memset(rg, 0, sizeof(*rg));
	const char *colon = strchr(s, ':');
	if (!colon)
		return false;
	rg->field = arena_strndup(ar, s, (size_t)(colon - s));
	if (strcmp(rg->field, "date_created") != 0 && strcmp(rg->field, "last_updated") != 0)
		return false;
	char *rest = arena_strdup(ar, colon + 1);
	for (char *part = strtok(rest, ","); part; part = strtok(NULL, ",")) {
		char *c = strchr(part, ':');
		if (!c)
			return false;
		*c = '\0';
		int64_t ms;
		if (!ms_time_parse(c + 1, &ms))
			return false;
		if (strcmp(part, "after") == 0)
			rg->after = ms;
		else if (strcmp(part, "before") == 0)
			rg->before = ms;
		else
			return false;
	}
	return rg->after || rg->before;
}

static bool in_range(json_t *claim, const struct range *rg)
{
	int64_t t;
	if (!ms_time_parse(json_string_value(json_object_get(claim, rg->field)), &t))
		return false;
	return (!rg->after || t > rg->after) && (!rg->before || t < rg->before);
}

static const char *sort_field;
static int sort_dir;

static int cmp_claims(const void *a, const void *b)
{
	json_t *x = (*(ms_claim_t *const *)a)->json, *y = (*(ms_claim_t *const *)b)->json;
	int c;
	if (strcmp(sort_field, "id") == 0) {
		json_int_t i = json_integer_value(json_object_get(x, "id"));
		json_int_t j = json_integer_value(json_object_get(y, "id"));
		c = (i > j) - (i < j);
	} else {
		c = strcmp(json_string_value(json_object_get(x, sort_field)),
			   json_string_value(json_object_get(y, sort_field)));
	}
	return c * sort_dir;
}

void h_claims_search(ms_req_t *r)
{
	ms_data_t *d = r->ms->data;
	const char *role = ms_arg(r, "players.role"), *user = ms_arg(r, "players.user_id");
	const char *resource = ms_arg(r, "resource"), *resource_id = ms_arg(r, "resource_id");
	const char *order_id = ms_arg(r, "order_id"), *pack_id = ms_arg(r, "pack_id");
	const char *payment_id = ms_arg(r, "payment_id"), *range_s = ms_arg(r, "range");
	bool real_filter =
	    role || user || resource || resource_id || order_id || pack_id || payment_id || range_s;
	for (size_t i = 0; i < ARRAY_LEN(field_filters); i++)
		real_filter |= ms_arg(r, field_filters[i]) != NULL;
	if (!real_filter) {
		ms_reply_error(r, 400, "invalid_query", "At least one filter is required");
		return;
	}
	if (!role != !user || (resource_id && !resource) || (order_id && pack_id)) {
		ms_reply_error(r, 400, "invalid_params",
			       "players.role and players.user_id go together, resource_id needs "
			       "resource, and order_id excludes pack_id");
		return;
	}
	int64_t user_id = 0;
	if (user && (!ms_parse_id(user, &user_id) || user_id != r->seller->id)) {
		ms_reply_error(r, 403, ms_error_code(403), "players.user_id must be the caller");
		return;
	}
	long limit, offset;
	if (!ms_arg_long(r, "limit", CLAIMS_LIMIT_DEFAULT, &limit) ||
	    !ms_arg_long(r, "offset", 0, &offset))
		return;
	if (limit > CLAIMS_LIMIT_MAX)
		limit = CLAIMS_LIMIT_MAX;
	if (offset + limit >= CLAIMS_WINDOW) {
		ms_reply_error(r, 400, "invalid_params", "offset + limit must be lower than %d",
			       CLAIMS_WINDOW);
		return;
	}
	struct range rg = {0};
	if (range_s && !parse_range(range_s, &rg, r->arena)) {
		ms_reply_error(r, 400, "invalid_params", "Invalid range: %s", range_s);
		return;
	}
	const char *sort = ms_arg(r, "sort");
	sort_field = "id";
	sort_dir = 1;
	if (sort) {
		const char *c = strchr(sort, ':');
		char *field = arena_strndup(r->arena, sort, c ? (size_t)(c - sort) : strlen(sort));
		if ((strcmp(field, "id") != 0 && strcmp(field, "date_created") != 0 &&
		     strcmp(field, "last_updated") != 0) ||
		    (c && strcmp(c + 1, "asc") != 0 && strcmp(c + 1, "desc") != 0)) {
			ms_reply_error(r, 400, "invalid_params", "Invalid sort: %s", sort);
			return;
		}
		sort_field = strcmp(field, "id") == 0		  ? "id"
			     : strcmp(field, "date_created") == 0 ? "date_created"
								  : "last_updated";
		sort_dir = c && strcmp(c + 1, "desc") == 0 ? -1 : 1;
	}

	ms_claim_t **hits = xcalloc(d->n_claims ? d->n_claims : 1, sizeof(*hits));
	size_t n = 0;
	for (size_t i = 0; i < d->n_claims; i++) {
		ms_claim_t *c = &d->claims[i];
		bool ok = c->seller_id == r->seller->id;
		for (size_t f = 0; ok && f < ARRAY_LEN(field_filters); f++) {
			const char *want = ms_arg(r, field_filters[f]);
			ok = !want || field_is(c->json, field_filters[f], want);
		}
		if (ok && role)
			ok = strcmp(role, "respondent") == 0;
		if (ok && resource_id)
			ok = field_is(c->json, "resource_id", resource_id);
		if (ok && order_id)
			ok = field_is(c->json, "resource_id", order_id);
		if (ok && pack_id)
			ok = false; /* the catalogue has no packs */
		if (ok && payment_id) {
			int64_t pid;
			ms_order_t *o = ms_order_find(d, c->order_id);
			ok = ms_parse_id(payment_id, &pid) && o &&
			     pid == MS_PAYMENT_BASE + (o->id - MS_ORDER_BASE);
		}
		if (ok && range_s)
			ok = in_range(c->json, &rg);
		if (ok)
			hits[n++] = c;
	}
	qsort(hits, n, sizeof(*hits), cmp_claims);
	json_t *data = json_array();
	for (size_t i = (size_t)offset; i < n && i < (size_t)(offset + limit); i++)
		json_array_append(data, hits[i]->json);
	free(hits);
	ms_reply_json(r, 200,
		      json_pack("{s:{s:I, s:I, s:I}, s:o}", "paging", "total", (json_int_t)n,
				"offset", (json_int_t)offset, "limit", (json_int_t)limit, "data",
				data));
}

void h_claim_get(ms_req_t *r)
{
	int64_t id;
	ms_claim_t *c = ms_parse_id(r->params[0], &id) ? ms_claim_find(r->ms->data, id) : NULL;
	if (!c) {
		ms_reply_error(r, 404, "not_found", "Claim %s not found", r->params[0]);
		return;
	}
	if (c->seller_id != r->seller->id) {
		ms_reply_error(r, 403, ms_error_code(403),
			       "The claim does not belong to the caller");
		return;
	}
	ms_reply_json(r, 200, json_incref(c->json));
}
