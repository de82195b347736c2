/* The Amazon client over httpc. One struct per call holds its state; the refresh after a 403 is
 * an explicit step of that struct. */
#include "client.h"
#include "amazon.h"
#include "crypto.h"
#include "ratelimit.h"
#include "upkeep.h"
#include "util.h"
#include "workers.h"

#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMAZON_TIMEOUT_MS  15000
#define AMAZON_MESSAGE_MAX 200
#define USER_AGENT	   "sellerhub/1.0 (Language=C; Platform=Linux)"
/* A successful answer at least this long is parsed on a worker thread: a page of financial
 * events is a few hundred KB, milliseconds of the loop's time that webhook acks would wait. */
#define AMAZON_PARSE_ON_WORKER (32 * 1024)

static enum channel_err classify(long status, const char *code)
{
	if (code && strcmp(code, "invalid_grant") == 0)
		return CHANNEL_ERR_INVALID_GRANT;
	if (code && strcmp(code, "invalid_client") == 0)
		return CHANNEL_ERR_CONFIG;
	if (status == 401 || status == 403)
		return CHANNEL_ERR_UNAUTHORIZED; /* SP-API answers 403 where others say 401 */
	if (status == 404)
		return CHANNEL_ERR_NOT_FOUND;
	if (status == 429)
		return CHANNEL_ERR_RATE_LIMITED;
	if (status >= 500)
		return CHANNEL_ERR_TRANSIENT;
	return CHANNEL_ERR_OTHER;
}

/* Fill res from an httpc answer. LWA's errors are {error, error_description}; SP-API's are
 * {errors: [{code, message, details}]}. The message is cut to one short printable line. */
static void result_from(amazon_result_t *res, const httpc_response_t *resp, char *msg, size_t size)
{
	memset(res, 0, sizeof(*res));
	res->status = resp->status;
	if (resp->error) {
		res->err = CHANNEL_ERR_TRANSIENT;
		snprintf(msg, size, "Amazon unreachable (%s)", resp->error);
		res->message = msg;
		return;
	}
	res->rate_limit = httpc_header(resp, "x-amzn-RateLimit-Limit");
	res->body = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	if (resp->status >= 200 && resp->status < 300) {
		if (!json_is_object(res->body)) {
			res->err = CHANNEL_ERR_BAD_RESPONSE;
			snprintf(msg, size, "Amazon answered %ld with no JSON object",
				 resp->status);
			res->message = msg;
		}
		return;
	}
	const char *code = json_string_value(json_object_get(res->body, "error"));
	const char *text = json_string_value(json_object_get(res->body, "error_description"));
	json_t *first = json_array_get(json_object_get(res->body, "errors"), 0);
	if (!code && first) {
		code = json_string_value(json_object_get(first, "code"));
		text = json_string_value(json_object_get(first, "message"));
	}
	res->err = classify(resp->status, code);
	snprintf(msg, size, "Amazon answered %ld%s%.40s%s%.*s", resp->status, code ? " " : "",
		 code ? code : "", text ? ": " : "", AMAZON_MESSAGE_MAX, text ? text : "");
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	res->message = msg;
}

/* --- Login with Amazon --------------------------------------------------------------------- */

typedef struct token_call {
	char *refresh_token; /* the one sent (refresh): kept when the answer has none */
	amazon_grant_cb cb;
	void *arg;
} token_call_t;

static void token_done(const httpc_response_t *resp, void *arg)
{
	token_call_t *t = arg;
	amazon_result_t res;
	char msg[300];
	result_from(&res, resp, msg, sizeof(msg));
	channel_grant_t g = {0};
	if (res.err == CHANNEL_OK) {
		g.access_token = json_string_value(json_object_get(res.body, "access_token"));
		g.refresh_token = json_string_value(json_object_get(res.body, "refresh_token"));
		g.expires_in = (long)json_integer_value(json_object_get(res.body, "expires_in"));
		/* The refresh grant may or may not echo the token (amazon.md 1.3). */
		if (!g.refresh_token)
			g.refresh_token = t->refresh_token;
		if (!g.access_token || !g.refresh_token || g.expires_in <= 0) {
			res.err = CHANNEL_ERR_BAD_RESPONSE;
			res.message = "Login with Amazon's token answer is incomplete";
		}
	}
	t->cb(&res, res.err == CHANNEL_OK ? &g : NULL, t->arg);
	json_decref(res.body);
	crypto_free_secret(t->refresh_token);
	free(t);
}

static void token_post(app_t *app, const char *limiter_key, const char *grant_type,
		       const char *field, const char *value, const char *redirect_uri,
		       amazon_grant_cb cb, void *arg)
{
	const amazon_config_t *c = amazon_config(app);
	if (!c->client_id || !c->client_secret) {
		amazon_result_t res = {.err = CHANNEL_ERR_CONFIG,
				       .message = channel_err_name(CHANNEL_ERR_CONFIG)};
		cb(&res, NULL, arg);
		return;
	}
	token_call_t *t = xcalloc(1, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	if (strcmp(grant_type, "refresh_token") == 0)
		t->refresh_token = xstrdup(value);
	char form[8192] = "";
	httpc_form_add(form, sizeof(form), "grant_type", grant_type);
	httpc_form_add(form, sizeof(form), field, value);
	if (redirect_uri)
		httpc_form_add(form, sizeof(form), "redirect_uri", redirect_uri);
	httpc_form_add(form, sizeof(form), "client_id", c->client_id);
	httpc_form_add(form, sizeof(form), "client_secret", c->client_secret);
	char url[1024];
	snprintf(url, sizeof(url), "%s/auth/o2/token", c->lwa_url);
	static const char *const headers[] = {
	    "Content-Type: application/x-www-form-urlencoded;charset=UTF-8",
	    "Accept: application/json", NULL};
	httpc_request_t req = {.method = "POST",
			       .url = url,
			       .headers = headers,
			       .body = form,
			       .body_len = strlen(form),
			       .timeout_ms = AMAZON_TIMEOUT_MS,
			       .limiter_key = limiter_key};
	if (!httpc_send(app->httpc, &req, token_done, t)) {
		httpc_response_t none = {.error = "invalid request", .err = HTTPC_ERR_OTHER};
		token_done(&none, t);
	}
	explicit_bzero(form, sizeof(form));
}

void amazon_lwa_code(app_t *app, const char *code, const char *redirect_uri, amazon_grant_cb cb,
		     void *arg)
{
	token_post(app, "amazon:lwa:code", "authorization_code", "code", code, redirect_uri, cb,
		   arg);
}

void amazon_lwa_refresh(app_t *app, const char *account_id, const char *refresh_token,
			amazon_grant_cb cb, void *arg)
{
	char key[96];
	snprintf(key, sizeof(key), "amazon:lwa:%s", account_id ? account_id : "new");
	token_post(app, key, "refresh_token", "refresh_token", refresh_token, NULL, cb, arg);
}

/* --- SP-API calls -------------------------------------------------------------------------- */

typedef struct call {
	app_t *app;
	char *limiter_key;
	amazon_cb cb;
	void *arg;
	/* A large answer on its way through a worker: its text (then its JSON), status and
	 * announced rate. */
	char *text;
	size_t len;
	json_t *parsed;
	long status;
	char *rate_limit;
} call_t;

/* The rate Amazon announces for this seller's operation replaces the table's (channel.c). */
static void follow_rate(call_t *c, const char *announced)
{
	char *end;
	double rate = announced ? strtod(announced, &end) : 0;
	if (c->limiter_key && announced && end != announced && rate > 0)
		ratelimit_adapt(c->app->limits, c->limiter_key, rate * AMAZON_RATE_MARGIN,
				now_us());
}

static void call_deliver(call_t *c, amazon_result_t *res)
{
	follow_rate(c, res->rate_limit);
	c->cb(res, c->arg);
	json_decref(res->body);
	free(c->rate_limit);
	free(c->limiter_key);
	free(c);
}

static void parse_work(void *arg)
{
	call_t *c = arg;
	c->parsed = json_loadb(c->text, c->len, 0, NULL);
	free(c->text);
	c->text = NULL;
}

static void parse_done(void *arg)
{
	call_t *c = arg;
	amazon_result_t res = {.status = c->status, .body = c->parsed, .rate_limit = c->rate_limit};
	char msg[64];
	if (!json_is_object(res.body)) {
		res.err = CHANNEL_ERR_BAD_RESPONSE;
		snprintf(msg, sizeof(msg), "Amazon answered %ld with no JSON object", c->status);
		res.message = msg;
	}
	call_deliver(c, &res);
}

static void call_done(const httpc_response_t *resp, void *arg)
{
	call_t *c = arg;
	if (!resp->error && resp->status >= 200 && resp->status < 300 &&
	    resp->body_len >= AMAZON_PARSE_ON_WORKER) {
		const char *rate = httpc_header(resp, "x-amzn-RateLimit-Limit");
		c->text = xmalloc(resp->body_len);
		memcpy(c->text, resp->body, resp->body_len);
		c->len = resp->body_len;
		c->status = resp->status;
		c->rate_limit = rate ? xstrdup(rate) : NULL;
		workers_submit(c->app->workers, parse_work, parse_done, c);
		return;
	}
	amazon_result_t res;
	char msg[300];
	result_from(&res, resp, msg, sizeof(msg));
	call_deliver(c, &res);
}

void amazon_call_with_token(app_t *app, const char *region, const char *limiter_key,
			    const char *token, const char *method, const char *path,
			    const char *json_body, amazon_cb cb, void *arg)
{
	call_t *c = xcalloc(1, sizeof(*c));
	c->app = app;
	c->limiter_key = limiter_key ? xstrdup(limiter_key) : NULL;
	c->cb = cb;
	c->arg = arg;
	const char *base = amazon_spapi_url(app, region);
	if (!base) {
		httpc_response_t none = {.error = "no SP-API endpoint for the account's region",
					 .err = HTTPC_ERR_OTHER};
		call_done(&none, c);
		return;
	}
	char url[4096], auth[2200];
	snprintf(url, sizeof(url), "%s%s", base, path);
	snprintf(auth, sizeof(auth), "x-amz-access-token: %s", token);
	const char *headers[] = {auth, "Accept: application/json",
				 json_body ? "Content-Type: application/json" : NULL, NULL};
	httpc_request_t req = {.method = method,
			       .url = url,
			       .headers = headers,
			       .body = json_body,
			       .body_len = json_body ? strlen(json_body) : 0,
			       .timeout_ms = AMAZON_TIMEOUT_MS,
			       .limiter_key = limiter_key,
			       .user_agent = USER_AGENT};
	if (!httpc_send(app->httpc, &req, call_done, c)) {
		httpc_response_t none = {.error = "invalid request", .err = HTTPC_ERR_OTHER};
		call_done(&none, c);
	}
	explicit_bzero(auth, sizeof(auth));
}

enum account_state { AC_TOKEN, AC_FIRST, AC_REFRESH, AC_RETRY };

/* One account call: token → call → (403: refresh → call). Freed after cb. A 403 for the token
 * means the call did not take effect, so repeating a PATCH after it is safe. */
typedef struct account_call {
	app_t *app;
	enum account_state state;
	char *account_id, *region, *path, *key, *method, *body;
	char *token; /* the plaintext token of the first call (cleared on free) */
	amazon_cb cb;
	void *arg;
} account_call_t;

static void account_call_free(account_call_t *a)
{
	free(a->account_id);
	free(a->region);
	free(a->path);
	free(a->key);
	free(a->method);
	free(a->body);
	crypto_free_secret(a->token);
	free(a);
}

static void account_answered(const amazon_result_t *res, void *arg);

static void account_token(enum channel_err err, const char *message, const char *access_token,
			  void *arg)
{
	account_call_t *a = arg;
	if (err != CHANNEL_OK) {
		amazon_result_t res = {.err = err,
				       .message = message ? message : channel_err_name(err)};
		a->cb(&res, a->arg);
		account_call_free(a);
		return;
	}
	if (a->state == AC_TOKEN) {
		a->token = xstrdup(access_token);
		a->state = AC_FIRST;
	} else {
		a->state = AC_RETRY;
	}
	amazon_call_with_token(a->app, a->region, a->key, access_token, a->method, a->path, a->body,
			       account_answered, a);
}

static void account_answered(const amazon_result_t *res, void *arg)
{
	account_call_t *a = arg;
	if (res->status == 403 && a->state == AC_FIRST) {
		/* The token died before its time (or our clock is off): refresh once. */
		a->state = AC_REFRESH;
		upkeep_refresh(a->app, a->account_id, UPKEEP_REJECTED, a->token, account_token, a);
		return;
	}
	a->cb(res, a->arg);
	account_call_free(a);
}

void amazon_call(app_t *app, const char *account_id, const char *region, const char *op,
		 const char *method, const char *path, const char *json_body, amazon_cb cb,
		 void *arg)
{
	account_call_t *a = xcalloc(1, sizeof(*a));
	a->app = app;
	a->account_id = xstrdup(account_id);
	a->region = xstrdup(region ? region : "");
	a->path = xstrdup(path);
	a->method = xstrdup(method ? method : "GET");
	a->body = json_body ? xstrdup(json_body) : NULL;
	size_t n = strlen(account_id) + strlen(op) + 16;
	a->key = xmalloc(n);
	snprintf(a->key, n, "amazon:%s:%s", op, account_id);
	a->cb = cb;
	a->arg = arg;
	a->state = AC_TOKEN;
	upkeep_access(app, account_id, account_token, a);
}

void amazon_download(app_t *app, const char *url, size_t max_bytes,
		     void (*cb)(const httpc_response_t *resp, void *arg), void *arg)
{
	httpc_request_t req = {
	    .url = url, .timeout_ms = 60000, .max_response = max_bytes, .user_agent = USER_AGENT};
	if (!httpc_send(app->httpc, &req, cb, arg)) {
		httpc_response_t none = {.error = "invalid request", .err = HTTPC_ERR_OTHER};
		cb(&none, arg);
	}
}

/* --- the grant the token upkeep calls -------------------------------------------------------- */

typedef struct grant_call {
	channel_grant_cb cb;
	void *arg;
} grant_call_t;

static void granted(const amazon_result_t *res, const channel_grant_t *g, void *arg)
{
	grant_call_t *c = arg;
	c->cb(res->err, res->err == CHANNEL_OK ? NULL : res->message, g, c->arg);
	free(c);
}

void amazon_tokens_grant(app_t *app, const char *account_id, const char *refresh_token,
			 channel_grant_cb cb, void *arg)
{
	grant_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	amazon_lwa_refresh(app, account_id, refresh_token, granted, c);
}
