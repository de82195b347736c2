/* What the synced-data list endpoints share (src/api/listing.c): page/limit/cursor parsing,
 * query filters that are checked before any SQL, and rendering rows that SQL already turned
 * into JSON. */
#ifndef SH_LISTING_H
#define SH_LISTING_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "http.h"
#include "pg.h"

/* Timestamps as the API renders them: ISO-8601 UTC with milliseconds and Z. */
#define SQL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* A channel's id (external_id, text) as the API renders it: a number when it is one (as the
 * ids the API has always answered as numbers), else a string. list_json_id does the same. */
#define SQL_ID(col)                                                                                \
	"(CASE WHEN " col " ~ '^(0|[1-9][0-9]{0,18})$' THEN to_json(" col "::numeric)"             \
	" ELSE to_json(" col ") END)"

typedef struct list_req {
	int page, limit;
	char offset[24], limit_s[8];
	/* ?cursor= decoded: the sort key and id of the last row seen; NULL when absent */
	const char *cursor_key, *cursor_id;
} list_req_t;

/* ?page, ?limit, ?cursor; problems go into details. */
void list_parse(req_t *r, list_req_t *l, json_t **details);
/* A query parameter that must be a UUID when present (accountId): NULL when absent. */
const char *list_uuid_param(req_t *r, const char *name, json_t **details);
/* A short free-text parameter (status, q, itemId): NULL when absent or empty. */
const char *list_text_param(req_t *r, const char *name, size_t max, json_t **details);
/* An ISO-8601 date or date-time parameter (from, to): NULL when absent. */
const char *list_time_param(req_t *r, const char *name, json_t **details);

/* rows: column 0 the row as JSON text, 1 its sort key as text, 2 its id. Answers 200 with
 * {<name>: [...], pagination: {page, limit, total, pages}, nextCursor}. */
void list_render(req_t *r, const char *name, const PGresult *rows, long long total,
		 const list_req_t *l);
/* Same, for rows a caller rendered itself: items is the JSON array's text; the cursor comes
 * from next_key/next_id (NULL: no next page). */
void list_render_text(req_t *r, const char *name, const char *items, size_t items_len,
		      long long total, const list_req_t *l, const char *next_key,
		      const char *next_id);
/* Append s as a JSON string (quoted, escaped; NULL as null) at buf[*at], growing *buf (malloc)
 * as needed; *cap is its size. */
void list_json_str(char **buf, size_t *at, size_t *cap, const char *s);
/* Append raw text (a number or JSON PostgreSQL produced; NULL as null). */
void list_json_raw(char **buf, size_t *at, size_t *cap, const char *s);
/* Append a channel's id: as a number when it is one (SQL_ID), else a string; NULL as null. */
void list_json_id(char **buf, size_t *at, size_t *cap, const char *s);
/* ?channel=: NULL when absent, else the name of a registered channel (else a problem). */
const char *list_channel_param(req_t *r, json_t **details);

/* Column 0 of row 0 as a JSON value (a stats or detail query that built its own JSON). */
json_t *list_json_cell(const PGresult *res, int row, int col);
/* A database failure (400 for a value PostgreSQL could not read, else 500/503). */
/* 200 {"success":true,"data":<data>} with data already JSON text (NULL: null). */
void list_reply_json(req_t *r, const char *data);
void list_db_error(req_t *r, const char *what, const PGresult *res, const char *err);

/* The handlers' shared endings (name and noun are string literals):
 * list_page runs stmts[0] (the page) and stmts[1] (its count) side by side and renders them
 * under name; list_one answers the first cell of the one row, or 404 "No such <noun>."; list_value
 * answers the first cell (stats). Parameters are copied. */
void list_page(req_t *r, const char *name, const list_req_t *l, const pg_stmt_t stmts[2]);
void list_one(req_t *r, const char *noun, const char *sql, int n, const char *const *params);
/* list_one's answer for a row already read (or its error). */
void list_one_answer(req_t *r, const char *noun, const PGresult *res, const char *err);
void list_value(req_t *r, const char *what, const char *sql, int n, const char *const *params);

/* The shared request shapes. list_id: the :id parameter when it is a UUID, else answers 404
 * "No such <noun>." and returns NULL. list_stats: with permission perm, ?accountId= and then
 * list_value of sql($1 tenant, $2 account). list_filtered: with permission perm, ?accountId=
 * and the text filters filter1 and filter2 (up to 40 characters), then list_page of list_sql
 * ($1 tenant, $2 account, $3 filter1, $4 filter2, $5/$6 cursor, $7 limit, $8 offset) and
 * count_sql ($1..$4). */
const char *list_id(req_t *r, const char *noun);
void list_stats(req_t *r, const char *perm, const char *what, const char *sql);
void list_filtered(req_t *r, const char *perm, const char *name, const char *filter1,
		   const char *filter2, const char *list_sql, const char *count_sql);

#endif
