/* Questions: the upsert (with the answer and the time to answer) and the "questions" fetcher.
 * The search view has no last_updated, so a question's version is its last_updated, else its
 * answer's date, else its creation: answering moves it forward. */
#include "log.h"
#include "data.h"
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
