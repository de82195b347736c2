/* Mercado Livre's side of the webhook intake: a notification is checked (notification_rows.c)
 * and, with its group, committed by one statement into ml_notifications together with the job
 * that processes them (notifications.c). The core's intake (src/api/webhooks.c) groups,
 * commits and answers; the missed-feeds poller stores what it recovers the same way. */
#include "channel.h"
#include "intake.h"
#include "app.h"
#include "jobs.h"
#include "notifications.h"

/* The group's notifications and, when any of them is new, one job to process them: its id is
 * drawn first so every new row can carry it. Answers (job id or NULL, new rows). A duplicate
 * _id, of an earlier group or of this one, is skipped by ON CONFLICT. */
static const char insert_sql[] =
    "WITH jid AS (SELECT " JOBS_NEXT_ID " AS id),"
    " ins AS ("
    " INSERT INTO ml_notifications (notification_id, topic, resource, ml_user_id,"
    " application_id, attempts, sent_at, received_at, body, source, job_id)"
    " SELECT r.*, $10, jid.id FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],"
    " $5::bigint[], $6::integer[], $7::timestamptz[], $8::timestamptz[], $9::text[]) AS r, jid"
    " ON CONFLICT (notification_id) DO NOTHING"
    " RETURNING id),"
    " job AS ("
    " " JOBS_INSERT("id, kind, queue") " SELECT id, '" ML_NOTIFICATIONS_JOB "', $11 FROM jid"
				       " WHERE EXISTS (SELECT 1 FROM ins) RETURNING id)"
				       " SELECT (SELECT id FROM job), (SELECT count(*) FROM ins)";

void ml_intake_store(app_t *app, notification_rows_t *rows, const char *source, pg_cb cb, void *arg)
{
	const char *params[NOTIFICATION_COLUMNS + 2];
	notification_rows_params(rows, params);
	params[NOTIFICATION_COLUMNS] = source;
	params[NOTIFICATION_COLUMNS + 1] = app->cfg.job_queue;
	pg_query_urgent(app->pg, insert_sql, NOTIFICATION_COLUMNS + 2, params, cb, arg);
}

static void *batch_new(void)
{
	return notification_rows_new();
}

static void batch_free(void *batch)
{
	notification_rows_free(batch);
}

static size_t batch_count(const void *batch)
{
	return notification_rows_count(batch);
}

static const channel_reject_t invalid = {400, "INVALID_NOTIFICATION",
					 "This is not a Mercado Livre notification.", false};
static const channel_reject_t foreign_app = {403, "FOREIGN_APPLICATION",
					     "The notification is for another application.", false};
/* Mercado Livre wants a 200 within 500 ms for every notification: anything else is retried for
 * an hour and may switch the topic off. A topic sellerhub does not keep (one the application
 * was subscribed to by mistake, or made up) is acknowledged, counted, and not stored. */
static const channel_reject_t unknown_topic = {200, "UNKNOWN_TOPIC",
					       "This topic is not one sellerhub takes; the "
					       "notification was not stored.",
					       true};

static const channel_reject_t *add(app_t *app, void *batch, json_t *body, const char *raw,
				   size_t raw_len, json_t **details)
{
	bool foreign;
	notification_t n;
	if (!notification_parse(body, ml_state(app)->app_id, &n, details, &foreign))
		return foreign ? &foreign_app : &invalid;
	if (!notifications_topic_kept(n.topic))
		return &unknown_topic;
	notification_rows_add(batch, &n, raw, raw_len);
	return NULL;
}

static void store(app_t *app, void *batch, const char *source, pg_cb cb, void *arg)
{
	ml_intake_store(app, batch, source, cb, arg);
}

const channel_intake_t ml_intake = {
    .batch_new = batch_new,
    .batch_free = batch_free,
    .batch_count = batch_count,
    .add = add,
    .store = store,
};
