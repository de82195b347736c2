/* Input validation shared by the handlers: typed body fields with field-level problems, and the
 * pure checks (e-mail, UUID, time zone) that unit tests cover. A handler collects every problem
 * into one details array and answers http_invalid() once. */
#ifndef SH_VALIDATE_H
#define SH_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define EMAIL_MAX      254
#define NAME_MAX_CHARS 100

enum {
	V_OPTIONAL = 0,
	V_REQUIRED = 1 << 0,
	V_NULLABLE = 1 << 1, /* JSON null is accepted (returns NULL with *present set) */
	V_RAW = 1 << 2	     /* no trimming (passwords) */
};

/* body[field] as a trimmed string of 1..max characters (arena copy), NULL when absent or bad
 * (a problem is added to *details for bad values and for missing required ones). present, if
 * given, tells whether the field was in the body at all. body may be NULL. */
const char *validate_string(req_t *r, const char *field, unsigned flags, size_t max,
			    json_t **details, bool *present);
/* body[field] as a boolean; *present false when absent. */
bool validate_bool(req_t *r, const char *field, json_t **details, bool *present);
/* One of `allowed` (NULL-terminated), with a problem listing them. */
const char *validate_enum(req_t *r, const char *field, unsigned flags, const char *const *allowed,
			  json_t **details);

bool validate_email(const char *s);
bool validate_uuid(const char *s);
/* IANA-looking names ("America/Sao_Paulo", "UTC", "Etc/GMT+3"); syntax only. */
bool validate_timezone(const char *s);
/* Phone numbers as people type them: digits, spaces, + ( ) - . with at least 8 digits. */
bool validate_phone(const char *s);
/* ?page= and ?limit= (1-based page, limit 1..100, default 25); problems into details. */
void validate_page(req_t *r, int *page, int *limit, json_t **details);

/* Query parameters, checked before any SQL sees them. Each returns NULL when the parameter is
 * absent or empty, and adds a problem naming it to *details when it is present but bad (then
 * its return value must not be used). */
/* An integer from min to max (digits only); dflt when absent. */
int validate_query_int(req_t *r, const char *name, int dflt, int min, int max, json_t **details);
/* Free text: valid UTF-8 without control characters, at most max characters. */
const char *validate_query_text(req_t *r, const char *name, size_t max, json_t **details);
/* A UUID. */
const char *validate_query_uuid(req_t *r, const char *name, json_t **details);
/* One of allowed (NULL-terminated). */
const char *validate_query_enum(req_t *r, const char *name, const char *const *allowed,
				json_t **details);
/* An ISO-8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS[.fraction]] with Z or
 * +HH:MM / -HH:MM; none means UTC) that exists in the calendar, years 1970 to 9999. A '+'
 * that the query string turned into a space is read back as '+'. Returns a copy. */
const char *validate_query_time(req_t *r, const char *name, json_t **details);

/* ?start_name&end_name as ISO dates (YYYY-MM-DD), both or neither (neither: the last 30 days up
 * to today, UTC); the end not before the start nor more than max_years after it. The days go
 * into start and end; false when a problem was added. */
bool validate_query_days(req_t *r, const char *start_name, const char *end_name, int max_years,
			 char start[11], char end[11], json_t **details);
/* A money amount from 0 to max (decimal digits), as text with two decimals for SQL. */
const char *validate_query_amount(req_t *r, const char *name, double max, json_t **details);

/* Pure checks behind them (unit-tested). */
bool validate_utf8_text(const char *s, size_t max_chars);
bool validate_iso_time(const char *s);

#endif
