/* /api/questions: the synced questions of the caller's tenant, their answer-time stats, and
 * answering one: POST to Mercado Livre's /answers, then store what it answers. */
#include "api.h"
#include "errors.h"
#include "ml.h"
#include "listing.h"
#include "log.h"
#include "data.h"
#include "permissions.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

// clang-format off
#define ANSWER_MAX 2000

#define QUESTION_JSON                                                                              \
	"json_build_object('id', q.id, 'accountId', q.account_id, 'mlQuestionId', q.ml_id,"        \
	" 'itemId', q.item_ml_id, 'status', q.status, 'text', q.text, 'fromId', q.from_id,"        \
	" 'dateCreated', " SQL_TS(                                                                 \
	    "q.date_created") ","                                                                  \
			      " 'answer', CASE WHEN q.answer_text IS NULL THEN NULL ELSE "         \
			      "json_build_object("                                                 \
			      "   'text', q.answer_text, 'status', q.answer_status,"               \
			      "   'dateCreated', " SQL_TS(                                         \
				  "q.answered_at") ") END,"                                        \
						   " 'timeToAnswer', q.answer_seconds, "           \
						   "'lastUpdated', " SQL_TS("q.last_updated") ")"

#define QUESTION_FILTERS                                                                           \
	" WHERE q.tenant_id = $1 AND ($2::uuid IS NULL OR q.account_id = $2::uuid)"                \
	" AND ($3::text IS NULL OR q.status = upper($3))"                                          \
	" AND ($4::text IS NULL OR q.item_ml_id = $4)"

/* The page is chosen first and only its rows are rendered: with stale statistics the planner
 * may otherwise build the JSON of every row of the tenant before sorting. */
static const char list_sql[] =
    "SELECT " QUESTION_JSON "::text, q.date_created::text, q.id"
    " FROM (SELECT q.* FROM ml_questions q" QUESTION_FILTERS
    " AND ($5::timestamptz IS NULL OR (q.date_created, q.id) < ($5::timestamptz, $6::uuid))"
    " ORDER BY q.date_created DESC, q.id DESC LIMIT $7 OFFSET $8) q"
    " ORDER BY q.date_created DESC, q.id DESC";

static const char count_sql[] = "SELECT count(*) FROM ml_questions q" QUESTION_FILTERS;

static const char get_sql[] =
    "SELECT " QUESTION_JSON "::text, q.account_id, q.ml_id, q.answer_text IS NOT NULL"
    " OR q.status <> 'UNANSWERED' FROM ml_questions q WHERE q.id = $1 AND q.tenant_id = $2";

/* Times to answer in seconds; answered within 1 h / 24 h count answered questions. */
static const char stats_sql[] =
    "SELECT json_build_object('total', count(*),"
    " 'unanswered', count(*) FILTER (WHERE status = 'UNANSWERED'),"
    " 'answered', count(*) FILTER (WHERE answered_at IS NOT NULL),"
    " 'answeredWithin1h', count(*) FILTER (WHERE answer_seconds <= 3600),"
    " 'answeredWithin24h', count(*) FILTER (WHERE answer_seconds <= 86400),"
    " 'medianTimeToAnswer', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY answer_seconds)"
    "   FILTER (WHERE answer_seconds IS NOT NULL)),"
    " 'p90TimeToAnswer', round(percentile_cont(0.9) WITHIN GROUP (ORDER BY answer_seconds)"
    "   FILTER (WHERE answer_seconds IS NOT NULL)),"
    " 'oldestUnanswered', " SQL_TS(
	"min(date_created) FILTER (WHERE status = 'UNANSWERED')") ")"
								  "::text FROM ml_questions"
								  " WHERE tenant_id = $1 AND "
								  "($2::uuid IS NULL OR account_id "
								  "= $2::uuid)";

// clang-format on

static pg_pool_t *pool(req_t *r)
{
	return ((app_t *)r->app)->pg;
}

static void questions_list(req_t *r)
{
	list_filtered(r, "questions.view", "questions", "status", "itemId", list_sql, count_sql);
}

static void questions_get(req_t *r)
{
	const char *id;
	if (!perm_require(r, "questions.view") || !(id = list_id(r, "question")))
		return;
	const char *p[] = {id, r->tenant_id};
	list_one(r, "question", get_sql, 2, p);
}

static void questions_stats(req_t *r)
{
	list_stats(r, "questions.view", "questions: stats", stats_sql);
}

/* --- answer: validate → the question (tenant) → POST /answers → upsert → the stored row ---- */

typedef struct answer {
	req_t *r;
	const char *id, *text, *account_id;
} answer_t;

static void answered_row(const PGresult *res, const char *err, void *arg)
{
	answer_t *a = arg;
	if (err || PQntuples(res) != 1) {
		list_one_answer(a->r, "question", res, err);
		return;
	}
	http_ok(a->r, 200, list_json_cell(res, 0, 0), "Answer published on Mercado Livre");
}

static void answer_stored(const char *err, long written, void *arg)
{
	answer_t *a = arg;
	if (err) /* Mercado Livre has the answer; the next sync or webhook stores it */
		log_warn("questions: storing an answer failed: %s", err);
	const char *p[] = {a->id, a->r->tenant_id};
	pg_query_prepared(pool(a->r), get_sql, 2, p, answered_row, a);
}

static void answer_posted(const ml_result_t *res, void *arg)
{
	answer_t *a = arg;
	req_t *r = a->r;
	if (res->err == ML_OK) {
		json_t *arr = json_pack("[O]", res->body);
		char *docs = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
		ml_questions_upsert(r->app, r->tenant_id, a->account_id, docs, answer_stored, a);
		free(docs);
		return;
	}
	const char *msg = res->message ? res->message : ml_err_name(res->err);
	if (res->err == ML_ERR_OTHER || res->err == ML_ERR_NOT_FOUND) {
		/* Closed, deleted or already answered there, or text Mercado Livre refuses. */
		http_error(r, 409, "QUESTION_NOT_ANSWERABLE",
			   arena_printf(r->arena, "Mercado Livre refused the answer: %s.", msg),
			   NULL);
		return;
	}
	ml_error_reply(r, res->err, "Answering on Mercado Livre failed", res->message);
}

static void answer_found(const PGresult *res, const char *err, void *arg)
{
	answer_t *a = arg;
	req_t *r = a->r;
	if (err || PQntuples(res) != 1) {
		list_one_answer(r, "question", res, err);
		return;
	}
	if (pg_bool(res, 0, 3)) {
		http_error(r, 409, "ALREADY_ANSWERED", "This question was already answered.", NULL);
		return;
	}
	a->account_id = arena_strdup(r->arena, pg_value(res, 0, 1));
	json_t *body = json_pack("{s:I, s:s}", "question_id", (json_int_t)pg_int(res, 0, 2, 0),
				 "text", a->text);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	ml_account_post(r->app, a->account_id, ML_SYNC_OP, "/answers", text, answer_posted, a);
	free(text);
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
	const char *p[] = {id, r->tenant_id};
	pg_query_prepared(pool(r), get_sql, 2, p, answer_found, a);
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
