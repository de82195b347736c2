/* /api/questions: the synced questions of the caller's tenant, their answer-time stats, and
 * answering one on Mercado Livre (questions.h holds the queries and the answer call). */
#include "api.h"
#include "errors.h"
#include "ml.h"
#include "listing.h"
#include "questions.h"
#include "permissions.h"
#include "validate.h"

#define ANSWER_MAX 2000

static void questions_list(req_t *r)
{
	if (!perm_require(r, "questions.view"))
		return;
	json_t *d = NULL;
	list_req_t l;
	list_parse(r, &l, &d);
	ml_questions_filter_t f = {.tenant_id = r->tenant_id,
				   .account_id = list_uuid_param(r, "accountId", &d),
				   .status = list_text_param(r, "status", 40, &d),
				   .item_id = list_text_param(r, "itemId", 40, &d),
				   .cursor_key = l.cursor_key,
				   .cursor_id = l.cursor_id,
				   .limit = l.limit_s,
				   .offset = l.offset};
	if (d) {
		http_invalid(r, d);
		return;
	}
	ml_questions_list(r->app, &f, list_page_done, list_ctx(r, "questions", &l));
}

static void question_found(const PGresult *res, const char *err, void *arg)
{
	list_one_answer(arg, "question", res, err);
}

static void questions_get(req_t *r)
{
	const char *id;
	if (!perm_require(r, "questions.view") || !(id = list_id(r, "question")))
		return;
	ml_questions_get(r->app, r->tenant_id, id, question_found, r);
}

static void stats_read(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		list_db_error(r, "questions: stats", res, err);
		return;
	}
	list_reply_json(r, pg_value(res, 0, 0));
}

static void questions_stats(req_t *r)
{
	if (!perm_require(r, "questions.view"))
		return;
	json_t *d = NULL;
	const char *account = list_uuid_param(r, "accountId", &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	ml_questions_stats(r->app, r->tenant_id, account, stats_read, r);
}

/* --- answer: validate → the question (tenant) → answer on Mercado Livre → the stored row ----- */

typedef struct answer {
	req_t *r;
	const char *id, *text;
} answer_t;

static void answered_row(const PGresult *res, const char *err, void *arg)
{
	answer_t *a = arg;
	if (err || PQntuples(res) != 1) {
		list_one_answer(a->r, "question", res, err);
		return;
	}
	http_ok(a->r, 200, list_json_cell(res, 0, ML_QUESTION_JSON),
		"Answer published on Mercado Livre");
}

static void answer_published(const ml_result_t *res, void *arg)
{
	answer_t *a = arg;
	req_t *r = a->r;
	if (res->err != ML_OK) {
		ml_error_reply(r, ML_ASK_ANSWER, res->err, "Answering on Mercado Livre failed",
			       res->message);
		return;
	}
	ml_questions_get(r->app, r->tenant_id, a->id, answered_row, a);
}

static void answer_found(const PGresult *res, const char *err, void *arg)
{
	answer_t *a = arg;
	req_t *r = a->r;
	if (err || PQntuples(res) != 1) {
		list_one_answer(r, "question", res, err);
		return;
	}
	if (pg_bool(res, 0, ML_QUESTION_ANSWERED)) {
		http_error(r, 409, "ALREADY_ANSWERED", "This question was already answered.", NULL);
		return;
	}
	ml_questions_answer(r->app, r->tenant_id, pg_value(res, 0, ML_QUESTION_ACCOUNT_ID),
			    pg_int(res, 0, ML_QUESTION_ML_ID, 0), a->text, answer_published, a);
}

json_t *ml_answer_body_check(req_t *r, const char **text)
{
	json_t *d = NULL;
	*text = validate_string(r, "text", V_REQUIRED, ANSWER_MAX, &d, NULL);
	return d;
}

static void questions_answer(req_t *r)
{
	const char *id;
	if (!perm_require(r, "questions.answer") || !(id = list_id(r, "question")))
		return;
	const char *text;
	json_t *d = ml_answer_body_check(r, &text);
	if (d) {
		http_invalid(r, d);
		return;
	}
	answer_t *a = arena_calloc(r->arena, 1, sizeof(*a));
	a->r = r;
	a->id = id;
	a->text = text;
	ml_questions_get(r->app, r->tenant_id, id, answer_found, a);
}

void ml_questions_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/questions", questions_list, ROUTE_AUTH,
		   "Synced questions, newest first (accountId, status, itemId; page/limit or "
		   "cursor)");
	http_route(s, "GET", "/api/questions/stats", questions_stats, ROUTE_AUTH,
		   "Unanswered count, answered within 1 h / 24 h, median and p90 time to answer");
	http_route(s, "GET", "/api/questions/:id", questions_get, ROUTE_AUTH,
		   "One question with its answer");
	http_route(s, "POST", "/api/questions/:id/answer", questions_answer, ROUTE_AUTH,
		   "Answer a question on Mercado Livre (text, 1-2000 characters)");
}
