/* The stock push job (stock_push.h): load the target's newest wanted value → push it through the
 * channel → record it, and go round again when a newer value arrived meanwhile. The job owns
 * the target while stock_pushes.job_id names it; clearing job_id (only when the version it
 * pushed is still the row's) hands the next change a new job (sql/0023). */
#include "stock_push.h"
#include "channel.h"
#include "jobs.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The target if this job still owns it: what to push, where, and as whom. */
static const char load_sql[] =
    "SELECT s.wanted, s.version, s.forced,"
    " CASE WHEN s.variation = '' THEN l.available_quantity ELSE v.available_quantity END,"
    " l.channel, l.account_id, a.external_id, a.settings::text, l.external_id,"
    " coalesce(l.logistic_type, ''), l.raw::text, l.tenant_id"
    " FROM stock_pushes s JOIN listings l ON l.id = s.listing_id"
    " JOIN accounts a ON a.id = l.account_id"
    " LEFT JOIN listing_variations v ON s.variation <> '' AND v.listing_id = s.listing_id"
    "  AND v.external_id = s.variation"
    " WHERE s.listing_id = $1 AND s.variation = $2 AND s.job_id = $3";

/* Pushed (or nothing to push): the listing shows the value, the push is recorded, and the job
 * lets the target go unless a newer version arrived (then no row: go round again). */
static const char pushed_sql[] =
    "WITH l AS (UPDATE listings SET stock_pushed_at = now(), stock_push_status = $5,"
    "  available_quantity = CASE WHEN $2 = '' THEN $4::int ELSE available_quantity END"
    "  WHERE id = $1 AND $6::boolean),"
    " v AS (UPDATE listing_variations SET available_quantity = $4::int"
    "  WHERE listing_id = $1 AND external_id = $2 AND $2 <> '' AND $6::boolean)"
    " UPDATE stock_pushes SET job_id = NULL, forced = false"
    " WHERE listing_id = $1 AND variation = $2 AND job_id = $3 AND version = $7::bigint"
    " RETURNING 1";

/* Not pushed: why, on the listing; the target let go when the job ends for good ($4). */
static const char failed_sql[] =
    "WITH l AS (UPDATE listings SET stock_push_status = left($3, 200) WHERE id = $1)"
    " UPDATE stock_pushes SET job_id = NULL"
    " WHERE listing_id = $1 AND variation = $2 AND job_id = $5::bigint AND $4::boolean";

/* One job's work; freed when the job ends. */
typedef struct push {
	job_t *job;
	char listing_id[40], variation[64], job_id[24];
	long wanted;
	char version[24], wanted_s[24];
	int rounds;
	char *error; /* the failure being recorded */
	bool final;  /* the job ends for good with it */
} push_t;

static void load(push_t *p);

static void push_free(push_t *p)
{
	free(p->error);
	free(p);
}

static void ended(push_t *p, const char *note)
{
	job_done(p->job, note);
	push_free(p);
}

static void failure_recorded(const PGresult *res, const char *err, void *arg)
{
	push_t *p = arg;
	if (err)
		log_warn("stock push: recording a failure of listing %s: %s", p->listing_id, err);
	if (p->final)
		job_fail(p->job, p->error);
	else
		job_retry(p->job, p->error, -1);
	push_free(p);
}

/* The push failed: record why; a transient failure is tried again with backoff, any other (or
 * the last attempt) ends the job and lets the target go. */
static void fail(push_t *p, enum channel_err e, const char *message)
{
	bool transient = e == CHANNEL_ERR_TRANSIENT || e == CHANNEL_ERR_RATE_LIMITED;
	p->final = !transient || job_is_last_attempt(p->job);
	char line[300];
	snprintf(line, sizeof(line), "%s: %s", p->final ? "failed" : "retrying",
		 message ? message : channel_err_name(e));
	p->error = xstrdup(line);
	const char *params[] = {p->listing_id, p->variation, line, p->final ? "true" : "false",
				p->job_id};
	pg_query(p->job->app->pg, failed_sql, 5, params, failure_recorded, p);
}

static void recorded(const PGresult *res, const char *err, void *arg)
{
	push_t *p = arg;
	if (err) {
		p->final = job_is_last_attempt(p->job);
		p->error = xstrdup(err);
		failure_recorded(NULL, NULL, p);
		return;
	}
	if (PQntuples(res) == 0 && p->rounds < 50) {
		load(p); /* a newer value arrived while this one was on its way */
		return;
	}
	ended(p, p->rounds ? "pushed" : "nothing to push");
}

/* status: what the listing shows of its last push; shown: whether the listing now offers
 * the value (false: skipped, the listing keeps what it showed). */
static void record(push_t *p, const char *status, bool shown)
{
	const char *params[] = {p->listing_id, p->variation, p->job_id,
				p->wanted_s,   status,	     shown ? "true" : "false",
				p->version};
	pg_query(p->job->app->pg, pushed_sql, 7, params, recorded, p);
}

static void channel_answered(enum channel_err e, const char *message, void *arg)
{
	push_t *p = arg;
	job_unpark(p->job);
	if (e != CHANNEL_OK) {
		fail(p, e, message);
		return;
	}
	if (message) {
		char line[220];
		snprintf(line, sizeof(line), "skipped: %s", message);
		record(p, line, false);
		return;
	}
	p->rounds++;
	record(p, "pushed", true);
}

static void loaded(const PGresult *res, const char *err, void *arg)
{
	push_t *p = arg;
	if (err) {
		fail(p, CHANNEL_ERR_TRANSIENT, err);
		return;
	}
	if (PQntuples(res) != 1) {
		ended(p, "superseded"); /* another job owns the target, or the listing is gone */
		return;
	}
	p->wanted = pg_int(res, 0, 0, 0);
	snprintf(p->wanted_s, sizeof(p->wanted_s), "%ld", p->wanted);
	snprintf(p->version, sizeof(p->version), "%s", pg_value(res, 0, 1));
	/* Pushed whatever the listing's row says: that row is the channel's last answer, which may
	 * be older than our last push (a notification fetched before it landed); the request
	 * (sql/0032) already left out the targets that show the value and were last asked it. */
	const channel_t *ch = channel_find(pg_value(res, 0, 4));
	if (!ch || !ch->push_stock) {
		record(p, "skipped: the channel takes no stock pushes", false);
		return;
	}
	json_t *settings = json_loads(pg_value(res, 0, 7), 0, NULL);
	json_t *raw = json_loads(pg_value(res, 0, 10), 0, NULL);
	channel_listing_t l = {
	    .tenant_id = pg_value(res, 0, 11),
	    .account_id = pg_value(res, 0, 5),
	    .account_external_id = pg_value(res, 0, 6),
	    .account_settings = settings,
	    .external_id = pg_value(res, 0, 8),
	    .variation = p->variation,
	    .logistic_type = pg_value(res, 0, 9),
	    .raw = raw,
	};
	/* The push may wait long for the account's bucket (Amazon: 5 a second): meanwhile its slot
	 * runs other jobs (the notifications that bring the next sales, other accounts' pushes). */
	job_park(p->job);
	ch->push_stock(p->job->app, &l, p->wanted, channel_answered, p);
	json_decref(settings);
	json_decref(raw);
}

static void load(push_t *p)
{
	const char *params[] = {p->listing_id, p->variation, p->job_id};
	pg_query(p->job->app->pg, load_sql, 3, params, loaded, p);
}

static void run(job_t *job)
{
	const char *listing = json_string_value(json_object_get(job->payload, "listingId"));
	const char *variation = json_string_value(json_object_get(job->payload, "variation"));
	if (!listing || strlen(listing) != 36 || !variation || strlen(variation) >= 64) {
		job_fail(job, "payload without listingId and variation");
		return;
	}
	push_t *p = xcalloc(1, sizeof(*p));
	p->job = job;
	snprintf(p->listing_id, sizeof(p->listing_id), "%s", listing);
	snprintf(p->variation, sizeof(p->variation), "%s", variation);
	snprintf(p->job_id, sizeof(p->job_id), "%" PRId64, job->id);
	load(p);
}

void stock_push_register(app_t *app)
{
	jobs_register(app->jobs, STOCK_PUSH_JOB, run, JOB_DURABLE);
}
