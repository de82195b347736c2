/* Orders export (GET /api/orders/export, GET /api/exports/:id): the tenant's orders of a period
 * as csv, json or xlsx, with the fields the caller picks.
 *
 * - export_rows.c: the fields a caller may ask for, the statement that reads them, and the
 *   rendering of a batch of rows as csv or json text (pure: no I/O).
 * - export_copy.c: the rows as PostgreSQL's binary COPY sends them, rendered as that text.
 * - exports.c: where the rows go. csv and json stream from `COPY (...) TO STDOUT (FORMAT
 *   binary)` straight to the client (chunked; no more of the COPY is read while the client's
 *   socket is full, so PostgreSQL waits and the file is never in memory); xlsx is written by
 * libxlsxwriter on a worker thread into a temp file, then sent from the file. Past
 * EXPORT_SYNC_MAX_ROWS an export is a durable job (order_exports, sql/0028) whose file, under
 * EXPORTS_DIR, is kept EXPORT_KEEP_SECONDS and deleted by the export sweep. */
#ifndef SH_EXPORTS_H
#define SH_EXPORTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "util.h"

#define EXPORT_MAX_FIELDS 32
#define EXPORT_BATCH_ROWS 4000 /* rows per FETCH (the file jobs' cursor): EXPORT_FETCH_SQL's */
#define EXPORT_DECLARE	  "DECLARE export_rows NO SCROLL CURSOR FOR "
#define EXPORT_FETCH_SQL  "FETCH 4000 FROM export_rows"

enum export_format { EXPORT_CSV, EXPORT_JSON, EXPORT_XLSX };
/* How a field's text is written: as it is (a string), a number, or a timestamptz turned into
 * ISO-8601 UTC. */
enum export_kind { EXPORT_TEXT, EXPORT_NUMBER, EXPORT_TIME };

/* A field's SQL type, which its expression is cast to: how its binary form is read. */
enum export_type { EXPORT_STRING, EXPORT_UUID, EXPORT_TIMESTAMPTZ, EXPORT_NUMERIC, EXPORT_INT8 };

typedef struct export_field {
	const char *name; /* the API's name (fields=...) */
	const char *sql;  /* its expression over orders o */
	enum export_kind kind;
	enum export_type type;
} export_field_t;

/* What one export reads: the tenant's orders created in [start, end) (timestamptz text). */
typedef struct export_spec {
	enum export_format format;
	const export_field_t *fields[EXPORT_MAX_FIELDS];
	int nfields;
	char tenant_id[40], start[40], end[40];
} export_spec_t;

/* --- export_rows.c --------------------------------------------------------------------------- */
/* The field called name, or NULL. */
const export_field_t *export_field(const char *name);
/* Every field's name, comma-separated (for an error's details). */
const char *export_field_names(void);
/* "csv" | "json" | "xlsx" into *out; false for anything else. */
bool export_format_parse(const char *s, enum export_format *out);
const char *export_format_name(enum export_format f);
const char *export_content_type(enum export_format f);
/* fields=a,b,c into spec (the default set when list is NULL or empty); false with the first
 * unknown name in bad (bad_size bytes). */
bool export_fields_parse(export_spec_t *spec, const char *list, char *bad, size_t bad_size);
/* The statement reading spec's fields ($1 tenant, $2 start, $3 end), oldest first (malloc'd);
 * built only from the fixed texts of the fields. */
char *export_select_sql(const export_spec_t *spec);

/* A growable text buffer. */
typedef struct export_buf {
	char *data;
	size_t len, cap;
} export_buf_t;
/* Room for n more bytes and a NUL. */
static inline void export_buf_grow(export_buf_t *b, size_t n)
{
	b->cap = (b->len + n + 1) * 2;
	b->data = xrealloc(b->data, b->cap);
}
/* Inline: the export's rendering appends a few bytes at a time, millions of times. */
static inline void export_buf_add(export_buf_t *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
		export_buf_grow(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}
static inline void export_buf_free(export_buf_t *b)
{
	free(b->data);
	*b = (export_buf_t){0};
}
/* What goes before field i's value: json its quoted name and a colon (after a comma from the
 * second on), csv a comma from the second on. */
static inline void export_field_start(export_buf_t *b, const char *name, int i, bool json)
{
	if (json) {
		export_buf_add(b, i ? ",\"" : "\"", i ? 2 : 1);
		export_buf_add(b, name, strlen(name));
		export_buf_add(b, "\":", 2);
	} else if (i) {
		export_buf_add(b, ",", 1);
	}
}
/* The file's start (csv: the header line; json: "["), its rows (a batch of export_select_sql's
 * rows; *first tells json whether a comma goes before the row), and its end (json: "]"). */
/* A csv cell: quoted when it holds a comma, a quote or a line break (RFC 4180); text a
 * spreadsheet would run as a formula gets a leading quote mark. */
void export_csv_cell(export_buf_t *b, const char *s, enum export_kind kind);
void export_render_head(const export_spec_t *spec, export_buf_t *b);
void export_render_rows(const export_spec_t *spec, const PGresult *res, bool *first,
			export_buf_t *b);
void export_render_tail(const export_spec_t *spec, export_buf_t *b);
/* One row's values as text (NULL for SQL NULL; times already ISO-8601 when iso_times, else as
 * PostgreSQL writes them) as a csv line or a json object, as export_render_rows writes them. */
void export_render_values(const export_spec_t *spec, const char *const *values, bool iso_times,
			  bool *first, export_buf_t *b);
/* A PostgreSQL timestamptz text in UTC ("2026-10-25 10:00:00.123+00") as
 * "2026-10-25T10:00:00.123Z" into out (25 bytes); false when s is not in that shape. */
bool export_iso_time(const char *s, char out[25]);

/* --- export_copy.c: the rows as COPY (FORMAT binary) sends them --------------------------------
 */
/* The COPY statement sending export_select_sql's rows in binary, spec's tenant and bounds in it
 * (malloc'd); NULL when they are not a uuid and timestamps' text. */
char *export_copy_sql(const export_spec_t *spec);
/* Where a binary COPY stream is: its header read, its trailer seen, a row's scratch text. */
typedef struct export_copy {
	bool header_read, ended, first;
	export_buf_t scratch;
} export_copy_t;
/* One CopyData message (the header, rows, the trailer) rendered into b: rows rendered, or -1
 * when the data is not a binary COPY of spec's fields. */
long export_render_copy(const export_spec_t *spec, export_copy_t *c, const char *data, size_t len,
			export_buf_t *b);
void export_copy_free(export_copy_t *c);

/* --- exports.c ------------------------------------------------------------------------------ */
typedef struct exports exports_t;
/* The job handler and the expiry sweep; after jobs_new. */
exports_t *exports_new(app_t *app);
void exports_free(exports_t *e);
/* Answer r with the export: streamed, a file, or 202 {jobId} past the row limit. spec is
 * copied. */
void exports_answer(req_t *r, const export_spec_t *spec);
/* GET /api/exports/:id: the tenant's export job's status, or its file once done. */
void exports_fetch(req_t *r, const char *id);

#endif
