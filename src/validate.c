/* Field validation for request bodies and query strings. */
#include "validate.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t utf8_chars(const char *s, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xC0) != 0x80;
	return chars;
}

const char *validate_string(req_t *r, const char *field, unsigned flags, size_t max,
			    json_t **details, bool *present)
{
	json_t *v = r->body ? json_object_get(r->body, field) : NULL;
	if (present)
		*present = v != NULL;
	if (!v) {
		if (flags & V_REQUIRED)
			*details = http_problem(*details, field, "is required");
		return NULL;
	}
	if (json_is_null(v)) {
		if (!(flags & V_NULLABLE))
			*details =
			    http_problem(*details, field,
					 flags & V_REQUIRED ? "is required" : "must be a string");
		return NULL;
	}
	if (!json_is_string(v)) {
		*details = http_problem(*details, field, "must be a string");
		return NULL;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n) {
		*details = http_problem(*details, field, "must not contain NUL characters");
		return NULL;
	}
	while (!(flags & V_RAW) && n && isspace((unsigned char)*s))
		s++, n--;
	while (!(flags & V_RAW) && n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0) {
		*details = http_problem(*details, field, "must not be empty");
		return NULL;
	}
	if (utf8_chars(s, n) > max) {
		char problem[64];
		snprintf(problem, sizeof(problem), "must be at most %zu characters", max);
		*details = http_problem(*details, field, arena_strdup(r->arena, problem));
		return NULL;
	}
	return arena_strndup(r->arena, s, n);
}

bool validate_bool(req_t *r, const char *field, json_t **details, bool *present)
{
	json_t *v = r->body ? json_object_get(r->body, field) : NULL;
	*present = v != NULL;
	if (v && !json_is_boolean(v)) {
		*details = http_problem(*details, field, "must be true or false");
		*present = false;
	}
	return v && json_is_true(v);
}

const char *validate_enum(req_t *r, const char *field, unsigned flags, const char *const *allowed,
			  json_t **details)
{
	const char *s = validate_string(r, field, flags, 32, details, NULL);
	if (!s)
		return NULL;
	for (const char *const *a = allowed; *a; a++)
		if (strcmp(*a, s) == 0)
			return *a;
	char problem[160] = "must be one of";
	for (const char *const *a = allowed; *a; a++)
		snprintf(problem + strlen(problem), sizeof(problem) - strlen(problem), "%s %s",
			 a == allowed ? "" : ",", *a);
	*details = http_problem(*details, field, arena_strdup(r->arena, problem));
	return NULL;
}

static bool atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+/=?^_`{|}~-", c) || c >= 0x80;
}

/* Practical RFC 5321 subset: dot-atoms on both sides (no quoted local parts, no IP literals),
 * a local part of at most 64, DNS labels of at most 63 and an alphabetic TLD. */
bool validate_email(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n > EMAIL_MAX || !at || strchr(at + 1, '@') || at == s || at - s > 64)
		return false;
	for (const char *p = s; p < at; p++) {
		if (*p == '.') {
			if (p == s || p + 1 == at || p[1] == '.')
				return false;
		} else if (!atext((unsigned char)*p)) {
			return false;
		}
	}
	const char *d = at + 1, *label = d, *last = NULL;
	int labels = 0;
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t len = (size_t)(p - label);
			if (len == 0 || len > 63 || label[0] == '-' || p[-1] == '-')
				return false;
			labels++;
			last = label;
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-') {
			return false;
		}
	}
	if (labels < 2 || strlen(last) < 2)
		return false;
	for (const char *p = last; *p; p++)
		if (!isalpha((unsigned char)*p))
			return false;
	return true;
}

bool validate_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

bool validate_timezone(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//") ||
	    strstr(s, ".."))
		return false;
	if (!isalpha((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return false;
	return true;
}

bool validate_phone(const char *s)
{
	int digits = 0;
	for (const char *p = s; *p; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (!strchr(" +()-.", *p))
			return false;
	}
	return digits >= 8 && digits <= 15;
}

int validate_query_int(req_t *r, const char *name, int dflt, int min, int max, json_t **details)
{
	const char *v = http_query(r, name);
	if (!v)
		return dflt;
	size_t n = strlen(v);
	long x = n && n <= 9 && strspn(v, "0123456789") == n ? strtol(v, NULL, 10) : -1;
	if (x < min || x > max) {
		char problem[64];
		snprintf(problem, sizeof(problem), "must be an integer from %d to %d", min, max);
		*details = http_problem(*details, name, arena_strdup(r->arena, problem));
		return dflt;
	}
	return (int)x;
}

void validate_page(req_t *r, int *page, int *limit, json_t **details)
{
	if (!http_query_valid(r))
		*details = http_problem(*details, "query", "is not a valid query string");
	*page = validate_query_int(r, "page", 1, 1, 1000000, details);
	*limit = validate_query_int(r, "limit", 25, 1, 100, details);
}

bool validate_utf8_text(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;
	while (*p) {
		unsigned c = *p;
		int more;
		unsigned cp;
		if (c < 0x80)
			more = 0, cp = c;
		else if (c >= 0xC2 && c <= 0xDF)
			more = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			more = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			more = 3, cp = c & 0x07;
		else
			return false;
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (*p & 0x3F);
		}
		/* overlong 3/4-byte forms, surrogates, past U+10FFFF, control characters */
		if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0x20 || cp == 0x7F ||
		    (cp >= 0x80 && cp < 0xA0))
			return false;
		if (++chars > max_chars)
			return false;
	}
	return true;
}

static const char *query_value(req_t *r, const char *name)
{
	const char *v = http_query(r, name);
	return v && *v ? v : NULL;
}

const char *validate_query_text(req_t *r, const char *name, size_t max, json_t **details)
{
	const char *v = query_value(r, name);
	if (v && !validate_utf8_text(v, max)) {
		char problem[96];
		snprintf(problem, sizeof(problem),
			 "must be text of at most %zu characters (UTF-8, no control characters)",
			 max);
		*details = http_problem(*details, name, arena_strdup(r->arena, problem));
	}
	return v;
}

const char *validate_query_uuid(req_t *r, const char *name, json_t **details)
{
	const char *v = query_value(r, name);
	if (v && !validate_uuid(v))
		*details = http_problem(*details, name, "must be a UUID");
	return v;
}

const char *validate_query_enum(req_t *r, const char *name, const char *const *allowed,
				json_t **details)
{
	const char *v = query_value(r, name);
	if (!v)
		return NULL;
	for (const char *const *a = allowed; *a; a++)
		if (strcmp(*a, v) == 0)
			return *a;
	char problem[160] = "must be one of";
	for (const char *const *a = allowed; *a; a++)
		snprintf(problem + strlen(problem), sizeof(problem) - strlen(problem), "%s %s",
			 a == allowed ? "" : ",", *a);
	*details = http_problem(*details, name, arena_strdup(r->arena, problem));
	return v;
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

bool validate_iso_time(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t n = strlen(s);
	if (n < 10 || n > 35 || s[4] != '-' || s[7] != '-')
		return false;
	int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return false;
	const char *p = s + 10;
	if (!*p)
		return true;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	int hh = digits(p + 1, 2), mm = p[3] == ':' ? digits(p + 4, 2) : -1;
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
		return false;
	p += 6;
	if (*p == ':') {
		int ss = digits(p + 1, 2);
		if (ss < 0 || ss > 59)
			return false;
		p += 3;
		if (*p == '.') {
			size_t f = strspn(p + 1, "0123456789");
			if (f < 1 || f > 9)
				return false;
			p += 1 + f;
		}
	}
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0';
	if (*p == '+' || *p == '-') {
		int oh = digits(p + 1, 2), om = p[3] == ':' ? digits(p + 4, 2) : -1;
		return oh >= 0 && oh <= 14 && om >= 0 && om <= 59 && p[6] == '\0';
	}
	return *p == '\0';
}

const char *validate_query_time(req_t *r, const char *name, json_t **details)
{
	const char *v = query_value(r, name);
	if (!v)
		return NULL;
	char *copy = arena_strdup(r->arena, v);
	/* "...T10:00:00+03:00" unencoded in a query string arrives as "...T10:00:00 03:00". */
	size_t n = strlen(copy);
	if (n > 16 && copy[n - 6] == ' ' && copy[10] != ' ')
		copy[n - 6] = '+';
	if (!validate_iso_time(copy))
		*details = http_problem(
		    *details, name,
		    "must be an ISO-8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SSZ) "
		    "that exists");
	return copy;
}

/* A calendar day as its midnight UTC; false when s is not YYYY-MM-DD or does not exist. */
static bool day_of(const char *s, time_t *out)
{
	int y, m, d, n = 0;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    y < 1970)
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
	time_t t = timegm(&tm);
	struct tm back;
	gmtime_r(&t, &back);
	if (back.tm_year != y - 1900 || back.tm_mon != m - 1 || back.tm_mday != d)
		return false;
	*out = t;
	return true;
}

bool validate_query_days(req_t *r, const char *start_name, const char *end_name, int max_years,
			 char start[11], char end[11], json_t **details)
{
	const char *s = query_value(r, start_name), *e = query_value(r, end_name);
	time_t ts = 0, te = 0;
	bool ok = true;
	if (s && !day_of(s, &ts)) {
		*details =
		    http_problem(*details, start_name, "must be an ISO-8601 date (YYYY-MM-DD)");
		ok = false;
	}
	if (e && !day_of(e, &te)) {
		*details =
		    http_problem(*details, end_name, "must be an ISO-8601 date (YYYY-MM-DD)");
		ok = false;
	}
	if (!ok)
		return false;
	if (!s != !e) {
		*details = http_problem(
		    *details, s ? end_name : start_name,
		    arena_printf(r->arena, "is required with %s", s ? start_name : end_name));
		return false;
	}
	if (!s) {
		te = (time_t)(wall_ms() / 1000 / 86400 * 86400);
		ts = te - 29 * 86400;
	}
	struct tm limit;
	gmtime_r(&ts, &limit);
	limit.tm_year += max_years;
	if (te < ts) {
		*details =
		    http_problem(*details, end_name,
				 arena_printf(r->arena, "must not be before %s", start_name));
		return false;
	}
	if (te > timegm(&limit)) {
		*details = http_problem(*details, end_name,
					arena_printf(r->arena, "must be at most %d years after %s",
						     max_years, start_name));
		return false;
	}
	struct tm a, b;
	gmtime_r(&ts, &a);
	gmtime_r(&te, &b);
	strftime(start, 11, "%Y-%m-%d", &a);
	strftime(end, 11, "%Y-%m-%d", &b);
	return true;
}

const char *validate_query_amount(req_t *r, const char *name, double max, json_t **details)
{
	const char *s = query_value(r, name);
	if (!s)
		return NULL;
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0 && v <= max) || strpbrk(s, "xXpPnNiI")) {
		*details = http_problem(
		    *details, name, arena_printf(r->arena, "must be a number from 0 to %.0f", max));
		return NULL;
	}
	return arena_printf(r->arena, "%.2f", v);
}
