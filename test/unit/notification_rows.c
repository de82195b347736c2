/* notification_rows.c: what a notification may carry into a group's INSERT, and the array
 * literals themselves (PostgreSQL parses them; the integration tests check the rows). */
#include <criterion/criterion.h>
#include <string.h>

#include "channels/ml/notification_rows.h"

Test(notification_rows, timestamps_postgres_would_take)
{
	const char *ok[] = {"2026-11-23T10:00:00.000Z", "2026-11-23T10:00:00Z",
			    "2026-11-23T10:00:00",	"2026-11-20T16:19:20.106-03:00",
			    "2024-02-29T23:59:59+0530", "2026-11-23T10:00:00.123456789+14",
			    "2000-02-29T00:00:00Z"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_expect(notification_timestamp_ok(ok[i]), "%s", ok[i]);
	const char *bad[] = {"2026-02-29T10:00:00Z", /* not a leap year */
			     "2026-02-30T10:00:00Z",
			     "1900-02-29T00:00:00Z",
			     "2026-13-01T10:00:00Z",
			     "2026-00-10T10:00:00Z",
			     "0000-01-01T00:00:00Z",
			     "2026-11-23T24:00:00Z",
			     "2026-11-23T10:60:00Z",
			     "2026-11-23T10:00:60Z",
			     "2026-11-23 10:00:00Z",
			     "2026-11-23T10:00:00.Z",
			     "2026-11-23T10:00:00.0123456789Z",
			     "2026-11-23T10:00:00+15:00",
			     "2026-11-23T10:00:00-03:60",
			     "2026-11-23T10:00:00Zjunk",
			     "2026-11-23T10:00",
			     "yesterday"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!notification_timestamp_ok(bad[i]), "%s", bad[i]);
}

/* The fields borrow from the body: it lives until the test frees *body. */
static bool parse(json_t **body, const char *text, int64_t app, notification_t *n, json_t **details,
		  bool *foreign)
{
	*body = json_loads(text, 0, NULL);
	cr_assert_not_null(*body);
	return notification_parse(*body, app, n, details, foreign);
}

Test(notification_rows, variants_and_unusable_values)
{
	notification_t n;
	json_t *details = NULL;
	bool foreign;
	json_t *b1, *b2, *b3;
	cr_assert(
	    parse(&b1,
		  "{\"id\":42,\"topic\":\"items\",\"resource\":\"items/MLB1\",\"user_id\":\"77\","
		  "\"recieved\":\"2026-11-20T16:19:20.106Z\",\"attempts\":99999999999,"
		  "\"sent\":\"2026-02-30T10:00:00Z\"}",
		  0, &n, &details, &foreign));
	cr_assert_str_eq(n.nid, "42");
	cr_assert_eq(n.user_id, 77);
	cr_assert_eq(n.app_id, 0);
	cr_assert_eq(n.attempts, -1, "attempts past int4 is stored as NULL");
	cr_assert_null(n.sent, "a date that does not exist is stored as NULL");
	cr_assert_str_eq(n.received, "2026-11-20T16:19:20.106Z");

	cr_assert_not(parse(&b2,
			    "{\"_id\":\"a\",\"topic\":\"items\",\"resource\":\"/items/1\","
			    "\"user_id\":7,\"application_id\":5}",
			    6, &n, &details, &foreign));
	cr_assert(foreign);
	cr_assert_null(details);

	cr_assert_not(parse(&b3, "{\"_id\":\"\",\"topic\":\"items\",\"user_id\":-1}", 0, &n,
			    &details, &foreign));
	cr_assert_not(foreign);
	cr_assert_eq(json_array_size(details), 3, "_id, resource and user_id");
	json_decref(details);
	json_decref(b1);
	json_decref(b2);
	json_decref(b3);
}

Test(notification_rows, array_literals_quote_what_needs_it)
{
	notification_rows_t *rows = notification_rows_new();
	const char *params[NOTIFICATION_COLUMNS];
	notification_rows_params(rows, params);
	cr_assert_str_eq(params[0], "{}");

	notification_t a = {.nid = "x\"1",
			    .topic = "orders_v2",
			    .resource = "orders/9",
			    .user_id = 5,
			    .app_id = 0,
			    .attempts = 1,
			    .sent = NULL,
			    .received = "2026-11-23T10:00:00Z"};
	notification_t b = {.nid = "y\\2",
			    .topic = "messages",
			    .resource = "abc",
			    .user_id = 6,
			    .app_id = 8,
			    .attempts = -1};
	const char body[] = "{\"k\":\"a\\\"b\"}";
	notification_rows_add(rows, &a, body, strlen(body));
	notification_rows_params(rows, params);
	cr_assert_str_eq(params[0], "{\"x\\\"1\"}");
	notification_rows_add(rows, &b, "{}", 2);
	notification_rows_params(rows, params);
	cr_assert_eq(notification_rows_count(rows), 2);
	cr_assert_str_eq(params[0], "{\"x\\\"1\",\"y\\\\2\"}");
	cr_assert_str_eq(params[1], "{\"orders_v2\",\"messages\"}");
	cr_assert_str_eq(params[2], "{\"/orders/9\",\"abc\"}",
			 "a path gets its slash, a bare id not");
	cr_assert_str_eq(params[3], "{5,6}");
	cr_assert_str_eq(params[4], "{NULL,8}");
	cr_assert_str_eq(params[5], "{1,NULL}");
	cr_assert_str_eq(params[6], "{NULL,NULL}");
	cr_assert_str_eq(params[7], "{\"2026-11-23T10:00:00Z\",NULL}");
	cr_assert_str_eq(params[8], "{\"{\\\"k\\\":\\\"a\\\\\\\"b\\\"}\",\"{}\"}");
	notification_rows_free(rows);
}
