/* Shipments (the x-format-new view) into the channel-neutral shipments (channel 'ml'): the
 * upsert, the SLA update and the "shipments" fetcher. */
#include "log.h"
#include "data.h"
#include "ml.h"
#include "notifications.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In the new format logistic type and destination are nested (logistic.type,
 * destination.shipping_address); the SLA columns are kept from the stored row. */
static const char upsert_sql[] =
    "WITH doc AS ("
    " SELECT DISTINCT ON (d->>'id') d FROM jsonb_array_elements($3::jsonb) d"
    " WHERE d->>'id' IS NOT NULL AND d->>'last_updated' IS NOT NULL"
    " ORDER BY d->>'id', (d->>'last_updated')::timestamptz DESC),"
    " up AS ("
    " INSERT INTO shipments AS cur (tenant_id, account_id, channel, external_id, status,"
    "  substatus, mode, logistic_type, tracking_number, tracking_method, declared_value, "
    "shipping_cost, currency,"
    "  estimated_delivery, dest_city, dest_state, dest_zip, receiver_name, date_created,"
    "  last_updated, raw, synced_at)"
    " SELECT $1, $2, 'ml', d->>'id', coalesce(d->>'status', 'unknown'), d->>'substatus',"
    "  d->'logistic'->>'mode', coalesce(d->'logistic'->>'type', d->>'logistic_type'),"
    "  d->>'tracking_number', d->>'tracking_method', (d->>'declared_value')::numeric,"
    "  (d->'lead_time'->>'cost')::numeric, d->'lead_time'->>'currency_id',"
    "  (d->'lead_time'->'estimated_delivery_time'->>'date')::timestamptz,"
    "  d->'destination'->'shipping_address'->'city'->>'name',"
    "  d->'destination'->'shipping_address'->'state'->>'name',"
    "  d->'destination'->'shipping_address'->>'zip_code', d->'destination'->>'receiver_name',"
    "  (d->>'date_created')::timestamptz, (d->>'last_updated')::timestamptz, d, now()"
    " FROM doc"
    " ON CONFLICT (tenant_id, account_id, external_id) DO UPDATE SET status = excluded.status,"
    "  substatus = excluded.substatus, mode = excluded.mode,"
    "  logistic_type = excluded.logistic_type, tracking_number = excluded.tracking_number,"
    "  tracking_method = excluded.tracking_method, declared_value = excluded.declared_value,"
    "  shipping_cost = excluded.shipping_cost, currency = excluded.currency,"
    "  estimated_delivery = excluded.estimated_delivery, dest_city = excluded.dest_city,"
    "  dest_state = excluded.dest_state, dest_zip = excluded.dest_zip,"
    "  receiver_name = excluded.receiver_name, date_created = excluded.date_created,"
    "  last_updated = excluded.last_updated, raw = excluded.raw, synced_at = excluded.synced_at"
    " WHERE excluded.last_updated >= cur.last_updated"
    " RETURNING 1)"
    " SELECT count(*) FROM up";

static const char sla_sql[] =
    "WITH up AS (UPDATE shipments SET sla_status = $4::jsonb->>'status',"
    " sla_expected_date = ($4::jsonb->>'expected_date')::timestamptz"
    " WHERE tenant_id = $1 AND account_id = $2 AND external_id = $3 RETURNING 1)"
    " SELECT count(*) FROM up";

void ml_shipments_upsert(app_t *app, const char *tenant_id, const char *account_id,
			 const char *docs, ml_store_cb cb, void *arg)
{
	const char *params[] = {tenant_id, account_id, docs};
	ml_store_run(app, upsert_sql, 3, params, cb, arg);
}

void ml_shipments_sla(app_t *app, const char *tenant_id, const char *account_id,
		      const char *shipment_id, const char *sla_doc, ml_store_cb cb, void *arg)
{
	const char *params[] = {tenant_id, account_id, shipment_id, sla_doc};
	ml_store_run(app, sla_sql, 4, params, cb, arg);
}

static void fetch_shipment(struct app *app, const ml_notice_t *n, ml_notice_done_fn done, void *arg)
{
	char id[20];
	if (!ml_resource_id(n->resource, "/shipments/", true, 19, id, sizeof(id))) {
		done(NULL, false, "not a shipment resource", arg);
		return;
	}
	char path[48];
	snprintf(path, sizeof(path), "/shipments/%s", id);
	ml_fetch_one(app, n->tenant_id, n->account_id, path, ml_shipments_upsert, done, arg);
}

/* POST /api/shipments/:id/sync of one of ours: the shipment, then its SLA. Owned by itself;
 * freed after done. */
typedef struct resync {
	app_t *app;
	char tenant_id[40], account_id[40], id[24];
	channel_resync_cb done;
	void *arg;
} resync_t;

static void resync_end(resync_t *s, const char *code, const char *error)
{
	s->done(code, error, s->arg);
	free(s);
}

static void resync_sla_stored(const char *err, long written, void *arg)
{
	(void)written;
	if (err)
		log_warn("shipments: storing an SLA failed: %s", err);
	resync_end(arg, NULL, NULL);
}

static void resync_sla_got(const ml_result_t *res, void *arg)
{
	resync_t *s = arg;
	if (res->err != ML_OK) {
		resync_end(s, NULL,
			   NULL); /* the shipment itself is fresh; no SLA (404) is common */
		return;
	}
	char *doc = json_dumps(res->body, JSON_COMPACT);
	ml_shipments_sla(s->app, s->tenant_id, s->account_id, s->id, doc, resync_sla_stored, s);
	free(doc);
}

static void resync_fetched(const char *err, bool retry, const char *note, void *arg)
{
	(void)retry;
	(void)note;
	resync_t *s = arg;
	if (err) {
		resync_end(s, "ML_UNAVAILABLE", err);
		return;
	}
	char path[64];
	snprintf(path, sizeof(path), "/shipments/%s/sla", s->id);
	ml_account_get(s->app, s->account_id, ML_SYNC_OP, path, resync_sla_got, s);
}

void ml_shipments_resync(struct app *app, const char *tenant_id, const char *account_id,
			 const char *external_id, channel_resync_cb done, void *arg)
{
	size_t len = strlen(external_id);
	if (len == 0 || len >= sizeof(((resync_t *)0)->id) ||
	    strspn(external_id, "0123456789") != len) {
		done("ML_UNAVAILABLE", "not a Mercado Livre shipment id", arg);
		return;
	}
	resync_t *s = xcalloc(1, sizeof(*s));
	s->app = app;
	snprintf(s->tenant_id, sizeof(s->tenant_id), "%s", tenant_id);
	snprintf(s->account_id, sizeof(s->account_id), "%s", account_id);
	snprintf(s->id, sizeof(s->id), "%s", external_id);
	s->done = done;
	s->arg = arg;
	char path[48];
	snprintf(path, sizeof(path), "/shipments/%s", s->id);
	ml_fetch_one(app, tenant_id, account_id, path, ml_shipments_upsert, resync_fetched, s);
}

void ml_shipments_register_fetcher(void)
{
	notifications_register_topic("shipments", fetch_shipment);
}
