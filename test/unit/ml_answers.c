/* Reading Mercado Livre's answers and notifications' resources: the pure parts the fuzz
 * harnesses cover (test/fuzz/fuzz_ml_answers.c, fuzz_ml_resources.c), with what they found. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "channels/ml/notifications.h"
#include "channels/ml/plan.h"

/* Ids longer than the old fixed 24 bytes each made the list's length run past its buffer
 * (snprintf's would-be length was added up), writing out of bounds on the stack. */
Test(ml_answers, multiget_lists_skip_what_is_not_an_item_id)
{
	json_t *ids = json_array();
	char longid[200];
	memset(longid, '9', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	for (int i = 0; i < 25; i++)
		json_array_append_new(ids, json_string(longid));
	json_array_append_new(ids, json_string("MLB1"));
	json_array_append_new(ids, json_integer(7));
	json_array_append_new(ids, json_string("MLB2?x=1"));
	json_array_append_new(ids, json_string("MLB3"));
	size_t next = 0;
	char buf[ML_MULTIGET_BUF];
	cr_assert_eq(ml_multiget_list(ids, &next, buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "MLB1,MLB3");
	cr_assert_eq(ml_multiget_list(ids, &next, buf, sizeof(buf)), 0);
	json_decref(ids);
}

Test(ml_answers, multiget_lists_hold_twenty)
{
	json_t *ids = json_array();
	for (int i = 0; i < 45; i++)
		json_array_append_new(ids, json_sprintf("MLB%020d", i));
	size_t next = 0, lists = 0, n;
	char buf[ML_MULTIGET_BUF];
	while ((n = ml_multiget_list(ids, &next, buf, sizeof(buf))) > 0) {
		cr_assert_leq(n, MULTIGET);
		lists++;
	}
	cr_assert_eq(lists, 3);
	json_decref(ids);
}

/* A total of 2^63 - 1 made the window split's arithmetic overflow and queued a page per 51. */
Test(ml_answers, totals_are_believed_up_to_a_bound)
{
	json_t *big = json_integer(INT64_MAX), *neg = json_integer(-5), *s = json_string("9");
	cr_assert_eq(ml_answer_total(big), ML_TOTAL_MAX);
	cr_assert_eq(ml_answer_total(neg), 0);
	cr_assert_eq(ml_answer_total(s), 0);
	cr_assert_eq(ml_answer_total(NULL), 0);
	json_decref(big);
	json_decref(neg);
	json_decref(s);
}

Test(ml_answers, resource_ids)
{
	char id[48];
	cr_assert(ml_resource_id("/items/MLB123", "/items/", false, 40, id, sizeof(id)));
	cr_assert_str_eq(id, "MLB123");
	cr_assert_not(ml_resource_id("/items/MLB1?x=/", "/items/", false, 40, id, sizeof(id)));
	cr_assert_not(ml_resource_id("/items/MLB%2F1", "/items/", false, 40, id, sizeof(id)));
	cr_assert_not(ml_resource_id("items/MLB1", "/items/", false, 40, id, sizeof(id)));
	cr_assert(ml_resource_id("/orders/2000008000001", "/orders/", true, 19, id, sizeof(id)));
	cr_assert_not(
	    ml_resource_id("/orders/12345678901234567890", "/orders/", true, 19, id, sizeof(id)));
	cr_assert(ml_resource_id("/post-purchase/v1/claims/77", NULL, true, 19, id, sizeof(id)));
	cr_assert_str_eq(id, "77");
	cr_assert(ml_resource_id("77", NULL, true, 19, id, sizeof(id)));
	cr_assert_not(ml_resource_id("/claims/", NULL, true, 19, id, sizeof(id)));
	cr_assert_not(ml_resource_id("/shipments/1 2", "/shipments/", true, 19, id, sizeof(id)));
}
