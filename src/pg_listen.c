/* LISTEN connection: DOWN --connect--> CONNECTING --ok, send LISTENs--> SUBSCRIBING
 * --results in--> LISTENING; any error or EOF --> DOWN, and a backoff timer connects again. */
#include "pg_listen.h"
#include "log.h"
#include "util.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

enum state { L_DOWN, L_CONNECTING, L_SUBSCRIBING, L_LISTENING };

struct pg_listener {
	struct event_base *base;
	char *conninfo;
	char *listen_sql;
	PGconn *pg;
	enum state state;
	struct event *io; /* on the current socket; NULL when there is none */
	evutil_socket_t io_fd;
	short io_what;
	struct event *retry;
	int backoff_ms;
	bool warned; /* the outage was logged: later retries only at debug level */
	pg_notify_cb on_notify;
	pg_listen_state_cb on_state;
	void *arg;
};

static void io_cb(evutil_socket_t fd, short what, void *arg);
static void connect_start(pg_listener_t *l);

static void watch(pg_listener_t *l, short what)
{
	evutil_socket_t fd = PQsocket(l->pg);
	if (l->io && l->io_fd == fd && l->io_what == what)
		return;
	if (l->io)
		event_free(l->io);
	l->io = event_new(l->base, fd, what | EV_PERSIST, io_cb, l);
	l->io_fd = fd;
	l->io_what = what;
	event_add(l->io, NULL);
}

static void lost(pg_listener_t *l, const char *why)
{
	bool was_listening = l->state == L_LISTENING;
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", why && *why ? why : "connection closed");
	for (char *q = msg; *q; q++)
		if (*q == '\n' || *q == '\t')
			*q = ' ';
	if (!l->warned)
		log_warn("pg_listen: not listening (%s); retrying with backoff", msg);
	else
		log_debug("pg_listen: still not listening (%s); retrying in %d ms", msg,
			  l->backoff_ms);
	l->warned = true;
	if (l->io) {
		event_free(l->io);
		l->io = NULL;
	}
	PQfinish(l->pg);
	l->pg = NULL;
	l->state = L_DOWN;
	struct timeval tv = {l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000};
	evtimer_add(l->retry, &tv);
	l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
	if (was_listening)
		l->on_state(false, l->arg);
}

static void subscribe(pg_listener_t *l)
{
	if (!PQsendQuery(l->pg, l->listen_sql)) {
		lost(l, PQerrorMessage(l->pg));
		return;
	}
	l->state = L_SUBSCRIBING;
	int f = PQflush(l->pg);
	if (f < 0)
		lost(l, PQerrorMessage(l->pg));
	else
		watch(l, f == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void connect_poll(pg_listener_t *l)
{
	switch (PQconnectPoll(l->pg)) {
	case PGRES_POLLING_READING:
		watch(l, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		watch(l, EV_WRITE);
		return;
	case PGRES_POLLING_FAILED:
		lost(l, PQerrorMessage(l->pg));
		return;
	default:
		subscribe(l);
	}
}

/* Reads what arrived: the LISTEN results while subscribing, then notifications. */
static void read_input(pg_listener_t *l)
{
	if (!PQconsumeInput(l->pg)) {
		lost(l, PQerrorMessage(l->pg));
		return;
	}
	while (l->state == L_SUBSCRIBING && !PQisBusy(l->pg)) {
		PGresult *res = PQgetResult(l->pg);
		if (!res) {
			l->state = L_LISTENING;
			l->backoff_ms = BACKOFF_MIN_MS;
			l->warned = false;
			log_info("pg_listen: listening");
			l->on_state(true, l->arg);
			break;
		}
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		char err[200];
		snprintf(err, sizeof(err), "LISTEN failed: %s", PQresultErrorMessage(res));
		PQclear(res);
		if (!ok) {
			lost(l, err);
			return;
		}
	}
	PGnotify *n;
	while (l->pg && (n = PQnotifies(l->pg)) != NULL) {
		l->on_notify(n->relname, n->extra, l->arg);
		PQfreemem(n);
	}
}

static void io_cb(evutil_socket_t fd, short what, void *arg)
{
	pg_listener_t *l = arg;
	(void)fd;
	if (l->state == L_CONNECTING) {
		connect_poll(l);
		return;
	}
	if (what & EV_WRITE) {
		int f = PQflush(l->pg);
		if (f < 0) {
			lost(l, PQerrorMessage(l->pg));
			return;
		}
		if (f == 0)
			watch(l, EV_READ);
	}
	if (what & EV_READ)
		read_input(l);
}

static void connect_start(pg_listener_t *l)
{
	l->pg = PQconnectStart(l->conninfo);
	if (!l->pg)
		die("pg_listen: out of memory");
	if (PQstatus(l->pg) == CONNECTION_BAD) {
		lost(l, PQerrorMessage(l->pg));
		return;
	}
	PQsetnonblocking(l->pg, 1);
	l->state = L_CONNECTING;
	watch(l, EV_WRITE);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_start(arg);
}

pg_listener_t *pg_listener_new(struct event_base *base, const char *conninfo,
			       const char *const *channels, pg_notify_cb on_notify,
			       pg_listen_state_cb on_state, void *arg)
{
	pg_listener_t *l = xcalloc(1, sizeof(*l));
	l->base = base;
	l->conninfo = xstrdup(conninfo);
	size_t len = 1;
	for (int i = 0; channels[i]; i++)
		len += strlen(channels[i]) + 9;
	l->listen_sql = xcalloc(1, len);
	for (int i = 0; channels[i]; i++) {
		strcat(l->listen_sql, "LISTEN ");
		strcat(l->listen_sql, channels[i]);
		strcat(l->listen_sql, ";");
	}
	l->on_notify = on_notify;
	l->on_state = on_state;
	l->arg = arg;
	l->backoff_ms = BACKOFF_MIN_MS;
	l->retry = evtimer_new(base, retry_cb, l);
	connect_start(l);
	return l;
}

bool pg_listener_listening(const pg_listener_t *l)
{
	return l->state == L_LISTENING;
}

void pg_listener_free(pg_listener_t *l)
{
	if (!l)
		return;
	if (l->io)
		event_free(l->io);
	event_free(l->retry);
	PQfinish(l->pg);
	free(l->listen_sql);
	free(l->conninfo);
	free(l);
}
