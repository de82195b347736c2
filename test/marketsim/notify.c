/* Notifications: when marketsim's data changes it POSTs Mercado Livre's notification body to the
 * app's callback URL with libevent's non-blocking HTTP client. Anything but a 200 within the time
 * limit (500 ms) is a failed attempt; attempts are retried on a back-off schedule spread over one
 * hour (compressible by --notify-retry-scale), and a notification that never got its 200 lands
 * in GET /missed_feeds, kept for two days. */
#include "marketsim.h"
#include "rng.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define RETRY_WINDOW_S	    3600.0
#define MISSED_RETENTION_MS (2 * 86400000LL)
#define BODY_KEEP	    1024

enum delivery_state {
	D_WAITING, /* timer armed for the next attempt */
	D_SENDING, /* request in flight on conn */
	D_CLOSING, /* answered; timer armed to free conn outside libevent's callback */
};

/* One notification until it is delivered or missed; owned by the ms_notify list. */
struct delivery {
	struct delivery *prev, *next;
	ms_notify_t *owner;
	json_t *base; /* the body without attempts/sent */
	char url[512], host[256], path[512];
	int port;
	int attempts;
	enum delivery_state state;
	struct event timer;
	struct evhttp_connection *conn;
	int64_t first_us, due_us; /* marketsim's clock: the first attempt, the next one */
	int64_t sent_us;	  /* real clock: the answer's latency is real */
	/* outcome of the last attempt, for the missed feed */
	bool ok;
	int status;
	int64_t req_ms;
	char *sent_body;
	char resp_body[BODY_KEEP];
	json_t *resp_headers;
};

struct missed {
	int64_t at_wall;
	json_t *record;
};

struct ms_notify {
	ms_t *ms;
	char url[512];
	struct delivery *head;
	struct missed *missed;
	size_t n_missed, cap_missed;
	uint64_t rng;
	json_int_t emitted, delivered, failed_attempts, missed_total, no_target;
};

ms_notify_t *ms_notify_new(ms_t *ms)
{
	ms_notify_t *n = xcalloc(1, sizeof(*n));
	n->ms = ms;
	n->rng = ms->opt.seed ^ 0x0071f1ca7e5ULL;
	ms_notify_set_target(n, ms->opt.notify_url);
	return n;
}

static void delivery_free(struct delivery *d)
{
	ms_notify_t *n = d->owner;
	if (d->prev)
		d->prev->next = d->next;
	else
		n->head = d->next;
	if (d->next)
		d->next->prev = d->prev;
	event_del(&d->timer);
	if (d->conn)
		evhttp_connection_free(d->conn); /* drops an in-flight request, no callback */
	json_decref(d->base);
	json_decref(d->resp_headers);
	free(d->sent_body);
	free(d);
}

void ms_notify_free(ms_notify_t *n)
{
	if (!n)
		return;
	while (n->head)
		delivery_free(n->head);
	for (size_t i = 0; i < n->n_missed; i++)
		json_decref(n->missed[i].record);
	free(n->missed);
	free(n);
}

bool ms_notify_set_target(ms_notify_t *n, const char *url)
{
	if (!url || !*url) {
		n->url[0] = '\0';
		return true;
	}
	struct evhttp_uri *u = evhttp_uri_parse(url);
	bool ok = u && evhttp_uri_get_scheme(u) && strcmp(evhttp_uri_get_scheme(u), "http") == 0 &&
		  evhttp_uri_get_host(u) && strlen(url) < sizeof(n->url);
	if (u)
		evhttp_uri_free(u);
	if (ok)
		snprintf(n->url, sizeof(n->url), "%s", url);
	return ok;
}

/* Delay before the attempt after attempt k: doubling steps that add up to the retry window. */
static double retry_delay_s(const ms_t *ms, int k)
{
	int max = ms->opt.notify_attempts;
	double unit = RETRY_WINDOW_S / (pow(2, max - 1) - 1);
	return unit * pow(2, k - 1) * ms->opt.notify_retry_scale;
}

/* The timer fires in `seconds` of marketsim's clock: real seconds, unless POST /_sim/clock moves
 * the clock first (ms_notify_clock_moved re-arms from due_us). */
static void arm(struct delivery *d, double seconds)
{
	d->due_us = ms_now_us(d->owner->ms) + (int64_t)(seconds * 1e6);
	struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - floor(seconds)) * 1e6)};
	evtimer_add(&d->timer, &tv);
}

void ms_notify_clock_moved(ms_notify_t *n)
{
	int64_t now = ms_now_us(n->ms);
	for (struct delivery *d = n->head; d; d = d->next) {
		if (d->state != D_WAITING)
			continue;
		int64_t left = d->due_us > now ? d->due_us - now : 0;
		struct timeval tv = {(time_t)(left / 1000000), (suseconds_t)(left % 1000000)};
		evtimer_add(&d->timer, &tv); /* re-adding a pending timer moves it */
	}
}

static void record_missed(struct delivery *d)
{
	ms_notify_t *n = d->owner;
	json_t *rec = json_copy(d->base);
	char sent[32];
	iso8601_utc(ms_wall_ms(n->ms), sent, sizeof(sent));
	json_object_set_new(rec, "attempts", json_integer(d->attempts));
	json_object_set_new(rec, "sent", json_string(sent));
	json_t *data = d->sent_body ? json_loads(d->sent_body, 0, NULL) : NULL;
	json_object_set_new(rec, "request",
			    json_pack("{s:s, s:{s:s, s:s}, s:o}", "url", d->url, "headers",
				      "accept", "application/json", "content-type",
				      "application/json", "data", data ? data : json_null()));
	json_t *headers = d->resp_headers ? json_incref(d->resp_headers) : json_object();
	json_object_set_new(rec, "response",
			    json_pack("{s:I, s:i, s:s, s:o}", "req_time", (json_int_t)d->req_ms,
				      "http_code", d->status, "body", d->resp_body, "headers",
				      headers));
	if (n->n_missed == n->cap_missed) {
		n->cap_missed = n->cap_missed ? n->cap_missed * 2 : 32;
		n->missed = xrealloc(n->missed, n->cap_missed * sizeof(*n->missed));
	}
	n->missed[n->n_missed++] = (struct missed){ms_wall_ms(n->ms), rec};
	n->missed_total++;
}

static void on_response(struct evhttp_request *req, void *arg)
{
	struct delivery *d = arg;
	ms_t *ms = d->owner->ms;
	d->req_ms = (now_us() - d->sent_us) / 1000;
	d->status = req ? evhttp_request_get_response_code(req) : 0;
	d->resp_body[0] = '\0';
	json_decref(d->resp_headers);
	d->resp_headers = NULL;
	if (req && d->status) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(in);
		if (len >= BODY_KEEP)
			len = BODY_KEEP - 1;
		evbuffer_copyout(in, d->resp_body, len);
		d->resp_body[len] = '\0';
		d->resp_headers = json_object();
		struct evkeyval *h;
		TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
		{
			json_object_set_new(d->resp_headers, h->key, json_string(h->value));
		}
	}
	d->ok = d->status == 200 && d->req_ms <= ms->opt.notify_timeout_ms;
	/* The connection is freed from a timer: never inside its own callback. */
	d->state = D_CLOSING;
	arm(d, 0);
}

static void attempt(struct delivery *d)
{
	ms_notify_t *n = d->owner;
	ms_t *ms = n->ms;
	d->attempts++;
	json_t *body = json_copy(d->base);
	char sent[32];
	iso8601_utc(ms_wall_ms(ms), sent, sizeof(sent));
	json_object_set_new(body, "attempts", json_integer(d->attempts));
	json_object_set_new(body, "sent", json_string(sent));
	free(d->sent_body);
	d->sent_body = json_dumps(body, JSON_COMPACT);
	json_decref(body);

	d->conn = evhttp_connection_base_new(ms->base, NULL, d->host, (ev_uint16_t)d->port);
	struct timeval tv = {ms->opt.notify_timeout_ms / 1000,
			     (ms->opt.notify_timeout_ms % 1000) * 1000};
	evhttp_connection_set_timeout_tv(d->conn, &tv);
	evhttp_connection_set_retries(d->conn, 0);
	struct evhttp_request *req = evhttp_request_new(on_response, d);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", d->host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "User-Agent", "marketsim-notifications");
	evbuffer_add(evhttp_request_get_output_buffer(req), d->sent_body, strlen(d->sent_body));
	d->state = D_SENDING;
	d->sent_us = now_us();
	if (evhttp_make_request(d->conn, req, EVHTTP_REQ_POST, d->path) != 0) {
		d->req_ms = 0;
		d->status = 0;
		d->ok = false;
		d->state = D_CLOSING;
		arm(d, 0);
	}
}

static void after_attempt(struct delivery *d)
{
	ms_notify_t *n = d->owner;
	ms_t *ms = n->ms;
	evhttp_connection_free(d->conn);
	d->conn = NULL;
	if (d->ok) {
		n->delivered++;
		delivery_free(d);
		return;
	}
	n->failed_attempts++;
	double elapsed = (double)(ms_now_us(ms) - d->first_us) / 1e6;
	if (d->attempts >= ms->opt.notify_attempts ||
	    elapsed >= RETRY_WINDOW_S * ms->opt.notify_retry_scale) {
		record_missed(d);
		delivery_free(d);
		return;
	}
	d->state = D_WAITING;
	arm(d, retry_delay_s(ms, d->attempts));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct delivery *d = arg;
	const ms_t *ms = d->owner->ms;
	int64_t left = d->due_us - ms_now_us(ms);
	if (d->state == D_WAITING && left > 0) {
		/* Not due on marketsim's clock: frozen (the next move re-arms), or a rounding. */
		if (!ms->clock.frozen) {
			struct timeval tv = {(time_t)(left / 1000000),
					     (suseconds_t)(left % 1000000)};
			evtimer_add(&d->timer, &tv);
		}
	} else if (d->state == D_WAITING)
		attempt(d);
	else if (d->state == D_CLOSING)
		after_attempt(d);
}

void ms_notify_emit(ms_t *ms, const char *topic, const char *resource, int64_t user_id)
{
	ms_notify_t *n = ms->notify;
	n->emitted++;
	if (!n->url[0]) {
		n->no_target++;
		return;
	}
	struct evhttp_uri *u = evhttp_uri_parse(n->url);
	if (!u) {
		n->no_target++;
		return;
	}
	struct delivery *d = xcalloc(1, sizeof(*d));
	d->owner = n;
	snprintf(d->url, sizeof(d->url), "%s", n->url);
	snprintf(d->host, sizeof(d->host), "%s", evhttp_uri_get_host(u));
	d->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
	snprintf(d->path, sizeof(d->path), "%s%s%s", path && *path ? path : "/", query ? "?" : "",
		 query ? query : "");
	evhttp_uri_free(u);

	char id[40], received[32];
	uint64_t a = rng_next(&n->rng), b = rng_next(&n->rng);
	snprintf(id, sizeof(id), "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 (unsigned)((b >> 48) & 0x3fff) | 0x8000,
		 (unsigned long long)(b & 0xffffffffffffULL));
	iso8601_utc(ms_wall_ms(ms), received, sizeof(received));
	d->base = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "_id", id, "resource", resource,
			    "user_id", (json_int_t)user_id, "topic", topic, "application_id",
			    (json_int_t)strtoll(ms->opt.client_id, NULL, 10), "received", received);
	d->first_us = ms_now_us(ms);
	d->next = n->head;
	if (d->next)
		d->next->prev = d;
	n->head = d;
	evtimer_assign(&d->timer, ms->base, on_timer, d);
	d->state = D_WAITING;
	arm(d, 0);
}

json_t *ms_notify_stats(ms_notify_t *n)
{
	json_int_t in_flight = 0;
	for (struct delivery *d = n->head; d; d = d->next)
		in_flight++;
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "target", n->url, "emitted",
			 n->emitted, "delivered", n->delivered, "failed_attempts",
			 n->failed_attempts, "missed", n->missed_total, "pending", in_flight,
			 "no_target", n->no_target);
}

/* GET /missed_feeds?app_id=[&topic=][&site_id=][&offset=][&limit=] */
void h_missed_feeds(ms_req_t *r)
{
	ms_notify_t *n = r->ms->notify;
	const char *app = ms_arg(r, "app_id"), *topic = ms_arg(r, "topic");
	const char *site = ms_arg(r, "site_id");
	if (!app) {
		ms_reply_error(r, 400, "bad_request", "app_id is required");
		return;
	}
	if (strcmp(app, r->ms->opt.client_id) != 0) {
		ms_reply_error(r, 403, ms_error_code(403), "app_id does not belong to the caller");
		return;
	}
	if (topic && strcmp(topic, "items") == 0 && !site) {
		ms_reply_error(r, 400, "bad_request", "site_id is required for topic items");
		return;
	}
	long offset, limit;
	if (!ms_arg_long(r, "offset", 0, &offset) || !ms_arg_long(r, "limit", 10, &limit))
		return;
	/* Two days of retention: forget older entries first. */
	int64_t cutoff = ms_wall_ms(r->ms) - MISSED_RETENTION_MS;
	size_t keep = 0;
	for (size_t i = 0; i < n->n_missed; i++) {
		if (n->missed[i].at_wall < cutoff)
			json_decref(n->missed[i].record);
		else
			n->missed[keep++] = n->missed[i];
	}
	n->n_missed = keep;
	json_t *list = json_array();
	long seen = 0;
	for (size_t i = 0; i < n->n_missed; i++) {
		json_t *rec = n->missed[i].record;
		const char *t = json_string_value(json_object_get(rec, "topic"));
		if (topic && strcmp(topic, t) != 0)
			continue;
		if (site && strcmp(t, "items") == 0 && strcmp(site, MS_SITE) != 0)
			continue;
		if (seen++ < offset || (long)json_array_size(list) >= limit)
			continue;
		json_array_append(list, rec);
	}
	ms_reply_json(r, 200, json_pack("{s:o}", "messages", list));
}
