/* The API envelope of API.md: success and error shapes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>

#include "http.h"

static json_t *parse(char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	free(s);
	cr_assert_not_null(j, "not JSON: %s", e.text);
	return j;
}

Test(envelope, success_with_data_and_message)
{
	json_t *j = parse(envelope_ok(json_pack("{s:i}", "n", 3), "done"));
	cr_assert(json_is_true(json_object_get(j, "success")));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "data"), "n")), 3);
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")), "done");
	json_decref(j);
}

Test(envelope, success_without_message_has_no_message_key)
{
	json_t *j = parse(envelope_ok(NULL, NULL));
	cr_assert(json_is_null(json_object_get(j, "data")));
	cr_assert_null(json_object_get(j, "message"));
	json_decref(j);
}

Test(envelope, error_has_code_message_and_details)
{
	json_t *details = http_problem(NULL, "email", "must be an email address");
	http_problem(details, "password", "must have at least 8 characters");
	json_t *j = parse(envelope_error("VALIDATION_FAILED", "Bad input.", details));
	cr_assert(json_is_false(json_object_get(j, "success")));
	cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "VALIDATION_FAILED");
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")), "Bad input.");
	json_t *d = json_object_get(j, "details");
	cr_assert_eq(json_array_size(d), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(d, 1), "field")),
			 "password");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(d, 0), "problem")),
			 "must be an email address");
	json_decref(j);
}

Test(envelope, error_without_details_has_empty_array)
{
	json_t *j = parse(envelope_error("NOT_FOUND", "No such resource.", NULL));
	cr_assert(json_is_array(json_object_get(j, "details")));
	cr_assert_eq(json_array_size(json_object_get(j, "details")), 0);
	json_decref(j);
}

Test(envelope, strings_are_escaped)
{
	json_t *j = parse(envelope_error("X", "quote \" and \n newline", NULL));
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")),
			 "quote \" and \n newline");
	json_decref(j);
}
