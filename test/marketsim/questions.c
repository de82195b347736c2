/* Questions and answers (api_version=4): the seller's question search, one question, and
 * POST /answers with its documented checks (only question_id and text, 2000 characters). */
#include "marketsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define ANSWER_MAX_CHARS 2000

static const char *const q_statuses[] = {"ANSWERED", "BANNED",	   "CLOSED_UNANSWERED", "DELETED",
					 "DISABLED", "UNANSWERED", "UNDER_REVIEW"};

json_t *ms_question_single_view(ms_t *ms, const ms_question_t *q)
{
	json_t *v = json_copy(q->json);
	json_object_del(v, "from");
	json_object_set_new(v, "buyer_id", json_integer(q->buyer_id));
	json_object_set_new(v, "app_id", json_null());
	json_object_set_new(v, "last_updated", ms_time_json(q->updated_ms));
	return v;
}

static const ms_question_t *sort_base;
static bool sort_by_item, sort_desc;

static int cmp_questions(const void *a, const void *b)
{
	const ms_question_t *x = &sort_base[*(const size_t *)a],
			    *y = &sort_base[*(const size_t *)b];
	int c = 0;
	if (sort_by_item)
		c = strcmp(json_string_value(json_object_get(x->json, "item_id")),
			   json_string_value(json_object_get(y->json, "item_id")));
	if (c == 0)
		c = x->created_ms != y->created_ms ? (x->created_ms < y->created_ms ? -1 : 1)
						   : (x->id < y->id ? -1 : 1);
	return sort_desc ? -c : c;
}

void h_questions_search(ms_req_t *r)
{
	ms_data_t *d = r->ms->data;
	const char *seller_s = ms_arg(r, "seller_id"), *api = ms_arg(r, "api_version");
	int64_t seller_id;
	if (!seller_s || !ms_parse_id(seller_s, &seller_id)) {
		ms_reply_error(r, 400, "bad_request", "seller_id is required");
		return;
	}
	if (!api || strcmp(api, "4") != 0) {
		ms_reply_error(r, 400, "bad_request", "Only api_version=4 is supported");
		return;
	}
	if (seller_id != r->seller->id) {
		ms_reply_error(r, 403, ms_error_code(403), "caller.id does not match seller_id");
		return;
	}
	const char *status = ms_arg(r, "status");
	if (status) {
		bool ok = false;
		for (size_t i = 0; i < ARRAY_LEN(q_statuses); i++)
			ok |= strcmp(q_statuses[i], status) == 0;
		if (!ok) {
			ms_reply_error(r, 400, "bad_request", "Invalid status: %s", status);
			return;
		}
	}
	const char *item = ms_arg(r, "item") ? ms_arg(r, "item") : ms_arg(r, "item_id");
	const char *from = ms_arg(r, "from");
	int64_t from_id = -1;
	if (from && !ms_parse_id(from, &from_id)) {
		ms_reply_error(r, 400, "bad_request", "Invalid from: %s", from);
		return;
	}
	long limit, offset;
	if (!ms_arg_long(r, "limit", 50, &limit) || !ms_arg_long(r, "offset", 0, &offset))
		return;
	if (limit > 100) {
		ms_reply_error(r, 400, "bad_request", "Limit must be a lower or equal than 100");
		return;
	}
	const char *fields = ms_arg(r, "sort_fields"), *types = ms_arg(r, "sort_types");
	sort_by_item = fields && strncmp(fields, "item_id", 7) == 0;
	sort_desc = !types || strcasecmp(types, "DESC") == 0;

	size_t *ix = xcalloc(d->n_questions ? d->n_questions : 1, sizeof(*ix)), n = 0;
	for (size_t i = 0; i < d->n_questions; i++) {
		const ms_question_t *q = &d->questions[i];
		if (q->seller_id != seller_id)
			continue;
		if (status &&
		    strcmp(json_string_value(json_object_get(q->json, "status")), status) != 0)
			continue;
		if (item &&
		    strcmp(json_string_value(json_object_get(q->json, "item_id")), item) != 0)
			continue;
		if (from && q->buyer_id != from_id)
			continue;
		ix[n++] = i;
	}
	sort_base = d->questions;
	qsort(ix, n, sizeof(*ix), cmp_questions);
	json_t *list = json_array();
	for (size_t i = (size_t)offset; i < n && i < (size_t)offset + (size_t)limit; i++)
		json_array_append(list, d->questions[ix[i]].json);
	free(ix);
	json_t *filters =
	    json_pack("{s:I, s:I, s:s, s:b, s:[], s:I, s:s}", "limit", (json_int_t)limit, "offset",
		      (json_int_t)offset, "api_version", "4", "is_admin", 0, "sorts", "caller",
		      (json_int_t)seller_id, "seller", seller_s);
	if (status)
		json_object_set_new(filters, "status", json_string(status));
	json_t *avail =
	    json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:[s, s, s, s, s, s, s]}]", "id", "item",
		      "name", "Item", "type", "text", "id", "status", "name", "Status", "type",
		      "text", "values", "ANSWERED", "BANNED", "CLOSED_UNANSWERED", "DELETED",
		      "DISABLED", "UNANSWERED", "UNDER_REVIEW");
	ms_reply_json(r, 200,
		      json_pack("{s:I, s:I, s:o, s:o, s:o, s:[s, s, s, s]}", "total", (json_int_t)n,
				"limit", (json_int_t)limit, "questions", list, "filters", filters,
				"available_filters", avail, "available_sorts", "item_id", "from_id",
				"date_created", "seller_id"));
}

static ms_question_t *question_for(ms_req_t *r, int64_t id)
{
	ms_question_t *q = ms_question_find(r->ms->data, id);
	if (!q) {
		ms_reply_error(r, 404, "not_found", "Question %lld not found", (long long)id);
		return NULL;
	}
	if (q->seller_id != r->seller->id) {
		ms_reply_error(r, 403, ms_error_code(403),
			       "The question does not belong to the caller");
		return NULL;
	}
	return q;
}

void h_question_get(ms_req_t *r)
{
	int64_t id;
	if (!ms_parse_id(r->params[0], &id)) {
		ms_reply_error(r, 400, "invalid_question", "Invalid question id");
		return;
	}
	ms_question_t *q = question_for(r, id);
	if (q)
		ms_reply_json(r, 200, ms_question_single_view(r->ms, q));
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void answer(ms_req_t *r, json_t *body)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "question_id") != 0 && strcmp(key, "text") != 0) {
			ms_reply_error(r, 400, "invalid_post_body",
				       "Invalid field %s: only question_id and text are allowed",
				       key);
			return;
		}
	}
	json_t *qid = json_object_get(body, "question_id"), *text = json_object_get(body, "text");
	if (!json_is_integer(qid)) {
		ms_reply_error(r, 400, "invalid_question", "question_id must be an integer");
		return;
	}
	if (!json_is_string(text) || json_string_length(text) == 0) {
		ms_reply_error(r, 400, "invalid_post_body", "text is required");
		return;
	}
	if (utf8_chars(json_string_value(text)) > ANSWER_MAX_CHARS) {
		ms_reply_error(r, 400, "invalid_post_body", "text must have at most %d characters",
			       ANSWER_MAX_CHARS);
		return;
	}
	ms_question_t *q = question_for(r, json_integer_value(qid));
	if (!q)
		return;
	const char *st = json_string_value(json_object_get(q->json, "status"));
	if (strcmp(st, "UNANSWERED") != 0) {
		ms_reply_error(r, 400, "invalid_question",
			       "The question is %s and can not be answered", st);
		return;
	}
	int64_t now = ms_wall_ms(r->ms);
	json_object_set_new(q->json, "status", json_string("ANSWERED"));
	json_object_set_new(q->json, "answer",
			    json_pack("{s:O, s:s, s:o}", "text", text, "status", "ACTIVE",
				      "date_created", ms_time_json(now)));
	q->updated_ms = now;
	ms_reply_json(r, 200, ms_question_single_view(r->ms, q));
	char resource[48];
	snprintf(resource, sizeof(resource), "/questions/%lld", (long long)q->id);
	ms_notify_emit(r->ms, "questions", resource, q->seller_id);
}

void h_answers_post(ms_req_t *r)
{
	json_t *body = ms_body_json(r);
	if (!body) {
		ms_reply_error(r, 400, "invalid_post_body", "The body must be a JSON object");
		return;
	}
	answer(r, body);
	json_decref(body);
}
