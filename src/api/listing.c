/* Lists of synced data: parameters in, rows (already JSON) out. */
#include "listing.h"
#include "channel.h"
#include "identity.h"
#include "permissions.h"
#include "pg.h"
#include "util.h"
#include "validate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cursors are opaque to clients: hex of "<sort key>|<id>". */
static char *cursor_encode(arena_t *a, const char *key, const char *id)
{
	size_t n = strlen(key) + strlen(id) + 1;
	char *out = arena_alloc(a, n * 2 + 1);
	char *raw = arena_printf(a, "%s|%s", key, id);
	for (size_t i = 0; i < n; i++)
		sprintf(out + i * 2, "%02x", (unsigned char)raw[i]);
	return out;
}

const char *list_cursor(req_t *r, const char *key, const char *id)
{
	return cursor_encode(r->arena, key, id);
}

/* uuid_id: the id after the bar must be a UUID, else any text (a SKU: UTF-8, no control byte). */
static bool cursor_decode(req_t *r, const char *c, list_req_t *l, bool uuid_id)
{
	size_t n = strlen(c);
	if (n == 0 || n % 2 || n > 600)
		return false;
	char *raw = arena_alloc(r->arena, n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)c[i * 2]) || !isxdigit((unsigned char)c[i * 2 + 1]) ||
		    sscanf(c + i * 2, "%2x", &v) != 1 || v < 0x20 || v == 0x7f ||
		    (uuid_id && v > 0x7e))
			return false;
		raw[i] = (char)v;
	}
	raw[n / 2] = '\0';
	/* A text id may hold a bar: the key (a number or a time) never does. */
	char *bar = uuid_id ? strrchr(raw, '|') : strchr(raw, '|');
	if (!bar || (uuid_id ? !validate_uuid(bar + 1) : !validate_utf8_text(bar + 1, 200)))
		return false;
	*bar = '\0';
	l->cursor_key = raw;
	l->cursor_id = bar + 1;
	return true;
}

static void parse(req_t *r, list_req_t *l, json_t **details, bool uuid_id)
{
	memset(l, 0, sizeof(*l));
	validate_page(r, &l->page, &l->limit, details);
	const char *c = http_query(r, "cursor");
	if (c && *c && !cursor_decode(r, c, l, uuid_id))
		*details = http_problem(*details, "cursor", "is not a cursor this API returned");
	long offset = l->cursor_key ? 0 : (long)(l->page - 1) * l->limit;
	snprintf(l->offset, sizeof(l->offset), "%ld", offset);
	snprintf(l->limit_s, sizeof(l->limit_s), "%d", l->limit);
}

void list_parse(req_t *r, list_req_t *l, json_t **details)
{
	parse(r, l, details, true);
}

void list_parse_text_id(req_t *r, list_req_t *l, json_t **details)
{
	parse(r, l, details, false);
}

void list_parse_offset(req_t *r, list_req_t *l, json_t **details)
{
	list_parse(r, l, details);
	if (l->cursor_key)
		*details =
		    http_problem(*details, "cursor", "is not taken here: use page and limit");
}

/* The parameter validators live in validate.c, shared by every route that reads a query. */
const char *list_uuid_param(req_t *r, const char *name, json_t **details)
{
	return validate_query_uuid(r, name, details);
}

const char *list_text_param(req_t *r, const char *name, size_t max, json_t **details)
{
	return validate_query_text(r, name, max, details);
}

const char *list_channel_param(req_t *r, json_t **details)
{
	const char *v = validate_query_text(r, "channel", 16, details);
	if (v && !channel_find(v))
		*details = http_problem(*details, "channel", "must be the name of a channel");
	return v;
}

const char *list_time_param(req_t *r, const char *name, json_t **details)
{
	return validate_query_time(r, name, details);
}

json_t *list_json_cell(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	json_t *j = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
	return j ? j : json_null();
}

static void reserve(char **buf, size_t *at, size_t *cap, size_t more)
{
	if (*at + more + 1 <= *cap)
		return;
	*cap = (*at + more + 1) * 2;
	*buf = xrealloc(*buf, *cap);
}

void list_json_raw(char **buf, size_t *at, size_t *cap, const char *s)
{
	if (!s)
		s = "null";
	size_t n = strlen(s);
	reserve(buf, at, cap, n);
	memcpy(*buf + *at, s, n);
	*at += n;
	(*buf)[*at] = '\0';
}

void list_json_id(char **buf, size_t *at, size_t *cap, const char *s)
{
	size_t n = s ? strspn(s, "0123456789") : 0;
	bool number = s && n > 0 && n <= 19 && !s[n] && (s[0] != '0' || n == 1);
	if (number || !s)
		list_json_raw(buf, at, cap, s);
	else
		list_json_str(buf, at, cap, s);
}

void list_json_str(char **buf, size_t *at, size_t *cap, const char *s)
{
	if (!s) {
		list_json_raw(buf, at, cap, NULL);
		return;
	}
	reserve(buf, at, cap, strlen(s) * 6 + 2);
	char *o = *buf + *at;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20) {
			o += sprintf(o, "\\u%04x", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	*o = '\0';
	*at = (size_t)(o - *buf);
}

void list_render_text(req_t *r, const char *name, const char *items, size_t items_len,
		      long long total, const list_req_t *l, const char *next_key,
		      const char *next_id)
{
	const char *next = next_key && next_id ? cursor_encode(r->arena, next_key, next_id) : NULL;
	size_t len = 256 + strlen(name) + items_len + (next ? strlen(next) : 0);
	char *body = arena_alloc(r->arena, len);
	size_t at = (size_t)snprintf(body, len, "{\"success\":true,\"data\":{\"%s\":", name);
	memcpy(body + at, items, items_len);
	at += items_len;
	long long pages = (total + l->limit - 1) / l->limit;
	at += (size_t)snprintf(body + at, len - at,
			       ",\"pagination\":{\"page\":%d,\"limit\":%d,\"total\":%lld,"
			       "\"pages\":%lld},\"nextCursor\":%s%s%s}}",
			       l->cursor_key ? 1 : l->page, l->limit, total, pages,
			       next ? "\"" : "", next ? next : "null", next ? "\"" : "");
	http_reply(r, 200, "application/json; charset=utf-8", body, at);
}

/* JSON built by PostgreSQL goes out as it is: parsing it here would turn 667608.70 into
 * 667608.69999999995 (a double) and cost a parse and a dump. */
void list_reply_json(req_t *r, const char *data)
{
	size_t n = strlen(data ? data : "null");
	char *body = arena_alloc(r->arena, n + 32);
	size_t at =
	    (size_t)snprintf(body, n + 32, "{\"success\":true,\"data\":%s}", data ? data : "null");
	http_reply(r, 200, "application/json; charset=utf-8", body, at);
}

/* The rows are already JSON (built by PostgreSQL): the envelope is written around them as
 * text, so a page is never parsed and re-serialized here. */
void list_render(req_t *r, const char *name, const PGresult *rows, long long total,
		 const list_req_t *l)
{
	int n = PQntuples(rows);
	size_t cap = 64, at = 0;
	char *items = xmalloc(cap);
	list_json_raw(&items, &at, &cap, "[");
	for (int i = 0; i < n; i++) {
		if (i)
			list_json_raw(&items, &at, &cap, ",");
		list_json_raw(&items, &at, &cap, pg_value(rows, i, 0));
	}
	list_json_raw(&items, &at, &cap, "]");
	bool more = n == l->limit && n > 0 && pg_value(rows, n - 1, 1);
	list_render_text(r, name, items, at, total, l, more ? pg_value(rows, n - 1, 1) : NULL,
			 more ? pg_value(rows, n - 1, 2) : NULL);
	free(items);
}

void list_db_error(req_t *r, const char *what, const PGresult *res, const char *err)
{
	const char *state = res ? pg_sqlstate(res) : "";
	if (strncmp(state, "22", 2) == 0) {
		http_invalid(r, http_problem(NULL, "query", "has a value that cannot be read"));
		return;
	}
	identity_db_error(r, what, res, err);
}

/* --- the handlers' shared endings ----------------------------------------------------------- */

typedef struct ending {
	req_t *r;
	const char *name;
	list_req_t l;
} ending_t;

void *list_ctx(req_t *r, const char *name, const list_req_t *l)
{
	ending_t *e = arena_calloc(r->arena, 1, sizeof(*e));
	e->r = r;
	e->name = name;
	if (l)
		e->l = *l;
	return e;
}

page_t list_page_of(const list_req_t *l)
{
	return (page_t){.limit = l->limit,
			.offset = strtol(l->offset, NULL, 10), /* list_parse's */
			.after_key = l->cursor_key,
			.after_id = l->cursor_id};
}

void list_page_done(const PGresult *rows, long long total, const char *err, void *arg)
{
	ending_t *e = arg;
	if (err)
		list_db_error(e->r, arena_printf(e->r->arena, "%s: list", e->name), rows, err);
	else
		list_render(e->r, e->name, rows, total, &e->l);
}

void list_one_answer(req_t *r, const char *noun, const PGresult *res, const char *err)
{
	if (err) {
		list_db_error(r, arena_printf(r->arena, "%s: get", noun), res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "NOT_FOUND", arena_printf(r->arena, "No such %s.", noun), NULL);
		return;
	}
	list_reply_json(r, pg_value(res, 0, 0));
}

void list_one_done(const PGresult *res, const char *err, void *arg)
{
	ending_t *e = arg;
	list_one_answer(e->r, e->name, res, err);
}

void list_value_done(const PGresult *res, const char *err, void *arg)
{
	ending_t *e = arg;
	if (err) {
		list_db_error(e->r, e->name, res, err);
		return;
	}
	list_reply_json(e->r, pg_value(res, 0, 0));
}

/* --- the shared request shapes -------------------------------------------------------------- */

const char *list_id(req_t *r, const char *noun)
{
	const char *id = http_param(r, "id");
	if (validate_uuid(id))
		return id;
	http_error(r, 404, "NOT_FOUND", arena_printf(r->arena, "No such %s.", noun), NULL);
	return NULL;
}

bool list_stats_request(req_t *r, const char *perm, const char **account)
{
	if (!perm_require(r, perm))
		return false;
	json_t *d = NULL;
	*account = list_uuid_param(r, "accountId", &d);
	if (d) {
		http_invalid(r, d);
		return false;
	}
	return true;
}
