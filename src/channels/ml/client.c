/* The Mercado Livre client over httpc. One struct per call holds its state; the 401 retry is an
 * explicit step of that struct. */
#include "client.h"
#include "crypto.h"
#include "log.h"
#include "ml.h"
#include "token.h"
#include "util.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ML_TIMEOUT_MS  10000
#define ML_MESSAGE_MAX 200

static enum ml_err classify(long status, const char *code)
{
	if (code && strcmp(code, "invalid_grant") == 0)
		return ML_ERR_INVALID_GRANT;
	if (status == 401)
		return ML_ERR_UNAUTHORIZED;
	if (status == 403)
		return ML_ERR_FORBIDDEN;
	if (status == 404)
		return ML_ERR_NOT_FOUND;
	if (status == 429)
		return ML_ERR_RATE_LIMITED;
	if (status >= 500)
		return ML_ERR_TRANSIENT;
	return ML_ERR_OTHER;
}

/* Fill res from an httpc answer. ML error bodies are {message, error, status, cause} or, on the
 * token endpoint, {error, error_description}; the message is cut to one short line. */
void ml_result_read(ml_result_t *res, const httpc_response_t *resp, char *msg, size_t size)
{
	memset(res, 0, sizeof(*res));
	res->status = resp->status;
	if (resp->error) {
		res->err = resp->err == HTTPC_ERR_SHUTDOWN ? ML_ERR_TRANSIENT : ML_ERR_TRANSIENT;
		snprintf(msg, size, "Mercado Livre unreachable (%s)", resp->error);
		res->message = msg;
		return;
	}
	res->body = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	if (resp->status >= 200 && resp->status < 300) {
		if (!json_is_object(res->body) && !json_is_array(res->body)) {
			res->err = ML_ERR_BAD_RESPONSE;
			snprintf(msg, size, "Mercado Livre answered %ld with no JSON body",
				 resp->status);
			res->message = msg;
		}
		return;
	}
	const char *code = json_string_value(json_object_get(res->body, "error"));
	const char *text = json_string_value(json_object_get(res->body, "error_description"));
	if (!text)
		text = json_string_value(json_object_get(res->body, "message"));
	res->err = classify(resp->status, code);
	snprintf(msg, size, "Mercado Livre answered %ld%s%.40s%s%.*s", resp->status,
		 code ? " " : "", code ? code : "", text ? ": " : "", ML_MESSAGE_MAX,
		 text ? text : "");
	/* Keep it one printable line whatever the body held. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	res->message = msg;
}

/* --- token endpoint ---------------------------------------------------------------------- */

typedef struct token_call {
	ml_grant_cb cb;
	void *arg;
} token_call_t;

void ml_grant_read(ml_result_t *res, ml_grant_t *g)
{
	memset(g, 0, sizeof(*g));
	if (res->err != ML_OK || res->status < 200 || res->status >= 300)
		return;
	g->access_token = json_string_value(json_object_get(res->body, "access_token"));
	g->refresh_token = json_string_value(json_object_get(res->body, "refresh_token"));
	g->expires_in = (long)json_integer_value(json_object_get(res->body, "expires_in"));
	g->user_id = (int64_t)json_integer_value(json_object_get(res->body, "user_id"));
	if (!g->access_token || !g->refresh_token || g->expires_in <= 0 || g->user_id <= 0) {
		res->err = ML_ERR_BAD_RESPONSE;
		res->message = g->refresh_token ? "the token answer is incomplete"
						: "no refresh token: the application lacks "
						  "offline_access";
	}
}

static void token_done(const httpc_response_t *resp, void *arg)
{
	token_call_t *t = arg;
	ml_result_t res;
	char msg[300];
	ml_result_read(&res, resp, msg, sizeof(msg));
	ml_grant_t g = {0};
	ml_grant_read(&res, &g);
	t->cb(&res, res.err == ML_OK ? &g : NULL, t->arg);
	json_decref(res.body);
	free(t);
}

static void token_post(app_t *app, const char *limiter_key, char *form, ml_grant_cb cb, void *arg)
{
	const ml_config_t *c = ml_config(app);
	token_call_t *t = xcalloc(1, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	char url[1024];
	snprintf(url, sizeof(url), "%s/oauth/token", c->api_url);
	static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
					      "Accept: application/json", NULL};
	httpc_request_t req = {.method = "POST",
			       .url = url,
			       .headers = headers,
			       .body = form,
			       .body_len = strlen(form),
			       .timeout_ms = ML_TIMEOUT_MS,
			       .limiter_key = limiter_key};
	if (!httpc_send(app->httpc, &req, token_done, t)) {
		/* Only a malformed URL gets here; answer on the loop like every other path. */
		httpc_response_t none = {.error = "invalid request", .err = HTTPC_ERR_OTHER};
		token_done(&none, t);
	}
}

static bool configured(app_t *app, ml_grant_cb cb, void *arg)
{
	const ml_config_t *c = ml_config(app);
	if (c->client_id && c->client_secret && c->redirect_uri)
		return true;
	ml_result_t res = {.err = ML_ERR_CONFIG, .message = ml_err_name(ML_ERR_CONFIG)};
	cb(&res, NULL, arg);
	return false;
}

void ml_oauth_exchange(app_t *app, const char *code, const char *verifier, ml_grant_cb cb,
		       void *arg)
{
	if (!configured(app, cb, arg))
		return;
	char form[4096] = "";
	httpc_form_add(form, sizeof(form), "grant_type", "authorization_code");
	httpc_form_add(form, sizeof(form), "client_id", ml_config(app)->client_id);
	httpc_form_add(form, sizeof(form), "client_secret", ml_config(app)->client_secret);
	httpc_form_add(form, sizeof(form), "code", code);
	httpc_form_add(form, sizeof(form), "redirect_uri", ml_config(app)->redirect_uri);
	httpc_form_add(form, sizeof(form), "code_verifier", verifier);
	token_post(app, "ml:oauth:token", form, cb, arg);
	explicit_bzero(form, sizeof(form));
}

void ml_oauth_refresh(app_t *app, const char *account_id, const char *refresh_token, ml_grant_cb cb,
		      void *arg)
{
	if (!configured(app, cb, arg))
		return;
	char form[4096] = "", key[96];
	httpc_form_add(form, sizeof(form), "grant_type", "refresh_token");
	httpc_form_add(form, sizeof(form), "client_id", ml_config(app)->client_id);
	httpc_form_add(form, sizeof(form), "client_secret", ml_config(app)->client_secret);
	httpc_form_add(form, sizeof(form), "refresh_token", refresh_token);
	snprintf(key, sizeof(key), "ml:token:%s", account_id);
	token_post(app, key, form, cb, arg);
	explicit_bzero(form, sizeof(form));
}

/* --- GET with a token -------------------------------------------------------------------- */

typedef struct get_call {
	ml_cb cb;
	void *arg;
} get_call_t;

static void get_done(const httpc_response_t *resp, void *arg)
{
	get_call_t *g = arg;
	ml_result_t res;
	char msg[300];
	ml_result_read(&res, resp, msg, sizeof(msg));
	g->cb(&res, g->arg);
	json_decref(res.body);
	free(g);
}

/* One call with this bearer token; body (JSON) only for POST. */
static void send_with_token(app_t *app, const char *limiter_key, const char *token,
			    const char *method, const char *path, const char *body, ml_cb cb,
			    void *arg)
{
	get_call_t *g = xcalloc(1, sizeof(*g));
	g->cb = cb;
	g->arg = arg;
	char url[2048], auth[1024];
	snprintf(url, sizeof(url), "%s%s", ml_config(app)->api_url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	const char *headers[] = {auth, "Accept: application/json", "x-format-new: true",
				 body ? "Content-Type: application/json" : NULL, NULL};
	httpc_request_t req = {.method = method,
			       .url = url,
			       .headers = headers,
			       .body = body,
			       .body_len = body ? strlen(body) : 0,
			       .timeout_ms = ML_TIMEOUT_MS,
			       .limiter_key = limiter_key};
	if (!httpc_send(app->httpc, &req, get_done, g)) {
		httpc_response_t none = {.error = "invalid request", .err = HTTPC_ERR_OTHER};
		get_done(&none, g);
	}
	explicit_bzero(auth, sizeof(auth));
}

void ml_get_with_token(app_t *app, const char *limiter_key, const char *token, const char *path,
		       ml_cb cb, void *arg)
{
	send_with_token(app, limiter_key, token, NULL, path, NULL, cb, arg);
}

/* --- GET as an account ------------------------------------------------------------------- */

typedef struct me_call {
	ml_user_cb cb;
	void *arg;
} me_call_t;

static void me_answered(const ml_result_t *res, void *arg)
{
	me_call_t *c = arg;
	json_t *me = res->body;
	ml_user_t user = {
	    .id = (int64_t)json_integer_value(json_object_get(me, "id")),
	    .nickname = json_string_value(json_object_get(me, "nickname")),
	    .email = json_string_value(json_object_get(me, "email")),
	    .site_id = json_string_value(json_object_get(me, "site_id")),
	};
	c->cb(res, res->err == ML_OK ? &user : NULL, c->arg);
	free(c);
}

void ml_users_me(app_t *app, const char *access_token, ml_user_cb cb, void *arg)
{
	me_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	ml_get_with_token(app, "ml:oauth:users", access_token, "/users/me", me_answered, c);
}

enum account_get_state { AG_TOKEN, AG_FIRST, AG_REFRESH, AG_RETRY };

/* One account call: token → call → (401: refresh → call). Owned by itself; freed after cb. A
 * 401 means the call did not take effect, so repeating a POST after it is safe. */
typedef struct account_call {
	app_t *app;
	enum account_get_state state;
	char *account_id, *op, *path, *key;
	char *method, *body; /* NULL for a GET */
	char *token;	     /* the plaintext token used for the first GET (cleared on free) */
	ml_cb cb;
	void *arg;
} account_call_t;

static void account_get_free(account_call_t *a)
{
	free(a->account_id);
	free(a->op);
	free(a->path);
	free(a->key);
	free(a->method);
	free(a->body);
	crypto_free_secret(a->token);
	free(a);
}

static void account_get_finish(account_call_t *a, const ml_result_t *res)
{
	a->cb(res, a->arg);
	account_get_free(a);
}

static void account_got(const ml_result_t *res, void *arg);

static void account_token(const ml_result_t *res, const char *token, void *arg)
{
	account_call_t *a = arg;
	if (res->err != ML_OK) {
		account_get_finish(a, res);
		return;
	}
	if (a->state == AG_TOKEN) {
		a->token = xstrdup(token);
		a->state = AG_FIRST;
	} else {
		a->state = AG_RETRY;
	}
	send_with_token(a->app, a->key, token, a->method, a->path, a->body, account_got, a);
}

static void account_got(const ml_result_t *res, void *arg)
{
	account_call_t *a = arg;
	if (res->status == 401 && a->state == AG_FIRST) {
		/* The token died before its time (revoked, password change): refresh once. */
		a->state = AG_REFRESH;
		ml_tokens_refresh(a->app, a->account_id, ML_REFRESH_REJECTED, a->token,
				  account_token, a);
		return;
	}
	account_get_finish(a, res);
}

static void account_call(app_t *app, const char *account_id, const char *op, const char *method,
			 const char *path, const char *body, ml_cb cb, void *arg)
{
	account_call_t *a = xcalloc(1, sizeof(*a));
	a->app = app;
	a->account_id = xstrdup(account_id);
	a->op = xstrdup(op);
	a->path = xstrdup(path);
	a->method = method ? xstrdup(method) : NULL;
	a->body = body ? xstrdup(body) : NULL;
	size_t n = strlen(account_id) + strlen(op) + 8;
	a->key = xmalloc(n);
	snprintf(a->key, n, "ml:%s:%s", op, account_id);
	a->cb = cb;
	a->arg = arg;
	a->state = AG_TOKEN;
	ml_tokens_access(app, account_id, account_token, a);
}

void ml_account_get(app_t *app, const char *account_id, const char *op, const char *path, ml_cb cb,
		    void *arg)
{
	account_call(app, account_id, op, NULL, path, NULL, cb, arg);
}

void ml_account_post(app_t *app, const char *account_id, const char *op, const char *path,
		     const char *json_body, ml_cb cb, void *arg)
{
	account_call(app, account_id, op, "POST", path, json_body, cb, arg);
}

void ml_account_put(app_t *app, const char *account_id, const char *op, const char *path,
		    const char *json_body, ml_cb cb, void *arg)
{
	account_call(app, account_id, op, "PUT", path, json_body, cb, arg);
}

/* --- the grant the token upkeep calls ------------------------------------------------------ */

typedef struct grant_call {
	channel_grant_cb cb;
	void *arg;
} grant_call_t;

static void granted(const ml_result_t *res, const ml_grant_t *g, void *arg)
{
	grant_call_t *c = arg;
	if (res->err != ML_OK) {
		c->cb((enum channel_err)res->err,
		      res->message ? res->message : ml_err_name(res->err), NULL, c->arg);
	} else {
		channel_grant_t out = {g->access_token, g->refresh_token, g->expires_in};
		c->cb(CHANNEL_OK, NULL, &out, c->arg);
	}
	free(c);
}

void ml_tokens_grant(app_t *app, const char *account_id, const char *refresh_token,
		     channel_grant_cb cb, void *arg)
{
	grant_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	ml_oauth_refresh(app, account_id, refresh_token, granted, c);
}
