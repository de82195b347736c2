/* /api/alerts: the tenant's alerts (list, one, acknowledge or resolve) and its alert settings
 * (rules, delivery channels, quiet hours), read and changed through src/alerts.c. Every field
 * is checked here, before any SQL. */
#include "alerts.h"
#include "api.h"
#include "crypto.h"
#include "listing.h"
#include "netaddr.h"
#include "permissions.h"
#include "upkeep.h"
#include "validate.h"

#include <curl/curl.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THRESHOLD_MAX 1e9
#define SECRET_MIN    16
#define SECRET_MAX    200

static const char *const statuses[] = {"active", "acknowledged", "resolved", NULL};
static const char *const changes[] = {"acknowledged", "resolved", NULL};

static bool one_of(const char *s, const char *const *allowed)
{
	for (size_t i = 0; s && allowed[i]; i++)
		if (strcmp(s, allowed[i]) == 0)
			return true;
	return false;
}

/* Problems for keys of obj not in fields (prefix names where they are). */
static json_t *unknown_keys(req_t *r, json_t *obj, const char *prefix, const char *const *fields,
			    json_t *d)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		if (!one_of(key, fields))
			d = http_problem(d, arena_printf(r->arena, "%s%s", prefix, key),
					 "is not a field of this request");
	}
	return d;
}

/* --- GET /api/alerts ------------------------------------------------------------------------- */

typedef struct list_ctx_s {
	req_t *r;
	list_req_t l;
} alerts_list_ctx_t;

static void listed(const PGresult *res, const char *err, void *arg)
{
	alerts_list_ctx_t *c = arg;
	req_t *r = c->r;
	if (err || PQntuples(res) != 1) {
		list_db_error(r, "alerts: list", res, err ? err : "no row");
		return;
	}
	const char *items = pg_value(res, 0, 0), *summary = pg_value(res, 0, 2);
	long long total = atoll(pg_value(res, 0, 1));
	long long pages = (total + c->l.limit - 1) / c->l.limit;
	size_t len = 256 + strlen(items) + strlen(summary);
	char *body = arena_alloc(r->arena, len);
	size_t at = (size_t)snprintf(body, len,
				     "{\"success\":true,\"data\":{\"alerts\":%s,\"pagination\":"
				     "{\"page\":%d,\"limit\":%d,\"total\":%lld,\"pages\":%lld},"
				     "\"summary\":%s}}",
				     items, c->l.page, c->l.limit, total, pages, summary);
	http_reply(r, 200, "application/json; charset=utf-8", body, at);
}

static void list(req_t *r)
{
	if (!perm_require(r, "alerts.view"))
		return;
	json_t *d = NULL;
	alerts_list_ctx_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	list_parse(r, &c->l, &d);
	if (c->l.cursor_key)
		d = http_problem(d, "cursor", "is not taken here: use page and limit");
	alerts_filter_t f = {
	    .status = validate_query_enum(r, "status", statuses, &d),
	    .severity = validate_query_enum(r, "severity", alert_severities, &d),
	    .type = validate_query_enum(r, "type", alert_types, &d),
	};
	if (d) {
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&c->l);
	alerts_list(r->app, r->tenant_id, &f, &page, listed, c);
}

/* --- GET /api/alerts/:id, PUT /api/alerts/:id ------------------------------------------------ */

static void one(req_t *r)
{
	if (!perm_require(r, "alerts.view"))
		return;
	const char *id = list_id(r, "alert");
	if (id)
		alerts_get(r->app, r->tenant_id, id, list_one_done, list_ctx(r, "alert", NULL));
}

static void updated(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err || PQntuples(res) != 1) {
		list_db_error(r, "alerts: update", res, err ? err : "no row");
		return;
	}
	if (!pg_value(res, 0, 0)) {
		http_error(r, 404, "NOT_FOUND", "No such alert.", NULL);
		return;
	}
	if (!pg_value(res, 0, 1)) {
		http_error(r, 409, "ALERT_RESOLVED", "A resolved alert cannot change its status.",
			   NULL);
		return;
	}
	list_reply_json(r, pg_value(res, 0, 1));
}

static void update(req_t *r)
{
	if (!perm_require(r, "alerts.manage"))
		return;
	const char *id = list_id(r, "alert");
	if (!id)
		return;
	static const char *const fields[] = {"status", "resolution", "notes", NULL};
	json_t *d = json_is_object(r->body) ? unknown_keys(r, r->body, "", fields, NULL)
					    : http_problem(NULL, "body", "must be a JSON object");
	const char *status = validate_enum(r, "status", V_REQUIRED, changes, &d);
	const char *resolution = validate_string(r, "resolution", V_OPTIONAL, 500, &d, NULL);
	const char *notes = validate_string(r, "notes", V_OPTIONAL, 2000, &d, NULL);
	if (d) {
		http_invalid(r, d);
		return;
	}
	alerts_update(r->app, r->tenant_id, id, status, resolution, notes, r->user_id, updated, r);
}

/* --- GET|POST /api/alerts/settings ----------------------------------------------------------- */

static void settings_read(const PGresult *res, const char *err, void *arg)
{
	list_one_answer(arg, "tenant", res, err);
}

static void get_settings(req_t *r)
{
	if (!perm_require(r, "alerts.view"))
		return;
	alerts_settings_get(r->app, r->tenant_id, settings_read, r);
}

/* rules: [{type, enabled?, threshold?, frequency?, severity?}], each type at most once. */
static json_t *rules_check(req_t *r, json_t *rules, json_t *d)
{
	static const char *const fields[] = {"type",	  "enabled",  "threshold",
					     "frequency", "severity", NULL};
	if (!json_is_array(rules) || json_array_size(rules) > 20)
		return http_problem(d, "rules", "must be a list of at most 20 rules");
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
	{
		const char *at = arena_printf(r->arena, "rules[%zu]", i);
		if (!json_is_object(rule)) {
			d = http_problem(d, at, "must be an object");
			continue;
		}
		d = unknown_keys(r, rule, arena_printf(r->arena, "%s.", at), fields, d);
		const char *type = json_string_value(json_object_get(rule, "type"));
		if (!one_of(type, alert_types))
			d = http_problem(d, arena_printf(r->arena, "%s.type", at),
					 "must be an alert type");
		for (size_t j = 0; j < i && type; j++) {
			const char *earlier =
			    json_string_value(json_object_get(json_array_get(rules, j), "type"));
			if (earlier && strcmp(earlier, type) == 0) {
				d = http_problem(d, arena_printf(r->arena, "%s.type", at),
						 "is given twice");
				break;
			}
		}
		json_t *v = json_object_get(rule, "enabled");
		if (v && !json_is_boolean(v))
			d = http_problem(d, arena_printf(r->arena, "%s.enabled", at),
					 "must be true or false");
		v = json_object_get(rule, "threshold");
		if (v && !json_is_null(v) &&
		    (!json_is_number(v) || json_number_value(v) < 0 ||
		     json_number_value(v) > THRESHOLD_MAX))
			d = http_problem(d, arena_printf(r->arena, "%s.threshold", at),
					 "must be a number from 0 to 1000000000");
		v = json_object_get(rule, "frequency");
		if (v && !one_of(json_string_value(v), alert_frequencies))
			d = http_problem(d, arena_printf(r->arena, "%s.frequency", at),
					 "must be immediate, hourly or daily");
		v = json_object_get(rule, "severity");
		if (v && !one_of(json_string_value(v), alert_severities))
			d = http_problem(d, arena_printf(r->arena, "%s.severity", at),
					 "must be low, medium, high or critical");
	}
	return d;
}

static bool is_http_url(const char *s)
{
	return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
	       strlen(s) > 8 && strlen(s) <= 2000 && validate_utf8_text(s, 2000) &&
	       !strpbrk(s, " \t\r\n");
}

/* Whether url's host (as libcurl reads it, numeric forms such as 2130706433 normalised) is an
 * internal address or localhost; a name that resolves to one is refused at delivery
 * (httpc_request_t.public_only). */
static bool url_is_internal(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	bool internal = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
			curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
			netaddr_host_is_internal(host);
	curl_free(host);
	curl_url_cleanup(u);
	return internal;
}

/* channels: {email?: string|null, webhook?: {url, secret?}|null}; the secret is sealed by the
 * handler. */
static json_t *channels_check(req_t *r, json_t *ch, alert_settings_change_t *c, json_t *d)
{
	static const char *const fields[] = {"email", "webhook", NULL};
	static const char *const hook_fields[] = {"url", "secret", NULL};
	if (!json_is_object(ch))
		return http_problem(d, "channels", "must be an object");
	d = unknown_keys(r, ch, "channels.", fields, d);
	c->channels = true;
	json_t *email = json_object_get(ch, "email");
	if (email && !json_is_null(email)) {
		const char *e = json_string_value(email);
		if (!e || strlen(e) > EMAIL_MAX || !validate_email(e))
			d = http_problem(d, "channels.email", "must be an e-mail address");
		else
			c->email = arena_printf(r->arena, "%s", e);
	}
	json_t *hook = json_object_get(ch, "webhook");
	if (!hook || json_is_null(hook))
		return d;
	if (!json_is_object(hook))
		return http_problem(d, "channels.webhook", "must be an object or null");
	d = unknown_keys(r, hook, "channels.webhook.", hook_fields, d);
	const char *url = json_string_value(json_object_get(hook, "url"));
	if (!is_http_url(url))
		d = http_problem(d, "channels.webhook.url", "must be an http:// or https:// URL");
	else if (!c->allow_internal && url_is_internal(url))
		d = http_problem(d, "channels.webhook.url",
				 "must not point at a private, loopback or link-local address");
	else
		c->webhook_url = arena_printf(r->arena, "%s", url);
	json_t *secret = json_object_get(hook, "secret");
	if (!secret)
		return d; /* the stored one stays */
	const char *s = json_string_value(secret);
	if (!s || strlen(s) < SECRET_MIN || strlen(s) > SECRET_MAX || !validate_utf8_text(s, 200))
		return http_problem(d, "channels.webhook.secret",
				    "must be text of 16 to 200 characters");
	c->webhook_secret = s;
	return d;
}

static bool is_clock(const char *s)
{
	return s && strlen(s) == 5 && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
	       s[2] == ':' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9' &&
	       (s[0] < '2' || s[1] <= '3');
}

/* schedule: {quietHours?: {from: "HH:MM", to: "HH:MM"}|null, timezone?: string|null}. */
static json_t *schedule_check(req_t *r, json_t *sc, alert_settings_change_t *c, json_t *d)
{
	static const char *const fields[] = {"quietHours", "timezone", NULL};
	static const char *const quiet_fields[] = {"from", "to", NULL};
	if (!json_is_object(sc))
		return http_problem(d, "schedule", "must be an object");
	d = unknown_keys(r, sc, "schedule.", fields, d);
	c->schedule = true;
	json_t *q = json_object_get(sc, "quietHours");
	if (q && !json_is_null(q)) {
		if (!json_is_object(q))
			return http_problem(d, "schedule.quietHours", "must be an object or null");
		d = unknown_keys(r, q, "schedule.quietHours.", quiet_fields, d);
		c->quiet_from = json_string_value(json_object_get(q, "from"));
		c->quiet_to = json_string_value(json_object_get(q, "to"));
		if (!is_clock(c->quiet_from))
			d = http_problem(d, "schedule.quietHours.from", "must be a time HH:MM");
		if (!is_clock(c->quiet_to))
			d = http_problem(d, "schedule.quietHours.to", "must be a time HH:MM");
	}
	json_t *tz = json_object_get(sc, "timezone");
	if (tz && !json_is_null(tz)) {
		c->timezone = json_string_value(tz);
		if (!c->timezone || !validate_timezone(c->timezone))
			d = http_problem(d, "schedule.timezone", "must be a time zone name");
	}
	return d;
}

static void settings_evaluated(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	alerts_settings_get(r->app, r->tenant_id, settings_read, r);
}

static void settings_saved(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	const char *state = err && res ? pg_sqlstate(res) : "";
	if (strcmp(state, "23514") == 0) {
		http_invalid(r, http_problem(NULL, "channels.webhook.secret",
					     "is required with a webhook URL"));
		return;
	}
	if (strcmp(state, "22023") == 0) {
		http_invalid(r,
			     http_problem(NULL, "schedule.timezone", "must be a known time zone"));
		return;
	}
	if (err) {
		list_db_error(r, "alerts: settings", res, err);
		return;
	}
	/* The rules may change what holds: the answer comes after the tenant's evaluation. */
	alerts_evaluate(r->app, r->tenant_id, settings_evaluated, r);
}

json_t *alert_settings_check(req_t *r, alert_settings_change_t *c)
{
	static const char *const fields[] = {"rules", "channels", "schedule", NULL};
	if (!json_is_object(r->body))
		return http_problem(NULL, "body", "must be a JSON object");
	json_t *d = unknown_keys(r, r->body, "", fields, NULL);
	json_t *rules = json_object_get(r->body, "rules");
	if (rules) {
		d = rules_check(r, rules, d);
		char *text = json_dumps(rules, JSON_COMPACT);
		c->rules = arena_printf(r->arena, "%s", text);
		free(text);
	}
	json_t *ch = json_object_get(r->body, "channels");
	if (ch)
		d = channels_check(r, ch, c, d);
	json_t *sc = json_object_get(r->body, "schedule");
	if (sc)
		d = schedule_check(r, sc, c, d);
	if (!d && json_object_size(r->body) == 0)
		d = http_problem(d, "body", "must hold rules, channels or schedule");
	return d;
}

static void save_settings(req_t *r)
{
	if (!perm_require(r, "alerts.settings"))
		return;
	const app_t *app = r->app;
	alert_settings_change_t c = {.allow_internal = app->cfg.alert_webhook_allow_private};
	json_t *d = alert_settings_check(r, &c);
	if (d) {
		http_invalid(r, d);
		return;
	}
	if (c.webhook_secret) {
		crypto_keys_t keys;
		upkeep_keys(r->app, &keys);
		char *sealed = crypto_seal(&keys, c.webhook_secret);
		OPENSSL_cleanse(&keys, sizeof(keys));
		if (sealed) {
			c.webhook_secret_sealed = arena_printf(r->arena, "%s", sealed);
			free(sealed);
		}
	}
	alerts_settings_save(r->app, r->tenant_id, &c, settings_saved, r);
}

void api_alerts_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/alerts", list, ROUTE_AUTH,
		   "The tenant's alerts, newest first, with {total, critical, unread} (status,"
		   " severity, type; page/limit)");
	http_route(s, "GET", "/api/alerts/settings", get_settings, ROUTE_AUTH,
		   "Alert rules per type, delivery channels (the webhook secret masked) and the"
		   " schedule");
	http_route(s, "POST", "/api/alerts/settings", save_settings, ROUTE_AUTH,
		   "Change alert settings {rules?:[{type, enabled?, threshold?, frequency?,"
		   " severity?}], channels?:{email?, webhook?:{url, secret?}}, schedule?:"
		   "{quietHours?:{from, to}, timezone?}}; a section given replaces what it holds");
	http_route(s, "GET", "/api/alerts/:id", one, ROUTE_AUTH, "One alert with its activity");
	http_route(s, "PUT", "/api/alerts/:id", update, ROUTE_AUTH,
		   "Acknowledge or resolve an alert {status: acknowledged|resolved, resolution?,"
		   " notes?}");
}
