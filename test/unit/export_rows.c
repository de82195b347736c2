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
	cr_assert_not_null(
	    strstr(sql, "SELECT o.status, o.id FROM orders o WHERE o.tenant_id = $1"));
	free(sql);
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
