/* Login with Amazon as the Selling Partner API uses it: POST /auth/o2/token (form body; the
 * refresh_token, authorization_code and client_credentials grants; LWA's OAuth2 error shape),
 * the Seller Central consent page of the website authorization workflow (redirects back with
 * spapi_oauth_code, state and selling_partner_id), and the x-amz-access-token check of every
 * SP-API call. Refresh tokens are long-lived and echoed back on refresh; access tokens live
 * --amazon-token-ttl (3600) seconds of marketsim's clock; codes live 5 minutes, single use. */
#include "amazon.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>

#include "util.h"

#define CODE_TTL_US (300LL * 1000000)

struct access {
	int seller; /* index; -1 for a grantless (client_credentials) token */
	unsigned grant_epoch, access_epoch;
	int64_t expires_us;
};

struct refresh {
	int seller;
	unsigned grant_epoch;
};

struct code {
	int seller;
	char redirect_uri[512];
	int64_t expires_us;
	bool used;
};

static void random_token(char *out, const char *prefix, size_t n)
{
	static const char chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char buf[256];
	size_t p = strlen(prefix);
	if (n > sizeof(buf) || getrandom(buf, n, 0) != (ssize_t)n)
		die("marketsim: getrandom failed");
	memcpy(out, prefix, p);
	for (size_t i = 0; i < n; i++)
		out[p + i] = chars[buf[i] & 63];
	out[p + n] = '\0';
}

void am_lwa_init(am_state_t *a)
{
	a->access = strmap_new();
	a->refresh = strmap_new();
	a->codes = strmap_new();
	for (size_t i = 0; i < a->n_sellers; i++) {
		struct refresh *rf = xcalloc(1, sizeof(*rf));
		rf->seller = (int)i;
		strmap_put(a->refresh, a->sellers[i].refresh_token, rf);
	}
}

void am_lwa_free(am_state_t *a)
{
	strmap_free(a->access, free);
	strmap_free(a->refresh, free);
	strmap_free(a->codes, free);
}

void am_lwa_revoke(am_state_t *a, am_seller_t *s)
{
	s->grant_epoch++;
}

void am_lwa_expire(am_state_t *a, am_seller_t *s)
{
	s->access_epoch++;
}

/* ---- POST /auth/o2/token ---- */

static void lwa_error(ms_req_t *r, int status, const char *error, const char *description)
{
	ms_reply_json(r, status,
		      json_pack("{s:s, s:s}", "error_description", description, "error", error));
}

static const char *param(struct evkeyvalq *kv, const char *name)
{
	const char *v = evhttp_find_header(kv, name);
	return v && *v ? v : NULL;
}

static void issue(ms_req_t *r, int seller, const char *refresh)
{
	am_state_t *a = r->ms->amazon;
	char token[200];
	random_token(token, "Atza|IwEB", 180);
	struct access *ac = xcalloc(1, sizeof(*ac));
	ac->seller = seller;
	if (seller >= 0) {
		ac->grant_epoch = a->sellers[seller].grant_epoch;
		ac->access_epoch = a->sellers[seller].access_epoch;
	}
	ac->expires_us = ms_now_us(r->ms) + (int64_t)r->ms->opt.amazon_token_ttl * 1000000;
	free(strmap_put(a->access, token, ac));
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "Pragma", "no-cache");
	json_t *body = json_pack("{s:s, s:s, s:i}", "access_token", token, "token_type", "bearer",
				 "expires_in", r->ms->opt.amazon_token_ttl);
	if (refresh)
		json_object_set_new(body, "refresh_token", json_string(refresh));
	ms_reply_json(r, 200, body);
}

static void grant(ms_req_t *r, struct evkeyvalq *kv)
{
	am_state_t *a = r->ms->amazon;
	const char *type = param(kv, "grant_type"), *client_id = param(kv, "client_id");
	const char *secret = param(kv, "client_secret");
	if (!type) {
		lwa_error(r, 400, "invalid_request",
			  "The request is missing a required parameter : grant_type");
		return;
	}
	bool by_code = strcmp(type, "authorization_code") == 0;
	bool by_refresh = strcmp(type, "refresh_token") == 0;
	bool grantless = strcmp(type, "client_credentials") == 0;
	if (!by_code && !by_refresh && !grantless) {
		lwa_error(r, 400, "unsupported_grant_type",
			  "The authorization grant type is not supported by the authorization "
			  "server");
		return;
	}
	if (!client_id || !secret) {
		lwa_error(r, 400, "invalid_request",
			  client_id ? "The request is missing a required parameter : client_secret"
				    : "The request is missing a required parameter : client_id");
		return;
	}
	size_t slen = strlen(a->client_secret);
	if (strcmp(client_id, a->client_id) != 0 || strlen(secret) != slen ||
	    !const_time_eq(secret, a->client_secret, slen)) {
		lwa_error(r, 401, "invalid_client", "Client authentication failed");
		return;
	}
	if (grantless) {
		const char *scope = param(kv, "scope");
		if (!scope || (strcmp(scope, "sellingpartnerapi::notifications") != 0 &&
			       strcmp(scope, "sellingpartnerapi::migration") != 0)) {
			lwa_error(r, 400, "invalid_scope", "An unknown scope was requested");
			return;
		}
		issue(r, -1, NULL);
		return;
	}
	if (by_refresh) {
		const char *token = param(kv, "refresh_token");
		if (!token) {
			lwa_error(r, 400, "invalid_request",
				  "The request is missing a required parameter : refresh_token");
			return;
		}
		struct refresh *rf = strmap_get(a->refresh, token);
		if (!rf || rf->grant_epoch != a->sellers[rf->seller].grant_epoch) {
			lwa_error(
			    r, 400, "invalid_grant",
			    "The request has an invalid grant parameter : refresh_token. User "
			    "may have revoked or didn't grant the permission.");
			return;
		}
		issue(r, rf->seller, token);
		return;
	}
	const char *code_s = param(kv, "code"), *redirect = param(kv, "redirect_uri");
	if (!code_s) {
		lwa_error(r, 400, "invalid_request",
			  "The request is missing a required parameter : code");
		return;
	}
	struct code *c = strmap_get(a->codes, code_s);
	if (!c || c->used || ms_now_us(r->ms) > c->expires_us ||
	    (redirect && strcmp(redirect, c->redirect_uri) != 0)) {
		lwa_error(r, 400, "invalid_grant",
			  "The request has an invalid grant parameter : code");
		return;
	}
	c->used = true;
	am_seller_t *s = &a->sellers[c->seller];
	/* A new authorization: a refresh token of its own, next to the seeded one. */
	char token[200];
	random_token(token, "Atzr|IwEB", 140);
	struct refresh *rf = xcalloc(1, sizeof(*rf));
	rf->seller = c->seller;
	rf->grant_epoch = s->grant_epoch;
	free(strmap_put(a->refresh, token, rf));
	issue(r, c->seller, token);
}

void h_am_token(ms_req_t *r)
{
	struct evkeyvalq kv;
	TAILQ_INIT(&kv);
	if (!ms_body_params(r, &kv))
		lwa_error(r, 400, "invalid_request", "The request body could not be parsed");
	else
		grant(r, &kv);
	evhttp_clear_headers(&kv);
}

/* ---- GET /apps/authorize/consent (Seller Central) ---- */

static void page_error(ms_req_t *r, const char *code, const char *text)
{
	ms_reply_json(r, 400, json_pack("{s:s, s:s}", "error", code, "error_description", text));
}

static char *encode(arena_t *ar, const char *s)
{
	char *e = evhttp_uriencode(s, -1, 0);
	char *out = arena_strdup(ar, e ? e : "");
	free(e);
	return out;
}

void h_am_consent(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	const char *app = ms_arg(r, "application_id"), *state = ms_arg(r, "state");
	const char *version = ms_arg(r, "version"), *redirect = ms_arg(r, "redirect_uri");
	const char *registered = r->ms->opt.amazon_redirect_uri;
	if (!app || strcmp(app, a->app_id) != 0) {
		page_error(r, "MD1000", "The application could not be found.");
		return;
	}
	if (!version || strcmp(version, "beta") != 0) {
		/* The simulated app is a draft: it is authorized with version=beta only. */
		page_error(r, "MD1000", "A draft application needs version=beta.");
		return;
	}
	if (!redirect)
		redirect = registered[0] ? registered : NULL;
	if (!redirect || (registered[0] && strcmp(redirect, registered) != 0) ||
	    (strncmp(redirect, "http://", 7) != 0 && strncmp(redirect, "https://", 8) != 0)) {
		page_error(r, "MD5101", "The redirect URI is not one of the application's.");
		return;
	}
	am_seller_t *s = &a->sellers[0];
	const char *want = ms_arg(r, "selling_partner_id");
	if (want && !(s = am_seller_find(a, want))) {
		page_error(r, "MD9100", "Unknown selling partner.");
		return;
	}
	struct code *c = xcalloc(1, sizeof(*c));
	c->seller = (int)(s - a->sellers);
	snprintf(c->redirect_uri, sizeof(c->redirect_uri), "%s", redirect);
	c->expires_us = ms_now_us(r->ms) + CODE_TTL_US;
	char code[40];
	random_token(code, "AN", 18);
	free(strmap_put(a->codes, code, c));
	char *q = arena_printf(r->arena, "state=%s&selling_partner_id=%s&spapi_oauth_code=%s",
			       encode(r->arena, state ? state : ""), s->id, code);
	ms_reply_redirect(
	    r, arena_printf(r->arena, "%s%c%s", redirect, strchr(redirect, '?') ? '&' : '?', q));
}

/* ---- x-amz-access-token ---- */

static am_seller_t *denied(ms_req_t *r, const char *message, const char *details, const char *type)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "x-amzn-ErrorType", type);
	ms_reply_json(r, 403,
		      json_pack("{s:[{s:s, s:s, s:s}]}", "errors", "message", message, "code",
				"Unauthorized", "details", details));
	return NULL;
}

am_seller_t *am_lwa_check(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	const char *token = ms_header(r, "x-amz-access-token");
	if (!token || !*token)
		return denied(r, "Access to requested resource is denied.",
			      "Access token is missing in the request header.",
			      "MissingAuthenticationTokenException");
	struct access *ac = strmap_get(a->access, token);
	if (!ac || ac->seller < 0 || ac->grant_epoch != a->sellers[ac->seller].grant_epoch)
		return denied(r, "Access to requested resource is denied.", "",
			      "AccessDeniedException");
	am_seller_t *s = &a->sellers[ac->seller];
	if (ac->access_epoch != s->access_epoch || ms_now_us(r->ms) > ac->expires_us)
		return denied(r, "The security token included in the request is expired", "",
			      "ExpiredTokenException");
	return s;
}
