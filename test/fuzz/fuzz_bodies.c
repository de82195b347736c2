/* JSON request bodies through their handlers' checks: parsed as the HTTP layer parses them
 * (http_body_parse, an object), then the pure check the handler runs before any I/O.
 * Input: the route on the first line ("POST /api/auth/register"), the body after it. A
 * route not listed runs every check on the body. */
#include "fuzz.h"

#include "api.h"
#include "channels/ml/ml.h"
#include "validate.h"

static bool is(const char *route, const char *want)
{
	return !route[0] || strcmp(route, want) == 0;
}

/* An accepted field is a trimmed, non-empty C string. */
static void field_ok(const char *s, bool raw)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n == 0 || (!raw && (s[0] == ' ' || s[n - 1] == ' ')))
		abort();
}

static void check(req_t *r, const char *route)
{
	json_t *d;
	if (is(route, "POST /api/auth/register")) {
		register_body_t b;
		if (!(d = register_body_check(r, &b))) {
			field_ok(b.full_name, false);
			if (!b.email || !validate_email(b.email) || !b.password || !b.company)
				abort();
		}
		json_decref(d);
	}
	if (is(route, "POST /api/auth/login")) {
		const char *email, *password;
		if (!(d = login_body_check(r, &email, &password)) && (!email || !password))
			abort();
		json_decref(d);
	}
	if (is(route, "POST /api/ml-accounts")) {
		ml_account_body_t b;
		if (!(d = ml_account_body_check(r, &b))) {
			field_ok(b.nickname, false);
			if (!b.ml_user_id || !b.access || !b.refresh || !b.expires)
				abort();
		}
		json_decref(d);
	}
	if (is(route, "POST /api/questions/:id/answer")) {
		const char *text;
		if (!(d = ml_answer_body_check(r, &text)))
			field_ok(text, false);
		json_decref(d);
	}
	if (is(route, "PUT /api/products/:sku")) {
		if (!(d = product_settings_check(r, r->body, "", NULL))) {
			json_t *min = json_object_get(r->body, "minStockAlert");
			json_t *max = json_object_get(r->body, "maxStock");
			if (!json_object_size(r->body) ||
			    json_array_size(json_object_get(r->body, "tags")) > 10 ||
			    (json_is_integer(min) && json_is_integer(max) &&
			     json_integer_value(max) <= json_integer_value(min)))
				abort();
		}
		json_decref(d);
	}
	if (is(route, "POST /api/products/bulk-update")) {
		json_t *skus, *updates;
		if (!(d = product_bulk_check(r, &skus, &updates)) &&
		    (json_array_size(skus) < 1 || json_array_size(skus) > 100 ||
		     !json_is_object(updates)))
			abort();
		json_decref(d);
	}
	if (is(route, "POST /api/inventory/reconcile")) {
		const char *source, *skus;
		if (!(d = reconcile_body_check(r, &source, &skus))) {
			if (!source ||
			    (strcmp(source, "erp") != 0 && strcmp(source, "sellerhub") != 0))
				abort();
			if (skus ? json_is_true(json_object_get(r->body, "all"))
				 : !json_is_true(json_object_get(r->body, "all")))
				abort();
		}
		json_decref(d);
	}
	if (is(route, "POST /api/sync/start")) {
		sync_start_body_t b;
		if (!(d = sync_start_body_check(r, &b)) &&
		    (!validate_uuid(b.account_id) || b.days < 1 || b.days > 365))
			abort();
		json_decref(d);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char route[64];
	const uint8_t *body;
	size_t len;
	fuzz_split_line(data, size, route, sizeof(route), &body, &len);
	if (strncmp(route, "POST ", 5) != 0 && strncmp(route, "PUT ", 4) != 0)
		route[0] = '\0';
	char problem[200];
	json_t *j = http_body_parse((const char *)body, len, problem, sizeof(problem));
	if (!json_is_object(j)) {
		json_decref(j);
		return 0; /* the HTTP layer answers 400 itself */
	}
	req_t *r = fuzz_req_new();
	r->body = j;
	check(r, route);
	fuzz_req_free(r);
	return 0;
}
