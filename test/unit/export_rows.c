/* export_rows.c: the export's fields, its csv (RFC 4180 quoting, no formula injection) and json
 * text, and the timestamps it turns into ISO-8601. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "exports.h"

Test(export_rows, iso_time_from_postgres_text)
{
	char out[25];
	cr_assert(export_iso_time("2026-10-25 10:00:00+00", out));
	cr_assert_str_eq(out, "2026-10-25T10:00:00.000Z");
	cr_assert(export_iso_time("2026-10-25 10:00:00.123456+00", out));
	cr_assert_str_eq(out, "2026-10-25T10:00:00.123Z");
	cr_assert_not(export_iso_time("2026-10-25 10:00:00-03", out));
	cr_assert_not(export_iso_time("yesterday", out));
}

Test(export_rows, fields_default_known_and_unknown)
{
	export_spec_t s = {0};
	char bad[64];
	cr_assert(export_fields_parse(&s, NULL, bad, sizeof(bad)));
	cr_assert_eq(s.nfields, 8);
	cr_assert(export_fields_parse(&s, "status,id,status", bad, sizeof(bad)));
	cr_assert_eq(s.nfields, 2, "a repeated field is written once");
	cr_assert_str_eq(s.fields[1]->name, "id");
	cr_assert_not(export_fields_parse(&s, "id,raw", bad, sizeof(bad)));
	cr_assert_str_eq(bad, "raw");
	cr_assert_not(export_fields_parse(&s, "id,", bad, sizeof(bad)), "an empty name");
	cr_assert(export_fields_parse(&s, "status,id", bad, sizeof(bad)));
	char *sql = export_select_sql(&s);
	cr_assert_not_null(strstr(
	    sql, "SELECT (o.status)::text, (o.id)::uuid FROM orders o WHERE o.tenant_id = $1"));
	free(sql);
	/* the COPY holds the bounds as literals, and only bounds that cannot close a quote */
	strcpy(s.tenant_id, "5f0c6a52-8a3b-4b8e-9a1e-0d6f6b1c2d3e");
	strcpy(s.start, "2026-03-01 03:00:00+00");
	strcpy(s.end, "2026-04-01 03:00:00+00");
	sql = export_copy_sql(&s);
	cr_assert_not_null(strstr(sql,
				  "o.tenant_id = '5f0c6a52-8a3b-4b8e-9a1e-0d6f6b1c2d3e'::uuid"
				  " AND o.date_created >= '2026-03-01 03:00:00+00'::timestamptz"),
			   "%s", sql);
	cr_assert_not_null(strstr(sql, ") TO STDOUT (FORMAT binary)"), "%s", sql);
	free(sql);
	strcpy(s.end, "2026-04-01' OR true --");
	cr_assert_null(export_copy_sql(&s));
}

/* A result of one row with these columns' texts (NULL: SQL NULL). */
static PGresult *one_row(int n, char *const *v)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc att[8];
	memset(att, 0, sizeof(att));
	for (int i = 0; i < n; i++)
		att[i].name = (char *)"c";
	cr_assert(PQsetResultAttrs(res, n, att));
	for (int i = 0; i < n; i++)
		cr_assert(PQsetvalue(res, 0, i, v[i], v[i] ? (int)strlen(v[i]) : -1));
	return res;
}

Test(export_rows, csv_quotes_and_defuses_formulas)
{
	export_spec_t s = {.format = EXPORT_CSV};
	char bad[64];
	cr_assert(export_fields_parse(&s, "buyerNickname,totalAmount,dateCreated,dateClosed", bad,
				      sizeof(bad)));
	char *v[] = {(char[]){"=HYPERLINK(\"x\"), \"ok\""}, (char[]){"12.50"},
		     (char[]){"2026-03-01 12:00:00+00"}, NULL};
	PGresult *res = one_row(4, v);
	export_buf_t b = {0};
	bool first = true;
	export_render_head(&s, &b);
	export_render_rows(&s, res, &first, &b);
	cr_assert_str_eq(b.data, "buyerNickname,totalAmount,dateCreated,dateClosed\r\n"
				 "\"'=HYPERLINK(\"\"x\"\"), \"\"ok\"\"\",12.50,"
				 "2026-03-01T12:00:00.000Z,\r\n");
	export_buf_free(&b);
	PQclear(res);
}

Test(export_rows, json_is_an_array_of_typed_objects)
{
	export_spec_t s = {.format = EXPORT_JSON};
	char bad[64];
	cr_assert(export_fields_parse(&s, "externalId,totalAmount,dateCreated,dateClosed", bad,
				      sizeof(bad)));
	char *v[] = {(char[]){"A\"1\n"}, (char[]){"12.50"}, (char[]){"2026-03-01 12:00:00+00"},
		     NULL};
	PGresult *res = one_row(4, v);
	export_buf_t b = {0};
	bool first = true;
	export_render_head(&s, &b);
	export_render_rows(&s, res, &first, &b);
	export_render_rows(&s, res, &first, &b);
	export_render_tail(&s, &b);
	json_error_t e;
	json_t *doc = json_loads(b.data, 0, &e);
	cr_assert(json_is_array(doc), "%s: %s", e.text, b.data);
	cr_assert_eq(json_array_size(doc), 2);
	json_t *o = json_array_get(doc, 1);
	cr_assert_str_eq(json_string_value(json_object_get(o, "externalId")), "A\"1\n");
	cr_assert_float_eq(json_number_value(json_object_get(o, "totalAmount")), 12.5, 1e-9);
	cr_assert_str_eq(json_string_value(json_object_get(o, "dateCreated")),
			 "2026-03-01T12:00:00.000Z");
	cr_assert(json_is_null(json_object_get(o, "dateClosed")));
	json_decref(doc);
	export_buf_free(&b);
	PQclear(res);
}

/* --- binary COPY ------------------------------------------------------------------------------ */

static void put(export_buf_t *b, const void *p, size_t n)
{
	export_buf_add(b, p, n);
}

static void put16(export_buf_t *b, int v)
{
	unsigned char d[2] = {(unsigned char)(v >> 8), (unsigned char)v};
	put(b, d, 2);
}

static void put32(export_buf_t *b, long v)
{
	unsigned char d[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};
	put(b, d, 4);
}

static void put64(export_buf_t *b, long long v)
{
	put32(b, (long)(v >> 32));
	put32(b, (long)(v & 0xffffffffLL));
}

/* A numeric's binary form: sign, weight, dscale and its base-10000 digits. */
static void put_numeric(export_buf_t *b, int sign, int weight, int dscale, int n, const int *d)
{
	put32(b, 8 + 2 * n);
	put16(b, n);
	put16(b, weight);
	put16(b, sign);
	put16(b, dscale);
	for (int i = 0; i < n; i++)
		put16(b, d[i]);
}

Test(export_rows, binary_copy_renders_what_text_results_render)
{
	export_spec_t s = {.format = EXPORT_CSV};
	char bad[64];
	cr_assert(export_fields_parse(&s,
				      "id,buyerNickname,totalAmount,paidAmount,fees,productCost,"
				      "buyerId,dateCreated,dateClosed,lastUpdated",
				      bad, sizeof(bad)));
	export_buf_t m = {0};
	put(&m, "PGCOPY\n\377\r\n\0", 11);
	put32(&m, 0);
	put32(&m, 0);
	put16(&m, 10);
	static const unsigned char uuid[16] = {0x5f, 0x0c, 0x6a, 0x52, 0x8a, 0x3b, 0x4b, 0x8e,
					       0x9a, 0x1e, 0x0d, 0x6f, 0x6b, 0x1c, 0x2d, 0x3e};
	put32(&m, 16);
	put(&m, uuid, 16);
	put32(&m, 11);
	put(&m, "=cmd,\"x\"\nz", 11);
	put_numeric(&m, 0, 1, 2, 3, (const int[]){12, 3456, 7800}); /* 123456.78 */
	put_numeric(&m, 0x4000, -1, 4, 1, (const int[]){5});	    /* -0.0005 */
	put_numeric(&m, 0, -2, 6, 1, (const int[]){1200});	    /* 0.000012 */
	put_numeric(&m, 0, 0, 0, 0, NULL);			    /* 0 */
	put32(&m, 8);
	put64(&m, -42);
	put32(&m, 8);
	put64(&m, 817862400123456LL); /* 2025-12-01 00:00:00.123456 */
	put32(&m, 8);
	put64(&m, -1000LL); /* 1999-12-31 23:59:59.999 */
	put32(&m, -1);
	export_copy_t c = {.first = true};
	export_buf_t out = {0};
	cr_assert_eq(export_render_copy(&s, &c, m.data, m.len, &out), 1);
	cr_assert_str_eq(out.data, "5f0c6a52-8a3b-4b8e-9a1e-0d6f6b1c2d3e,\"'=cmd,\"\"x\"\"\nz\","
				   "123456.78,-0.0005,0.000012,0,-42,2025-12-01T00:00:00.123Z,"
				   "1999-12-31T23:59:59.999Z,\r\n");
	cr_assert_not(c.ended);
	/* the trailer ends it; a row of another shape is refused */
	m.len = 0;
	put16(&m, -1);
	cr_assert_eq(export_render_copy(&s, &c, m.data, m.len, &out), 0);
	cr_assert(c.ended);
	export_copy_t c2 = {.header_read = true};
	m.len = 0;
	put16(&m, 2);
	cr_assert_eq(export_render_copy(&s, &c2, m.data, m.len, &out), -1);
	export_copy_free(&c);
	export_copy_free(&c2);
	export_buf_free(&m);
	export_buf_free(&out);
}
