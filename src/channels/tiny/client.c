/* The Tiny v2 client over httpc. */
#include "client.h"
#include "crypto.h"
#include "httpc.h"
#include "tiny.h"
#include "upkeep.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TINY_TIMEOUT_MS	 20000
#define TINY_MESSAGE_MAX 200
#define TINY_FORM_MAX	 (256 * 1024)
#define RATE_MARGIN	 0.9 /* Tiny counts per clock minute; stay under it */

double tiny_num(json_t *v, double def)
{
	if (json_is_number(v))
		return json_number_value(v);
	const char *s = json_string_value(v);
	if (s && *s) {
		char *end;
		double d = strtod(s, &end);
		if (*end == '\0')
			return d;
	}
	return def;
}

const char *tiny_plan_name(long n)
{
	switch (n) {
	case 20:
		return "legado";
	case 30:
		return "crescer";
	case 60:
		return "evoluir";
	case 120:
		return "potencializar";
	default:
		return "custom";
	}
}

/* The accounts whose bucket was set from x-limit-api, and to what: reconfiguring a prefix
 * resets its bucket, so only a change does. */
#define KNOWN_MAX 1024
static struct {
	char account[40];
	long limit;
} known[KNOWN_MAX];
static size_t n_known;

void tiny_learn_limit(app_t *app, const char *account_id, long limit)
{
	if (!account_id || limit <= 0)
		return;
	size_t i = 0;
	while (i < n_known && strcmp(known[i].account, account_id) != 0)
		i++;
	if (i < n_known && known[i].limit == limit)
		return;
	if (i == n_known) {
		if (n_known == KNOWN_MAX)
			return;
		snprintf(known[n_known++].account, sizeof(known[0].account), "%s", account_id);
	}
	known[i].limit = limit;
	char prefix[96];
	snprintf(prefix, sizeof(prefix), "tiny:call:%s", account_id);
	double burst = limit / 4 > 1 ? (double)(limit / 4) : 1; /* Tiny's concurrency limit */
	ratelimit_configure_start(app->limits, prefix, limit * RATE_MARGIN / 60.0, burst, 1);
}

static enum channel_err classify_code(int code)
{
	switch (code) {
	case 1:
	case TINY_TOKEN_INVALID:
		return CHANNEL_ERR_UNAUTHORIZED;
	case TINY_NO_API:
	case 8:
		return CHANNEL_ERR_FORBIDDEN;
	case TINY_THROTTLED:
	case TINY_TOO_CONCURRENT:
		return CHANNEL_ERR_RATE_LIMITED;
	case TINY_UNEXPECTED:
	case TINY_MAINTENANCE:
		return CHANNEL_ERR_TRANSIENT;
	case TINY_NOT_FOUND:
		return CHANNEL_ERR_NOT_FOUND;
	default:
		return CHANNEL_ERR_OTHER;
	}
}

/* erros[0].erro, or erros[0] itself when a string. */
static const char *first_error(json_t *retorno)
{
	json_t *e = json_array_get(json_object_get(retorno, "erros"), 0);
	if (json_is_string(e))
		return json_string_value(e);
	return json_string_value(json_object_get(e, "erro"));
}

static void result_from(tiny_result_t *res, const httpc_response_t *resp, json_t **doc, char *msg,
			size_t size)
{
	memset(res, 0, sizeof(*res));
	*doc = NULL;
	if (resp->error) {
		res->err = CHANNEL_ERR_TRANSIENT;
		snprintf(msg, size, "Tiny unreachable (%s)", resp->error);
		res->message = msg;
		return;
	}
	const char *limit = httpc_header(resp, "x-limit-api");
	res->limit = limit ? strtol(limit, NULL, 10) : 0;
	if (resp->status != 200) {
		res->err = resp->status == 429	 ? CHANNEL_ERR_RATE_LIMITED
			   : resp->status >= 500 ? CHANNEL_ERR_TRANSIENT
						 : CHANNEL_ERR_OTHER;
		snprintf(msg, size, "Tiny answered HTTP %ld", resp->status);
		res->message = msg;
		return;
	}
	*doc = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	res->retorno = json_object_get(*doc, "retorno");
	if (!json_is_object(res->retorno)) {
		res->retorno = NULL;
		res->err = CHANNEL_ERR_BAD_RESPONSE;
		res->message = "Tiny answered without a retorno envelope";
		return;
	}
	const char *status = json_string_value(json_object_get(res->retorno, "status"));
	res->code = (int)tiny_num(json_object_get(res->retorno, "codigo_erro"), 0);
	if (status && strcmp(status, "OK") == 0 && res->code == 0)
		return;
	if (res->code == TINY_NO_RECORDS) {
		res->empty = true;
		return;
	}
	if (status && strcmp(status, "Parcial") == 0 && res->code == 0)
		return; /* per-record outcomes are the caller's to read */
	res->err = classify_code(res->code);
	const char *text = first_error(res->retorno);
	snprintf(msg, size, "Tiny error %d: %.*s", res->code, TINY_MESSAGE_MAX,
		 text ? text : "(no message)");
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	res->message = msg;
}

typedef struct call {
	app_t *app;
	char *account_id, *key;
	tiny_cb cb;
	void *arg;
} call_t;

static void call_free(call_t *c)
{
	free(c->account_id);
	free(c->key);
	free(c);
}

static void call_done(const httpc_response_t *resp, void *arg)
{
	call_t *c = arg;
	tiny_result_t res;
	json_t *doc;
	char msg[300];
	result_from(&res, resp, &doc, msg, sizeof(msg));
	tiny_learn_limit(c->app, c->account_id, res.limit);
	if (res.err == CHANNEL_ERR_RATE_LIMITED && c->key)
		ratelimit_throttled(c->app->limits, c->key, now_us()); /* slow the bucket down */
	c->cb(&res, c->arg);
	json_decref(doc);
	call_free(c);
}

/* Reads may be repeated after a lost answer; writes may not. */
static bool idempotent(const char *service)
{
	return strstr(service, "pesquisa") || strstr(service, "obter");
}

void tiny_call_with_token(app_t *app, const char *account_id, const char *token,
			  const char *service, const char *form, tiny_cb cb, void *arg)
{
	call_t *c = xcalloc(1, sizeof(*c));
	c->app = app;
	c->cb = cb;
	c->arg = arg;
	if (account_id) {
		c->account_id = xstrdup(account_id);
		size_t n = strlen(account_id) + 16;
		c->key = xmalloc(n);
		snprintf(c->key, n, "tiny:call:%s", account_id);
	}
	const char *base = tiny_config(app)->api_url;
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	char url[1024];
	snprintf(url, sizeof(url), "%.*s/%s.php", (int)blen, base, service);
	size_t size = (form ? strlen(form) : 0) + 512;
	if (size > TINY_FORM_MAX) {
		httpc_response_t none = {.error = "request too large", .err = HTTPC_ERR_OTHER};
		call_done(&none, c);
		return;
	}
	char *body = xcalloc(1, size);
	httpc_form_add(body, size, "token", token);
	httpc_form_add(body, size, "formato", "json");
	if (form && *form) {
		strcat(body, "&");
		strcat(body, form);
	}
	static const char *const headers[] = {
	    "Content-Type: application/x-www-form-urlencoded;charset=UTF-8",
	    "Accept: application/json", NULL};
	httpc_request_t req = {.method = "POST",
			       .url = url,
			       .headers = headers,
			       .body = body,
			       .body_len = strlen(body),
			       .timeout_ms = TINY_TIMEOUT_MS,
			       .limiter_key = c->key,
			       .idempotent = idempotent(service)};
	if (!httpc_send(app->httpc, &req, call_done, c)) {
		httpc_response_t none = {.error = "invalid request", .err = HTTPC_ERR_OTHER};
		call_done(&none, c);
	}
	explicit_bzero(body, strlen(body)); /* it holds the token */
	free(body);
}

typedef struct account_call {
	app_t *app;
	char *account_id, *service, *form;
	tiny_cb cb;
	void *arg;
} account_call_t;

static void account_token(enum channel_err err, const char *message, const char *token, void *arg)
{
	account_call_t *a = arg;
	if (err != CHANNEL_OK) {
		tiny_result_t res = {.err = err,
				     .message = message ? message : channel_err_name(err)};
		a->cb(&res, a->arg);
	} else {
		tiny_call_with_token(a->app, a->account_id, token, a->service, a->form, a->cb,
				     a->arg);
	}
	free(a->account_id);
	free(a->service);
	free(a->form);
	free(a);
}

void tiny_call(app_t *app, const char *account_id, const char *service, const char *form,
	       tiny_cb cb, void *arg)
{
	account_call_t *a = xcalloc(1, sizeof(*a));
	a->app = app;
	a->account_id = xstrdup(account_id);
	a->service = xstrdup(service);
	a->form = form ? xstrdup(form) : NULL;
	a->cb = cb;
	a->arg = arg;
	upkeep_access(app, account_id, account_token, a);
}
