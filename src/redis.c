/* Redis client glue. hiredis 0.14 has no command timeout, so each command carries a timer: if
 * it fires first, the caller is answered "timed out" and the late reply is dropped. The command
 * record is freed only when hiredis lets go of it (reply, disconnect or free), never earlier. */
#include "redis.h"
#include "log.h"
#include "util.h"

#include <event2/event_struct.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef struct cmd {
	TAILQ_ENTRY(cmd) link; /* on the deferred list while waiting to report an error */
	redis_t *r;
	redis_cb cb;
	void *arg;
	struct event timer;
	bool answered;
	char err[96];
} cmd_t;

struct redis {
	struct event_base *base;
	char *host, *user, *password;
	int port, db;
	char name[16];
	int timeout_ms;
	redisAsyncContext *ac;
	bool connected;
	bool closing;
	struct event retry;
	int backoff_ms;
	TAILQ_HEAD(, cmd) deferred;
	struct event deferred_ev;
};

static void redis_connect(redis_t *r);

static bool parse_url(const char *url, char **host, int *port, char **user, char **password,
		      int *db)
{
	const char *p;
	if (strncmp(url, "redis://", 8) != 0)
		return false;
	p = url + 8;
	*user = *password = NULL;
	*port = 6379;
	*db = 0;
	const char *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (colon > p)
				*user = strndup(p, (size_t)(colon - p));
			*password = strndup(colon + 1, (size_t)(at - colon - 1));
		} else {
			*password = strndup(p, (size_t)(at - p));
		}
		p = at + 1;
	}
	size_t hlen = strcspn(p, ":/");
	*host = hlen ? strndup(p, hlen) : xstrdup("127.0.0.1");
	p += hlen;
	if (*p == ':') {
		char *end;
		long n = strtol(p + 1, &end, 10);
		if (n < 1 || n > 65535 || (end[0] && end[0] != '/'))
			goto bad;
		*port = (int)n;
		p = end;
	}
	if (*p == '/' && p[1]) {
		char *end;
		long n = strtol(p + 1, &end, 10);
		if (n < 0 || n > 1000 || *end)
			goto bad;
		*db = (int)n;
	}
	return true;
bad:
	free(*host);
	free(*user);
	free(*password);
	*host = *user = *password = NULL;
	return false;
}

/* --- command records ------------------------------------------------------------------------ */

static void cmd_timeout(evutil_socket_t fd, short what, void *arg)
{
	cmd_t *c = arg;
	if (c->answered)
		return;
	c->answered = true;
	c->cb(NULL, "redis command timed out", c->arg);
}

static cmd_t *cmd_new(redis_t *r, redis_cb cb, void *arg)
{
	cmd_t *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->cb = cb;
	c->arg = arg;
	evtimer_assign(&c->timer, r->base, cmd_timeout, c);
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
	evtimer_add(&c->timer, &tv);
	return c;
}

/* hiredis calls this exactly once per command: with the reply, or NULL on disconnect/free. */
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	cmd_t *c = privdata;
	evtimer_del(&c->timer);
	if (!c->answered) {
		c->answered = true;
		if (reply)
			c->cb(reply, NULL, c->arg);
		else
			c->cb(NULL, ac->errstr[0] ? "redis connection lost" : "redis disconnected",
			      c->arg);
	}
	free(c);
}

static void deferred_run(evutil_socket_t fd, short what, void *arg)
{
	redis_t *r = arg;
	cmd_t *c;
	while ((c = TAILQ_FIRST(&r->deferred))) {
		TAILQ_REMOVE(&r->deferred, c, link);
		evtimer_del(&c->timer);
		if (!c->answered) {
			c->answered = true;
			c->cb(NULL, c->err, c->arg);
		}
		free(c);
	}
}

static void fail_later(cmd_t *c, const char *err)
{
	snprintf(c->err, sizeof(c->err), "%s", err);
	TAILQ_INSERT_TAIL(&c->r->deferred, c, link);
	event_active(&c->r->deferred_ev, EV_TIMEOUT, 0);
}

/* --- connection ------------------------------------------------------------------------------ */

static void schedule_reconnect(redis_t *r)
{
	if (r->closing)
		return;
	struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
	evtimer_add(&r->retry, &tv);
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	redis_connect(arg);
}

static void ignore_reply(redisReply *reply, const char *err, void *arg)
{
	redis_t *r = arg;
	if (reply && reply->type == REDIS_REPLY_ERROR)
		log_error("redis %s: %s", r->name, reply->str); /* AUTH or SELECT refused */
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	redis_t *r = ac->data;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		if (r->backoff_ms == BACKOFF_MIN_MS)
			log_warn("redis %s: cannot connect to %s:%d: %s", r->name, r->host, r->port,
				 ac->errstr);
		r->ac = NULL;
		schedule_reconnect(r);
		return;
	}
	log_info("redis %s: connected to %s:%d", r->name, r->host, r->port);
	r->connected = true;
	r->backoff_ms = BACKOFF_MIN_MS;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	redis_t *r = ac->data;
	r->ac = NULL;
	if (r->connected && !r->closing)
		log_warn("redis %s: disconnected: %s", r->name,
			 status == REDIS_OK ? "closed" : ac->errstr);
	r->connected = false;
	schedule_reconnect(r);
}

static void redis_connect(redis_t *r)
{
	redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
	if (!ac)
		die("redis: out of memory");
	if (ac->err) {
		log_warn("redis %s: cannot connect: %s", r->name, ac->errstr);
		redisAsyncFree(ac);
		schedule_reconnect(r);
		return;
	}
	ac->data = r;
	r->ac = ac;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* Queued now, sent first once connected: commands keep their order. */
	if (r->password) {
		if (r->user)
			redis_command(r, ignore_reply, r, "AUTH %s %s", r->user, r->password);
		else
			redis_command(r, ignore_reply, r, "AUTH %s", r->password);
	}
	if (r->db)
		redis_command(r, ignore_reply, r, "SELECT %d", r->db);
}

redis_t *redis_new(struct event_base *base, const char *url, const char *name, int timeout_ms)
{
	redis_t *r = xcalloc(1, sizeof(*r));
	if (!parse_url(url, &r->host, &r->port, &r->user, &r->password, &r->db)) {
		free(r);
		return NULL;
	}
	r->base = base;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	r->backoff_ms = BACKOFF_MIN_MS;
	TAILQ_INIT(&r->deferred);
	event_assign(&r->deferred_ev, base, -1, 0, deferred_run, r);
	evtimer_assign(&r->retry, base, retry_cb, r);
	redis_connect(r);
	return r;
}

void redis_free(redis_t *r)
{
	if (!r)
		return;
	r->closing = true;
	evtimer_del(&r->retry);
	if (r->ac)
		redisAsyncFree(r->ac); /* answers every pending command with NULL */
	r->ac = NULL;
	deferred_run(-1, 0, r);
	event_del(&r->deferred_ev);
	free(r->host);
	free(r->user);
	if (r->password)
		memset(r->password, 0, strlen(r->password));
	free(r->password);
	free(r);
}

bool redis_connected(const redis_t *r)
{
	return r->connected;
}

void redis_commandv(redis_t *r, redis_cb cb, void *arg, int argc, const char **argv,
		    const size_t *argvlen)
{
	cmd_t *c = cmd_new(r, cb, arg);
	if (!r->ac) {
		fail_later(c, "redis unavailable");
		return;
	}
	if (redisAsyncCommandArgv(r->ac, on_reply, c, argc, argv, argvlen) != REDIS_OK)
		fail_later(c, "redis unavailable");
}

void redis_command(redis_t *r, redis_cb cb, void *arg, const char *fmt, ...)
{
	cmd_t *c = cmd_new(r, cb, arg);
	if (!r->ac) {
		fail_later(c, "redis unavailable");
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	int rc = redisvAsyncCommand(r->ac, on_reply, c, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK)
		fail_later(c, "redis unavailable");
}
