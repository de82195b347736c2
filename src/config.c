/* Settings from the environment, validated at start so a misconfigured server never starts. */
#include "config.h"
#include "channel.h"
#include "netaddr.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_loader {
	const char *(*get)(const char *name);
	char *err;
	size_t errlen;
	bool ok;
};
typedef config_loader_t loader_t;

static void fail(loader_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(loader_t *l, const char *fmt, ...)
{
	if (!l->ok)
		return; /* keep the first problem: one line naming one setting */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err, l->errlen, fmt, ap);
	va_end(ap);
	l->ok = false;
}

static const char *value(loader_t *l, const char *name)
{
	const char *v = l->get(name);
	return v && *v ? v : NULL;
}

static char *str(loader_t *l, const char *name, const char *def, bool required)
{
	const char *v = value(l, name);
	if (!v && required)
		fail(l, "config: %s is required", name);
	v = v ? v : def;
	return v ? xstrdup(v) : NULL;
}

static long num(loader_t *l, const char *name, long def, long min, long max)
{
	const char *v = value(l, name);
	if (!v)
		return def;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < min || n > max) {
		fail(l, "config: %s must be an integer between %ld and %ld", name, min, max);
		return def;
	}
	return n;
}

static char *url(loader_t *l, const char *name, const char *def, bool required,
		 const char *const schemes[])
{
	char *u = str(l, name, def, required);
	if (!u)
		return NULL;
	for (size_t i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(u, schemes[i], n) == 0 && u[n])
			return u;
	}
	/* Do not print the value: a database URL may hold a password. */
	fail(l, "config: %s must start with %s", name, schemes[0]);
	return u;
}

char *config_str(config_loader_t *l, const char *name, const char *def, bool required)
{
	return str(l, name, def, required);
}

long config_num(config_loader_t *l, const char *name, long def, long min, long max)
{
	return num(l, name, def, min, max);
}

static const char *const http_schemes[] = {"http://", "https://", NULL};

char *config_url(config_loader_t *l, const char *name, const char *def, bool required)
{
	return url(l, name, def, required, http_schemes);
}

void config_fail(config_loader_t *l, const char *fmt, ...)
{
	if (!l->ok)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err, l->errlen, fmt, ap);
	va_end(ap);
	l->ok = false;
}

bool config_parse_key(const char *s, unsigned char out[32])
{
	size_t n = strlen(s);
	if (n == 64) {
		for (size_t i = 0; i < 32; i++) {
			char hex[3] = {s[2 * i], s[2 * i + 1], 0};
			if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
				return false;
			out[i] = (unsigned char)strtoul(hex, NULL, 16);
		}
		return true;
	}
	if (n == 44 && s[43] == '=' && s[42] != '=') {
		unsigned char tmp[33];
		if (EVP_DecodeBlock(tmp, (const unsigned char *)s, 44) != 33)
			return false;
		memcpy(out, tmp, 32); /* 44 chars with one '=' decode to 32 bytes plus padding */
		return true;
	}
	return false;
}

static void key(loader_t *l, const char *name, unsigned char out[32], bool required, bool *present)
{
	const char *v = value(l, name);
	if (present)
		*present = v != NULL;
	if (!v) {
		if (required)
			fail(l, "config: %s is required (32 bytes as 64 hex digits or base64)",
			     name);
		return;
	}
	if (!config_parse_key(v, out))
		fail(l, "config: %s must be 32 bytes as 64 hex digits or base64", name);
}

static char **split_list(const char *s)
{
	size_t n = 1;
	for (const char *p = s; p && *p; p++)
		n += *p == ',';
	char **list = xcalloc(n + 1, sizeof(char *));
	size_t i = 0;
	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		while (len && isspace((unsigned char)*s))
			s++, len--;
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (len)
			list[i++] = strndup(s, len);
		s = comma ? comma + 1 : s + strlen(s);
	}
	list[i] = NULL;
	return list;
}

bool config_load(config_t *c, const char *(*get)(const char *name), char *err, size_t errlen)
{
	static const char *const pg_schemes[] = {"postgresql://", "postgres://", NULL};
	static const char *const redis_schemes[] = {"redis://", "unix://", NULL};
	loader_t l = {get, err, errlen, true};
	memset(c, 0, sizeof(*c));
	if (errlen)
		err[0] = '\0';

	c->port = (int)num(&l, "PORT", 8080, 1, 65535);
	c->bind = str(&l, "BIND", "127.0.0.1", false);
	c->database_url = url(&l, "DATABASE_URL", NULL, true, pg_schemes);
	c->redis_url = url(&l, "REDIS_URL", "redis://127.0.0.1:6379", false, redis_schemes);
	c->jwt_secret = str(&l, "JWT_SECRET", NULL, true);
	if (c->jwt_secret && strlen(c->jwt_secret) < 32)
		fail(&l, "config: JWT_SECRET must be at least 32 characters");
	key(&l, "ENCRYPTION_KEY", c->encryption_key, true, NULL);
	key(&l, "ENCRYPTION_KEY_OLD", c->encryption_key_old, false, &c->has_old_key);

	const char *lvl = value(&l, "LOG_LEVEL");
	c->log_level = LOG_INFO;
	if (lvl && !log_level_parse(lvl, &c->log_level))
		fail(&l, "config: LOG_LEVEL must be one of debug, info, warn, error");
	c->cors_origins = split_list(value(&l, "CORS_ORIGINS"));
	c->pg_pool_size = (int)num(&l, "PG_POOL_SIZE", 8, 1, 256);
	c->workers = (int)num(&l, "WORKERS", 2, 1, 64);
	c->worker_nice = (int)num(&l, "WORKER_NICE", 10, 0, 19);
	c->max_body = (size_t)num(&l, "MAX_BODY_SIZE", 64 * 1024, 1024, 64L * 1024 * 1024);
	c->shutdown_timeout_s = (int)num(&l, "SHUTDOWN_TIMEOUT", 10, 0, 600);
	c->http_idle_timeout_s = (int)num(&l, "HTTP_IDLE_TIMEOUT", 60, 1, 3600);
	c->http_header_timeout_s = (int)num(&l, "HTTP_HEADER_TIMEOUT", 10, 1, 600);
	c->http_body_timeout_s = (int)num(&l, "HTTP_BODY_TIMEOUT", 30, 1, 3600);
	c->http_max_connections = (int)num(&l, "HTTP_MAX_CONNECTIONS", 0, 0, 1000000);
	c->http_max_connections_per_addr =
	    (int)num(&l, "HTTP_MAX_CONNECTIONS_PER_ADDR", 256, 1, 1000000);
	c->jwt_ttl_s = (int)num(&l, "JWT_TTL", 900, 1, 86400);
	c->rate_limit_per_minute = (int)num(&l, "RATE_LIMIT_PER_MINUTE", 600, 1, 1000000);
	c->job_concurrency = (int)num(&l, "JOB_CONCURRENCY", 16, 0, 1024);
	c->job_stale_s = (int)num(&l, "JOB_STALE_SECONDS", 300, 1, 86400);
	c->job_redispatch_s = (int)num(&l, "JOB_REDISPATCH_SECONDS", 30, 1, 3600);
	c->job_queue = str(&l, "JOB_QUEUE", "default", false);
	if (strlen(c->job_queue) < 1 || strlen(c->job_queue) > 40 ||
	    strspn(c->job_queue, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(c->job_queue))
		fail(&l, "config: JOB_QUEUE must be 1-40 of a-z, 0-9, _ and -");
	c->app_url = url(&l, "APP_URL", NULL, false, http_schemes);

	c->token_sweep_ms = (int)num(&l, "TOKEN_SWEEP_MS", 60000, 50, 3600000);
	c->sync_sweep_ms = (int)num(&l, "SYNC_SWEEP_MS", 60000, 50, 3600000);
	c->inventory_detect_ms = (int)num(&l, "INVENTORY_DETECT_MS", 300000, 0, 86400000);

	c->alert_sweep_ms = (int)num(&l, "ALERT_SWEEP_MS", 60000, 50, 86400000);
	c->alert_outbox_ms = (int)num(&l, "ALERT_OUTBOX_MS", 1000, 0, 3600000);
	static const char *const smtp_schemes[] = {"smtp://", "smtps://", NULL};
	c->smtp_url = url(&l, "SMTP_URL", NULL, false, smtp_schemes);
	c->smtp_from = str(&l, "SMTP_FROM", "alerts@sellerhub.local", false);
	c->alert_webhook_allow_private = num(&l, "ALERT_WEBHOOK_ALLOW_PRIVATE", 0, 0, 1) == 1;
	c->webhook_allow_ips = str(&l, "WEBHOOK_ALLOW_IPS", NULL, false);
	c->trusted_proxies = str(&l, "TRUSTED_PROXIES", NULL, false);
	c->metrics_token = str(&l, "METRICS_TOKEN", NULL, false);
	if (c->metrics_token && strlen(c->metrics_token) < 16)
		fail(&l, "config: METRICS_TOKEN must be at least 16 characters");
	c->export_sync_max_rows = num(&l, "EXPORT_SYNC_MAX_ROWS", 200000, 0, 100000000);
	c->exports_dir = str(&l, "EXPORTS_DIR", "var/exports", false);
	c->export_keep_s = (int)num(&l, "EXPORT_KEEP_SECONDS", 86400, 1, 30 * 86400);
	c->export_sweep_ms = (int)num(&l, "EXPORT_SWEEP_MS", 60000, 50, 3600000);

	c->sse_max_streams = (int)num(&l, "SSE_MAX_STREAMS", 10000, 1, 1000000);
	c->sse_max_per_tenant = (int)num(&l, "SSE_MAX_STREAMS_PER_TENANT", 1000, 1, 1000000);
	c->sse_heartbeat_s = (int)num(&l, "SSE_HEARTBEAT", 15, 1, 3600);
	c->sse_retry_ms = (int)num(&l, "SSE_RETRY_MS", 3000, 100, 600000);
	c->sse_coalesce_ms = (int)num(&l, "SSE_COALESCE_MS", 150, 0, 10000);
	c->sse_max_buffer = (int)num(&l, "SSE_MAX_BUFFER", 256 * 1024, 4096, 64 * 1024 * 1024);
	c->sse_resume_s = (int)num(&l, "SSE_RESUME_S", 600, 10, 86400);

	const char *lists[] = {"WEBHOOK_ALLOW_IPS", c->webhook_allow_ips, "TRUSTED_PROXIES",
			       c->trusted_proxies};
	for (size_t i = 0; i < ARRAY_LEN(lists); i += 2) {
		char why[96];
		netaddr_list_t *nl =
		    lists[i + 1] ? netaddr_list_parse(lists[i + 1], why, sizeof(why)) : NULL;
		if (lists[i + 1] && !nl)
			fail(&l, "config: %s: %s", lists[i], why);
		netaddr_list_free(nl);
	}
	size_t n = 0;
	while (channels[n])
		n++;
	c->channel_cfg = xcalloc(n + 1, sizeof(void *));
	for (size_t i = 0; i < n; i++)
		if (channels[i]->configure)
			c->channel_cfg[i] = channels[i]->configure(&l);
	if (!l.ok)
		config_free(c);
	return l.ok;
}

void config_free(config_t *c)
{
	char **strs[] = {
	    &c->bind,	   &c->database_url,	  &c->redis_url,       &c->jwt_secret,
	    &c->app_url,   &c->webhook_allow_ips, &c->trusted_proxies, &c->metrics_token,
	    &c->job_queue, &c->smtp_url,	  &c->smtp_from,       &c->exports_dir};
	for (size_t i = 0; i < ARRAY_LEN(strs); i++) {
		if (*strs[i] && (strs[i] == &c->jwt_secret || strs[i] == &c->metrics_token ||
				 strs[i] == &c->smtp_url))
			memset(*strs[i], 0,
			       strlen(*strs[i])); /* don't leave secrets in freed memory */
		free(*strs[i]);
		*strs[i] = NULL;
	}
	if (c->cors_origins) {
		for (char **o = c->cors_origins; *o; o++)
			free(*o);
		free(c->cors_origins);
		c->cors_origins = NULL;
	}
	for (size_t i = 0; c->channel_cfg && channels[i]; i++)
		if (c->channel_cfg[i] && channels[i]->config_free)
			channels[i]->config_free(c->channel_cfg[i]);
	free(c->channel_cfg);
	c->channel_cfg = NULL;
	memset(c->encryption_key, 0, sizeof(c->encryption_key));
	memset(c->encryption_key_old, 0, sizeof(c->encryption_key_old));
}
