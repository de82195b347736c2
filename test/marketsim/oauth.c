/* OAuth 2.0 as Mercado Livre runs it: the auth host's /authorization (approves at once as the
 * chosen seller), POST /oauth/token for the authorization_code and refresh_token grants, and the
 * bearer check every resource goes through. A grant is one seller's authorization of the app; only
 * its latest refresh token works, each use returns a new one, and revoking or expiring a grant
 * kills the access tokens issued under it. */
#include "marketsim.h"

#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "util.h"

struct refresh;

#define REFRESH_LIFE_MS (180LL * 86400000) /* 6 months */

struct grant {
	int64_t seller_id;
	bool revoked;
	unsigned epoch;		      /* access tokens from an earlier epoch are expired */
	const struct refresh *latest; /* the only refresh token that still works */
	struct grant *next;
};

struct access {
	struct grant *grant;
	unsigned epoch;
	int64_t expires_us; /* monotonic */
};

struct refresh {
	struct grant *grant;
	int64_t expires_wall;
};

struct code {
	int64_t seller_id;
	char redirect_uri[512];
	char challenge[160];
	char method[8];
	int64_t expires_us;
	bool used;
};

struct ms_auth {
	strmap_t *access, *refresh, *codes;
	strmap_t *grant_by_seller; /* current (not revoked) grant per seller id */
	struct grant *grants;	   /* every grant ever made, for freeing */
};

ms_auth_t *ms_auth_new(void)
{
	ms_auth_t *a = xcalloc(1, sizeof(*a));
	a->access = strmap_new();
	a->refresh = strmap_new();
	a->codes = strmap_new();
	a->grant_by_seller = strmap_new();
	return a;
}

void ms_auth_free(ms_auth_t *a)
{
	if (!a)
		return;
	strmap_free(a->access, free);
	strmap_free(a->refresh, free);
	strmap_free(a->codes, free);
	strmap_free(a->grant_by_seller, NULL);
	while (a->grants) {
		struct grant *g = a->grants;
		a->grants = g->next;
		free(g);
	}
	free(a);
}

static void random_hex(char *out, size_t nhex)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[64];
	size_t nbytes = (nhex + 1) / 2;
	if (nbytes > sizeof(buf) || getrandom(buf, nbytes, 0) != (ssize_t)nbytes)
		die("marketsim: getrandom failed");
	for (size_t i = 0; i < nhex; i++)
		out[i] = hex[(buf[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
	out[nhex] = '\0';
}

static void seller_key(int64_t id, char *buf, size_t size)
{
	snprintf(buf, size, "%lld", (long long)id);
}

/* ---- GET /authorization ---- */

static char *url_with(arena_t *ar, const char *base, const char *query)
{
	return arena_printf(ar, "%s%c%s", base, strchr(base, '?') ? '&' : '?', query);
}

static char *encode(arena_t *ar, const char *s)
{
	char *e = evhttp_uriencode(s, -1, 0);
	char *out = arena_strdup(ar, e ? e : "");
	free(e);
	return out;
}

void h_authorization(ms_req_t *r)
{
	ms_t *ms = r->ms;
	const char *type = ms_arg(r, "response_type"), *client = ms_arg(r, "client_id");
	const char *redirect = ms_arg(r, "redirect_uri"), *state = ms_arg(r, "state");
	const char *challenge = ms_arg(r, "code_challenge");
	const char *method = ms_arg(r, "code_challenge_method");
	/* Errors before the redirect URI is trusted are shown on the auth page itself. */
	if (!client || strcmp(client, ms->opt.client_id) != 0) {
		ms_reply_error(r, 400, "invalid_client", "Invalid client_id");
		return;
	}
	if (!redirect ||
	    (strncmp(redirect, "http://", 7) != 0 && strncmp(redirect, "https://", 8) != 0)) {
		ms_reply_error(r, 400, "invalid_request", "redirect_uri is required");
		return;
	}
	if (ms->opt.redirect_uri[0] && strcmp(redirect, ms->opt.redirect_uri) != 0) {
		ms_reply_error(r, 400, "invalid_request",
			       "redirect_uri does not match the application's redirect URI");
		return;
	}
	const char *problem = NULL;
	if (!type || strcmp(type, "code") != 0)
		problem = "unsupported_response_type";
	else if (!challenge && ms->opt.pkce_required)
		problem = "invalid_request"; /* PKCE on: the challenge is mandatory */
	else if (challenge && method && strcmp(method, "S256") != 0 && strcmp(method, "plain") != 0)
		problem = "invalid_request";
	else if (challenge && (strlen(challenge) < 43 || strlen(challenge) > 128))
		problem = "invalid_request";
	if (problem) {
		char *q = arena_printf(r->arena, "error=%s", problem);
		if (state)
			q = arena_printf(r->arena, "%s&state=%s", q, encode(r->arena, state));
		ms_reply_redirect(r, url_with(r->arena, redirect, q));
		return;
	}
	ms_seller_t *seller = &ms->data->sellers[0];
	const char *want = ms_arg(r, "seller");
	if (want) {
		int64_t id;
		seller = ms_parse_id(want, &id) ? ms_seller_find(ms->data, id) : NULL;
		if (!seller) {
			ms_reply_error(r, 400, "invalid_request", "Unknown seller %s", want);
			return;
		}
	}
	struct code *c = xcalloc(1, sizeof(*c));
	c->seller_id = seller->id;
	snprintf(c->redirect_uri, sizeof(c->redirect_uri), "%s", redirect);
	if (challenge) {
		snprintf(c->challenge, sizeof(c->challenge), "%s", challenge);
		snprintf(c->method, sizeof(c->method), "%s", method ? method : "plain");
	}
	c->expires_us = ms_now_us(ms) + (int64_t)ms->opt.code_ttl * 1000000;
	char hex[25], code[64];
	random_hex(hex, 24);
	snprintf(code, sizeof(code), "TG-%s-%lld", hex, (long long)seller->id);
	free(strmap_put(ms->auth->codes, code, c));
	char *q = arena_printf(r->arena, "code=%s", code);
	if (state)
		q = arena_printf(r->arena, "%s&state=%s", q, encode(r->arena, state));
	ms_reply_redirect(r, url_with(r->arena, redirect, q));
}

/* ---- POST /oauth/token ---- */

static void token_error(ms_req_t *r, int status, const char *error, const char *text)
{
	ms_reply_json(r, status,
		      json_pack("{s:s, s:s, s:i, s:[]}", r->ms->opt.grant_error_field, text,
				"error", error, "status", status, "cause"));
}

static const char grant_text[] = "Error validating grant. Your authorization code or refresh "
				 "token may be expired or it was already used";

static bool pkce_ok(const struct code *c, const char *verifier)
{
	if (strcmp(c->method, "plain") == 0)
		return strcmp(c->challenge, verifier) == 0;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)verifier, strlen(verifier), digest);
	unsigned char b64[64];
	int n = EVP_EncodeBlock(b64, digest, sizeof(digest));
	/* base64 → base64url without padding */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	return (size_t)n == strlen(c->challenge) && memcmp(b64, c->challenge, (size_t)n) == 0;
}

static struct grant *grant_for(ms_auth_t *a, int64_t seller_id)
{
	char key[24];
	seller_key(seller_id, key, sizeof(key));
	struct grant *g = strmap_get(a->grant_by_seller, key);
	if (g && !g->revoked)
		return g;
	g = xcalloc(1, sizeof(*g));
	g->seller_id = seller_id;
	g->next = a->grants;
	a->grants = g;
	strmap_put(a->grant_by_seller, key, g);
	return g;
}

static void issue(ms_req_t *r, struct grant *g)
{
	ms_t *ms = r->ms;
	char hex[33], access[160], refresh[80];
	int64_t wall = ms_wall_ms(ms);
	time_t secs = (time_t)(wall / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	random_hex(hex, 32);
	snprintf(access, sizeof(access), "APP_USR-%s-%02d%02d%02d-%s-%lld", ms->opt.client_id,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, hex, (long long)g->seller_id);
	struct access *ac = xcalloc(1, sizeof(*ac));
	ac->grant = g;
	ac->epoch = g->epoch;
	ac->expires_us = ms_now_us(ms) + (int64_t)ms->opt.token_ttl * 1000000;
	free(strmap_put(ms->auth->access, access, ac));

	random_hex(hex, 24);
	snprintf(refresh, sizeof(refresh), "TG-%s-%lld", hex, (long long)g->seller_id);
	struct refresh *rf = xcalloc(1, sizeof(*rf));
	rf->grant = g;
	rf->expires_wall = wall + REFRESH_LIFE_MS;
	free(strmap_put(ms->auth->refresh, refresh, rf));
	g->latest = rf; /* every earlier refresh token of the grant stops working */

	ms_reply_json(r, 200,
		      json_pack("{s:s, s:s, s:i, s:s, s:I, s:s}", "access_token", access,
				"token_type", "bearer", "expires_in", ms->opt.token_ttl, "scope",
				"offline_access read write", "user_id", (json_int_t)g->seller_id,
				"refresh_token", refresh));
}

/* Form parameters (or a JSON object of strings); NULL when absent, and *dup when repeated. */
static const char *param(struct evkeyvalq *kv, const char *name, bool *dup)
{
	const char *found = NULL;
	struct evkeyval *e;
	TAILQ_FOREACH(e, kv, next)
	{
		if (strcmp(e->key, name) != 0)
			continue;
		if (found)
			*dup = true;
		found = e->value;
	}
	return found && *found ? found : NULL;
}

static void token_grant(ms_req_t *r, struct evkeyvalq *kv)
{
	ms_t *ms = r->ms;
	ms_auth_t *a = ms->auth;
	bool dup = false;
	const char *grant_type = param(kv, "grant_type", &dup);
	const char *client_id = param(kv, "client_id", &dup);
	const char *secret = param(kv, "client_secret", &dup);
	const char *code_s = param(kv, "code", &dup), *redirect = param(kv, "redirect_uri", &dup);
	const char *verifier = param(kv, "code_verifier", &dup);
	const char *refresh_s = param(kv, "refresh_token", &dup);
	if (dup || !grant_type) {
		token_error(r, 400, "invalid_request",
			    dup ? "duplicated parameter" : "grant_type is required");
		return;
	}
	if (strcmp(grant_type, "authorization_code") != 0 &&
	    strcmp(grant_type, "refresh_token") != 0) {
		token_error(r, 400, "unsupported_grant_type", "unsupported grant_type");
		return;
	}
	if (!client_id || !secret) {
		token_error(r, 400, "invalid_request", "client_id and client_secret are required");
		return;
	}
	size_t slen = strlen(ms->opt.client_secret);
	if (strcmp(client_id, ms->opt.client_id) != 0 || strlen(secret) != slen ||
	    !const_time_eq(secret, ms->opt.client_secret, slen)) {
		token_error(r, 401, "invalid_client", "invalid client_id or client_secret.");
		return;
	}
	if (strcmp(grant_type, "authorization_code") == 0) {
		if (!code_s || !redirect) {
			token_error(r, 400, "invalid_request",
				    "code and redirect_uri are required");
			return;
		}
		struct code *c = strmap_get(a->codes, code_s);
		if (!c || c->used || ms_now_us(ms) > c->expires_us ||
		    strcmp(c->redirect_uri, redirect) != 0) {
			token_error(r, 400, "invalid_grant", grant_text);
			return;
		}
		if (c->challenge[0] && !verifier) {
			token_error(r, 400, "invalid_request", "code_verifier is required");
			return;
		}
		if (c->challenge[0] && !pkce_ok(c, verifier)) {
			token_error(r, 400, "invalid_grant",
				    "code_verifier does not match the challenge");
			return;
		}
		c->used = true;
		issue(r, grant_for(a, c->seller_id));
		return;
	}
	if (!refresh_s) {
		token_error(r, 400, "invalid_request", "refresh_token is required");
		return;
	}
	struct refresh *rf = strmap_get(a->refresh, refresh_s);
	if (!rf || rf->grant->revoked || rf->grant->latest != rf ||
	    ms_wall_ms(ms) > rf->expires_wall) {
		token_error(r, 400, "invalid_grant", grant_text);
		return;
	}
	issue(r, rf->grant);
}

void h_oauth_token(ms_req_t *r)
{
	struct evkeyvalq kv;
	TAILQ_INIT(&kv);
	if (!ms_body_params(r, &kv))
		token_error(r, 400, "invalid_request", "malformed body");
	else
		token_grant(r, &kv);
	evhttp_clear_headers(&kv);
}

/* ---- bearer check ---- */

static const ms_seller_t *unauthorized(ms_req_t *r, const char *why)
{
	ms_reply_error(r, 401, "unauthorized_request_error", "%s", why);
	return NULL;
}

const ms_seller_t *ms_auth_check(ms_req_t *r)
{
	const char *h = ms_header(r, "Authorization");
	if (!h)
		return unauthorized(r, "authorization value not present");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return unauthorized(r, "invalid authorization scheme");
	const char *token = h + 7;
	while (*token == ' ')
		token++;
	struct access *ac = strmap_get(r->ms->auth->access, token);
	if (!ac)
		return unauthorized(r, "invalid access token");
	if (ac->grant->revoked)
		return unauthorized(r, "invalid access token");
	if (ac->epoch != ac->grant->epoch || ms_now_us(r->ms) > ac->expires_us)
		return unauthorized(r, "expired access token");
	const ms_seller_t *s = ms_seller_find(r->ms->data, ac->grant->seller_id);
	if (!s)
		return unauthorized(r, "invalid access token");
	return s;
}

bool ms_auth_revoke(ms_t *ms, int64_t seller_id)
{
	char key[24];
	seller_key(seller_id, key, sizeof(key));
	struct grant *g = strmap_get(ms->auth->grant_by_seller, key);
	if (!g || g->revoked)
		return false;
	g->revoked = true;
	strmap_put(ms->auth->grant_by_seller, key, NULL);
	return true;
}

int ms_auth_expire(ms_t *ms, int64_t seller_id)
{
	char key[24];
	seller_key(seller_id, key, sizeof(key));
	struct grant *g = strmap_get(ms->auth->grant_by_seller, key);
	if (!g)
		return 0;
	g->epoch++;
	return 1;
}
