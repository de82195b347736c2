/* Every setting, read from the environment once at start and validated. Names and defaults are
 * listed in etc/sellerhub.env.example. */
#ifndef SH_CONFIG_H
#define SH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

typedef struct config {
	int port;
	char *bind;
	char *database_url;
	char *redis_url;
	char *jwt_secret;
	unsigned char encryption_key[32];
	bool has_old_key;
	unsigned char encryption_key_old[32];
	enum log_level log_level;
	char **cors_origins; /* NULL-terminated; {"*"} allows any */
	int pg_pool_size;
	int workers;
	int worker_nice; /* the worker threads' niceness */
	size_t max_body;
	int shutdown_timeout_s;
	int http_idle_timeout_s;   /* a keep-alive connection silent this long is closed */
	int http_header_timeout_s; /* a request head must arrive within this, from its first byte */
	int http_body_timeout_s;   /* and its body within this, from the end of the head */
	/* Open connections at most, per process (0: from the open-file limit, http.c) and per
	 * client address (TRUSTED_PROXIES are not counted per address) */
	int http_max_connections;
	int http_max_connections_per_addr;
	int jwt_ttl_s;
	int rate_limit_per_minute;
	int job_concurrency;
	int job_stale_s;      /* a job running longer than this lost its process */
	int job_redispatch_s; /* a queued job not picked up by then was lost by Redis */
	/* JOB_QUEUE: the jobs this process creates and runs (processes of one queue share them;
	 * tests give each server its own, since each talks to its own marketsim) */
	char *job_queue;
	char *app_url;
	int token_sweep_ms;	 /* how often the janitor looks for expiring tokens */
	int sync_sweep_ms;	 /* how often the janitor claims accounts due for sync */
	int inventory_detect_ms; /* how often the janitor detects stock discrepancies (0: never) */
	int alert_sweep_ms;	 /* how often the janitor evaluates every tenant's alerts */
	/* how often stock changes are evaluated and due alert deliveries become jobs; 0: not here
	 */
	int alert_outbox_ms;
	/* SMTP_URL (smtp:// or smtps://, credentials in it allowed) and SMTP_FROM: alert e-mail;
	 * NULL: no e-mail is sent. */
	char *smtp_url, *smtp_from;
	/* ALERT_WEBHOOK_ALLOW_PRIVATE: alert webhooks may reach private, loopback and link-local
	 * addresses (tests and demos, whose sinks listen on 127.0.0.1); off in production. */
	bool alert_webhook_allow_private;
	/* Each channel's own settings (channel_t.configure), in the order of channels[]; NULL for
	 * a channel without any. */
	void **channel_cfg;
	char *webhook_allow_ips, *trusted_proxies;
	char *metrics_token; /* METRICS_TOKEN: when set, /metrics needs Authorization: Bearer it */
	/* GET /api/metrics/stream (tenant_events.h): open streams at most per process and per
	 * tenant (in each process), a comment every heartbeat, the client's reconnect hint, events
	 * of a tenant gathered this long into one realtime object, a slow client's unsent bytes */
	int sse_max_streams, sse_max_per_tenant, sse_heartbeat_s, sse_retry_ms, sse_coalesce_ms;
	int sse_max_buffer;
	/* SSE_RESUME_S: events are kept this long for clients reconnecting with Last-Event-ID */
	int sse_resume_s;
	/* The orders export (exports.h): past EXPORT_SYNC_MAX_ROWS rows an export is a background
	 * job whose file goes under EXPORTS_DIR, kept EXPORT_KEEP_SECONDS (the sweep, every
	 * EXPORT_SWEEP_MS, deletes it after). */
	long export_sync_max_rows;
	char *exports_dir;
	int export_keep_s, export_sweep_ms;
} config_t;

/* Reads the settings through `get` (getenv in production, a table in tests). On a missing or bad
 * value, writes one line naming the setting into err and returns false. Never echoes a secret. */
bool config_load(config_t *c, const char *(*get)(const char *name), char *err, size_t errlen);
void config_free(config_t *c);
/* The reader a channel's configure gets: the same checks, the same one-line errors (the first
 * problem wins), for its own settings. */
typedef struct config_loader config_loader_t;
char *config_str(config_loader_t *l, const char *name, const char *def, bool required);
long config_num(config_loader_t *l, const char *name, long def, long min, long max);
/* An http:// or https:// URL. */
char *config_url(config_loader_t *l, const char *name, const char *def, bool required);
void config_fail(config_loader_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decode a 32-byte key given as 64 hex digits or base64 (44 chars). */
bool config_parse_key(const char *s, unsigned char out[32]);

#endif
