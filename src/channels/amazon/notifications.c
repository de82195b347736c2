/* Amazon's notifications: the intake's side (check one SQS message body, store a group with its
 * job) and the job that applies a group. ORDER_CHANGE refreshes the order (getOrder and
 * getOrderItems) for every tenant holding the seller; FBA_INVENTORY_AVAILABILITY_CHANGES carries
 * the new stock itself, so it is stored without a call. */
#include "notifications.h"
#include "amazon.h"
#include "client.h"
#include "data.h"
#include "jobs.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX 100

/* --- intake ------------------------------------------------------------------------------- */

// clang-format off
static const char insert_sql[] =
    "WITH jid AS (SELECT " JOBS_NEXT_ID " AS id),"
    " ins AS ("
    " INSERT INTO amazon_notifications (notification_id, type, seller_id, resource, body,"
    "  job_id)"
    " SELECT n->>'id', n->>'type', n->>'seller', n->>'resource', (n->>'body')::jsonb, jid.id"
    " FROM jsonb_array_elements($1::jsonb) n, jid"
    " ON CONFLICT (notification_id) DO NOTHING RETURNING id),"
    " job AS (" JOBS_INSERT("id, kind, queue") " SELECT id, '" AMAZON_NOTIFICATIONS_JOB "', $2"
    "  FROM jid WHERE EXISTS (SELECT 1 FROM ins) RETURNING id)"
    " SELECT (SELECT id FROM job), (SELECT count(*) FROM ins)";
// clang-format on

static void *batch_new(void)
{
	return json_array();
}

static void batch_free(void *batch)
{
	json_decref(batch);
}

static size_t batch_count(const void *batch)
{
	return json_array_size(batch);
}

/* A type sellerhub does not subscribe to: acknowledged (SQS would deliver it again), counted,
 * not stored. */
static const channel_reject_t unknown_type = {
    200, "UNKNOWN_TOPIC", "sellerhub does not take this notification type.", true};
static const channel_reject_t invalid = {
    400, "INVALID_NOTIFICATION", "This is not an Amazon notification sellerhub takes.", false};

/* A string of 1..FIELD_MAX characters at path, or NULL with a problem added. */
static const char *text(json_t *v, const char *field, json_t **details)
{
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > FIELD_MAX) {
		*details = http_problem(*details, field, "must be a string of 1 to 100 characters");
		return NULL;
	}
	return s;
}

static const channel_reject_t *add(app_t *app, void *batch, json_t *body, const char *raw,
				   size_t raw_len, json_t **details)
{
	json_t *payload = json_object_get(body, "Payload");
	const char *type = json_string_value(json_object_get(body, "NotificationType"));
	const char *id =
	    text(json_object_get(json_object_get(body, "NotificationMetadata"), "NotificationId"),
		 "NotificationMetadata.NotificationId", details);
	const char *seller = NULL, *resource = NULL;
	if (type && strcmp(type, "ORDER_CHANGE") == 0) {
		json_t *o = json_object_get(payload, "OrderChangeNotification");
		seller = text(json_object_get(o, "SellerId"), "Payload.SellerId", details);
		resource =
		    text(json_object_get(o, "AmazonOrderId"), "Payload.AmazonOrderId", details);
	} else if (type && strcmp(type, "FBA_INVENTORY_AVAILABILITY_CHANGES") == 0) {
		seller = text(json_object_get(payload, "SellerId"), "Payload.SellerId", details);
		resource = text(json_object_get(payload, "SKU"), "Payload.SKU", details);
	} else if (type && !*details) {
		return &unknown_type;
	} else {
		*details = http_problem(*details, "NotificationType", "is required");
	}
	if (*details)
		return &invalid;
	char *copy = strndup(raw, raw_len);
	json_array_append_new(batch, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "type", type,
					       "seller", seller, "resource", resource, "body",
					       copy ? copy : "{}"));
	free(copy);
	return NULL;
}

static void store(app_t *app, void *batch, const char *source, pg_cb cb, void *arg)
{
	char *rows = json_dumps(batch, JSON_COMPACT);
	const char *params[] = {rows, app->cfg.job_queue};
	pg_query_urgent(app->pg, insert_sql, 2, params, cb, arg);
	free(rows);
}

const channel_intake_t amazon_intake = {
    .batch_new = batch_new,
    .batch_free = batch_free,
    .batch_count = batch_count,
    .add = add,
    .store = store,
};

/* --- the job ------------------------------------------------------------------------------ */

/* The group's pending notifications, once per account that holds the seller: a seller two
 * tenants connected is applied for both. Those no account holds are set aside. */
static const char pending_sql[] =
    "WITH none AS (UPDATE amazon_notifications n SET status = 'ignored', processed_at = now(),"
    "  error = 'no connected account holds this seller'"
    "  WHERE n.job_id = $1 AND n.status = 'pending' AND NOT EXISTS (SELECT 1 FROM accounts a"
    "  WHERE a.channel = 'amazon' AND a.external_id = n.seller_id"
    "  AND a.status IN ('active', 'error')))"
    " SELECT n.type, n.resource, n.body->'Payload', a.id, a.tenant_id, a.settings->>'region'"
    " FROM amazon_notifications n JOIN accounts a ON a.channel = 'amazon'"
    "  AND a.external_id = n.seller_id AND a.status IN ('active', 'error')"
    " WHERE n.job_id = $1 AND n.status = 'pending' ORDER BY n.id";

static const char done_sql[] =
    "UPDATE amazon_notifications SET status = $2, error = $3, processed_at = now()"
    " WHERE job_id = $1 AND status = 'pending'";

typedef struct group {
	job_t *job;
	int pending; /* applications in flight */
	bool retry;  /* one failed in a way another attempt may fix */
	char error[200];
} group_t;

/* One notification for one account. */
typedef struct apply {
	group_t *g;
	app_t *app;
	char account[40], tenant[40], region[8];
	json_t *order; /* getOrder's payload, waiting for its lines */
} apply_t;

static void finish(group_t *g);

static void applied(group_t *g, const char *err, bool retry)
{
	if (err && !g->error[0])
		snprintf(g->error, sizeof(g->error), "%s", err);
	if (err && retry)
		g->retry = true;
	if (--g->pending == 0)
		finish(g);
}

static void stored(const char *err, long written, void *arg)
{
	apply_t *a = arg;
	applied(a->g, err, err != NULL);
	json_decref(a->order);
	free(a);
}

static void fail_apply(apply_t *a, const amazon_result_t *res)
{
	bool retry = res->err == CHANNEL_ERR_TRANSIENT || res->err == CHANNEL_ERR_RATE_LIMITED;
	applied(a->g, res->message ? res->message : channel_err_name(res->err), retry);
	json_decref(a->order);
	free(a);
}

static void items_got(const amazon_result_t *res, void *arg)
{
	apply_t *a = arg;
	if (res->err != CHANNEL_OK) {
		fail_apply(a, res);
		return;
	}
	json_t *items = json_object_get(json_object_get(res->body, "payload"), "OrderItems");
	json_object_set(a->order, "OrderItems", json_is_array(items) ? items : json_array());
	json_t *docs = json_pack("[O]", a->order);
	char *text_docs = json_dumps(docs, JSON_COMPACT);
	json_decref(docs);
	amazon_orders_upsert(a->app, a->tenant, a->account, text_docs, stored, a);
	free(text_docs);
}

static void order_got(const amazon_result_t *res, void *arg)
{
	apply_t *a = arg;
	if (res->err == CHANNEL_ERR_NOT_FOUND) { /* not this account's order: nothing to do */
		applied(a->g, NULL, false);
		free(a);
		return;
	}
	if (res->err != CHANNEL_OK) {
		fail_apply(a, res);
		return;
	}
	a->order = json_incref(json_object_get(res->body, "payload"));
	const char *id = json_string_value(json_object_get(a->order, "AmazonOrderId"));
	char *e = curl_easy_escape(NULL, id ? id : "", 0);
	char path[200];
	snprintf(path, sizeof(path), "/orders/v0/orders/%s/orderItems", e ? e : "");
	curl_free(e);
	amazon_call(a->app, a->account, a->region, "getOrderItems", "GET", path, NULL, items_got,
		    a);
}

static void apply_one(group_t *g, const PGresult *res, int i)
{
	apply_t *a = xcalloc(1, sizeof(*a));
	a->g = g;
	a->app = g->job->app;
	snprintf(a->account, sizeof(a->account), "%s", pg_value(res, i, 3));
	snprintf(a->tenant, sizeof(a->tenant), "%s", pg_value(res, i, 4));
	snprintf(a->region, sizeof(a->region), "%s",
		 pg_value(res, i, 5) ? pg_value(res, i, 5) : "");
	g->pending++;
	if (strcmp(pg_value(res, i, 0), "ORDER_CHANGE") == 0) {
		char *e = curl_easy_escape(NULL, pg_value(res, i, 1), 0);
		char path[200];
		snprintf(path, sizeof(path), "/orders/v0/orders/%s", e ? e : "");
		curl_free(e);
		amazon_call(a->app, a->account, a->region, "getOrder", "GET", path, NULL, order_got,
			    a);
		return;
	}
	/* FBA_INVENTORY_AVAILABILITY_CHANGES: the fulfillable quantity of the SKU, as the
	 * inventory summaries would give it. */
	json_t *p = json_loads(pg_value(res, i, 2), 0, NULL);
	json_t *m = json_array_get(json_object_get(p, "FulfillmentInventoryByMarketplace"), 0);
	json_t *inv = json_object_get(m, "FulfillmentInventory");
	json_t *doc = json_pack("[{s:O, s:O, s:O, s:{s:O}}]", "sellerSku",
				json_object_get(p, "SKU"), "asin", json_object_get(p, "ASIN"),
				"productName", json_object_get(m, "ItemName"), "inventoryDetails",
				"fulfillableQuantity", json_object_get(inv, "Fulfillable"));
	json_decref(p);
	char *docs = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	amazon_inventory_upsert(a->app, a->tenant, a->account, docs, stored, a);
	free(docs);
}

static void closed(const PGresult *res, const char *err, void *arg)
{
	group_t *g = arg;
	if (err)
		job_retry(g->job, err, -1);
	else if (g->error[0])
		job_fail(g->job, g->error);
	else
		job_done(g->job, NULL);
	free(g);
}

static void finish(group_t *g)
{
	if (g->retry && !job_is_last_attempt(g->job)) {
		job_retry(g->job, g->error, -1); /* applying again is harmless: upserts */
		free(g);
		return;
	}
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)g->job->id);
	const char *params[] = {id, g->error[0] ? "failed" : "processed",
				g->error[0] ? g->error : NULL};
	pg_query(g->job->app->pg, done_sql, 3, params, closed, g);
}

static void listed(const PGresult *res, const char *err, void *arg)
{
	group_t *g = arg;
	if (err) {
		job_retry(g->job, err, -1);
		free(g);
		return;
	}
	g->pending = 1; /* held until every application has started */
	for (int i = 0; i < PQntuples(res); i++)
		apply_one(g, res, i);
	applied(g, NULL, false);
}

static void run(job_t *job)
{
	group_t *g = xcalloc(1, sizeof(*g));
	g->job = job;
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)job->id);
	const char *params[] = {id};
	pg_query(job->app->pg, pending_sql, 1, params, listed, g);
}

void amazon_notifications_register(app_t *app)
{
	jobs_register(app->jobs, AMAZON_NOTIFICATIONS_JOB, run, JOB_REPLAYABLE);
}
