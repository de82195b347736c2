/* The orders export's rows as `COPY (...) TO STDOUT (FORMAT binary)` sends them (see exports.h).
 * PostgreSQL then sends each value's binary form and runs none of its text output functions
 * (timestamps, numerics and uuids cost it most of its time per row as text); this file writes
 * the text that export_render_rows writes from the same rows' text results. */
#include "exports.h"
#include "listing.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_HEADER_LEN 19 /* signature, flags, extension length */
static const char copy_signature[11] = "PGCOPY\n\377\r\n";

/* A COPY takes no parameters: spec's tenant and bounds go in as literals, which holds only
 * for the characters a uuid and a timestamptz's text are made of (no quote can get in). */
static bool literal_safe(const char *s)
{
	return *s && strspn(s, "0123456789abcdefABCDEF-:+. T") == strlen(s);
}

char *export_copy_sql(const export_spec_t *spec)
{
	if (!literal_safe(spec->tenant_id) || !literal_safe(spec->start) ||
	    !literal_safe(spec->end))
		return NULL;
	char *select = export_select_sql(spec);
	export_buf_t b = {0};
	export_buf_add(&b, "COPY (", 6);
	/* $1, $2 and $3, each written once in the statement */
	const char *params[] = {spec->tenant_id, spec->start, spec->end};
	for (const char *p = select; *p;) {
		const char *d = strchr(p, '$');
		size_t n = d ? (size_t)(d - p) : strlen(p);
		export_buf_add(&b, p, n);
		if (!d)
			break;
		int k = d[1] - '1';
		if (k < 0 || k > 2) {
			export_buf_free(&b);
			free(select);
			return NULL;
		}
		export_buf_add(&b, "'", 1);
		export_buf_add(&b, params[k], strlen(params[k]));
		export_buf_add(&b, "'", 1);
		p = d + 2;
	}
	static const char tail[] = ") TO STDOUT (FORMAT binary)";
	export_buf_add(&b, tail, sizeof(tail) - 1);
	free(select);
	return b.data;
}

void export_copy_free(export_copy_t *c)
{
	export_buf_free(&c->scratch);
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* n decimal digits of v, zero-padded. */
static void digits(export_buf_t *b, unsigned long long v, int n)
{
	char d[24];
	for (int i = n - 1; i >= 0; i--, v /= 10)
		d[i] = (char)('0' + v % 10);
	export_buf_add(b, d, (size_t)n);
}

static void int8_text(export_buf_t *b, int64_t v)
{
	char d[24];
	int i = sizeof(d);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do
		d[--i] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		d[--i] = '-';
	export_buf_add(b, d + i, sizeof(d) - (size_t)i);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* n decimal digits of v, zero-padded, at d. */
static void put_digits(char *d, unsigned long long v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		d[i] = (char)('0' + v % 10);
}

/* Microseconds since 2000-01-01 UTC as "2026-10-25T10:00:00.123Z" (milliseconds truncated, as
 * export_iso_time reads PostgreSQL's text). */
static void time_text(export_buf_t *b, int64_t us)
{
	if (us == INT64_MAX || us == INT64_MIN) {
		export_buf_add(b, us > 0 ? "infinity" : "-infinity", us > 0 ? 8 : 9);
		return;
	}
	int64_t secs = floor_div(us, 1000000), ms = (us - secs * 1000000) / 1000;
	int64_t days = floor_div(secs, 86400), sod = secs - days * 86400;
	/* the civil date of a day count (Howard Hinnant's algorithm, from 0000-03-01) */
	int64_t z = days + 10957 + 719468; /* 2000-01-01 is day 10957 of 1970 */
	int64_t era = floor_div(z, 146097), doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	char t[32], *p = t;
	if (y < 0) {
		*p++ = '-';
		y = -y;
	}
	int yn = y > 9999 ? 5 : 4;
	put_digits(p, (unsigned long long)y, yn);
	p += yn;
	memcpy(p, "-MM-DDTHH:MM:SS.mmmZ", 20);
	put_digits(p + 1, (unsigned long long)m, 2);
	put_digits(p + 4, (unsigned long long)d, 2);
	put_digits(p + 7, (unsigned long long)(sod / 3600), 2);
	put_digits(p + 10, (unsigned long long)(sod / 60 % 60), 2);
	put_digits(p + 13, (unsigned long long)(sod % 60), 2);
	put_digits(p + 16, (unsigned long long)ms, 3);
	export_buf_add(b, t, (size_t)(p + 20 - t));
}

/* A numeric's binary form (ndigits, weight, sign, dscale, then base-10000 digits) as
 * PostgreSQL's numeric_out writes it; false when it is not one. */
static bool numeric_text(export_buf_t *b, const unsigned char *p, size_t n)
{
	if (n < 8)
		return false;
	int ndigits = be16(p), weight = (int16_t)be16(p + 2), sign = be16(p + 4),
	    dscale = be16(p + 6);
	if (n != 8 + 2 * (size_t)ndigits)
		return false;
	switch (sign) {
	case 0xC000:
		export_buf_add(b, "NaN", 3);
		return true;
	case 0xD000:
		export_buf_add(b, "Infinity", 8);
		return true;
	case 0xF000:
		export_buf_add(b, "-Infinity", 9);
		return true;
	case 0x4000:
		export_buf_add(b, "-", 1);
		break;
	case 0x0000:
		break;
	default:
		return false;
	}
	const unsigned char *dig = p + 8;
#define DIGIT(i) ((i) >= 0 && (i) < ndigits ? be16(dig + 2 * (i)) : 0)
	if (weight < 0) {
		export_buf_add(b, "0", 1);
	} else {
		int64_t first = DIGIT(0);
		int8_text(b, first);
		for (int i = 1; i <= weight; i++)
			digits(b, DIGIT(i), 4);
	}
	if (dscale > 0) {
		export_buf_add(b, ".", 1);
		for (int i = weight + 1, left = dscale; left > 0; i++, left -= 4)
			digits(b,
			       (unsigned long long)DIGIT(i) / (left >= 4   ? 1
							       : left == 3 ? 10
							       : left == 2 ? 100
									   : 1000),
			       left >= 4 ? 4 : left);
	}
#undef DIGIT
	return true;
}

static void uuid_text(export_buf_t *b, const unsigned char *p)
{
	static const char hex[] = "0123456789abcdef";
	char s[36];
	for (int i = 0, at = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s[at++] = '-';
		s[at++] = hex[p[i] >> 4];
		s[at++] = hex[p[i] & 15];
	}
	export_buf_add(b, s, sizeof(s));
}

/* One value's binary form as text into b; false when its length does not fit its type. */
static bool value_text(export_buf_t *b, enum export_type type, const unsigned char *p, size_t n)
{
	switch (type) {
	case EXPORT_STRING:
		export_buf_add(b, (const char *)p, n);
		return true;
	case EXPORT_UUID:
		if (n != 16)
			return false;
		uuid_text(b, p);
		return true;
	case EXPORT_TIMESTAMPTZ:
		if (n != 8)
			return false;
		time_text(b, (int64_t)be64(p));
		return true;
	case EXPORT_INT8:
		if (n != 8)
			return false;
		int8_text(b, (int64_t)be64(p));
		return true;
	case EXPORT_NUMERIC:
		return numeric_text(b, p, n);
	}
	return false;
}

/* Field i's separator (csv) or name (json), then its value (p NULL: SQL NULL) as
 * export_render_values writes its text: only strings can need quoting or escaping, and they
 * alone go through a NUL-terminated copy. */
static bool value_out(const export_spec_t *spec, int i, bool json, const unsigned char *p,
		      int32_t n, export_copy_t *c, export_buf_t *b)
{
	const export_field_t *f = spec->fields[i];
	export_field_start(b, f->name, i, json);
	if (!p) {
		if (json)
			export_buf_add(b, "null", 4);
		return true;
	}
	if (f->type == EXPORT_STRING) {
		c->scratch.len = 0;
		export_buf_add(&c->scratch, (const char *)p, (size_t)n);
		if (!json) {
			export_csv_cell(b, c->scratch.data, f->kind);
		} else {
			size_t at = b->len, cap = b->cap;
			list_json_str(&b->data, &at, &cap, c->scratch.data);
			b->len = at;
			b->cap = cap;
		}
		return true;
	}
	/* uuids, times and numbers: nothing to quote or escape */
	bool quoted = json && f->kind != EXPORT_NUMBER;
	if (quoted)
		export_buf_add(b, "\"", 1);
	if (!value_text(b, f->type, p, (size_t)n))
		return false;
	if (quoted)
		export_buf_add(b, "\"", 1);
	return true;
}

long export_render_copy(const export_spec_t *spec, export_copy_t *c, const char *data, size_t len,
			export_buf_t *b)
{
	const unsigned char *p = (const unsigned char *)data, *end = p + len;
	if (!c->header_read) {
		if (len < COPY_HEADER_LEN || memcmp(p, copy_signature, sizeof(copy_signature)) != 0)
			return -1;
		uint32_t ext = be32(p + 15);
		if (ext > len - COPY_HEADER_LEN)
			return -1;
		p += COPY_HEADER_LEN + ext;
		c->header_read = true;
	}
	long rows = 0;
	bool json = spec->format == EXPORT_JSON;
	while (p < end && !c->ended) {
		if (end - p < 2)
			return -1;
		int nf = (int16_t)be16(p);
		p += 2;
		if (nf == -1) {
			c->ended = true;
			break;
		}
		if (nf != spec->nfields)
			return -1;
		if (json) {
			export_buf_add(b, c->first ? "\n{" : ",\n{", c->first ? 2 : 3);
			c->first = false;
		}
		for (int i = 0; i < nf; i++) {
			if (end - p < 4)
				return -1;
			int32_t n = (int32_t)be32(p);
			p += 4;
			if (n >= 0 && end - p < n)
				return -1;
			if (!value_out(spec, i, json, n < 0 ? NULL : p, n, c, b))
				return -1;
			if (n > 0)
				p += n;
		}
		export_buf_add(b, json ? "}" : "\r\n", json ? 1 : 2);
		rows++;
	}
	return rows;
}
