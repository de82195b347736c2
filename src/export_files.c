/* The orders export's files (see export_files.h): the worker that writes one, the background
 * job that keeps one for a while, the sweep that deletes it, and GET /api/exports/:id. */
#include "export_files.h"
#include "jobs.h"
#include "listing.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

struct exports {
	app_t *app;
	struct event *sweep;
	bool sweeping;
};

/* --- the worker: a cursor read with blocking libpq, off the loop --------------------------- */

static bool run(PGconn *c, const char *sql, int n, const char *const *p, ExecStatusType want,
		export_file_t *f, PGresult **out)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != want) {
		snprintf(f->error, sizeof(f->error), "%s", PQresultErrorMessage(res));
		f->error[strcspn(f->error, "\n")] = '\0';
		PQclear(res);
		return false;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return true;
}

/* One batch into the sheet, from row *row on. */
static bool xlsx_rows(lxw_worksheet *ws, const export_spec_t *spec, const PGresult *res,
		      lxw_row_t *row, export_file_t *f)
{
	int n = PQntuples(res);
	if (*row + (lxw_row_t)n >= LXW_ROW_MAX) {
		snprintf(f->error, sizeof(f->error), "xlsx holds at most %d rows", LXW_ROW_MAX - 1);
		return false;
	}
	for (int i = 0; i < n; i++, (*row)++)
		for (int k = 0; k < spec->nfields; k++) {
			const char *v = pg_value(res, i, k);
			char iso[25];
			if (!v)
				continue;
			if (spec->fields[k]->kind == EXPORT_NUMBER)
				worksheet_write_number(ws, *row, (lxw_col_t)k, strtod(v, NULL),
						       NULL);
			else
				worksheet_write_string(ws, *row, (lxw_col_t)k,
						       spec->fields[k]->kind == EXPORT_TIME &&
							       export_iso_time(v, iso)
							   ? iso
							   : v,
						       NULL);
		}
	return true;
}

/* Reads the rows batch by batch into the file: csv and json as text, xlsx through
 * libxlsxwriter in constant-memory mode (a row is flushed once the next begins). */
static bool write_rows(PGconn *c, export_file_t *f, const char *tmp)
{
	const export_spec_t *spec = &f->spec;
	char *select = export_select_sql(spec);
	size_t n = strlen(select) + 64;
	char *declare = xmalloc(n);
	snprintf(declare, n, EXPORT_DECLARE "%s", select);
	free(select);
	const char *p[] = {spec->tenant_id, spec->start, spec->end};
	bool ok = run(c, "BEGIN", 0, NULL, PGRES_COMMAND_OK, f, NULL) &&
		  run(c, declare, 3, p, PGRES_COMMAND_OK, f, NULL);
	free(declare);
	if (!ok)
		return false;
	FILE *out = NULL;
	lxw_workbook *wb = NULL;
	lxw_worksheet *ws = NULL;
	if (spec->format == EXPORT_XLSX) {
		lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = f->dir};
		wb = workbook_new_opt(tmp, &opt);
		ws = wb ? workbook_add_worksheet(wb, "orders") : NULL;
		for (int k = 0; ws && k < spec->nfields; k++)
			worksheet_write_string(ws, 0, (lxw_col_t)k, spec->fields[k]->name, NULL);
	} else {
		out = fopen(tmp, "we");
	}
	if (!ws && !out) {
		snprintf(f->error, sizeof(f->error), "cannot create %.150s: %s", tmp,
			 strerror(errno));
		if (wb)
			workbook_close(wb);
		return false;
	}
	export_buf_t b = {0};
	bool first = true;
	lxw_row_t row = 1;
	if (out)
		export_render_head(spec, &b);
	for (;;) {
		PGresult *res;
		ok = run(c, EXPORT_FETCH_SQL, 0, NULL, PGRES_TUPLES_OK, f, &res);
		if (!ok)
			break;
		int got = PQntuples(res);
		f->rows += got;
		if (out)
			export_render_rows(spec, res, &first, &b);
		else
			ok = xlsx_rows(ws, spec, res, &row, f);
		PQclear(res);
		if (out && got < EXPORT_BATCH_ROWS)
			export_render_tail(spec, &b);
		if (out && b.len && fwrite(b.data, 1, b.len, out) != b.len) {
			snprintf(f->error, sizeof(f->error), "write: %s", strerror(errno));
			ok = false;
		}
		b.len = 0;
		if (!ok || got < EXPORT_BATCH_ROWS)
			break;
	}
	export_buf_free(&b);
	if (out && fclose(out) != 0 && ok) {
		snprintf(f->error, sizeof(f->error), "close: %s", strerror(errno));
		ok = false;
	}
	if (wb) {
		lxw_error e = workbook_close(wb);
		if (e != LXW_NO_ERROR && ok) {
			snprintf(f->error, sizeof(f->error), "xlsx: %s", lxw_strerror(e));
			ok = false;
		}
	}
	run(c, "ROLLBACK", 0, NULL, PGRES_COMMAND_OK, f, NULL);
	return ok;
}

/* On a worker thread, which yields the CPU to the loop (WORKER_NICE, workers.h). */
static void file_work(void *arg)
{
	export_file_t *f = arg;
	/* The pool's session settings: timestamps come back in the shape export_iso_time reads. */
	const char *keys[] = {"dbname", "options", NULL};
	const char *values[] = {f->conninfo, "-c DateStyle=ISO -c TimeZone=UTC", NULL};
	PGconn *c = PQconnectdbParams(keys, values, 1);
	char tmp[sizeof(f->path) + 8];
	snprintf(tmp, sizeof(tmp), "%s.part", f->path);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(f->error, sizeof(f->error), "database: %s", PQerrorMessage(c));
		f->error[strcspn(f->error, "\n")] = '\0';
	} else if (write_rows(c, f, tmp) && rename(tmp, f->path) != 0) {
		snprintf(f->error, sizeof(f->error), "rename: %s", strerror(errno));
	}
	PQfinish(c);
	struct stat st;
	if (f->error[0])
		unlink(tmp);
	else if (stat(f->path, &st) == 0)
		f->bytes = st.st_size;
}

static void file_done(void *arg)
{
	export_file_t *f = arg;
	f->done(f);
}

void export_file_write(app_t *app, const export_spec_t *spec, const char *path, export_file_cb done,
		       void *arg)
{
	export_file_t *f = xcalloc(1, sizeof(*f));
	f->app = app;
	f->spec = *spec;
	f->conninfo = xstrdup(app->cfg.database_url);
	f->dir = xstrdup(app->cfg.exports_dir);
	f->done = done;
	f->arg = arg;
	if (path) {
		snprintf(f->path, sizeof(f->path), "%s", path);
	} else {
		unsigned char rnd[8];
		arc4random_buf(rnd, sizeof(rnd));
		snprintf(f->path, sizeof(f->path), "%s/tmp-%02x%02x%02x%02x%02x%02x%02x%02x.%s",
			 app->cfg.exports_dir, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
			 rnd[6], rnd[7], export_format_name(spec->format));
	}
	workers_submit(app->workers, file_work, file_done, f);
}

void export_file_free(export_file_t *f)
{
	free(f->conninfo);
	free(f->dir);
	free(f);
}

/* --- the background job -------------------------------------------------------------------- */

static const char claim_sql[] =
    "UPDATE order_exports SET status = 'running' WHERE id = $1 AND status IN ('queued', 'running')"
    " RETURNING tenant_id, format, start_at, end_at, array_to_string(fields, ',')";
static const char done_sql[] =
    "UPDATE order_exports SET status = 'done', rows = $2, bytes = $3, finished_at = now(),"
    " expires_at = now() + make_interval(secs => $4::int) WHERE id = $1";
static const char failed_sql[] =
    "UPDATE order_exports SET status = $2, error = $3, finished_at = now() WHERE id = $1";

static void path_of(const app_t *app, const char *id, const char *format, char *out, size_t n)
{
	snprintf(out, n, "%s/%s.%s", app->cfg.exports_dir, id, format);
}

static void job_recorded(const PGresult *res, const char *err, void *arg)
{
	job_t *job = arg;
	if (err)
		job_retry(job, err, -1);
	else
		job_done(job, NULL);
}

static void job_failed_recorded(const PGresult *res, const char *err, void *arg)
{
	job_t *job = arg;
	job_fail(job, "the export could not be written");
}

static void job_written(export_file_t *f)
{
	job_t *job = f->arg;
	const char *id = json_string_value(json_object_get(job->payload, "export"));
	if (f->error[0]) {
		log_error("export %s: %s", id, f->error);
		if (!job_is_last_attempt(job)) {
			job_retry(job, f->error, -1);
		} else {
			const char *p[] = {id, "failed", f->error};
			pg_query(job->app->pg, failed_sql, 3, p, job_failed_recorded, job);
		}
		export_file_free(f);
		return;
	}
	char rows[24], bytes[24], keep[24];
	snprintf(rows, sizeof(rows), "%lld", f->rows);
	snprintf(bytes, sizeof(bytes), "%lld", f->bytes);
	snprintf(keep, sizeof(keep), "%d", job->app->cfg.export_keep_s);
	const char *p[] = {id, rows, bytes, keep};
	pg_query(job->app->pg, done_sql, 4, p, job_recorded, job);
	export_file_free(f);
}

static void job_claimed(const PGresult *res, const char *err, void *arg)
{
	job_t *job = arg;
	if (err) {
		job_retry(job, err, -1);
		return;
	}
	if (PQntuples(res) != 1) {
		job_done(job, "no such export, or it has ended");
		return;
	}
	export_spec_t spec = {0};
	char bad[64];
	snprintf(spec.tenant_id, sizeof(spec.tenant_id), "%s", pg_value(res, 0, 0));
	snprintf(spec.start, sizeof(spec.start), "%s", pg_value(res, 0, 2));
	snprintf(spec.end, sizeof(spec.end), "%s", pg_value(res, 0, 3));
	if (!export_format_parse(pg_value(res, 0, 1), &spec.format) ||
	    !export_fields_parse(&spec, pg_value(res, 0, 4), bad, sizeof(bad))) {
		job_fail(job, "the export's format or fields are unknown");
		return;
	}
	char path[512];
	path_of(job->app, json_string_value(json_object_get(job->payload, "export")),
		pg_value(res, 0, 1), path, sizeof(path));
	export_file_write(job->app, &spec, path, job_written, job);
}

static void job_run(job_t *job)
{
	const char *id = json_string_value(json_object_get(job->payload, "export"));
	if (!id) {
		job_fail(job, "the payload names no export");
		return;
	}
	const char *p[] = {id};
	pg_query(job->app->pg, claim_sql, 1, p, job_claimed, job);
}

/* --- the sweep: files past their time ------------------------------------------------------ */

static const char expire_sql[] =
    "UPDATE order_exports SET status = 'expired' WHERE status = 'done' AND expires_at <= now()"
    " RETURNING id, format";

static void expired(const PGresult *res, const char *err, void *arg)
{
	exports_t *e = arg;
	e->sweeping = false;
	if (err) {
		log_warn("export sweep: %s", err);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		char path[512];
		path_of(e->app, pg_value(res, i, 0), pg_value(res, i, 1), path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn("export sweep: %s: %s", path, strerror(errno));
	}
	if (PQntuples(res))
		log_info("export sweep: %d files expired", PQntuples(res));
}

static void sweep(evutil_socket_t fd, short what, void *arg)
{
	exports_t *e = arg;
	if (e->sweeping)
		return;
	e->sweeping = true;
	pg_query(e->app->pg, expire_sql, 0, NULL, expired, e);
}

/* mkdir -p */
static bool make_dir(const char *path)
{
	char p[512];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0700) != 0 && errno != EEXIST)
				return false;
			*s = '/';
		}
	return mkdir(p, 0700) == 0 || errno == EEXIST;
}

exports_t *exports_new(app_t *app)
{
	exports_t *e = xcalloc(1, sizeof(*e));
	e->app = app;
	if (!make_dir(app->cfg.exports_dir))
		log_warn("exports: cannot create %s: %s", app->cfg.exports_dir, strerror(errno));
	jobs_register(app->jobs, EXPORT_JOB, job_run, JOB_DURABLE);
	e->sweep = event_new(app->base, -1, EV_PERSIST, sweep, e);
	struct timeval tv = {app->cfg.export_sweep_ms / 1000,
			     app->cfg.export_sweep_ms % 1000 * 1000};
	event_add(e->sweep, &tv);
	return e;
}

void exports_free(exports_t *e)
{
	if (!e)
		return;
	event_free(e->sweep);
	free(e);
}

/* --- GET /api/exports/:id ------------------------------------------------------------------ */

static const char status_sql[] =
    "SELECT id, status, format, json_build_object('jobId', id, 'status', status, 'format', format,"
    " 'rows', rows, 'bytes', bytes, 'error', error, 'createdAt', " SQL_TS(
	"created_at") ","
		      " 'finishedAt', " SQL_TS("finished_at") ", 'expiresAt', " SQL_TS(
			  "expires_at") ")::text"
					" FROM order_exports WHERE id = $1 AND tenant_id = $2";

static void status_read(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		list_db_error(r, "exports: status", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "NOT_FOUND", "No such export.", NULL);
		return;
	}
	const char *id = pg_value(res, 0, 0), *status = pg_value(res, 0, 1);
	const char *format = pg_value(res, 0, 2);
	if (strcmp(status, "expired") == 0) {
		http_error(r, 410, "EXPORT_EXPIRED", "The export's file has expired; export again.",
			   NULL);
		return;
	}
	if (strcmp(status, "done") == 0) {
		app_t *app = r->app;
		char path[512];
		path_of(app, id, format, path, sizeof(path));
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0) {
			if (fd >= 0)
				close(fd);
			http_error(r, 410, "EXPORT_EXPIRED",
				   "The export's file is gone; export again.", NULL);
			return;
		}
		enum export_format f = EXPORT_CSV;
		export_format_parse(format, &f);
		http_set_header(
		    r, "Content-Disposition",
		    arena_printf(r->arena, "attachment; filename=\"orders_%s.%s\"", id, format));
		http_reply_file(r, 200, export_content_type(f), fd, (size_t)st.st_size);
		return;
	}
	list_reply_json(r, pg_value(res, 0, 3));
}

void exports_fetch(req_t *r, const char *id)
{
	const char *p[] = {id, r->tenant_id};
	pg_query_prepared(((app_t *)r->app)->pg, status_sql, 2, p, status_read, r);
}
