/* Request bodies as JSON (http_body_parse): what every handler and the webhook intake get. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "http.h"

Test(http_body, an_object_parses)
{
	char problem[200];
	const char body[] = "{\"a\":1,\"b\":\"x\"}";
	json_t *j = http_body_parse(body, sizeof(body) - 1, problem, sizeof(problem));
	cr_assert(json_is_object(j));
	json_decref(j);
}

/* Found by test/fuzz/fuzz_notification.c: jansson accepts a NUL byte after a number, and the
 * raw body (stored with the notification) was then cut short at it inside the group's array
 * literal, which PostgreSQL refuses for the whole group. */
Test(http_body, a_nul_byte_jansson_lets_through_is_refused)
{
	char problem[200];
	const char body[] = "{\"a\":1\0,\"b\":2}";
	json_t *j = http_body_parse(body, sizeof(body) - 1, problem, sizeof(problem));
	cr_assert_null(j);
	cr_assert_str_eq(problem, "a NUL byte at offset 6");
}

Test(http_body, duplicate_keys_are_refused_with_where)
{
	char problem[200];
	const char body[] = "{\"a\":1,\"a\":2}";
	cr_assert_null(http_body_parse(body, sizeof(body) - 1, problem, sizeof(problem)));
	cr_assert(strstr(problem, "line 1") != NULL, "%s", problem);
}
