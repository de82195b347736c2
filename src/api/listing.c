/* Lists of synced data: parameters in, rows (already JSON) out. */
#include "listing.h"
#include "identity.h"
#include "pg.h"
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

static bool cursor_decode(req_t *r, const char *c, list_req_t *l)
{
	size_t n = strlen(c);
	if (n == 0 || n % 2 || n > 400)
		return false;
	char *raw = arena_alloc(r->arena, n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)c[i * 2]) || !isxdigit((unsigned char)c[i * 2 + 1]) ||
		    sscanf(c + i * 2, "%2x", &v) != 1 || v < 0x20 || v > 0x7e)
			return false;
		raw[i] = (char)v;
	}
	raw[n / 2] = '\0';
	char *bar = strrchr(raw, '|');
	if (!bar || !validate_uuid(bar + 1))
		return false;
	*bar = '\0';
	l->cursor_key = raw;
	l->cursor_id = bar + 1;
	return true;
}

void list_parse(req_t *r, list_req_t *l, json_t **details)
{
	memset(l, 0, sizeof(*l));
	validate_page(r, &l->page, &l->limit, details);
	const char *c = http_query(r, "cursor");
	if (c && *c && !cursor_decode(r, c, l))
		*details = http_problem(*details, "cursor", "is not a cursor this API returned");
	long offset = l->cursor_key ? 0 : (long)(l->page - 1) * l->limit;
	snprintf(l->offset, sizeof(l->offset), "%ld", offset);
	snprintf(l->limit_s, sizeof(l->limit_s), "%d", l->limit);
}

const char *list_uuid_param(req_t *r, const char *name, json_t **details)
{
	const char *v = http_query(r, name);
	if (!v || !*v)
		return NULL;
	if (!validate_uuid(v))
		*details = http_problem(*details, name, "must be a UUID");
	return v;
}

const char *list_text_param(req_t *r, const char *name, size_t max, json_t **details)
{
	const char *v = http_query(r, name);
	if (!v || !*v)
		return NULL;
	if (strlen(v) > max)
		*details = http_problem(*details, name, "is too long");
	return v;
}

/* YYYY-MM-DD, optionally followed by a time and zone that PostgreSQL reads. */
const char *list_time_param(req_t *r, const char *name, json_t **details)
{
	const char *v = http_query(r, name);
	if (!v || !*v)
		return NULL;
	static const char shape[] = "dddd-dd-dd";
	bool ok = strlen(v) <= 40;
	for (size_t i = 0; ok && shape[i]; i++)
		ok = shape[i] == 'd' ? isdigit((unsigned char)v[i]) != 0 : v[i] == shape[i];
	for (const char *p = v; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("-:.+TZ ", *p);
	if (!ok)
		*details = http_problem(*details, name, "must be an ISO-8601 date or date-time");
	return v;
}

json_t *list_json_cell(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	json_t *j = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
	return j ? j : json_null();
}

void list_render(req_t *r, const char *name, const PGresult *rows, long long total,
		 const list_req_t *l)
{
	json_t *arr = json_array();
	int n = PQntuples(rows);
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, list_json_cell(rows, i, 0));
	json_t *next = json_null();
	if (n == l->limit && pg_value(rows, n - 1, 1))
		next = json_string(
		    cursor_encode(r->arena, pg_value(rows, n - 1, 1), pg_value(rows, n - 1, 2)));
	long long pages = (total + l->limit - 1) / l->limit;
	json_t *data = json_pack("{s:o, s:{s:i, s:i, s:I, s:I}, s:o}", name, arr, "pagination",
				 "page", l->cursor_key ? 1 : l->page, "limit", l->limit, "total",
				 (json_int_t)total, "pages", (json_int_t)pages, "nextCursor", next);
	http_ok(r, 200, data, NULL);
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
