/* The tenant's synced Mercado Livre questions (ml_questions) as the API reads them, and
 * answering one. Every statement filters by the tenant. The upsert and the notification fetcher
 * are data.h's. */
#ifndef SH_ML_QUESTIONS_H
#define SH_ML_QUESTIONS_H

#include <libpq-fe.h>

#include "app.h"
#include "client.h"
#include "paging.h"
#include "pg.h"

/* Which of the tenant's questions: account, status (any case) and item may be NULL (any); the
 * keyset cursor (date_created text, id) or NULL; limit and offset as text. */
typedef struct ml_questions_filter {
	const char *tenant_id, *account_id, *status, *item_id;
	const char *cursor_key, *cursor_id, *limit, *offset;
} ml_questions_filter_t;
/* A page of them, newest first (date_created, then id), and the count of every page
 * (paging.h). Rows: the question as JSON text, its date_created as text, its id. */
void ml_questions_list(app_t *app, const ml_questions_filter_t *f, paging_cb cb, void *arg);

/* Columns of ml_questions_get's row. */
enum ml_question_col {
	ML_QUESTION_JSON,	/* the question as the API renders it (JSON text) */
	ML_QUESTION_ACCOUNT_ID, /* the account it was asked of */
	ML_QUESTION_ML_ID,	/* Mercado Livre's id of it (bigint text) */
	ML_QUESTION_ANSWERED,	/* answered, or no longer UNANSWERED */
};

/* The tenant's question id: one row (enum ml_question_col), none when it has none such. */
void ml_questions_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg);
/* Answer-time statistics of the tenant's (or one account's, account_id not NULL) questions:
 * one row whose one column is their JSON {total, unanswered, answered, answeredWithin1h,
 * answeredWithin24h, medianTimeToAnswer, p90TimeToAnswer, oldestUnanswered}. */
void ml_questions_stats(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb,
			void *arg);
/* Publish text as the answer to question ml_question_id on Mercado Livre as the account, then
 * store what Mercado Livre answers (a failure to store is logged: the next sync or notification
 * stores it). cb gets the outcome: only res->err and res->message (no body). */
void ml_questions_answer(app_t *app, const char *tenant_id, const char *account_id,
			 long long ml_question_id, const char *text, ml_cb cb, void *arg);

#endif
