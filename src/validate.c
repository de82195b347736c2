/* Field validation for request bodies and query strings. */
#include "validate.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int query_int(req_t *r, const char *name, int dflt, int min, int max, json_t **details)
{
	const char *v = http_query(r, name);
	if (!v)
		return dflt;
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < min || n > max) {
		char problem[64];
		snprintf(problem, sizeof(problem), "must be an integer from %d to %d", min, max);
		*details = http_problem(*details, name, arena_strdup(r->arena, problem));
		return dflt;
	}
	return (int)n;
}

void validate_page(req_t *r, int *page, int *limit, json_t **details)
{
	*page = query_int(r, "page", 1, 1, 1000000, details);
	*limit = query_int(r, "limit", 25, 1, 100, details);
}
