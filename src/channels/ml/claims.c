/* Claims (post-purchase): the upsert and the fetcher for the "post_purchase" / "claims" topics,
 * whose resource names the claim (/post-purchase/v1/claims/{id}, or just its id). */
#include "log.h"
#include "data.h"
#include "notifications.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char upsert_sql[] =
    "WITH doc AS ("
    " SELECT DISTINCT ON ((d->>'id')::bigint) d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE d->>'id' IS NOT NULL"
    " ORDER BY (d->>'id')::bigint, coalesce(d->>'last_updated', d->>'date_created') DESC),"
    " up AS ("
    " INSERT INTO ml_claims AS cur (tenant_id, account_id, ml_id, resource, resource_id, type,"
    "  stage, status, reason_id, date_created, last_updated, raw, synced_at)"
    " SELECT $1, $2, (d->>'id')::bigint, d->>'resource', (d->>'resource_id')::bigint,"
    "  d->>'type', d->>'stage', coalesce(d->>'status', 'opened'), d->>'reason_id',"
    "  (d->>'date_created')::timestamptz,"
    "  coalesce(d->>'last_updated', d->>'date_created', now()::text)::timestamptz, d, now()"
    " FROM doc"
    " ON CONFLICT (tenant_id, account_id, ml_id) DO UPDATE SET resource = excluded.resource,"
    "  resource_id = excluded.resource_id, type = excluded.type, stage = excluded.stage,"
    "  status = excluded.status, reason_id = excluded.reason_id,"
    "  date_created = excluded.date_created, last_updated = excluded.last_updated,"
    "  raw = excluded.raw, synced_at = excluded.synced_at"
    " WHERE excluded.last_updated >= cur.last_updated"
    " RETURNING 1)"
    " SELECT count(*) FROM up";

void ml_claims_upsert(app_t *app, const char *tenant_id, const char *account_id, const char *docs,
		      ml_store_cb cb, void *arg)
{
	const char *params[] = {tenant_id, account_id, docs};
	ml_store_run(app, upsert_sql, 3, params, cb, arg);
}

static void fetch_claim(struct app *app, const ml_notice_t *n, ml_notice_done_fn done, void *arg)
{
	char id[20];
	if (!ml_resource_id(n->resource, NULL, true, 19, id, sizeof(id))) {
		done(NULL, false, "not a claim resource", arg);
		return;
	}
	char path[80];
	snprintf(path, sizeof(path), "/post-purchase/v1/claims/%s", id);
	ml_fetch_one(app, n->tenant_id, n->account_id, path, ml_claims_upsert, done, arg);
}

void ml_claims_register_fetcher(void)
{
	notifications_register_topic("post_purchase", fetch_claim);
	notifications_register_topic("claims", fetch_claim);
}
