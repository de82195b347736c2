/* JSON request bodies through their handlers' checks: parsed as the HTTP layer parses them
 * (http_body_parse, an object), then the pure check the handler runs before any I/O.
 * Input: the route on the first line ("POST /api/auth/register"), the body after it. A
 * route not listed runs every check on the body. */
#include "fuzz.h"

#include "alerts.h"
#include "api.h"
#include "channels/ml/ml.h"
#include "netaddr.h"
#include "sync_manage.h"
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

/* The harness's own reading of an accepted URL's host: the authority's text, userinfo and port
 * cut, as a literal address or localhost. */
static bool internal_url(const char *url)
{
	const char *p = strstr(url, "://") + 3;
	size_t n = strcspn(p, "/?#");
	char host[256];
	if (n >= sizeof(host))
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	char *h = strrchr(host, '@') ? strrchr(host, '@') + 1 : host;
	char *colon = h[0] == '[' ? strchr(h, ']') : strchr(h, ':');
	if (colon && h[0] == '[')
		colon[1] = '\0';
	else if (colon)
		*colon = '\0';
	return netaddr_host_is_internal(h);
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
	if (is(route, "POST /api/alerts/settings")) {
		/* Half the inputs (by the body's length) with internal addresses allowed. */
		alert_settings_change_t c = {.allow_internal = json_object_size(r->body) % 2};
		if (!(d = alert_settings_check(r, &c))) {
			json_t *rules = c.rules ? json_loads(c.rules, 0, NULL) : NULL;
			if (!json_object_size(r->body) ||
			    (c.rules && json_array_size(rules) > 20) ||
			    (c.rules && !json_is_array(rules)))
				abort();
			json_decref(rules);
			if (c.webhook_url && strncmp(c.webhook_url, "http://", 7) != 0 &&
			    strncmp(c.webhook_url, "https://", 8) != 0)
				abort();
			if (c.webhook_url && !c.allow_internal && internal_url(c.webhook_url))
				abort();
			if (c.webhook_secret &&
			    (strlen(c.webhook_secret) < 16 || strlen(c.webhook_secret) > 200))
				abort();
			if ((c.quiet_from && strlen(c.quiet_from) != 5) ||
			    (c.quiet_to && strlen(c.quiet_to) != 5))
				abort();
		}
		json_decref(d);
	}
	if (is(route, "POST /api/sync/manual")) {
		sync_manual_body_t b = {0};
		if (!(d = sync_manual_body_check(r, &b)) &&
		    (!b.types || b.types >= 1u << SYNC_TYPES_N || b.days < 1 || b.days > 365 ||
		     (b.account_id && !validate_uuid(b.account_id)) ||
		     (b.from && !validate_iso_time(b.from))))
			abort();
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
