/* What the synced-data list endpoints share (src/api/listing.c): page/limit/cursor parsing,
 * query filters that are checked before any SQL, and rendering rows that SQL already turned
 * into JSON. */
#ifndef SH_LISTING_H
#define SH_LISTING_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "http.h"
#include "paging.h"
#include "pg.h"
#include "sql_json.h"

typedef struct list_req {
	int page, limit;
	char offset[24], limit_s[8];
	/* ?cursor= decoded: the sort key and id of the last row seen; NULL when absent */
	const char *cursor_key, *cursor_id;
} list_req_t;

/* ?page, ?limit, ?cursor; problems go into details. */
void list_parse(req_t *r, list_req_t *l, json_t **details);
/* ?page and ?limit of a list paged by offset only: a ?cursor is a problem. */
void list_parse_offset(req_t *r, list_req_t *l, json_t **details);
/* The opaque ?cursor= of the row after key (its sort key as text) and id. */
const char *list_cursor(req_t *r, const char *key, const char *id);
/* list_parse, for a list whose rows' ids are text (SKUs), not UUIDs. */
void list_parse_text_id(req_t *r, list_req_t *l, json_t **details);
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
/* 200 {"success":true,"data":<data>} with data already JSON text (NULL: null). */
void list_reply_json(req_t *r, const char *data);
/* A database failure: 400 for a value PostgreSQL could not read (SQLSTATE class 22: the query
 * string held it), else identity_db_error's 500/503. */
void list_db_error(req_t *r, const char *what, const PGresult *res, const char *err);

/* The handlers' shared endings, for a data module's answer (orders.h, listings.h, shipments.h).
 * Their arg is list_ctx(r, name, l): the request, what it reads (a string literal: the list's
 * name, the noun of one row, the "<what>: stats" of a figure) and, for a list, its paging
 * (l may be NULL otherwise); it lives in r's arena.
 * list_page_done (a paging_cb) answers list_render's page under name; list_one_done (a pg_cb)
 * answers the first cell of the one row, or 404 "No such <name>."; list_value_done answers the
 * first cell (stats). A failure is answered by list_db_error. */
void *list_ctx(req_t *r, const char *name, const list_req_t *l);
void list_page_done(const PGresult *rows, long long total, const char *err, void *arg);
void list_one_done(const PGresult *res, const char *err, void *arg);
void list_value_done(const PGresult *res, const char *err, void *arg);
/* list_one_done's answer for a row already read (or its error). */
void list_one_answer(req_t *r, const char *noun, const PGresult *res, const char *err);
/* The rows ?page/?limit/?cursor asked for, as a data module takes them. */
page_t list_page_of(const list_req_t *l);

/* The shared request shapes. list_id: the :id parameter when it is a UUID, else answers 404
 * "No such <noun>." and returns NULL. list_stats_request: with permission perm, ?accountId=
 * into *account (NULL: every account); false when it answered (403, 400). */
const char *list_id(req_t *r, const char *noun);
bool list_stats_request(req_t *r, const char *perm, const char **account);

#endif
