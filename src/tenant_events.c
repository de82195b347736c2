/* Tenant events to Server-Sent Event streams: see the header. A tenant with open streams has a
 * tenant_t (hashed by id) holding them; its realtime object is recomputed once per coalescing
 * window, never once per stream. */
#include "tenant_events.h"
#include "dashboard.h"
#include "log.h"
#include "metrics.h"
#include "pg_listen.h"
#include "util.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define BUCKETS 256
/* A resume replays at most this many events; a client further behind gets the snapshot only. */
#define RESUME_MAX    1000
#define PRUNE_EVERY_S 60

/* What a client reconnecting with Last-Event-ID missed: its tenant's logged events after the id
 * (sql/0037), and the oldest id still kept (NULL: none), which tells whether all are there. */
static const char resume_sql[] =
    "SELECT h.lo, e.id, e.event, e.data::text FROM (SELECT min(id) AS lo FROM tenant_event_log) h"
    " LEFT JOIN LATERAL (SELECT id, event, data FROM tenant_event_log"
    "  WHERE tenant_id = $1::uuid AND id > $2::bigint ORDER BY id LIMIT 1001) e ON true"
    " ORDER BY e.id";
static const char prune_sql[] =
    "DELETE FROM tenant_event_log WHERE at < now() - make_interval(secs => $1::int)";

/* A message held for a stream whose missed events are still being read: written after them. */
typedef struct held {
	long long id; /* 0: none (realtime, heartbeat) */
	char *msg;
	size_t len;
} held_t;

typedef struct tenant tenant_t;

typedef struct sub {
	TAILQ_ENTRY(sub) link;
	tenant_t *tenant;
	http_sse_t *st;
	tenant_events_t *te;
	/* Resuming (Last-Event-ID): live messages wait in held until the missed ones are out. The
	 * resume query owns the sub while it runs: gone says the stream ended meanwhile. */
	bool resuming, gone;
	long long resume_from; /* the client's Last-Event-ID */
	held_t *held;
	size_t nheld, held_bytes;
} sub_t;

struct tenant {
	tenant_t *next_in_bucket;
	TAILQ_ENTRY(tenant) dirty_link;
	tenant_events_t *te;
	char id[40];
	TAILQ_HEAD(, sub) subs;
	size_t nsubs;
	bool dirty;    /* an event since its last realtime object: one is due */
	bool querying; /* its realtime object is being computed */
};

struct tenant_events {
	app_t *app;
	pg_listener_t *listener;
	tenant_t *buckets[BUCKETS];
	TAILQ_HEAD(, tenant) dirty;
	struct event *coalesce, *heartbeat, *prune;
	size_t nsubs;
	metric_t *events, *dropped, *queries;
};

static size_t bucket_of(const char *id)
{
	size_t h = 5381;
	for (const char *p = id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h % BUCKETS;
}

static tenant_t *tenant_find(tenant_events_t *te, const char *id)
{
	for (tenant_t *t = te->buckets[bucket_of(id)]; t; t = t->next_in_bucket)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

static tenant_t *tenant_get(tenant_events_t *te, const char *id)
{
	tenant_t *t = tenant_find(te, id);
	if (t)
		return t;
	t = xcalloc(1, sizeof(*t));
	t->te = te;
	snprintf(t->id, sizeof(t->id), "%s", id);
	TAILQ_INIT(&t->subs);
	size_t b = bucket_of(id);
	t->next_in_bucket = te->buckets[b];
	te->buckets[b] = t;
	return t;
}

/* Freed once nothing refers to it: no stream, no pending or running realtime query. */
static void tenant_release(tenant_t *t)
{
	if (t->nsubs || t->querying)
		return;
	tenant_events_t *te = t->te;
	if (t->dirty) {
		TAILQ_REMOVE(&te->dirty, t, dirty_link);
		t->dirty = false;
	}
	for (tenant_t **p = &te->buckets[bucket_of(t->id)]; *p; p = &(*p)->next_in_bucket)
		if (*p == t) {
			*p = t->next_in_bucket;
			break;
		}
	free(t);
}

static void held_free(sub_t *s)
{
	for (size_t i = 0; i < s->nheld; i++)
		free(s->held[i].msg);
	free(s->held);
	s->held = NULL;
	s->nheld = s->held_bytes = 0;
}

static void sub_unlink(sub_t *s)
{
	tenant_t *t = s->tenant;
	TAILQ_REMOVE(&t->subs, s, link);
	t->nsubs--;
	s->te->nsubs--;
	held_free(s);
	if (s->resuming)
		s->gone = true; /* the resume query frees it */
	else
		free(s);
	tenant_release(t);
}

/* Into a resuming stream's held messages; false past SSE_MAX_BUFFER (a client this far behind
 * is dropped, as a slow one is). */
static bool hold(sub_t *s, long long id, const char *msg, size_t len)
{
	if (s->held_bytes + len > (size_t)s->te->app->cfg.sse_max_buffer)
		return false;
	s->held = xrealloc(s->held, (s->nheld + 1) * sizeof(*s->held));
	held_t *h = &s->held[s->nheld++];
	h->id = id;
	h->msg = xmalloc(len);
	memcpy(h->msg, msg, len);
	h->len = len;
	s->held_bytes += len;
	return true;
}

/* The client went away, or the server is stopping: the stream is gone already. */
static void sub_gone(void *arg)
{
	sub_unlink(arg);
}

/* Writes to every stream of t (the event's id, 0 for none); a stream too far behind is ended
 * and dropped. */
static void broadcast(tenant_t *t, long long id, const char *msg, size_t len)
{
	sub_t *s, *next;
	t->nsubs++; /* held: dropping the last stream must not free t under the loop */
	for (s = TAILQ_FIRST(&t->subs); s; s = next) {
		next = TAILQ_NEXT(s, link);
		if (s->resuming ? hold(s, id, msg, len) : http_sse_write(s->st, msg, len))
			continue;
		log_info("sse: a stream of tenant %s dropped: its client is not reading", t->id);
		metric_inc(t->te->dropped);
		http_sse_drop(s->st);
		sub_unlink(s);
	}
	t->nsubs--;
	tenant_release(t);
}

static void mark_dirty(tenant_t *t)
{
	tenant_events_t *te = t->te;
	if (t->dirty)
		return;
	t->dirty = true;
	TAILQ_INSERT_TAIL(&te->dirty, t, dirty_link);
	if (!evtimer_pending(te->coalesce, NULL)) {
		int ms = te->app->cfg.sse_coalesce_ms;
		struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
		evtimer_add(te->coalesce, &tv);
	}
}

static void realtime_done(const PGresult *res, const char *err, void *arg)
{
	tenant_t *t = arg; /* held by querying until the end */
	if (err) {
		log_warn("sse: realtime of tenant %s: %s", t->id, err);
	} else if (t->nsubs) {
		/* Compact, as the other events' data: one line, whatever PostgreSQL's spacing. */
		json_t *doc = json_loads(pg_value(res, 0, 0), 0, NULL);
		char *json = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
		if (json) {
			size_t n = strlen(json) + 32;
			char *msg = xcalloc(1, n);
			int len = snprintf(msg, n, "event: realtime\ndata: %s\n\n", json);
			broadcast(t, 0, msg, (size_t)len);
			free(msg);
		}
		free(json);
	}
	t->querying = false;
	tenant_release(t);
}

/* The coalescing window closed: one realtime query per tenant that had events in it. A tenant
 * whose query is still running stays dirty for the next window. */
static void coalesce_cb(evutil_socket_t fd, short what, void *arg)
{
	tenant_events_t *te = arg;
	tenant_t *t, *next;
	bool again = false;
	for (t = TAILQ_FIRST(&te->dirty); t; t = next) {
		next = TAILQ_NEXT(t, dirty_link);
		if (t->querying) {
			again = true;
			continue;
		}
		TAILQ_REMOVE(&te->dirty, t, dirty_link);
		t->dirty = false;
		if (!t->nsubs) {
			tenant_release(t);
			continue;
		}
		t->querying = true;
		metric_inc(te->queries);
		dashboard_realtime(te->app, t->id, NULL, NULL, realtime_done, t);
	}
	if (again) {
		int ms = te->app->cfg.sse_coalesce_ms;
		struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
		evtimer_add(te->coalesce, &tv);
	}
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	tenant_events_t *te = arg;
	static const char beat[] = ": heartbeat\n\n";
	for (size_t b = 0; b < BUCKETS; b++) {
		tenant_t *t = te->buckets[b], *next;
		for (; t; t = next) {
			next = t->next_in_bucket;
			broadcast(t, 0, beat, sizeof(beat) - 1);
		}
	}
}

static void pruned(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("sse: pruning the event log: %s", err);
}

/* Events older than SSE_RESUME_S go (every process does it: a second DELETE finds nothing). */
static void prune_cb(evutil_socket_t fd, short what, void *arg)
{
	tenant_events_t *te = arg;
	char secs[16];
	snprintf(secs, sizeof(secs), "%d", te->app->cfg.sse_resume_s);
	const char *params[] = {secs};
	pg_query_prepared(te->app->pg, prune_sql, 1, params, pruned, NULL);
}

static bool event_known(const char *e)
{
	return strcmp(e, "order") == 0 || strcmp(e, "alert") == 0 || strcmp(e, "sync") == 0;
}

/* One SSE event (malloc'd into *out), its id line when it has one. */
static int event_text(char **out, long long id, const char *event, const char *data)
{
	size_t n = strlen(data) + strlen(event) + 64;
	*out = xcalloc(1, n);
	if (id > 0)
		return snprintf(*out, n, "id: %lld\nevent: %s\ndata: %s\n\n", id, event, data);
	return snprintf(*out, n, "event: %s\ndata: %s\n\n", event, data);
}

static void on_notify(const char *channel, const char *payload, void *arg)
{
	tenant_events_t *te = arg;
	json_error_t jerr;
	json_t *root = json_loads(payload, 0, &jerr);
	const char *tenant = json_string_value(json_object_get(root, "tenant"));
	const char *event = json_string_value(json_object_get(root, "event"));
	json_t *data = json_object_get(root, "data");
	long long id = json_integer_value(json_object_get(root, "id"));
	if (!tenant || !validate_uuid(tenant) || !event || !event_known(event)) {
		log_warn("sse: a tenant_events notification off the contract, ignored");
		json_decref(root);
		return;
	}
	metric_inc(te->events);
	tenant_t *t = tenant_find(te, tenant);
	if (t && t->nsubs) {
		char *d = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		char *msg;
		int len = event_text(&msg, id, event, d ? d : "null");
		free(d);
		broadcast(t, id, msg, (size_t)len);
		free(msg);
		if ((t = tenant_find(te, tenant)) != NULL)
			mark_dirty(t);
	}
	json_decref(root);
}

/* Back to listening after an outage: what was notified meanwhile is lost, so every tenant's
 * realtime object is sent again. */
static void on_listen_state(bool listening, void *arg)
{
	tenant_events_t *te = arg;
	if (!listening)
		return;
	for (size_t b = 0; b < BUCKETS; b++)
		for (tenant_t *t = te->buckets[b]; t; t = t->next_in_bucket)
			if (t->nsubs)
				mark_dirty(t);
}

static bool was_replayed(const PGresult *res, long long id)
{
	int lo = 0, hi = PQntuples(res) - 1; /* ordered by id, a NULL id last */
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		long long v = pg_int(res, mid, 1, -1);
		if (v == id)
			return true;
		if (v < 0 || v > id)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return false;
}

/* The missed events are read: written with their ids, then what was held meanwhile (without the
 * events written already). When some are no longer kept, or too many, none is written: the
 * realtime object that every new stream gets (held or still due) is the fresh state. */
static void resumed(const PGresult *res, const char *err, void *arg)
{
	sub_t *s = arg;
	s->resuming = false;
	if (s->gone) {
		free(s);
		return;
	}
	int n = err ? 0 : PQntuples(res);
	long long lo = n ? pg_int(res, 0, 0, -1) : -1;
	/* All are there when the oldest id kept is at most one past the client's: ids are one
	 * sequence, every tenant's, pruned by age. An empty log kept nothing. */
	bool replay = n && lo >= 0 && lo <= s->resume_from + 1 && n <= RESUME_MAX;
	if (err)
		log_warn("sse: resume of tenant %s: %s", s->tenant->id, err);
	bool ok = true;
	for (int i = 0; ok && replay && i < n && pg_value(res, i, 1); i++) {
		/* Compact, as the live events are (jsonb's text has spaces). */
		const char *text = pg_value(res, i, 3);
		json_t *doc = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
		char *data = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		json_decref(doc);
		char *msg;
		int len = event_text(&msg, pg_int(res, i, 1, 0), pg_value(res, i, 2),
				     data ? data : "null");
		free(data);
		ok = http_sse_write(s->st, msg, (size_t)len);
		free(msg);
	}
	for (size_t i = 0; ok && i < s->nheld; i++)
		if (!(replay && s->held[i].id && was_replayed(res, s->held[i].id)))
			ok = http_sse_write(s->st, s->held[i].msg, s->held[i].len);
	held_free(s);
	if (!ok) {
		log_info("sse: a resumed stream of tenant %s dropped: too much to send",
			 s->tenant->id);
		metric_inc(s->te->dropped);
		http_sse_drop(s->st);
		sub_unlink(s);
	}
}

static void too_many(req_t *r, const char *message)
{
	http_set_header(r, "Retry-After", "5");
	http_error(r, 429, "TOO_MANY_STREAMS", message, NULL);
}

void tenant_events_subscribe(tenant_events_t *te, req_t *r)
{
	const config_t *cfg = &te->app->cfg;
	if (te->nsubs >= (size_t)cfg->sse_max_streams) {
		too_many(r, "This server has as many open event streams as it takes; retry later.");
		return;
	}
	tenant_t *t = tenant_find(te, r->tenant_id);
	if (t && t->nsubs >= (size_t)cfg->sse_max_per_tenant) {
		too_many(r, "Your account has as many open event streams as it may; close one.");
		return;
	}
	/* Read now: r is the stream's once http_sse_start has answered it. */
	const char *id = http_header(r, "Last-Event-ID");
	char last[20] = "";
	if (id && id[0] && strlen(id) < sizeof(last) - 1 && strspn(id, "0123456789") == strlen(id))
		snprintf(last, sizeof(last), "%s", id);
	char hello[64];
	int hlen = snprintf(hello, sizeof(hello), "retry: %d\n: connected\n\n", cfg->sse_retry_ms);
	t = tenant_get(te, r->tenant_id);
	sub_t *s = xcalloc(1, sizeof(*s));
	s->tenant = t;
	s->te = te;
	TAILQ_INSERT_TAIL(&t->subs, s, link);
	t->nsubs++;
	te->nsubs++;
	s->st = http_sse_start(r, "text/event-stream; charset=utf-8", (size_t)cfg->sse_max_buffer,
			       sub_gone, s);
	if (!s->st) {
		sub_unlink(s);
		return;
	}
	http_sse_write(s->st, hello, (size_t)hlen);
	mark_dirty(t); /* its first realtime object, shared with any stream that joins meanwhile */
	if (last[0]) {
		s->resuming = true;
		s->resume_from = atoll(last);
		const char *params[] = {t->id, last};
		pg_query_prepared(te->app->pg, resume_sql, 2, params, resumed, s);
	}
}

static double streams_read(void *arg)
{
	return (double)((tenant_events_t *)arg)->nsubs;
}

tenant_events_t *tenant_events_new(app_t *app)
{
	tenant_events_t *te = xcalloc(1, sizeof(*te));
	te->app = app;
	TAILQ_INIT(&te->dirty);
	te->coalesce = evtimer_new(app->base, coalesce_cb, te);
	te->heartbeat = event_new(app->base, -1, EV_PERSIST, heartbeat_cb, te);
	struct timeval tv = {app->cfg.sse_heartbeat_s, 0};
	event_add(te->heartbeat, &tv);
	te->prune = event_new(app->base, -1, EV_PERSIST, prune_cb, te);
	struct timeval every = {PRUNE_EVERY_S, 0};
	event_add(te->prune, &every);
	static const char *const channels[] = {"tenant_events", NULL};
	te->listener = pg_listener_new(app->base, app->cfg.database_url, channels, on_notify,
				       on_listen_state, te);
	metrics_gauge_fn("sellerhub_sse_streams", "Open event streams (GET /api/metrics/stream)",
			 "", streams_read, te);
	te->events = metrics_counter("sellerhub_tenant_events_total",
				     "tenant_events notifications heard", "");
	te->dropped = metrics_counter("sellerhub_sse_dropped_total",
				      "Event streams dropped for a client not reading", "");
	te->queries = metrics_counter("sellerhub_sse_realtime_queries_total",
				      "Realtime objects computed for event streams (one per tenant "
				      "per coalescing window)",
				      "");
	return te;
}

void tenant_events_free(tenant_events_t *te)
{
	if (!te)
		return;
	pg_listener_free(te->listener);
	event_free(te->coalesce);
	event_free(te->heartbeat);
	event_free(te->prune);
	for (size_t b = 0; b < BUCKETS; b++) {
		tenant_t *t = te->buckets[b], *next;
		for (; t; t = next) {
			next = t->next_in_bucket;
			sub_t *s;
			while ((s = TAILQ_FIRST(&t->subs))) {
				TAILQ_REMOVE(&t->subs, s, link);
				held_free(s);
				free(s);
			}
			free(t);
		}
	}
	free(te);
}
