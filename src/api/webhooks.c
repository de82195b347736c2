/* POST /webhooks/:channel: a channel's notifications, acknowledged only once committed.
 *
 * Group commit: a notification that arrives while the previous group's statement is in flight
 * joins the next group; when a commit returns, every request of its group is answered at once
 * and the next group (everything that arrived meanwhile) goes out as one statement. One round
 * trip commits a whole burst, so acknowledgements keep up with the network, not with fsync.
 * The channel checks each notification and writes the statement, which also creates the
 * group's job (channel.h, channel_intake_t); the job id then goes to the Redis Stream (best
 * effort: the jobs sweeper finds anything Redis lost). Each channel has its own queue of
 * groups: their statements differ.
 *
 * Under a flood (senders that post again as soon as they are answered) groups alternate: one
 * commits while the senders of the last one, answered, post into the next. Each notification
 * then waits about two commits. So, flooded, a commit's senders are answered first and the next
 * group waits for them to post again (a bounded time): one group of everyone per commit. */
#include "api.h"
#include "channel.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "util.h"
#include "webhooks.h"

#include <event2/event.h>
#include <event2/event_struct.h>

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* A group's bounds: its rows, and its bodies' bytes (a body may be up to 64 KiB). */
#define MAX_GROUP	1000
#define MAX_GROUP_BYTES (4 << 20)
/* Groups committing at once. A statement costs PostgreSQL about 180 us of CPU whatever its size
 * (commit flush, executor start, the job row): with one group in flight, groups grow with the
 * load (24 rows at 25,000/s) and that cost is shared; at two or three in flight they were 13
 * and 9 rows and acknowledgements/s fell by 12 and 20 % (make bench-webhooks, 2 cores). */
#define MAX_IN_FLIGHT 1
/* Notifications waiting for their commit from which the intake counts as flooded: 50 senders
 * at once keep 40-50 waiting; a seller's pace, one to a few. */
#define FLOODED 32
/* How long a flooded intake's next group waits for the senders just answered: half the commit
 * that answered them (waiting d to commit twice as many pays while d is under one commit),
 * within these bounds (epoll's timers count whole milliseconds). */
#define GATHER_MIN_US 1000
#define GATHER_MAX_US 50000

typedef struct inbox inbox_t;

typedef struct group {
	TAILQ_ENTRY(group) link;
	inbox_t *inbox;
	void *batch; /* the channel's rows */
	req_t **reqs;
	size_t n, cap, bytes;
	int64_t started_us;
} group_t;

/* One channel's groups and figures. */
struct inbox {
	webhooks_t *w;
	const channel_t *ch;
	TAILQ_HEAD(group_list, group) waiting; /* filling at the tail, next to commit at the head */
	int in_flight;			       /* groups being committed */
	size_t gather;			       /* flooded: the next group's size to wait for */
	struct event gather_ev;		       /* ... at most until this fires */
	metric_t *received, *stored, *duplicates, *rejected, *unavailable, *unknown_topic;
};

struct webhooks {
	app_t *app;
	netaddr_list_t *allow;
	inbox_t *inboxes; /* one per channel with an intake, in the order of channels[] */
	size_t n_inboxes;
	size_t waiting; /* requests in groups, over every inbox, until answered */
	metric_t *unknown, *group_size, *commit;
};

static group_t *group_new(inbox_t *in)
{
	group_t *g = xcalloc(1, sizeof(*g));
	g->inbox = in;
	g->batch = in->ch->intake->batch_new();
	return g;
}

static void group_free(group_t *g)
{
	g->inbox->ch->intake->batch_free(g->batch);
	free(g->reqs);
	free(g);
}

static void flush(inbox_t *in);

static void gathered(evutil_socket_t fd, short what, void *arg)
{
	inbox_t *in = arg;
	in->gather = 0;
	flush(in);
}

static void committed(const PGresult *res, const char *err, void *arg)
{
	group_t *g = arg;
	inbox_t *in = g->inbox;
	webhooks_t *w = in->w;
	in->in_flight--;
	w->waiting -= g->n;
	int64_t took = now_us() - g->started_us;
	metric_observe(w->commit, (double)took / 1e6);
	const group_t *next = TAILQ_FIRST(&in->waiting);
	if (!err && w->waiting + g->n >= FLOODED) {
		/* Flooded: the next group waits for this one's senders (answered below). */
		in->gather = (next ? next->n : 0) + g->n;
		int64_t wait = took / 2;
		if (wait < GATHER_MIN_US)
			wait = GATHER_MIN_US;
		else if (wait > GATHER_MAX_US)
			wait = GATHER_MAX_US;
		struct timeval tv = {0, (suseconds_t)wait};
		evtimer_add(&in->gather_ev, &tv);
	} else {
		/* The next group goes to PostgreSQL before this one's answers are written: the
		 * database commits it while the loop writes, instead of waiting for the loop. */
		flush(in);
	}
	if (err) {
		/* Not committed: the sender must retry, so never a 200. */
		log_warn("webhooks: %zu %s notifications not stored: %s", g->n, in->ch->name, err);
		metric_add(in->unavailable, (double)g->n);
		for (size_t i = 0; i < g->n; i++)
			http_error(g->reqs[i], 503, "UNAVAILABLE",
				   "The notification could not be stored; retry later.", NULL);
	} else {
		int fresh = (int)pg_int(res, 0, 1, 0);
		int64_t job = pg_int(res, 0, 0, 0);
		if (job > 0)
			jobs_dispatch(w->app->jobs, &job, 1);
		metric_add(in->stored, fresh);
		metric_add(in->duplicates, (double)g->n - fresh);
		for (size_t i = 0; i < g->n; i++) {
			static const char ok[] = "{\"success\":true}";
			http_reply(g->reqs[i], 200, "application/json", ok, sizeof(ok) - 1);
		}
	}
	group_free(g);
}

static void flush(inbox_t *in)
{
	group_t *g = TAILQ_FIRST(&in->waiting);
	if (!g || in->in_flight >= MAX_IN_FLIGHT)
		return;
	if (in->gather) {
		if (g->n < in->gather && g->n < MAX_GROUP && TAILQ_NEXT(g, link) == NULL)
			return;
		in->gather = 0;
		evtimer_del(&in->gather_ev);
	}
	TAILQ_REMOVE(&in->waiting, g, link);
	in->in_flight++;
	g->started_us = now_us();
	metric_observe(in->w->group_size, (double)g->n);
	in->ch->intake->store(in->w->app, g->batch, "webhook", committed, g);
}

/* The group r joins: the last one, unless it is full. */
static group_t *open_group(inbox_t *in, size_t len)
{
	group_t *g = TAILQ_LAST(&in->waiting, group_list);
	if (!g || g->n == MAX_GROUP || (g->n > 0 && g->bytes + len > MAX_GROUP_BYTES)) {
		g = group_new(in);
		TAILQ_INSERT_TAIL(&in->waiting, g, link);
	}
	return g;
}

static inbox_t *inbox_of(webhooks_t *w, const char *name)
{
	for (size_t i = 0; i < w->n_inboxes; i++)
		if (strcmp(w->inboxes[i].ch->name, name) == 0)
			return &w->inboxes[i];
	return NULL;
}

static void intake(req_t *r)
{
	app_t *app = r->app;
	webhooks_t *w = app->webhooks;
	inbox_t *in = inbox_of(w, http_param(r, "channel"));
	if (!in) {
		metric_inc(w->unknown);
		http_error(r, 404, "NOT_FOUND", "No channel takes notifications at this address.",
			   NULL);
		return;
	}
	metric_inc(in->received);
	if (!netaddr_list_empty(w->allow) && !netaddr_list_has(w->allow, r->client_ip)) {
		metric_inc(in->rejected);
		http_error(r, 403, "FORBIDDEN_SOURCE", "This address may not send notifications.",
			   NULL);
		return;
	}
	if (!r->body) {
		metric_inc(in->rejected);
		http_error(r, 400, "INVALID_NOTIFICATION", "The notification body is empty.", NULL);
		return;
	}
	size_t len;
	const char *raw = http_body_raw(r, &len);
	group_t *g = open_group(in, len);
	json_t *details = NULL;
	const channel_reject_t *no =
	    in->ch->intake->add(app, g->batch, r->body, raw, len, &details);
	if (no) {
		if (g->n == 0) { /* opened for this one: no group stays empty */
			TAILQ_REMOVE(&in->waiting, g, link);
			group_free(g);
		}
		if (no->ignored) {
			json_decref(details);
			metric_inc(in->unknown_topic);
			http_ok(r, no->status,
				json_pack("{s:b, s:s}", "stored", 0, "reason", no->code),
				no->message);
			return;
		}
		metric_inc(in->rejected);
		http_error(r, no->status, no->code, no->message, details);
		return;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->reqs = xrealloc(g->reqs, g->cap * sizeof(req_t *));
	}
	g->reqs[g->n++] = r;
	g->bytes += len;
	w->waiting++;
	flush(in);
}

static void inbox_init(webhooks_t *w, inbox_t *in, const channel_t *ch)
{
	in->w = w;
	in->ch = ch;
	TAILQ_INIT(&in->waiting);
	evtimer_assign(&in->gather_ev, w->app->base, gathered, in);
	char label[64];
	snprintf(label, sizeof(label), "source=\"%s\"", ch->name);
	in->received =
	    metrics_counter("sellerhub_webhooks_received_total", "Notifications received", label);
	in->stored = metrics_counter("sellerhub_webhooks_stored_total",
				     "Notifications committed (new)", label);
	in->duplicates =
	    metrics_counter("sellerhub_webhooks_duplicates_total",
			    "Notifications already stored (acknowledged again)", label);
	in->rejected = metrics_counter("sellerhub_webhooks_rejected_total",
				       "Notifications refused (400/403)", label);
	in->unavailable = metrics_counter("sellerhub_webhooks_unavailable_total",
					  "Notifications answered 503 (database down)", label);
	in->unknown_topic = metrics_counter(
	    "sellerhub_webhooks_unknown_topic_total",
	    "Notifications of a topic the channel does not take (200, not stored)", label);
}

webhooks_t *webhooks_new(app_t *app)
{
	webhooks_t *w = xcalloc(1, sizeof(*w));
	w->app = app;
	char err[96];
	w->allow = netaddr_list_parse(app->cfg.webhook_allow_ips, err, sizeof(err));
	if (!w->allow)
		die("webhooks: WEBHOOK_ALLOW_IPS: %s", err); /* config_load validated it */
	for (size_t i = 0; channels[i]; i++)
		w->n_inboxes += channels[i]->intake != NULL;
	w->inboxes = xcalloc(w->n_inboxes ? w->n_inboxes : 1, sizeof(inbox_t));
	size_t k = 0;
	for (size_t i = 0; channels[i]; i++)
		if (channels[i]->intake)
			inbox_init(w, &w->inboxes[k++], channels[i]);
	w->unknown = metrics_counter("sellerhub_webhooks_unknown_channel_total",
				     "Notifications posted to a channel that does not exist", "");
	static const double sizes[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
	w->group_size =
	    metrics_histogram("sellerhub_webhooks_group_size", "Notifications per group commit", "",
			      sizes, ARRAY_LEN(sizes));
	w->commit = metrics_histogram("sellerhub_webhooks_commit_seconds", "Group commit latency",
				      "", NULL, 0);
	return w;
}

bool webhooks_flooded(void *w)
{
	return ((const webhooks_t *)w)->waiting >= FLOODED;
}

void webhooks_free(webhooks_t *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_inboxes; i++) {
		evtimer_del(&w->inboxes[i].gather_ev);
		group_t *g;
		while ((g = TAILQ_FIRST(&w->inboxes[i].waiting))) { /* none: drain answered all */
			TAILQ_REMOVE(&w->inboxes[i].waiting, g, link);
			group_free(g);
		}
	}
	free(w->inboxes);
	netaddr_list_free(w->allow);
	free(w);
}

void api_webhooks_routes(app_t *app)
{
	http_route(
	    app->http, "POST", "/webhooks/:channel", intake, ROUTE_PUBLIC,
	    "A channel's notification (channel: ml, ...): 200 once committed (or, not stored, "
	    "for a topic the channel does not take), 400 malformed, 403 foreign application or "
	    "source, 404 unknown channel, 413 too large, 503 database down");
}
