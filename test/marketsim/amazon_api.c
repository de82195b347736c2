/* The Selling Partner API plumbing every operation goes through: the request id on every answer,
 * the access token check (403 Unauthorized), a token bucket per (seller, operation) with the
 * documented default rate and burst (429 QuotaExceeded), x-amzn-RateLimit-Limit on 2xx/400/404
 * only, the {"payload"} and {"errors"} envelopes, csv array parameters, NextTokens, and the three
 * money shapes. The application is one, so its buckets are the seller's. */
#include "amazon.h"
#include "rng.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct rate {
	const char *op;
	double rate, burst;
};

/* Default usage plans (amazon.md §0; Listings Items from its model: 5/s, burst 10). */
static const struct rate rates[] = {
    {"getOrders", 0.0167, 20},
    {"getOrder", 0.5, 30},
    {"getOrderItems", 0.5, 30},
    {"getInventorySummaries", 2, 2},
    {"createReport", 0.0167, 15},
    {"getReport", 2, 15},
    {"getReports", 0.0222, 10},
    {"cancelReport", 0.0222, 10},
    {"getReportDocument", 0.0167, 15},
    {"listFinancialEvents", 0.5, 30},
    {"listFinancialEventGroups", 0.5, 30},
    {"listFinancialEventsByOrderId", 0.5, 30},
    {"listFinancialEventsByGroupId", 0.5, 30},
    {"getCatalogItem", 2, 2},
    {"searchCatalogItems", 2, 2},
    {"getItemOffers", 0.5, 1},
    {"getPricing", 0.5, 1},
    {"getListingsItem", 5, 10},
    {"patchListingsItem", 5, 10},
};
#define N_RATES (sizeof(rates) / sizeof(rates[0]))

static const char *const prefixes[] = {"/orders/v0/",		"/fba/inventory/v1/",
				       "/finances/v0/",		"/catalog/2022-04-01/",
				       "/products/pricing/v0/", "/listings/2021-08-01/",
				       "/reports/2021-06-30/",	"/auth/o2/",
				       "/apps/authorize/",	"/amazon-reports/"};

bool am_path(const char *path)
{
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static int rate_index(const char *op)
{
	for (size_t i = 0; op && i < N_RATES; i++)
		if (strcmp(rates[i].op, op) == 0)
			return (int)i;
	return -1;
}

void am_request_id(ms_req_t *r)
{
	unsigned char b[16];
	uint64_t x = rng_next(&r->ms->amazon->rng), y = rng_next(&r->ms->amazon->rng);
	memcpy(b, &x, 8);
	memcpy(b + 8, &y, 8);
	char id[40];
	snprintf(id, sizeof(id),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "x-amzn-RequestId", id);
}

static json_t *op_counter(am_state_t *a, const char *op)
{
	json_t *c = json_object_get(a->op_stats, op);
	if (!c) {
		c = json_pack("{s:i, s:i}", "calls", 0, "throttled", 0);
		json_object_set_new(a->op_stats, op, c);
	}
	return c;
}

static void bump(json_t *counter, const char *key)
{
	json_t *v = json_object_get(counter, key);
	json_integer_set(v, json_integer_value(v) + 1);
}

json_t *am_op_stats(am_state_t *a)
{
	return json_deep_copy(a->op_stats);
}

bool am_gate(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	json_t *counter = op_counter(a, r->route->op);
	bump(counter, "calls");
	am_seller_t *s = am_lwa_check(r);
	if (!s)
		return false;
	int ix = rate_index(r->route->op);
	if (ix >= 0) {
		if (!s->buckets) {
			s->buckets = xcalloc(N_RATES, sizeof(*s->buckets));
			for (size_t i = 0; i < N_RATES; i++)
				ms_budget_init(&s->buckets[i],
					       rates[i].rate * r->ms->opt.amazon_rate_scale,
					       rates[i].burst);
		}
		if (!ms_budget_take(&s->buckets[ix], ms_now_us(r->ms))) {
			bump(counter, "throttled");
			ms_traffic_count(r->ms->traffic, "rate_limited");
			am_error(r, 429, "QuotaExceeded",
				 "You exceeded your quota for the requested resource.");
			return false;
		}
	}
	r->amz_seller = s;
	return true;
}

am_seller_t *am_req_seller(ms_req_t *r)
{
	return r->amz_seller;
}

void am_reply(ms_req_t *r, int status, json_t *body)
{
	/* Best effort, and only on 2xx, 400 and 404 (never on 403/429), as Amazon sends it. */
	int ix = r->route && (r->route->flags & ROUTE_AMAZON) ? rate_index(r->route->op) : -1;
	if (ix >= 0 && ((status >= 200 && status < 300) || status == 400 || status == 404)) {
		char v[32];
		snprintf(v, sizeof(v), "%g", rates[ix].rate);
		if (r->ms->opt.amazon_rate_scale > 0)
			snprintf(v, sizeof(v), "%g", rates[ix].rate * r->ms->opt.amazon_rate_scale);
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
				  "x-amzn-RateLimit-Limit", v);
	}
	ms_reply_json(r, status, body);
}

const char *am_error_code(int status)
{
	switch (status) {
	case 400:
		return "InvalidInput";
	case 403:
		return "Unauthorized";
	case 404:
		return "NotFound";
	case 413:
		return "RequestEntityTooLarge";
	case 415:
		return "UnsupportedMediaType";
	case 429:
		return "QuotaExceeded";
	case 503:
		return "ServiceUnavailable";
	default:
		return status >= 500 ? "InternalFailure" : "InvalidInput";
	}
}

void am_error(ms_req_t *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == 429)
		snprintf(msg, sizeof(msg), "You exceeded your quota for the requested resource.");
	am_reply(r, status,
		 json_pack("{s:[{s:s, s:s, s:s}]}", "errors", "code", code, "message", msg,
			   "details", ""));
}

void am_payload(ms_req_t *r, json_t *payload)
{
	am_reply(r, 200, json_pack("{s:o}", "payload", payload));
}

const char **am_csv_split(arena_t *arena, const char *v, size_t *n)
{
	*n = 0;
	if (!v || !*v)
		return NULL;
	size_t cap = 1;
	for (const char *p = v; *p; p++)
		cap += *p == ',';
	const char **out = arena_alloc(arena, cap * sizeof(*out));
	for (const char *p = v;;) {
		size_t len = strcspn(p, ",");
		if (len)
			out[(*n)++] = arena_strndup(arena, p, len);
		if (!p[len])
			break;
		p += len + 1;
	}
	return out;
}

const char **am_csv(ms_req_t *r, const char *name, size_t *n)
{
	return am_csv_split(r->arena, ms_arg(r, name), n);
}

bool am_csv_has(const char *const *list, size_t n, const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], value) == 0)
			return true;
	return false;
}

bool am_arg_time(ms_req_t *r, const char *name, int64_t *out, bool *set)
{
	const char *v = ms_arg(r, name);
	*set = v != NULL;
	if (!v)
		return true;
	if (!ms_time_parse(v, out)) {
		am_error(r, 400, "InvalidInput", "Invalid %s: %s. Expected an ISO 8601 date-time.",
			 name, v);
		return false;
	}
	return true;
}

bool am_arg_int(ms_req_t *r, const char *name, long lo, long hi, long def, long *out)
{
	const char *v = ms_arg(r, name);
	if (!v) {
		*out = def;
		return true;
	}
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < lo || n > hi) {
		am_error(r, 400, "InvalidInput", "%s must be an integer from %ld to %ld", name, lo,
			 hi);
		return false;
	}
	*out = n;
	return true;
}

bool am_marketplace_ok(ms_req_t *r, const char *name, bool required)
{
	size_t n;
	const char **ids = am_csv(r, name, &n);
	if (n == 0 && !required)
		return true;
	if (n == 0) {
		am_error(r, 400, "InvalidInput", "Missing required parameter %s", name);
		return false;
	}
	if (!am_csv_has(ids, n, AM_MARKETPLACE)) {
		am_error(r, 400, "InvalidInput",
			 "Invalid %s: the seller does not participate in %s", name, ids[0]);
		return false;
	}
	return true;
}

/* ---- NextToken: the cursor, behind three bytes that encode as "+/+/" ---- */

static const unsigned char token_magic[3] = {0xfb, 0xff, 0xbf};

char *am_token_encode(ms_req_t *r, const char *kind, json_t *cursor, int64_t life_ms)
{
	json_object_set_new(cursor, "k", json_string(kind));
	json_object_set_new(cursor, "s", json_string(r->amz_seller->id));
	json_object_set_new(cursor, "x", json_integer(ms_wall_ms(r->ms) + life_ms));
	char *text = json_dumps(cursor, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cursor);
	size_t n = strlen(text);
	size_t len = 3 + n + ((3 + n) % 3 == 0); /* never a multiple of 3: the token ends in = */
	unsigned char *blob = arena_alloc(r->arena, len);
	memcpy(blob, token_magic, 3);
	memcpy(blob + 3, text, n);
	if (len > 3 + n)
		blob[len - 1] = ' ';
	free(text);
	char *out = arena_alloc(r->arena, 4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, blob, (int)len);
	return out;
}

json_t *am_token_decode(ms_req_t *r, const char *token, const char *kind)
{
	size_t n = strlen(token);
	bool ok = n >= 8 && n % 4 == 0 && n < 8192;
	for (size_t i = 0; ok && i < n; i++) {
		char c = token[i];
		ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		     c == '+' || c == '/' || (c == '=' && i >= n - 2);
	}
	json_t *cursor = NULL;
	if (ok) {
		unsigned char *blob = arena_alloc(r->arena, n);
		int len = EVP_DecodeBlock(blob, (const unsigned char *)token, (int)n);
		while (len > 0 && token[n - 1] == '=' && blob[len - 1] == 0)
			len--, n--; /* EVP_DecodeBlock counts the padding */
		if (len > 3 && memcmp(blob, token_magic, 3) == 0)
			cursor = json_loadb((const char *)blob + 3, (size_t)len - 3, 0, NULL);
	}
	const char *k = json_string_value(json_object_get(cursor, "k"));
	const char *s = json_string_value(json_object_get(cursor, "s"));
	if (!json_is_object(cursor) || !k || strcmp(k, kind) != 0 || !s ||
	    strcmp(s, r->amz_seller->id) != 0) {
		json_decref(cursor);
		am_error(r, 400, "InvalidInput",
			 "We could not decode your NextToken. Possible reasons include: a "
			 "transmission error, improper quoting or a truncation problem.");
		return NULL;
	}
	if (json_integer_value(json_object_get(cursor, "x")) < ms_wall_ms(r->ms)) {
		json_decref(cursor);
		am_error(r, 400, "InvalidInput", "Next token is invalid or expired.");
		return NULL;
	}
	return cursor;
}

/* ---- times and money ---- */

void am_time_fmt(int64_t wall_ms, char *buf, size_t size)
{
	time_t t = (time_t)(wall_ms >= 0 ? wall_ms / 1000 : (wall_ms - 999) / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

json_t *am_time_json(int64_t wall_ms)
{
	char buf[32];
	am_time_fmt(wall_ms, buf, sizeof(buf));
	return json_string(buf);
}

json_t *am_money_str(int64_t cents)
{
	char amount[32];
	snprintf(amount, sizeof(amount), "%s%lld.%02lld", cents < 0 ? "-" : "",
		 (long long)(cents < 0 ? -cents : cents) / 100,
		 (long long)(cents < 0 ? -cents : cents) % 100);
	return json_pack("{s:s, s:s}", "CurrencyCode", AM_CURRENCY, "Amount", amount);
}

json_t *am_money_num(int64_t cents)
{
	return json_pack("{s:s, s:f}", "CurrencyCode", AM_CURRENCY, "Amount", (double)cents / 100);
}

json_t *am_currency(int64_t cents)
{
	return json_pack("{s:s, s:f}", "CurrencyCode", AM_CURRENCY, "CurrencyAmount",
			 (double)cents / 100);
}
