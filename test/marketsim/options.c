/* marketsim's options: one table serves the command line (--token-ttl 60) and the JSON body of
 * POST /_sim/reset ({"token_ttl": 60}), so the two can never drift apart. */
#include "marketsim.h"
#include "rng.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum opt_type { OPT_INT, OPT_U64, OPT_DOUBLE, OPT_STR, OPT_BOOL, OPT_TIME };

struct opt_def {
	const char *flag; /* without the leading "--"; JSON keys use '_' for '-' */
	enum opt_type type;
	size_t offset, size;
	const char *help;
};

#define O(flag, type, field, help)                                                                 \
	{                                                                                          \
		flag, type, offsetof(ms_options_t, field), sizeof(((ms_options_t *)0)->field),     \
		    help                                                                           \
	}

static const struct opt_def opt_defs[] = {
    O("port", OPT_INT, port, "TCP port on 127.0.0.1 (0 = any free port)"),
    O("seed", OPT_U64, seed, "seed of the generated data"),
    O("sellers", OPT_INT, sellers, "number of sellers"),
    O("items", OPT_INT, items, "number of items (all sellers)"),
    O("orders", OPT_INT, orders, "number of orders over the 90 days before --now"),
    O("questions", OPT_INT, questions, "number of questions"),
    O("claims", OPT_INT, claims, "number of claims (-1 = one per 40 orders)"),
    O("rate", OPT_DOUBLE, rate, "application request budget in requests/s (0 = unlimited)"),
    O("burst", OPT_DOUBLE, burst, "token bucket size (0 = same as --rate)"),
    O("token-ttl", OPT_INT, token_ttl, "access token life in seconds"),
    O("code-ttl", OPT_INT, code_ttl, "authorization code life in seconds"),
    O("scroll-ttl", OPT_DOUBLE, scroll_ttl, "scan scroll_id life in seconds"),
    O("now", OPT_TIME, now_ms, "reference time of the data (ISO-8601 or epoch seconds)"),
    O("notify", OPT_STR, notify_url, "notification target URL (http://)"),
    O("notify-retry-scale", OPT_DOUBLE, notify_retry_scale,
      "multiplies the one-hour retry schedule (0.001 = 3.6 s)"),
    O("notify-attempts", OPT_INT, notify_attempts, "attempts before a notification is missed"),
    O("notify-timeout-ms", OPT_INT, notify_timeout_ms, "time allowed for the 200"),
    O("pkce-required", OPT_BOOL, pkce_required, "the app requires PKCE"),
    O("grant-error-field", OPT_STR, grant_error_field,
      "token error text field: error_description or message"),
    O("client-id", OPT_STR, client_id, "the app's client id (default: derived from the seed)"),
    O("client-secret", OPT_STR, client_secret, "the app's client secret"),
    O("redirect-uri", OPT_STR, redirect_uri, "the app's registered redirect URI"),
    O("amazon-sellers", OPT_INT, amazon_sellers, "Amazon: number of selling partners"),
    O("amazon-orders", OPT_INT, amazon_orders, "Amazon: orders per seller over the 90 days"),
    O("amazon-skus", OPT_INT, amazon_skus, "Amazon: SKUs per seller"),
    O("amazon-rate-scale", OPT_DOUBLE, amazon_rate_scale,
      "Amazon: multiplies the documented restore rates (0 = unlimited)"),
    O("amazon-token-ttl", OPT_INT, amazon_token_ttl, "Amazon: LWA access token life in seconds"),
    O("amazon-report-queue-s", OPT_DOUBLE, amazon_report_queue_s,
      "Amazon: seconds a report stays IN_QUEUE"),
    O("amazon-report-build-s", OPT_DOUBLE, amazon_report_build_s,
      "Amazon: seconds a report stays IN_PROGRESS"),
    O("amazon-report-plain", OPT_BOOL, amazon_report_plain,
      "Amazon: report documents without GZIP"),
    O("amazon-redirect-uri", OPT_STR, amazon_redirect_uri,
      "Amazon: the app's registered OAuth redirect URI"),
    O("tiny-companies", OPT_INT, tiny_companies, "Tiny ERP companies (one per seller first)"),
    O("tiny-products", OPT_INT, tiny_products, "Tiny products per company"),
    O("tiny-orders", OPT_INT, tiny_orders, "seeded Tiny orders (pedidos) per company"),
    O("tiny-plan", OPT_STR, tiny_plan,
      "Tiny plan per company, comma list used in turn (comecar, crescer, evoluir, "
      "potencializar, legado)"),
    O("tiny-limit", OPT_INT, tiny_limit, "Tiny calls per minute instead of the plan's (0 = plan)"),
    O("tiny-latency-ms", OPT_INT, tiny_latency_ms, "every Tiny answer takes this long"),
    O("tiny-webhook-url", OPT_STR, tiny_webhook_url, "every Tiny company's webhook URL (http://)"),
};

void ms_options_defaults(ms_options_t *o)
{
	memset(o, 0, sizeof(*o));
	o->port = 0;
	o->seed = 1;
	o->sellers = 2;
	o->items = 60;
	o->orders = 150;
	o->questions = 40;
	o->claims = -1;
	o->token_ttl = 21600;
	o->code_ttl = 600;
	o->scroll_ttl = 300;
	/* Midnight UTC of today: orders really fall in the last 90 days, and every run on the same
	 * day serves the same bytes. Pass --now for byte-identical runs on any day. */
	const int64_t day = 86400000;
	o->now_ms = wall_ms() / day * day;
	o->notify_retry_scale = 1;
	o->notify_attempts = 8;
	o->notify_timeout_ms = 500;
	snprintf(o->grant_error_field, sizeof(o->grant_error_field), "error_description");
	o->amazon_sellers = 2;
	o->amazon_orders = 120;
	o->amazon_skus = 40;
	o->amazon_rate_scale = 1;
	o->amazon_token_ttl = 3600;
	o->amazon_report_queue_s = 10;
	o->amazon_report_build_s = 30;
	o->tiny_companies = 2;
	o->tiny_products = 40;
	o->tiny_orders = 30;
	snprintf(o->tiny_plan, sizeof(o->tiny_plan), "evoluir");
}

static bool set_value(ms_options_t *o, const struct opt_def *d, const char *text, char *err,
		      size_t errlen)
{
	void *field = (char *)o + d->offset;
	char *end = NULL;
	errno = 0;
	switch (d->type) {
	case OPT_INT: {
		long v = strtol(text, &end, 10);
		if (errno || end == text || *end || v < -1 || v > 100000000)
			goto bad;
		*(int *)field = (int)v;
		return true;
	}
	case OPT_U64: {
		unsigned long long v = strtoull(text, &end, 10);
		if (errno || end == text || *end)
			goto bad;
		*(uint64_t *)field = v;
		return true;
	}
	case OPT_DOUBLE: {
		double v = strtod(text, &end);
		if (errno || end == text || *end || !isfinite(v) || v < 0)
			goto bad;
		*(double *)field = v;
		return true;
	}
	case OPT_STR:
		if (strlen(text) >= d->size)
			goto bad;
		memcpy(field, text, strlen(text) + 1);
		return true;
	case OPT_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
			*(bool *)field = true;
		else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
			*(bool *)field = false;
		else
			goto bad;
		return true;
	case OPT_TIME: {
		long long secs = strtoll(text, &end, 10);
		if (!errno && end != text && !*end) {
			*(int64_t *)field = secs * 1000;
			return true;
		}
		if (!ms_time_parse(text, (int64_t *)field))
			goto bad;
		return true;
	}
	}
bad:
	snprintf(err, errlen, "bad value for %s: %s", d->flag, text);
	return false;
}

static const struct opt_def *find_def(const char *name, bool json)
{
	for (size_t i = 0; i < ARRAY_LEN(opt_defs); i++) {
		const char *f = opt_defs[i].flag;
		size_t n = strlen(f);
		if (strlen(name) != n)
			continue;
		size_t k = 0;
		for (; k < n; k++) {
			char want = json && f[k] == '-' ? '_' : f[k];
			if (name[k] != want)
				break;
		}
		if (k == n)
			return &opt_defs[i];
	}
	return NULL;
}

static void usage(void)
{
	printf("usage: marketsim [--flag value]...\n"
	       "A Mercado Livre API simulator. Flags (POST /_sim/reset takes the same as JSON):\n");
	for (size_t i = 0; i < ARRAY_LEN(opt_defs); i++)
		printf("  --%-20s %s\n", opt_defs[i].flag, opt_defs[i].help);
}

bool ms_options_parse_argv(ms_options_t *o, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage();
			exit(0);
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument: %s", a);
			return false;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		char key[64];
		size_t klen = eq ? (size_t)(eq - name) : strlen(name);
		if (klen >= sizeof(key)) {
			snprintf(err, errlen, "unknown flag: %s", a);
			return false;
		}
		memcpy(key, name, klen);
		key[klen] = '\0';
		const struct opt_def *d = find_def(key, false);
		if (!d) {
			snprintf(err, errlen, "unknown flag: --%s (see --help)", key);
			return false;
		}
		const char *val = eq ? eq + 1 : NULL;
		if (!val && d->type == OPT_BOOL)
			val = "true";
		else if (!val && i + 1 < argc)
			val = argv[++i];
		if (!val) {
			snprintf(err, errlen, "--%s needs a value", key);
			return false;
		}
		if (!set_value(o, d, val, err, errlen))
			return false;
	}
	return true;
}

bool ms_options_apply_json(ms_options_t *o, json_t *obj, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		const struct opt_def *d = find_def(key, true);
		if (!d || strcmp(key, "port") == 0) {
			snprintf(err, errlen, "unknown option: %s", key);
			return false;
		}
		char text[600];
		if (json_is_string(v))
			snprintf(text, sizeof(text), "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		else if (json_is_real(v))
			snprintf(text, sizeof(text), "%.17g", json_real_value(v));
		else if (json_is_boolean(v))
			snprintf(text, sizeof(text), "%s", json_is_true(v) ? "true" : "false");
		else {
			snprintf(err, errlen, "bad value for %s", key);
			return false;
		}
		if (!set_value(o, d, text, err, errlen))
			return false;
	}
	return true;
}

void ms_options_finish(ms_options_t *o)
{
	if (o->sellers < 1)
		o->sellers = 1;
	if (o->sellers > 50)
		o->sellers = 50;
	if (o->items < o->sellers)
		o->items = o->sellers;
	if (o->orders < 0)
		o->orders = 0;
	if (o->questions < 0)
		o->questions = 0;
	if (o->notify_attempts < 1)
		o->notify_attempts = 1;
	if (o->notify_attempts > 30)
		o->notify_attempts = 30;
	if (o->notify_timeout_ms < 1)
		o->notify_timeout_ms = 500;
	if (o->burst <= 0)
		o->burst = o->rate > 1 ? o->rate : 1;
	uint64_t s = o->seed ^ 0xa5a5a5a5a5a5a5a5ULL;
	if (!o->client_id[0])
		snprintf(
		    o->client_id, sizeof(o->client_id), "%llu",
		    (unsigned long long)(1000000000000000ULL + rng_below(&s, 8999999999999999ULL)));
	if (!o->client_secret[0]) {
		static const char alnum[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
		for (int i = 0; i < 32; i++)
			o->client_secret[i] = alnum[rng_below(&s, sizeof(alnum) - 1)];
		o->client_secret[32] = '\0';
	}
	if (o->amazon_sellers < 1)
		o->amazon_sellers = 1;
	if (o->amazon_sellers > 50)
		o->amazon_sellers = 50;
	if (o->amazon_skus < 1)
		o->amazon_skus = 1;
	if (o->amazon_skus > 99999)
		o->amazon_skus = 99999;
	if (o->amazon_orders < 0)
		o->amazon_orders = 0;
	if (o->amazon_orders > 1000000)
		o->amazon_orders = 1000000;
	if (o->amazon_token_ttl < 1)
		o->amazon_token_ttl = 3600;
	if (o->tiny_companies < 0)
		o->tiny_companies = 0;
	if (o->tiny_companies > 50)
		o->tiny_companies = 50;
	if (o->tiny_products < 0)
		o->tiny_products = 0;
	if (o->tiny_products > 100000)
		o->tiny_products = 100000;
	if (o->tiny_orders < 0)
		o->tiny_orders = 0;
	if (o->tiny_orders > 100000)
		o->tiny_orders = 100000;
	if (strcmp(o->grant_error_field, "message") != 0)
		snprintf(o->grant_error_field, sizeof(o->grant_error_field), "error_description");
}
