/* The orders export's fields and its csv and json text (see exports.h). */
#include "exports.h"
#include "listing.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// clang-format off
/* Every field a caller may ask for. The per-order lines (units, fees, cost) are read only when
 * asked for: each is a lookup per order. */
static const export_field_t known_fields[] = {
    {"id", "o.id", EXPORT_TEXT, EXPORT_UUID},
    {"externalId", "o.external_id", EXPORT_TEXT, EXPORT_STRING},
    {"channel", "o.channel", EXPORT_TEXT, EXPORT_STRING},
    {"accountId", "o.account_id", EXPORT_TEXT, EXPORT_UUID},
    {"status", "o.status", EXPORT_TEXT, EXPORT_STRING},
    {"dateCreated", "o.date_created", EXPORT_TIME, EXPORT_TIMESTAMPTZ},
    {"dateClosed", "o.date_closed", EXPORT_TIME, EXPORT_TIMESTAMPTZ},
    {"lastUpdated", "o.last_updated", EXPORT_TIME, EXPORT_TIMESTAMPTZ},
    {"totalAmount", "o.total_amount", EXPORT_NUMBER, EXPORT_NUMERIC},
    {"paidAmount", "o.paid_amount", EXPORT_NUMBER, EXPORT_NUMERIC},
    {"currency", "o.currency", EXPORT_TEXT, EXPORT_STRING},
    {"buyerId", "o.buyer_id", EXPORT_NUMBER, EXPORT_INT8},
    {"buyerNickname", "o.buyer_nickname", EXPORT_TEXT, EXPORT_STRING},
    {"fulfillmentChannel", "order_fulfillment(o)", EXPORT_TEXT, EXPORT_STRING},
    {"units", "(SELECT coalesce(sum(l.quantity), 0) FROM order_items l"
	      " WHERE l.order_id = o.id)", EXPORT_NUMBER, EXPORT_INT8},
    {"fees", "(SELECT coalesce(sum(coalesce(l.sale_fee, 0) * l.quantity), 0) FROM order_items l"
	     " WHERE l.order_id = o.id)", EXPORT_NUMBER, EXPORT_NUMERIC},
    {"productCost", "(SELECT coalesce(sum(coalesce(l.unit_cost, p.cost, 0) * l.quantity), 0)"
		    " FROM order_items l LEFT JOIN products p ON p.tenant_id = l.tenant_id"
		    " AND p.sku = l.sku WHERE l.order_id = o.id)", EXPORT_NUMBER, EXPORT_NUMERIC},
    {"skus", "(SELECT string_agg(coalesce(l.sku, l.listing_external_id), ' ' ORDER BY l.id)"
	     " FROM order_items l WHERE l.order_id = o.id)", EXPORT_TEXT, EXPORT_STRING},
};
// clang-format on

static const char *const default_fields[] = {"id",	 "externalId",	 "channel",
					     "status",	 "dateCreated",	 "totalAmount",
					     "currency", "buyerNickname"};

const export_field_t *export_field(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(known_fields); i++)
		if (strcmp(known_fields[i].name, name) == 0)
			return &known_fields[i];
	return NULL;
}

const char *export_field_names(void)
{
	static char names[512];
	if (!names[0]) {
		size_t at = 0;
		for (size_t i = 0; i < ARRAY_LEN(known_fields); i++)
			at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s",
					       i ? ", " : "", known_fields[i].name);
	}
	return names;
}

static const char *const format_names[] = {"csv", "json", "xlsx"};

bool export_format_parse(const char *s, enum export_format *out)
{
	for (size_t i = 0; s && i < ARRAY_LEN(format_names); i++)
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum export_format)i;
			return true;
		}
	return false;
}

const char *export_format_name(enum export_format f)
{
	return format_names[f];
}

const char *export_content_type(enum export_format f)
{
	switch (f) {
	case EXPORT_CSV:
		return "text/csv; charset=utf-8";
	case EXPORT_JSON:
		return "application/json; charset=utf-8";
	default:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
	}
}

bool export_fields_parse(export_spec_t *spec, const char *list, char *bad, size_t bad_size)
{
	spec->nfields = 0;
	if (!list || !*list) {
		for (size_t i = 0; i < ARRAY_LEN(default_fields); i++)
			spec->fields[spec->nfields++] = export_field(default_fields[i]);
		return true;
	}
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(n < 63 ? n : 63), p);
		const export_field_t *f = n < 63 ? export_field(name) : NULL;
		bool dup = false;
		for (int i = 0; f && i < spec->nfields; i++)
			dup = dup || spec->fields[i] == f;
		if (!f || spec->nfields == EXPORT_MAX_FIELDS) {
			snprintf(bad, bad_size, "%s", name);
			return false;
		}
		if (!dup)
			spec->fields[spec->nfields++] = f;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

char *export_select_sql(const export_spec_t *spec)
{
	/* each field cast to its type (a no-op): what the binary COPY's reader expects */
	static const char *const casts[] = {")::text", ")::uuid", ")::timestamptz", ")::numeric",
					    ")::int8"};
	export_buf_t b = {0};
	export_buf_add(&b, "SELECT ", 7);
	for (int i = 0; i < spec->nfields; i++) {
		const export_field_t *f = spec->fields[i];
		export_buf_add(&b, i ? ", (" : "(", i ? 3 : 1);
		export_buf_add(&b, f->sql, strlen(f->sql));
		export_buf_add(&b, casts[f->type], strlen(casts[f->type]));
	}
	static const char from[] =
	    " FROM orders o WHERE o.tenant_id = $1::uuid AND o.date_created >= $2::timestamptz"
	    " AND o.date_created < $3::timestamptz ORDER BY o.date_created, o.id";
	export_buf_add(&b, from, sizeof(from)); /* with its NUL */
	return b.data;
}

bool export_iso_time(const char *s, char out[25])
{
	size_t n = strlen(s);
	if (n < 22 || strcmp(s + n - 3, "+00") != 0)
		return false;
	n -= 3;
	if (n < 19 || n > 26 || s[10] != ' ' || (n > 19 && s[19] != '.'))
		return false;
	memcpy(out, s, 19);
	out[10] = 'T';
	out[19] = '.';
	for (size_t i = 0; i < 3; i++)
		out[20 + i] = 20 + i < n ? s[20 + i] : '0';
	out[23] = 'Z';
	out[24] = '\0';
	return true;
}

/* A csv cell: quoted when it holds a comma, a quote or a line break (RFC 4180). A cell that a
 * spreadsheet would run as a formula (=, +, -, @ before text) gets a leading quote mark. */
void export_csv_cell(export_buf_t *b, const char *s, enum export_kind kind)
{
	bool formula = kind == EXPORT_TEXT && s[0] && strchr("=+-@", s[0]);
	if (!strpbrk(s, ",\"\r\n")) {
		if (formula)
			export_buf_add(b, "'", 1);
		export_buf_add(b, s, strlen(s));
		return;
	}
	export_buf_add(b, formula ? "\"'" : "\"", formula ? 2 : 1);
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "\"");
		export_buf_add(b, p, n);
		p += n;
		if (*p == '"') {
			export_buf_add(b, "\"\"", 2);
			p++;
		}
	}
	export_buf_add(b, "\"", 1);
}

void export_render_head(const export_spec_t *spec, export_buf_t *b)
{
	if (spec->format == EXPORT_JSON) {
		export_buf_add(b, "[", 1);
		return;
	}
	for (int i = 0; i < spec->nfields; i++) {
		if (i)
			export_buf_add(b, ",", 1);
		export_buf_add(b, spec->fields[i]->name, strlen(spec->fields[i]->name));
	}
	export_buf_add(b, "\r\n", 2);
}

void export_render_values(const export_spec_t *spec, const char *const *values, bool iso_times,
			  bool *first, export_buf_t *b)
{
	bool json = spec->format == EXPORT_JSON;
	if (json) {
		export_buf_add(b, *first ? "\n{" : ",\n{", *first ? 2 : 3);
		*first = false;
	}
	for (int i = 0; i < spec->nfields; i++) {
		const export_field_t *f = spec->fields[i];
		export_field_start(b, f->name, i, json);
		const char *v = values[i];
		char iso[25];
		if (v && f->kind == EXPORT_TIME && !iso_times && export_iso_time(v, iso))
			v = iso;
		if (!json) {
			if (v)
				export_csv_cell(b, v, f->kind);
		} else if (!v) {
			export_buf_add(b, "null", 4);
		} else if (f->kind == EXPORT_NUMBER) {
			export_buf_add(b, v, strlen(v));
		} else {
			/* list_json_str escapes into a malloc'd buffer of its own shape */
			size_t at = b->len, cap = b->cap;
			list_json_str(&b->data, &at, &cap, v);
			b->len = at;
			b->cap = cap;
		}
	}
	export_buf_add(b, json ? "}" : "\r\n", json ? 1 : 2);
}

void export_render_rows(const export_spec_t *spec, const PGresult *res, bool *first,
			export_buf_t *b)
{
	int n = PQntuples(res);
	const char *values[EXPORT_MAX_FIELDS];
	for (int row = 0; row < n; row++) {
		for (int i = 0; i < spec->nfields; i++)
			values[i] = pg_value(res, row, i);
		export_render_values(spec, values, false, first, b);
	}
}

void export_render_tail(const export_spec_t *spec, export_buf_t *b)
{
	if (spec->format == EXPORT_JSON)
		export_buf_add(b, "\n]\n", 3);
}
