/* Orders across channels and their export: GET /api/orders's new filters (channel,
 * fulfillmentChannel, amounts) and its summary checked against the rows it lists, the detail's
 * financial figures worked out by hand, and GET /api/orders/export as csv (rows and fields),
 * json (parsed), xlsx (opened by openpyxl), streamed from a binary COPY, and past
 * EXPORT_SYNC_MAX_ROWS as a background job whose file expires. Bad input is a 400 naming the
 * field; another tenant's export is a 404. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "money_seed.h"

TestSuite(orders_export, .timeout = 120);

#define MARCH "startDate=2026-03-01&endDate=2026-03-31"

static double num(json_t *root, const char *path)
{
	json_t *v = h_json_path(root, path);
	cr_assert(json_is_number(v), "%s is not a number", path);
	return json_number_value(v);
}

static int lines(const char *body)
{
	int n = 0;
	for (const char *p = body; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

Test(orders_export, list_filters_and_a_summary_that_sums_its_rows)
{
	money_world_t w;
	money_world_make(&w, NULL);
	/* March's five orders: the summary counts them all; revenue, average and units only the
	 * four not cancelled. */
	h_resp_t r = money_get(
	    &w, false, "/api/orders?from=2026-03-01T00:00:00Z&to=2026-03-31T23:59:59Z", 200);
	json_t *rows = h_json_path(r.json, "data.orders"), *row;
	cr_assert_eq(json_array_size(rows), 5, "%s", r.body);
	double sum = 0;
	int sold = 0;
	size_t i;
	json_array_foreach(rows, i, row)
	{
		if (strcmp(json_string_value(json_object_get(row, "status")), "cancelled") != 0) {
			sum += json_number_value(json_object_get(row, "totalAmount"));
			sold++;
		}
	}
	cr_assert_eq(num(r.json, "data.summary.totalOrders"), 5, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.summary.totalRevenue"), sum, 0.001, "%s", r.body);
	cr_assert_float_eq(sum, 435, 0.001);
	cr_assert_float_eq(num(r.json, "data.summary.avgOrderValue"), sum / sold, 0.01, "%s",
			   r.body);
	cr_assert_eq(num(r.json, "data.summary.totalUnits"), 2 + 1 + 4 + 3, "%s", r.body);
	h_resp_free(&r);

	/* Without a filter the summary comes from the write-time totals: all six orders. */
	r = money_get(&w, false, "/api/orders", 200);
	cr_assert_eq(num(r.json, "data.summary.totalOrders"), 6, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.summary.totalRevenue"), 935, 0.001, "%s", r.body);
	cr_assert_eq(num(r.json, "data.summary.totalUnits"), 11, "%s", r.body);
	h_resp_free(&r);

	static const struct {
		const char *query;
		int count;
		double revenue;
	} cases[] = {
	    {"channel=amazon", 2, 260},
	    {"fulfillmentChannel=FBA", 1, 200},
	    {"fulfillmentChannel=FBM", 1, 60},
	    {"fulfillmentChannel=ML_FULL", 1, 100},
	    {"fulfillmentChannel=ML_SELLER", 1, 75},
	    {"minAmount=60&maxAmount=100", 3, 235},
	    {"minAmount=100.01", 2, 700},
	    {"channel=ml&maxAmount=75", 2, 75},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		r = money_get(&w, false, h_fmt("/api/orders?%s", cases[k].query), 200);
		cr_assert_eq(json_array_size(h_json_path(r.json, "data.orders")),
			     (size_t)cases[k].count, "%s: %s", cases[k].query, r.body);
		cr_assert_eq(num(r.json, "data.pagination.total"), cases[k].count, "%s: %s",
			     cases[k].query, r.body);
		cr_assert_eq(num(r.json, "data.summary.totalOrders"), cases[k].count, "%s: %s",
			     cases[k].query, r.body);
		cr_assert_float_eq(num(r.json, "data.summary.totalRevenue"), cases[k].revenue,
				   0.001, "%s: %s", cases[k].query, r.body);
		h_resp_free(&r);
	}
	/* tenant b sees its own order only */
	r = money_get(&w, true, "/api/orders?minAmount=0", 200);
	cr_assert_eq(num(r.json, "data.summary.totalOrders"), 1, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.summary.totalRevenue"), 999, 0.001, "%s", r.body);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

Test(orders_export, order_detail_has_hand_computed_financials)
{
	money_world_t w;
	money_world_make(&w, NULL);
	char *id = h_sql_text(
	    "SELECT id FROM orders WHERE tenant_id = '%s' AND external_id = 'Z-2'", w.a.tenant_id);
	h_resp_t r = money_get(&w, false, h_fmt("/api/orders/%s", id), 200);
	/* Z-2: 60 sold, 20 refunded; fees 9 - 3 (the refund gave 3 back); cost 3 x 10 */
	cr_assert_float_eq(num(r.json, "data.financial.revenue"), 60, 0.001, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.financial.refunds"), 20, 0.001, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.financial.fees.marketplace"), 6, 0.001, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.financial.productCost"), 30, 0.001, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.financial.profit"), 60 - 20 - 6 - 30, 0.001, "%s",
			   r.body);
	cr_assert_float_eq(num(r.json, "data.financial.margin"), 10.0, 0.001, "%s", r.body);
	h_resp_free(&r);
	free(id);
	/* M-1: fees from its payment (12, not the lines' 2 x 6 twice), shipping 8, cost 2 x 10 */
	id = h_sql_text("SELECT id FROM orders WHERE tenant_id = '%s' AND external_id = 'M-1'",
			w.a.tenant_id);
	r = money_get(&w, false, h_fmt("/api/orders/%s", id), 200);
	cr_assert_float_eq(num(r.json, "data.financial.fees.total"), 20, 0.001, "%s", r.body);
	cr_assert_float_eq(num(r.json, "data.financial.profit"), 100 - 12 - 8 - 20, 0.001, "%s",
			   r.body);
	h_resp_free(&r);
	/* another tenant's order: 404 */
	r = money_get(&w, true, h_fmt("/api/orders/%s", id), 404);
	h_resp_free(&r);
	free(id);
	h_server_stop_clean(&w.srv);
}

Test(orders_export, csv_and_json_hold_the_periods_rows_and_fields)
{
	money_world_t w;
	money_world_make(&w, NULL);
	h_resp_t r = money_get(&w, false,
			       "/api/orders/export?format=csv&" MARCH
			       "&fields=externalId,totalAmount,fulfillmentChannel,"
			       "units,dateCreated",
			       200);
	cr_assert_not_null(strstr(h_header(&r, "Content-Disposition"), "attachment"), "%s",
			   r.headers);
	cr_assert_not_null(strstr(h_header(&r, "Content-Type"), "text/csv"));
	/* the header and March's five orders, oldest first */
	cr_assert_eq(lines(r.body), 6, "%s", r.body);
	cr_assert(strncmp(r.body,
			  "externalId,totalAmount,fulfillmentChannel,units,dateCreated\r\n"
			  "M-1,100.00,ML_FULL,2,2026-03-01T12:00:00.000Z\r\n",
			  strlen("externalId,totalAmount,fulfillmentChannel,units,dateCreated\r\n"
				 "M-1,100.00,ML_FULL,2,2026-03-01T12:00:00.000Z\r\n")) == 0,
		  "%s", r.body);
	cr_assert_not_null(strstr(r.body, "Z-1,200.00,FBA,4,"), "%s", r.body);
	cr_assert_null(strstr(r.body, "M-9"), "%s", r.body);
	cr_assert_null(strstr(r.body, "B-1"), "another tenant's order: %s", r.body);
	h_resp_free(&r);

	r = money_get(&w, false, "/api/orders/export?format=json&" MARCH, 200);
	json_error_t e;
	json_t *doc = json_loads(r.body, 0, &e);
	cr_assert(json_is_array(doc), "%s: %s", e.text, r.body);
	cr_assert_eq(json_array_size(doc), 5);
	json_t *first = json_array_get(doc, 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "externalId")), "M-1");
	cr_assert_float_eq(json_number_value(json_object_get(first, "totalAmount")), 100, 0.001);
	cr_assert_str_eq(json_string_value(json_object_get(first, "currency")), "BRL");
	json_decref(doc);
	h_resp_free(&r);

	/* a period without orders: the header alone, an empty array */
	r = money_get(&w, false, "/api/orders/export?startDate=2025-01-01&endDate=2025-01-31", 200);
	cr_assert_eq(lines(r.body), 1, "%s", r.body);
	h_resp_free(&r);
	r = money_get(&w, false,
		      "/api/orders/export?format=json&startDate=2025-01-01&endDate=2025-01-31",
		      200);
	doc = json_loads(r.body, 0, NULL);
	cr_assert(json_is_array(doc) && json_array_size(doc) == 0, "%s", r.body);
	json_decref(doc);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

Test(orders_export, a_large_csv_streams_every_row_through_many_batches)
{
	money_world_t w;
	money_world_make(&w, NULL);
	money_world_bulk(&w, 25000); /* many COPY messages and chunks */
	h_resp_t r = money_get(
	    &w, false,
	    "/api/orders/export?startDate=2026-02-01&endDate=2026-02-28&fields=id,status", 200);
	cr_assert_not_null(strstr(r.headers, "chunked"), "%s", r.headers);
	cr_assert_eq(lines(r.body), 25001, "%zu bytes", r.len);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

/* A client that stops reading and goes away mid-stream: the export pauses on the full socket,
 * notices the close, ends its COPY and frees the request (the clean stop checks for leaks
 * under ASan), and the server answers the next request. */
Test(orders_export, a_client_gone_mid_stream_ends_the_export)
{
	money_world_t w;
	h_database_private(); /* the sessions it counts are its own */
	money_world_make(&w, NULL);
	money_world_bulk(&w, 60000);
	int fd = h_connect(w.srv.port);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	const char *req = h_fmt("GET /api/orders/export?startDate=2026-02-01&endDate=2026-02-28 "
				"HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
				w.a.access);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	char buf[4096];
	cr_assert_gt(read(fd, buf, sizeof(buf)), 0, "no answer began");
	/* the server has more queued than the socket holds: it waits for this client and reads
	 * no more of the COPY, which waits on its full socket (or has ended into it): its
	 * transaction stays open */
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM pg_stat_activity WHERE query LIKE"
					 " 'COPY (SELECT%%' AND (wait_event = 'ClientWrite'"
					 " OR state = 'idle in transaction')"
					 " AND datname = current_database()") == 1,
			       10000),
		  "the export is not waiting for the client");
	close(fd);
	/* its COPY ends once the close is seen */
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM pg_stat_activity WHERE query LIKE"
					 " 'COPY (SELECT%%' AND datname = current_database()") == 0,
			       10000),
		  "the export's COPY is still running");
	h_resp_t r = money_get(&w, false, "/api/orders?limit=1", 200);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

Test(orders_export, xlsx_opens_with_a_reader)
{
	money_world_t w;
	money_world_make(&w, NULL);
	h_resp_t r = money_get(
	    &w, false, "/api/orders/export?format=xlsx&" MARCH "&fields=externalId,totalAmount",
	    200);
	cr_assert_not_null(strstr(h_header(&r, "Content-Type"), "spreadsheetml"));
	char path[600];
	snprintf(path, sizeof(path), "%s/export-%d.xlsx", h_env("SH_TEST_DIR"), (int)getpid());
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(r.body, 1, r.len, f);
	fclose(f);
	h_resp_free(&r);
	/* openpyxl reads it: a header row and five rows, M-1's total a number */
	/* Debian's python3, which python3-openpyxl is for */
	int rc = h_sh("/usr/bin/python3 -c 'import openpyxl,sys\n"
		      "ws = openpyxl.load_workbook(sys.argv[1]).active\n"
		      "rows = list(ws.iter_rows(values_only=True))\n"
		      "assert rows[0] == (\"externalId\", \"totalAmount\"), rows[0]\n"
		      "assert len(rows) == 6, len(rows)\n"
		      "assert rows[1] == (\"M-1\", 100), rows[1]\n' '%s' 2>'%s.err'",
		      path, path);
	char why[2048] = "";
	FILE *err = fopen(h_fmt("%s.err", path), "r");
	if (err) {
		why[fread(why, 1, sizeof(why) - 1, err)] = '\0';
		fclose(err);
	}
	cr_assert_eq(rc, 0, "openpyxl could not read the export: %s", why);
	h_server_stop_clean(&w.srv);
}

static long status_of(const money_world_t *w, const char *id)
{
	h_resp_t r = ident_call(&w->srv, "GET", h_fmt("/api/exports/%s", id), w->a.access, NULL);
	long s = r.status;
	/* the file (an attachment), not the status JSON */
	const char *cd = s == 200 ? h_header(&r, "Content-Disposition") : NULL;
	bool done = cd && strstr(cd, "attachment");
	h_resp_free(&r);
	return done ? 1 : s;
}

Test(orders_export, past_the_limit_a_background_job_writes_a_file_that_expires)
{
	money_world_t w;
	const char *env[] = {
	    "EXPORT_SYNC_MAX_ROWS=3", "EXPORT_KEEP_SECONDS=2", "EXPORT_SWEEP_MS=200",
	    h_fmt("EXPORTS_DIR=%s/exports-%d", h_env("SH_TEST_DIR"), (int)getpid()), NULL};
	money_world_make(&w, env);
	h_resp_t r = money_get(&w, false, "/api/orders/export?format=csv&" MARCH, 202);
	const char *id = json_string_value(h_json_path(r.json, "data.jobId"));
	cr_assert_not_null(id, "%s", r.body);
	char job[40];
	snprintf(job, sizeof(job), "%s", id);
	h_resp_free(&r);
	/* another tenant cannot see it */
	r = money_get(&w, true, h_fmt("/api/exports/%s", job), 404);
	h_resp_free(&r);
	/* the job runs; the file comes once it is done */
	cr_assert(H_WAIT_UNTIL(status_of(&w, job) == 1, 20000), "the export never finished");
	r = money_get(&w, false, h_fmt("/api/exports/%s", job), 200);
	cr_assert_eq(lines(r.body), 6, "%s", r.body);
	cr_assert_not_null(strstr(h_header(&r, "Content-Disposition"), "attachment"));
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT rows FROM order_exports WHERE id = '%s'", job), 5);
	/* EXPORT_KEEP_SECONDS later the sweep deletes it: 410 */
	cr_assert(H_WAIT_UNTIL(status_of(&w, job) == 410, 20000), "the export never expired");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM order_exports WHERE id = '%s'"
			       " AND status = 'expired'",
			       job),
		     1);
	/* The sweep deletes the file once its UPDATE has committed: just after the 410. */
	cr_assert(H_WAIT_UNTIL(h_sh("test -e '%s/exports-%d/%s.csv'", h_env("SH_TEST_DIR"),
				    (int)getpid(), job) != 0,
			       5000),
		  "the file is still there");
	h_server_stop_clean(&w.srv);
}

/* The streamed export reads PostgreSQL's binary COPY and writes each type's text itself; the
 * background job writes the same file from text results. Over orders holding the values whose
 * text is easy to get wrong (numerics of every scale and sign, timestamps with microseconds or
 * before 2000, NULLs, text to quote or defuse, bigints) both give the same bytes, csv and json,
 * every field. */
Test(orders_export, the_stream_writes_what_the_text_results_write)
{
	money_world_t w;
	/* both servers take the test's jobs: they share the directory of the files */
	char dir[512];
	snprintf(dir, sizeof(dir), "EXPORTS_DIR=%s/exports-same-%d", h_env("SH_TEST_DIR"),
		 (int)getpid());
	money_world_make(&w, (const char *const[]){dir, NULL});
	h_sql_ok(
	    "INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
	    " date_created, date_closed, last_updated, total_amount, paid_amount, currency,"
	    " buyer_id, buyer_nickname, raw)"
	    " SELECT '%s', '%s', 'ml', 'E-' || g, 'paid',"
	    " '2026-04-01T00:00:00Z'::timestamptz + g * interval '1 hour 7.123456 seconds',"
	    " CASE g %% 3 WHEN 0 THEN NULL WHEN 1 THEN '1999-12-31 23:59:59.9999Z'::timestamptz"
	    "  ELSE '1970-01-01Z'::timestamptz END,"
	    " '2026-04-30 23:59:59.999999Z',"
	    " (ARRAY[0, 0.5, -12.25, 123456789012.34, 0.01, 10000, -0.00, 99999999.99,"
	    "   1.1])[g %% 9 + 1],"
	    " CASE WHEN g %% 4 = 0 THEN NULL ELSE g * 1.10 END, 'BRL',"
	    " (ARRAY[0, -1, 9223372036854775807, -9223372036854775808])[g %% 4 + 1]::bigint,"
	    " (ARRAY['', '=SUM(A1)', 'a,b', 'say \"hi\"', E'two\\nlines', '+1', 'plain ç',"
	    "   '-x', '@y'])[g %% 9 + 1], '{}'"
	    " FROM generate_series(1, 40) g",
	    w.a.tenant_id, w.ml);
	h_sql_ok("INSERT INTO order_items (order_id, tenant_id, sku, title, quantity, unit_price,"
		 " sale_fee, currency) SELECT id, tenant_id, 'SKU,' || external_id, 'T', 3, 1.5,"
		 " 0.33, 'BRL' FROM orders WHERE tenant_id = '%s' AND external_id LIKE 'E-%%'"
		 " AND length(external_id) = 3",
		 w.a.tenant_id);
	h_proc_t jobs;
	cr_assert(
	    h_server_start(&jobs, (const char *const[]){"EXPORT_SYNC_MAX_ROWS=0", dir, NULL}));
	money_world_t wj = w;
	wj.srv = jobs;
	static const char *const formats[] = {"csv", "json"};
	for (int i = 0; i < 2; i++) {
		const char *path = h_fmt("/api/orders/export?format=%s&startDate=2026-04-01"
					 "&endDate=2026-04-30&fields=id,externalId,channel,"
					 "accountId,status,dateCreated,dateClosed,lastUpdated,"
					 "totalAmount,paidAmount,currency,buyerId,buyerNickname,"
					 "fulfillmentChannel,units,fees,productCost,skus",
					 formats[i]);
		h_resp_t streamed = money_get(&w, false, path, 200);
		cr_assert_not_null(strstr(streamed.headers, "chunked"), "%s", streamed.headers);
		h_resp_t r = money_get(&wj, false, path, 202);
		char job[40];
		snprintf(job, sizeof(job), "%s",
			 json_string_value(h_json_path(r.json, "data.jobId")));
		h_resp_free(&r);
		cr_assert(H_WAIT_UNTIL(status_of(&wj, job) == 1, 20000),
			  "the %s export never finished: %ld", formats[i], status_of(&wj, job));
		r = money_get(&wj, false, h_fmt("/api/exports/%s", job), 200);
		cr_assert_not_null(strstr(r.body, i == 0 ? "\nlines\",,3,0.99,0,\"SKU,E-4\"\r\n"
							 : "\"externalId\":\"E-40\""),
				   "%s", r.body);
		cr_assert_eq(streamed.len, r.len, "%s\n---\n%s", streamed.body, r.body);
		cr_assert(memcmp(streamed.body, r.body, r.len) == 0, "%s\n---\n%s", streamed.body,
			  r.body);
		h_resp_free(&r);
		h_resp_free(&streamed);
	}
	h_server_stop_clean(&jobs);
	h_server_stop_clean(&w.srv);
}

Test(orders_export, bad_input_is_a_400_naming_the_field)
{
	money_world_t w;
	money_world_make(&w, NULL);
	static const struct {
		const char *path, *field;
	} cases[] = {
	    {"/api/orders/export?format=pdf", "format"},
	    {"/api/orders/export?fields=id,password", "fields"},
	    {"/api/orders/export?startDate=2026-02-30&endDate=2026-03-01", "startDate"},
	    {"/api/orders/export?startDate=2026-03-01", "endDate"},
	    {"/api/orders/export?startDate=2026-03-02&endDate=2026-03-01", "endDate"},
	    {"/api/orders/export?startDate=2020-01-01&endDate=2023-01-02", "endDate"},
	    {"/api/orders?minAmount=abc", "minAmount"},
	    {"/api/orders?minAmount=10&maxAmount=5", "minAmount"},
	    {"/api/orders?fulfillmentChannel=DRONE", "fulfillmentChannel"},
	    {"/api/exports/not-a-uuid", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_resp_t r = ident_call(&w.srv, "GET", cases[i].path, w.a.access, NULL);
		if (!cases[i].field) {
			cr_assert_eq(r.status, 404, "%s: %s", cases[i].path, r.body);
		} else {
			cr_assert_eq(r.status, 400, "%s: %s", cases[i].path, r.body);
			cr_assert_not_null(
			    strstr(r.body, h_fmt("\"field\":\"%s\"", cases[i].field)), "%s: %s",
			    cases[i].path, r.body);
		}
		h_resp_free(&r);
	}
	h_server_stop_clean(&w.srv);
}
