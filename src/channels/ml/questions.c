/* Questions: the upsert (with the answer and the time to answer), the "questions" fetcher, the
 * reads of the API and answering (questions.h). The search view has no last_updated, so a
 * question's version is its last_updated, else its answer's date, else its creation: answering
 * moves it forward. */
#include "questions.h"
#include "log.h"
#include "data.h"
#include "listing.h"
#include "notifications.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char upsert_sql[] =
    "WITH doc AS ("
    " SELECT DISTINCT ON ((d->>'id')::bigint) d,"
    "  coalesce(d->>'last_updated', d->'answer'->>'date_created', d->>'date_created')"
    "   ::timestamptz AS version"
    " FROM jsonb_array_elements($3::jsonb) d"
    " WHERE d->>'id' IS NOT NULL AND d->>'date_created' IS NOT NULL"
    " ORDER BY (d->>'id')::bigint, 2 DESC),"
    " up AS ("
    " INSERT INTO ml_questions AS cur (tenant_id, account_id, ml_id, item_ml_id, status, text,"
    "  from_id, date_created, answer_text, answer_status, answered_at, last_updated, raw,"
    "  synced_at)"
    " SELECT $1, $2, (d->>'id')::bigint, d->>'item_id', coalesce(d->>'status', 'UNANSWERED'),"
    "  coalesce(d->>'text', ''), coalesce((d->'from'->>'id')::bigint, (d->>'buyer_id')::bigint),"
    "  (d->>'date_created')::timestamptz, d->'answer'->>'text', d->'answer'->>'status',"
    "  (d->'answer'->>'date_created')::timestamptz, version, d, now()"
    " FROM doc"
    " ON CONFLICT (tenant_id, account_id, ml_id) DO UPDATE SET item_ml_id = excluded.item_ml_id,"
    "  status = excluded.status, text = excluded.text, from_id = excluded.from_id,"
    "  date_created = excluded.date_created, answer_text = excluded.answer_text,"
    "  answer_status = excluded.answer_status, answered_at = excluded.answered_at,"
    "  last_updated = excluded.last_updated, raw = excluded.raw, synced_at = excluded.synced_at"
    " WHERE excluded.last_updated >= cur.last_updated"
    " RETURNING 1)"
    " SELECT count(*) FROM up";

void ml_questions_upsert(app_t *app, const char *tenant_id, const char *account_id,
			 const char *docs, ml_store_cb cb, void *arg)
{
	const char *params[] = {tenant_id, account_id, docs};
	ml_store_run(app, upsert_sql, 3, params, cb, arg);
}

static void fetch_question(struct app *app, const ml_notice_t *n, ml_notice_done_fn done, void *arg)
{
	char id[20];
	if (!ml_resource_id(n->resource, "/questions/", true, 19, id, sizeof(id))) {
		done(NULL, false, "not a question resource", arg);
		return;
	}
	char path[64];
	snprintf(path, sizeof(path), "/questions/%s?api_version=4", id);
	ml_fetch_one(app, n->tenant_id, n->account_id, path, ml_questions_upsert, done, arg);
}

void ml_questions_register_fetcher(void)
{
	notifications_register_topic("questions", fetch_question);
}

/* --- the API's reads ------------------------------------------------------------------------- */

// clang-format off
#define QUESTION_JSON                                                                              \
	"json_build_object('id', q.id, 'accountId', q.account_id, 'mlQuestionId', q.ml_id,"        \
	" 'itemId', q.item_ml_id, 'status', q.status, 'text', q.text, 'fromId', q.from_id,"        \
	" 'dateCreated', " SQL_TS("q.date_created") ","                                            \
	" 'answer', CASE WHEN q.answer_text IS NULL THEN NULL ELSE json_build_object("             \
	"   'text', q.answer_text, 'status', q.answer_status,"                                     \
	"   'dateCreated', " SQL_TS("q.answered_at") ") END,"                                      \
	" 'timeToAnswer', q.answer_seconds, 'lastUpdated', " SQL_TS("q.last_updated") ")"

#define QUESTION_FILTERS                                                                           \
	" WHERE q.tenant_id = $1 AND ($2::uuid IS NULL OR q.account_id = $2::uuid)"                \
	" AND ($3::text IS NULL OR q.status = upper($3))"                                          \
	" AND ($4::text IS NULL OR q.item_ml_id = $4)"

/* The page is chosen first and only its rows are rendered: with stale statistics the planner
 * may otherwise build the JSON of every row of the tenant before sorting. */
static const char page_sql[] =
    "SELECT " QUESTION_JSON "::text, q.date_created::text, q.id"
    " FROM (SELECT q.* FROM ml_questions q" QUESTION_FILTERS
    " AND ($5::timestamptz IS NULL OR (q.date_created, q.id) < ($5::timestamptz, $6::uuid))"
    " ORDER BY q.date_created DESC, q.id DESC LIMIT $7 OFFSET $8) q"
    " ORDER BY q.date_created DESC, q.id DESC";

static const char count_sql[] = "SELECT count(*) FROM ml_questions q" QUESTION_FILTERS;

void ml_questions_list(app_t *app, const ml_questions_filter_t *f, paging_cb cb, void *arg)
{
	const char *p[] = {f->tenant_id,  f->account_id, f->status, f->item_id,
			   f->cursor_key, f->cursor_id,	 f->limit,  f->offset};
	pg_stmt_t stmts[] = {{page_sql, 8, p}, {count_sql, 4, p}};
	paging_read(app->pg, stmts, cb, arg);
}

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
    " 'oldestUnanswered', " SQL_TS("min(date_created) FILTER (WHERE status = 'UNANSWERED')") ")"
    "::text FROM ml_questions"
    " WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)";
// clang-format on

void ml_questions_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg)
{
	const char *params[] = {id, tenant_id};
	pg_query_prepared(app->pg, get_sql, 2, params, cb, arg);
}

void ml_questions_stats(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb,
			void *arg)
{
	const char *params[] = {tenant_id, account_id};
	pg_query_prepared(app->pg, stats_sql, 2, params, cb, arg);
}

/* --- answering ------------------------------------------------------------------------------- */

typedef struct answer {
	app_t *app;
	char *tenant_id, *account_id;
	ml_cb cb;
	void *arg;
} answer_t;

static void answer_free(answer_t *a)
{
	free(a->tenant_id);
	free(a->account_id);
	free(a);
}

static void answer_stored(const char *err, long written, void *arg)
{
	answer_t *a = arg;
	if (err)
		log_warn("questions: storing an answer failed: %s", err);
	ml_result_t ok = {.err = ML_OK};
	a->cb(&ok, a->arg);
	answer_free(a);
}

static void answer_posted(const ml_result_t *res, void *arg)
{
	answer_t *a = arg;
	if (res->err != ML_OK) {
		a->cb(res, a->arg);
		answer_free(a);
		return;
	}
	json_t *arr = json_pack("[O]", res->body);
	char *docs = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	ml_questions_upsert(a->app, a->tenant_id, a->account_id, docs, answer_stored, a);
	free(docs);
}

void ml_questions_answer(app_t *app, const char *tenant_id, const char *account_id,
			 long long ml_question_id, const char *text, ml_cb cb, void *arg)
{
	answer_t *a = xcalloc(1, sizeof(*a));
	a->app = app;
	a->tenant_id = xstrdup(tenant_id);
	a->account_id = xstrdup(account_id);
	a->cb = cb;
	a->arg = arg;
	json_t *body =
	    json_pack("{s:I, s:s}", "question_id", (json_int_t)ml_question_id, "text", text);
	char *json = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	ml_account_post(app, account_id, ML_SYNC_OP, "/answers", json, answer_posted, a);
	free(json);
}
