/* Notification validation and a group's rows as PostgreSQL array literals: see the header. */
#include "notification_rows.h"
#include "http.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct column {
	char *s;
	size_t len, cap;
} column_t;

struct notification_rows {
	column_t col[NOTIFICATION_COLUMNS];
	size_t n;
};

/* --- validation ------------------------------------------------------------------------------ */

/* A positive int64 from a JSON number or a string of digits. */
static bool positive_int64(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return *out > 0;
	}
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t len = strlen(s);
	if (len == 0 || len > 19 || strspn(s, "0123456789") != len)
		return false;
	errno = 0;
	long long n = strtoll(s, NULL, 10);
	*out = n;
	return errno == 0 && n > 0;
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

bool notification_timestamp_ok(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|±HH[:MM]|±HHMM] */
	if (strnlen(s, 41) > 40 || strnlen(s, 19) < 19 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return false;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || se < 0 || se > 59)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		size_t n = strspn(++p, "0123456789");
		if (n < 1 || n > 9)
			return false;
		p += n;
	}
	if (*p == 'Z')
		return p[1] == '\0';
	if (*p == '\0')
		return true;
	if (*p != '+' && *p != '-')
		return false;
	int oh = digits(p + 1, 2);
	if (oh < 0 || oh > 14)
		return false;
	p += 3;
	if (*p == ':')
		p++;
	if (*p == '\0')
		return true;
	int om = digits(p, 2);
	return om >= 0 && om <= 59 && p[2] == '\0';
}

bool notification_parse(json_t *b, int64_t app_id_required, notification_t *out, json_t **details,
			bool *foreign)
{
	memset(out, 0, sizeof(*out));
	*foreign = false;
	json_t *idv = json_object_get(b, "_id");
	if (!idv)
		idv = json_object_get(b, "id");
	if (json_is_string(idv) && json_string_length(idv) > 0 && json_string_length(idv) <= 100)
		out->nid = json_string_value(idv);
	else if (json_is_integer(idv) && json_integer_value(idv) > 0) {
		snprintf(out->nid_buf, sizeof(out->nid_buf), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(idv));
		out->nid = out->nid_buf;
	} else
		*details = http_problem(*details, "_id", "must be a non-empty string (or id)");
	out->topic = json_string_value(json_object_get(b, "topic"));
	if (!out->topic || !*out->topic || strlen(out->topic) > 64)
		*details = http_problem(*details, "topic", "must be a non-empty string");
	out->resource = json_string_value(json_object_get(b, "resource"));
	if (!out->resource || !*out->resource || strlen(out->resource) > 500)
		*details = http_problem(*details, "resource", "must be a non-empty string");
	if (!positive_int64(json_object_get(b, "user_id"), &out->user_id))
		*details = http_problem(*details, "user_id", "must be a positive integer");
	json_t *appv = json_object_get(b, "application_id");
	if (appv && !positive_int64(appv, &out->app_id))
		*details = http_problem(*details, "application_id", "must be a positive integer");
	if (*details)
		return false;
	if (app_id_required && out->app_id != app_id_required) {
		*foreign = true;
		return false;
	}
	json_t *attempts = json_object_get(b, "attempts");
	out->attempts = json_is_integer(attempts) && json_integer_value(attempts) >= 0 &&
				json_integer_value(attempts) <= INT32_MAX
			    ? json_integer_value(attempts)
			    : -1;
	json_t *received = json_object_get(b, "received");
	if (!received)
		received = json_object_get(b, "recieved");
	const char *sent = json_string_value(json_object_get(b, "sent"));
	out->sent = sent && notification_timestamp_ok(sent) ? sent : NULL;
	out->received = json_string_value(received);
	if (out->received && !notification_timestamp_ok(out->received))
		out->received = NULL;
	return true;
}

/* --- the array literals ---------------------------------------------------------------------- */

static void reserve(column_t *c, size_t more)
{
	if (c->len + more <= c->cap)
		return;
	size_t cap = c->cap ? c->cap : 256;
	while (cap < c->len + more)
		cap *= 2;
	c->s = xrealloc(c->s, cap);
	c->cap = cap;
}

/* Starts the next element: "{" before the first, "," before the others. */
static void next(column_t *c, size_t room)
{
	reserve(c, room + 2);
	char sep = c->len ? ',' : '{';
	c->s[c->len++] = sep;
}

/* An element in double quotes, backslash before " and \ (array_in's quoting). */
static void put_text(column_t *c, const char *prefix, const char *s, size_t len)
{
	size_t plen = strlen(prefix);
	next(c, plen + 2 * len + 2);
	c->s[c->len++] = '"';
	memcpy(c->s + c->len, prefix, plen);
	c->len += plen;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			c->s[c->len++] = '\\';
		c->s[c->len++] = s[i];
	}
	c->s[c->len++] = '"';
}

static void put_str(column_t *c, const char *s)
{
	if (s)
		put_text(c, "", s, strlen(s));
	else {
		next(c, 4);
		memcpy(c->s + c->len, "NULL", 4);
		c->len += 4;
	}
}

/* A number, or NULL when v < 0. */
static void put_int(column_t *c, int64_t v)
{
	next(c, 24);
	if (v < 0) {
		memcpy(c->s + c->len, "NULL", 4);
		c->len += 4;
	} else
		c->len += (size_t)snprintf(c->s + c->len, 24, "%" PRId64, v);
}

notification_rows_t *notification_rows_new(void)
{
	return xcalloc(1, sizeof(notification_rows_t));
}

void notification_rows_free(notification_rows_t *rows)
{
	if (!rows)
		return;
	for (int i = 0; i < NOTIFICATION_COLUMNS; i++)
		free(rows->col[i].s);
	free(rows);
}

size_t notification_rows_count(const notification_rows_t *rows)
{
	return rows->n;
}

void notification_rows_add(notification_rows_t *rows, const notification_t *n, const char *body,
			   size_t body_len)
{
	column_t *c = rows->col;
	put_str(&c[0], n->nid);
	put_str(&c[1], n->topic);
	/* "orders/1" and "/orders/1" name the same resource; bare ids (messages) stay as they are.
	 */
	const char *res = n->resource;
	put_text(&c[2], res[0] != '/' && strchr(res, '/') ? "/" : "", res, strlen(res));
	put_int(&c[3], n->user_id);
	put_int(&c[4], n->app_id ? n->app_id : -1);
	put_int(&c[5], n->attempts);
	put_str(&c[6], n->sent);
	put_str(&c[7], n->received);
	put_text(&c[8], "", body, body_len);
	rows->n++;
}

void notification_rows_params(notification_rows_t *rows, const char *params[NOTIFICATION_COLUMNS])
{
	for (int i = 0; i < NOTIFICATION_COLUMNS; i++) {
		column_t *c = &rows->col[i];
		reserve(c, 3);
		/* Close the literal for this call only: the next add overwrites the "}". */
		if (c->len == 0)
			memcpy(c->s, "{}", 3);
		else {
			c->s[c->len] = '}';
			c->s[c->len + 1] = '\0';
		}
		params[i] = c->s;
	}
}
