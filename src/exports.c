/* The orders export as an answer (see exports.h): the row count decides between answering now
 * and a background job; csv and json stream from a binary COPY, xlsx is a file written off the loop
 * (export_files.c). */
#include "exports.h"
#include "export_files.h"
#include "jobs.h"
#include "listing.h"
#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// clang-format off
/* The period's bounds in the tenant's time zone (whole days, the end day included) and its
 * orders counted up to $4 (past that the count is only "too many"). */
static const char bounds_sql[] =
    "WITH b AS (SELECT ($2::date)::timestamp AT TIME ZONE t.timezone AS s,"
    "  ($3::date + 1)::timestamp AT TIME ZONE t.timezone AS e FROM tenants t WHERE t.id = $1)"
    " SELECT b.s, b.e, (SELECT count(*) FROM (SELECT 1 FROM orders o WHERE o.tenant_id = $1"
    "  AND o.date_created >= b.s AND o.date_created < b.e LIMIT $4::bigint) x) FROM b";

/* An export past the row limit: its row and its job, in one commit. */
static const char queue_sql[] =
    "WITH ids AS (SELECT gen_random_uuid() AS id, " JOBS_NEXT_ID " AS job_id),"
    " ex AS (INSERT INTO order_exports (id, tenant_id, user_id, format, start_at, end_at,"
    "  fields, job_id)"
    "  SELECT ids.id, $1, $2, $3, $4, $5, string_to_array($6, ','), ids.job_id FROM ids"
    "  RETURNING id, job_id),"
    " job AS (" JOBS_INSERT("id, kind, tenant_id, payload, max_attempts, queue")
    "  SELECT ex.job_id, '" EXPORT_JOB "', $1, jsonb_build_object('export', ex.id), 3, $7"
    "  FROM ex RETURNING id)"
    " SELECT (SELECT id FROM job), (SELECT id FROM ex)";
// clang-format on

/* One export being answered (owned here; freed by stream_end or with the answer). */
typedef struct answer {
	req_t *r;
	app_t *app;
	export_spec_t spec;
	char from_day[16], to_day[16];
	/* the stream */
	pg_tx_t *tx;
	export_copy_t copy;
	export_buf_t buf;
	bool started, lost;
	long long rows;
} answer_t;

static void attachment(req_t *r, const answer_t *a)
{
	http_set_header(r, "Content-Disposition",
			arena_printf(r->arena, "attachment; filename=\"orders_%s_%s.%s\"",
				     a->from_day, a->to_day, export_format_name(a->spec.format)));
}

static void answer_free(answer_t *a)
{
	export_buf_free(&a->buf);
	export_copy_free(&a->copy);
	free(a);
}

/* --- csv and json: PostgreSQL's binary COPY, as fast as the client reads ------------------- */

/* Rendered text is sent in chunks of about this size. */
#define EXPORT_CHUNK (256 * 1024)

static void stream_drained(void *arg);
static void stream_lost(void *arg);

static void stream_end(answer_t *a)
{
	pg_tx_rollback(a->tx, NULL, NULL); /* it only read */
	http_stream_end(a->r);
	answer_free(a);
}

static void stream_start(answer_t *a)
{
	attachment(a->r, a);
	http_stream_start(a->r, 200, export_content_type(a->spec.format), stream_drained,
			  stream_lost, a);
	a->started = true;
	export_render_head(&a->spec, &a->buf);
}

/* Writes what is rendered: false when the client is behind (the text waits in the connection's
 * buffer and no more rows are read until it has drained). */
static bool flush_out(answer_t *a)
{
	bool more = http_stream_write(a->r, a->buf.data, a->buf.len);
	a->buf.len = 0;
	return more;
}

static bool copy_row(const char *data, int len, void *arg)
{
	answer_t *a = arg;
	if (!a->started)
		stream_start(a);
	long n = export_render_copy(&a->spec, &a->copy, data, (size_t)len, &a->buf);
	if (n < 0) {
		log_error("export: not a binary COPY of the fields after %lld rows", a->rows);
		pg_tx_copy_abandon(a->tx); /* copied ends it */
		return false;
	}
	a->rows += n;
	return a->buf.len < EXPORT_CHUNK || flush_out(a);
}

static void copied(const PGresult *res, const char *err, void *arg)
{
	answer_t *a = arg;
	if (err && !a->started) {
		list_db_error(a->r, "export: copy", res, err);
		pg_tx_rollback(a->tx, NULL, NULL);
		answer_free(a);
		return;
	}
	if (err || a->lost) {
		/* Headers are out: a json file stays unclosed, which a reader notices. */
		if (!a->lost)
			log_error("export: copy after %lld rows: %s", a->rows, err);
		stream_end(a);
		return;
	}
	if (!a->started)
		stream_start(a); /* no rows */
	export_render_tail(&a->spec, &a->buf);
	flush_out(a);
	stream_end(a);
}

static void stream_drained(void *arg)
{
	answer_t *a = arg;
	pg_tx_copy_resume(a->tx);
}

static void stream_lost(void *arg)
{
	answer_t *a = arg;
	a->lost = true;
	pg_tx_copy_abandon(a->tx); /* copied ends the stream */
}

static void begun(pg_tx_t *tx, const char *err, void *arg)
{
	answer_t *a = arg;
	if (err) {
		list_db_error(a->r, "export: begin", NULL, err);
		answer_free(a);
		return;
	}
	a->tx = tx;
	a->copy.first = true;
	char *sql = export_copy_sql(&a->spec);
	if (!sql) {
		list_db_error(a->r, "export: copy", NULL, "the period's bounds are not timestamps");
		pg_tx_rollback(tx, NULL, NULL);
		answer_free(a);
		return;
	}
	pg_tx_copy_out(tx, sql, 0, NULL, copy_row, copied, a);
	free(sql);
}

/* --- xlsx: a file written on a worker thread, then sent from the file ---------------------- */

static void xlsx_written(export_file_t *f)
{
	answer_t *a = f->arg;
	req_t *r = a->r;
	int fd = f->error[0] ? -1 : open(f->path, O_RDONLY | O_CLOEXEC);
	unlink(f->path); /* the open descriptor keeps it until it is sent */
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		log_error("export: xlsx: %s", f->error[0] ? f->error : "the file is gone");
		if (fd >= 0)
			close(fd);
		http_error(r, 500, "INTERNAL", "The export could not be written.", NULL);
	} else {
		attachment(r, a);
		http_reply_file(r, 200, export_content_type(EXPORT_XLSX), fd, (size_t)st.st_size);
	}
	export_file_free(f);
	answer_free(a);
}

/* --- past the limit: a background job ------------------------------------------------------ */

static void queued(const PGresult *res, const char *err, void *arg)
{
	answer_t *a = arg;
	if (err || PQntuples(res) != 1 || !pg_value(res, 0, 1)) {
		list_db_error(a->r, "export: queue", res, err ? err : "no export row");
		answer_free(a);
		return;
	}
	const char *id = pg_value(res, 0, 1);
	json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "jobId", id, "status", "queued", "format",
				 export_format_name(a->spec.format), "statusUrl",
				 arena_printf(a->r->arena, "/api/exports/%s", id));
	http_ok(a->r, 202, data, "The export runs in the background; fetch it from statusUrl.");
	answer_free(a);
}

static void queue(answer_t *a)
{
	export_buf_t names = {0};
	for (int i = 0; i < a->spec.nfields; i++) {
		if (i)
			export_buf_add(&names, ",", 1);
		export_buf_add(&names, a->spec.fields[i]->name, strlen(a->spec.fields[i]->name));
	}
	const char *p[] = {a->spec.tenant_id,	 a->r->user_id, export_format_name(a->spec.format),
			   a->spec.start,	 a->spec.end,	names.data,
			   a->app->cfg.job_queue};
	pg_query(a->app->pg, queue_sql, 7, p, jobs_committed,
		 jobs_on_commit(a->app->jobs, 0, queued, a));
	export_buf_free(&names);
}

/* --- the choice ---------------------------------------------------------------------------- */

static void bounded(const PGresult *res, const char *err, void *arg)
{
	answer_t *a = arg;
	if (err || PQntuples(res) != 1) {
		list_db_error(a->r, "export: count", res, err ? err : "no tenant");
		answer_free(a);
		return;
	}
	snprintf(a->spec.start, sizeof(a->spec.start), "%s", pg_value(res, 0, 0));
	snprintf(a->spec.end, sizeof(a->spec.end), "%s", pg_value(res, 0, 1));
	if (pg_int(res, 0, 2, 0) > a->app->cfg.export_sync_max_rows)
		queue(a);
	else if (a->spec.format == EXPORT_XLSX)
		export_file_write(a->app, &a->spec, NULL, xlsx_written, a);
	else
		pg_tx_begin(a->app->pg, begun, a);
}

void exports_answer(req_t *r, const export_spec_t *spec)
{
	answer_t *a = xcalloc(1, sizeof(*a));
	a->r = r;
	a->app = r->app;
	a->spec = *spec;
	snprintf(a->from_day, sizeof(a->from_day), "%.10s", spec->start);
	snprintf(a->to_day, sizeof(a->to_day), "%.10s", spec->end);
	char limit[24];
	snprintf(limit, sizeof(limit), "%ld", a->app->cfg.export_sync_max_rows + 1);
	const char *p[] = {spec->tenant_id, spec->start, spec->end, limit};
	pg_query_prepared(a->app->pg, bounds_sql, 4, p, bounded, a);
}
