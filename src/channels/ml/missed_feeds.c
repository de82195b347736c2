/* The missed-feeds poller. One pass: take the lease, pick an active account (the call needs a
 * user token of the application), page through /missed_feeds, store each page, release. */
#include "missed_feeds.h"
#include "app.h"
#include "jobs.h"
#include "log.h"
#include "ml.h"
#include "client.h"
#include "metrics.h"
#include "util.h"
#include "intake.h"
#include "notifications.h"

#include <event2/event_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE	  50
#define MAX_PAGES 200 /* one pass reads at most 10,000 entries; the next pass continues */

struct missed_feeds {
	app_t *app;
	struct event timer;
	bool running;
	bool stopped;
	char account[40];
	char lease[24];
	char lease_key[64]; /* one poller per application */
	int offset, pages;
	int64_t app_id;
	metric_t *recovered;
};

static const char account_sql[] =
    "SELECT id FROM accounts WHERE channel = 'ml' AND status = 'active' AND disconnected_at IS NULL"
    " ORDER BY refreshed_at DESC LIMIT 1";

static void fetch_page(missed_feeds_t *m);

static void lease_released(redisReply *reply, const char *err, void *arg)
{
}

static void pass_end(missed_feeds_t *m, const char *why)
{
	if (why)
		log_warn("missed_feeds: pass stopped: %s", why);
	m->running = false;
	/* Compare-and-delete: never release a lease that expired and went to another process. */
	redis_command(m->app->redis, lease_released, NULL, "EVAL %s 1 %s %s",
		      "if redis.call('get', KEYS[1]) == ARGV[1] then "
		      "return redis.call('del', KEYS[1]) else return 0 end",
		      m->lease_key, m->lease);
}

static void stored(const PGresult *res, const char *err, void *arg)
{
	missed_feeds_t *m = arg;
	if (err) {
		pass_end(m, err);
		return;
	}
	int64_t job = pg_int(res, 0, 0, 0);
	long long n = pg_int(res, 0, 1, 0);
	if (job > 0) {
		jobs_dispatch(m->app->jobs, &job, 1);
		metric_add(m->recovered, (double)n);
		log_info("missed_feeds: recovered %lld notifications", n);
	}
	fetch_page(m);
}

static void page_done(const ml_result_t *res, void *arg)
{
	missed_feeds_t *m = arg;
	if (res->err != ML_OK) {
		pass_end(m, res->message);
		return;
	}
	json_t *messages = json_object_get(res->body, "messages");
	size_t n = json_array_size(messages);
	notification_rows_t *rows = notification_rows_new();
	for (size_t i = 0; i < n; i++) {
		json_t *message = json_array_get(messages, i), *details = NULL;
		notification_t note;
		bool foreign;
		/* The topics the intake takes, no other (intake.c). */
		if (json_is_object(message) &&
		    notification_parse(message, m->app_id, &note, &details, &foreign) &&
		    notifications_topic_kept(note.topic)) {
			char *body = json_dumps(message, JSON_COMPACT);
			notification_rows_add(rows, &note, body, strlen(body));
			free(body);
		}
		json_decref(details);
	}
	m->offset += (int)n;
	size_t found = notification_rows_count(rows);
	if (n < PAGE || ++m->pages >= MAX_PAGES) {
		if (found == 0) {
			notification_rows_free(rows);
			pass_end(m, NULL);
			return;
		}
		m->pages = MAX_PAGES; /* last page: store it, then stop */
	}
	if (found == 0) {
		notification_rows_free(rows);
		fetch_page(m);
		return;
	}
	ml_intake_store(m->app, rows, "missed_feeds", stored, m);
	notification_rows_free(rows);
}

static void fetch_page(missed_feeds_t *m)
{
	if (m->pages >= MAX_PAGES || m->stopped) {
		pass_end(m, NULL);
		return;
	}
	char path[160];
	snprintf(path, sizeof(path), "/missed_feeds?app_id=%" PRId64 "&offset=%d&limit=%d",
		 m->app_id, m->offset, PAGE);
	ml_account_get(m->app, m->account, "missed_feeds", path, page_done, m);
}

static void account_found(const PGresult *res, const char *err, void *arg)
{
	missed_feeds_t *m = arg;
	const char *id = err ? NULL : pg_value(res, 0, 0);
	if (!id) {
		pass_end(m, err); /* no active account: nothing to ask with */
		return;
	}
	snprintf(m->account, sizeof(m->account), "%s", id);
	m->offset = 0;
	m->pages = 0;
	fetch_page(m);
}

static void leased(redisReply *reply, const char *err, void *arg)
{
	missed_feeds_t *m = arg;
	if (!reply || reply->type != REDIS_REPLY_STATUS) {
		m->running = false; /* another process holds it, or Redis is down */
		return;
	}
	pg_query_prepared(m->app->pg, account_sql, 0, NULL, account_found, m);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	missed_feeds_t *m = arg;
	if (m->running || m->stopped)
		return;
	m->running = true;
	snprintf(m->lease, sizeof(m->lease), "%" PRId64, now_us());
	int lease_ms = ml_config(m->app)->missed_feeds_interval_s * 1000;
	redis_command(m->app->redis, leased, m, "SET %s %s NX PX %d", m->lease_key, m->lease,
		      lease_ms > 1000 ? lease_ms - 500 : lease_ms);
}

missed_feeds_t *missed_feeds_start(app_t *app)
{
	if (!ml_config(app)->client_id)
		return NULL;
	missed_feeds_t *m = xcalloc(1, sizeof(*m));
	m->app = app;
	m->app_id = strtoll(ml_config(app)->client_id, NULL, 10);
	snprintf(m->lease_key, sizeof(m->lease_key), "sh:lease:missed_feeds:%" PRId64, m->app_id);
	m->recovered = metrics_counter("sellerhub_notifications_recovered_total",
				       "Notifications recovered from missed_feeds", "");
	event_assign(&m->timer, app->base, -1, EV_PERSIST, tick, m);
	struct timeval tv = {ml_config(app)->missed_feeds_interval_s, 0};
	event_add(&m->timer, &tv);
	return m;
}

void missed_feeds_stop(missed_feeds_t *m)
{
	if (m) {
		m->stopped = true;
		event_del(&m->timer);
	}
}

void missed_feeds_free(missed_feeds_t *m)
{
	if (!m)
		return;
	event_del(&m->timer);
	free(m);
}
