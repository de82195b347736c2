/* Amazon's sync plan: what the sync engine (sync_engine.h) fetches for an Amazon account.
 *
 * A backfill reads orders from one report instead of thousands of getOrders pages (getOrders is
 * one call a minute): createReport → getReport until DONE → getReportDocument → the document
 * (gzip or plain), read on a worker thread (report.h) and stored in chunks. The listings come
 * from GET_MERCHANT_LISTINGS_ALL_DATA the same way, and FBA stock from the inventory summaries.
 * A scheduled sync asks getOrders for what changed since the last one, with each order's lines
 * from getOrderItems. */
#include "plan.h"
#include "amazon.h"
#include "client.h"
#include "data.h"
#include "log.h"
#include "report.h"
#include "util.h"
#include "workers.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_ORDERS, R_ITEMS, R_INVENTORY, R_FINANCES, R_PRICING, R_CATALOG, R_N };

#define REPORT_POLL_MS	   500		/* getReport allows 2/s */
#define REPORT_MAX_BYTES   (256u << 20) /* a gzip document of a large seller */
#define REPORT_RETRIES	   1		/* a FATAL or CANCELLED-with-error report: once more */
#define ORDERS_PAGE	   100
#define INCREMENT_BACK_S   3600 /* a scheduled sync asks for an hour more than it missed */
#define UPDATED_BEFORE_LAG 180	/* LastUpdatedBefore must be 2 minutes before now */

static const char *const report_types[R_N] = {
    [R_ORDERS] = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
    [R_ITEMS] = "GET_MERCHANT_LISTINGS_ALL_DATA",
};

/* One report of a run: its download, read on a worker. */
typedef struct report_job {
	sync_task_t *t;
	app_t *app;
	enum amazon_report_kind kind;
	char *data;
	size_t len;
	amazon_report_t out;
	size_t next; /* next chunk to store */
	long written;
	char err[200];
	void *store; /* sync_task_storing's handle */
} report_job_t;

typedef struct plan_run {
	sync_run_t *run;
	const char *region;	    /* settings.region */
	char marketplace[32];	    /* settings.marketplaceIds[0] */
	char *marketplaces_csv;	    /* all of them, for getOrders */
	int report_attempts[R_N];   /* createReport calls per resource */
	report_job_t *reading[R_N]; /* a document being read */
	char *downloaded[R_N];	    /* the last download of each resource, for its step */
	size_t downloaded_len[R_N];
	bool finances_started;
	/* A backfill's orders come in a report: until it is stored, the events read are held
	 * (data.h) and released after, when no hold is still being written. */
	bool orders_pending, released;
	int holds;
	bool skus_asked, listed; /* the SKUs asked for, and read, for pricing and catalog */
} plan_run_t;

static plan_run_t *state(const sync_run_t *run)
{
	return sync_run_state(run);
}

static const sync_step_t create_step[R_N], poll_step[R_N], document_step[R_N], download_step[R_N],
    orders_step, order_items_step, inventory_step, finances_step, pricing_step, catalog_step;
static void listed(sync_run_t *run);

static void finances_start(sync_run_t *run);
static void orders_over(sync_run_t *run);
static void held(const char *err, long written, void *store);

/* --- calls ------------------------------------------------------------------------------- */

static enum sync_outcome outcome(enum channel_err e)
{
	switch (e) {
	case CHANNEL_OK:
		return SYNC_OK;
	case CHANNEL_ERR_RATE_LIMITED:
	case CHANNEL_ERR_TRANSIENT:
		return SYNC_AGAIN;
	case CHANNEL_ERR_NOT_FOUND:
		return SYNC_NOT_FOUND;
	case CHANNEL_ERR_INVALID_GRANT:
	case CHANNEL_ERR_EXPIRED:
	case CHANNEL_ERR_UNAUTHORIZED:
	case CHANNEL_ERR_CONFIG:
		return SYNC_FATAL;
	default:
		return SYNC_FAILED;
	}
}

static void answered(const amazon_result_t *res, void *arg)
{
	sync_answer_t a = {.outcome = outcome(res->err),
			   .status = res->status,
			   .message = res->message,
			   .body = res->body};
	sync_task_answered(arg, &a);
}

static int resource_of(const sync_task_t *t)
{
	return t->step->resource;
}

static const char *op_of(const sync_task_t *t)
{
	const sync_step_t *s = t->step;
	int r = s->resource;
	if (s == &create_step[r])
		return "createReport";
	if (s == &poll_step[r])
		return "getReport";
	if (s == &document_step[r])
		return "getReportDocument";
	if (s == &orders_step)
		return "getOrders";
	if (s == &order_items_step)
		return "getOrderItems";
	if (s == &finances_step)
		return "listFinancialEvents";
	if (s == &pricing_step)
		return "getPricing";
	if (s == &catalog_step)
		return "searchCatalogItems";
	return "getInventorySummaries";
}

static void downloaded(const httpc_response_t *resp, void *arg)
{
	sync_task_t *t = arg;
	plan_run_t *st = state(t->run);
	int r = resource_of(t);
	char msg[200];
	sync_answer_t a = {.outcome = SYNC_OK, .status = resp->status};
	if (resp->error) {
		snprintf(msg, sizeof(msg), "downloading the report failed (%s)", resp->error);
		a.outcome = resp->err == HTTPC_ERR_TOO_LARGE ? SYNC_FAILED : SYNC_AGAIN;
		a.message = msg;
	} else if (resp->status != 200) {
		/* The URL lives 5 minutes: a refused one is asked for again (the step's failed). */
		snprintf(msg, sizeof(msg), "downloading the report answered %ld", resp->status);
		a.outcome = resp->status >= 500 ? SYNC_AGAIN : SYNC_FAILED;
		a.message = msg;
	} else {
		log_info("sync %s: %s document downloaded: %zu bytes", sync_run_info(t->run)->id,
			 report_types[r], resp->body_len);
		free(st->downloaded[r]);
		st->downloaded[r] = xmalloc(resp->body_len + 1);
		memcpy(st->downloaded[r], resp->body, resp->body_len);
		st->downloaded_len[r] = resp->body_len;
	}
	sync_task_answered(t, &a);
}

static void get(sync_task_t *t, const char *path)
{
	sync_run_t *run = t->run;
	plan_run_t *st = state(run);
	const sync_run_info_t *in = sync_run_info(run);
	int r = resource_of(t);
	if (t->step == &download_step[r]) {
		amazon_download(sync_run_app(run), t->token, REPORT_MAX_BYTES, downloaded, t);
		return;
	}
	char *body = NULL;
	if (t->step == &create_step[r]) {
		char since[40];
		iso8601_utc(wall_ms() - (int64_t)(in->days > 0 ? in->days : 30) * 86400000, since,
			    sizeof(since));
		json_t *b = json_pack("{s:s, s:[s]}", "reportType", report_types[r],
				      "marketplaceIds", st->marketplace);
		if (r == R_ORDERS)
			json_object_set_new(b, "dataStartTime", json_string(since));
		body = json_dumps(b, JSON_COMPACT);
		json_decref(b);
	}
	amazon_call(sync_run_app(run), in->account_id, st->region, op_of(t), body ? "POST" : "GET",
		    path, body, answered, t);
	free(body);
}

/* --- reports ----------------------------------------------------------------------------- */

static void report_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "/reports/2021-06-30/reports");
}

static void poll_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "/reports/2021-06-30/reports/%s", t->token);
}

static void document_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "/reports/2021-06-30/documents/%s", t->token);
}

static void no_path(const sync_task_t *t, char *buf, size_t size)
{
	buf[0] = '\0'; /* the download's URL is its token */
}

static void push_with_token(sync_run_t *run, const sync_step_t *step, const char *token)
{
	sync_task_t *n = sync_task_new(run, step, NULL);
	n->token = xstrdup(token);
	sync_task_push(n, true);
}

static void report_create(sync_run_t *run, int r)
{
	state(run)->report_attempts[r]++;
	sync_task_push(sync_task_new(run, &create_step[r], NULL), false);
}

static void created(sync_task_t *t, json_t *body)
{
	const char *id = json_string_value(json_object_get(body, "reportId"));
	if (!id) {
		sync_task_fail(t, "createReport answered without a reportId");
		return;
	}
	push_with_token(t->run, &poll_step[resource_of(t)], id);
	sync_task_end(t);
}

static void polled(sync_task_t *t, json_t *body)
{
	sync_run_t *run = t->run;
	int r = resource_of(t);
	const char *status = json_string_value(json_object_get(body, "processingStatus"));
	const char *doc = json_string_value(json_object_get(body, "reportDocumentId"));
	if (status && (!strcmp(status, "IN_QUEUE") || !strcmp(status, "IN_PROGRESS"))) {
		sync_task_later(t, REPORT_POLL_MS);
		return;
	}
	if (status && !strcmp(status, "DONE") && doc) {
		push_with_token(run, &document_step[r], doc);
		sync_task_end(t);
		return;
	}
	if (status && !strcmp(status, "CANCELLED") && !doc) {
		/* Amazon cancels a report that has no data: nothing to store. */
		if (r == R_ORDERS)
			orders_over(run);
		sync_task_end(t);
		return;
	}
	if (state(run)->report_attempts[r] <= REPORT_RETRIES) {
		log_warn("sync %s: report %s ended %s: asking for it again", sync_run_info(run)->id,
			 t->token, status ? status : "(no status)");
		report_create(run, r);
		sync_task_end(t);
		return;
	}
	char msg[160];
	snprintf(msg, sizeof(msg), "the %s report ended %s twice", report_types[r],
		 status ? status : "without a status");
	sync_task_fail(t, msg);
}

static void documented(sync_task_t *t, json_t *body)
{
	const char *url = json_string_value(json_object_get(body, "url"));
	if (!url) {
		sync_task_fail(t, "getReportDocument answered without a url");
		return;
	}
	push_with_token(t->run, &download_step[resource_of(t)], url);
	sync_task_end(t);
}

static void chunk_stored(const char *err, long written, void *arg);

static void store_next(report_job_t *j)
{
	sync_run_t *run = j->t->run;
	const sync_run_info_t *in = sync_run_info(run);
	if (j->err[0] || j->next == j->out.n_chunks) {
		plan_run_t *st = state(run);
		int r = resource_of(j->t);
		st->reading[r] = NULL;
		if (r == R_ORDERS)
			orders_over(run); /* a failed store releases what is stored */
		if (r == R_ITEMS && !j->err[0])
			listed(run);
		if (j->out.bad)
			log_warn("sync %s: %s: %ld of %ld rows malformed, skipped", in->id,
				 report_types[r], j->out.bad, j->out.rows);
		sync_stored(j->err[0] ? j->err : NULL, j->written, j->store);
		amazon_report_free(&j->out);
		free(j);
		return;
	}
	sync_upsert_fn fn =
	    j->kind == AMAZON_REPORT_ORDERS ? amazon_orders_upsert : amazon_listings_upsert;
	fn(j->app, in->tenant_id, in->account_id, j->out.chunks[j->next], chunk_stored, j);
}

static void chunk_stored(const char *err, long written, void *arg)
{
	report_job_t *j = arg;
	if (err)
		snprintf(j->err, sizeof(j->err), "%s", err);
	free(j->out.chunks[j->next]);
	j->out.chunks[j->next++] = NULL;
	j->written += written;
	store_next(j);
}

static void read_work(void *arg)
{
	report_job_t *j = arg;
	amazon_report_read(j->kind, j->data, j->len, &j->out);
	free(j->data);
	j->data = NULL;
}

static void read_done(void *arg)
{
	report_job_t *j = arg;
	sync_run_t *run = j->t->run;
	int r = resource_of(j->t);
	sync_res_t *res = sync_run_res(run, r);
	res->total += j->out.docs;
	if (j->out.error[0]) /* what was read is stored; the error is the resource's */
		snprintf(j->err, sizeof(j->err), "the report document: %s", j->out.error);
	log_info("sync %s: %s read: %ld documents in %zu chunks (%ld rows, %ld malformed)",
		 sync_run_info(run)->id, report_types[r], j->out.docs, j->out.n_chunks, j->out.rows,
		 j->out.bad);
	j->store = sync_task_storing(j->t, j->out.docs);
	sync_run_release(run);
	store_next(j);
}

/* The document is here (downloaded): read it on a worker, then store its chunks. */
static void download_answered(sync_task_t *t, json_t *body)
{
	sync_run_t *run = t->run;
	plan_run_t *st = state(run);
	int r = resource_of(t);
	report_job_t *j = xcalloc(1, sizeof(*j));
	j->t = t;
	j->app = sync_run_app(run);
	j->kind = r == R_ORDERS ? AMAZON_REPORT_ORDERS : AMAZON_REPORT_LISTINGS;
	j->data = st->downloaded[r];
	j->len = st->downloaded_len[r];
	st->downloaded[r] = NULL;
	st->reading[r] = j;
	sync_run_hold(run); /* released when read */
	workers_submit(j->app->workers, read_work, read_done, j);
}

/* A refused download: its URL expired (it lives 5 minutes) before it was fetched. A new report
 * (once): the old document's id is gone with its step. */
static bool download_failed(sync_task_t *t, const sync_answer_t *a)
{
	sync_run_t *run = t->run;
	int r = resource_of(t);
	if (a->status == 403 && state(run)->report_attempts[r] <= REPORT_RETRIES) {
		report_create(run, r);
		sync_task_end(t);
		return true;
	}
	return false;
}

/* --- orders since (scheduled) -------------------------------------------------------------- */

static void orders_path(const sync_task_t *t, char *buf, size_t size)
{
	plan_run_t *st = state(t->run);
	if (t->token) {
		char *e = curl_easy_escape(NULL, t->token, 0);
		snprintf(buf, size, "/orders/v0/orders?MarketplaceIds=%s&NextToken=%s",
			 st->marketplaces_csv, e ? e : "");
		curl_free(e);
		return;
	}
	const sync_run_info_t *in = sync_run_info(t->run);
	int64_t since_ms = in->since > 0
			       ? (in->since - INCREMENT_BACK_S) * 1000
			       : wall_ms() - (int64_t)(in->days > 0 ? in->days : 1) * 86400000;
	char since[40];
	iso8601_utc(since_ms, since, sizeof(since));
	char *e = curl_easy_escape(NULL, since, 0);
	snprintf(buf, size,
		 "/orders/v0/orders?MarketplaceIds=%s&LastUpdatedAfter=%s&MaxResultsPerPage=%d",
		 st->marketplaces_csv, e ? e : "", ORDERS_PAGE);
	curl_free(e);
}

static void orders_answered(sync_task_t *t, json_t *body)
{
	sync_run_t *run = t->run;
	json_t *payload = json_object_get(body, "payload");
	json_t *orders = json_object_get(payload, "Orders");
	const char *next = json_string_value(json_object_get(payload, "NextToken"));
	sync_run_res(run, R_ORDERS)->total += (long long)json_array_size(orders);
	size_t i;
	json_t *o;
	json_array_foreach(orders, i, o)
	{
		if (!json_string_value(json_object_get(o, "AmazonOrderId")))
			continue;
		sync_task_t *n = sync_task_new(run, &order_items_step, NULL);
		n->token = json_dumps(o, JSON_COMPACT);
		sync_task_push(n, false);
	}
	if (next && *next) {
		sync_task_t *n = sync_task_new(run, &orders_step, NULL);
		n->token = xstrdup(next);
		sync_task_push(n, false);
	}
	sync_task_end(t);
}

static void order_items_path(const sync_task_t *t, char *buf, size_t size)
{
	json_t *o = json_loads(t->token, 0, NULL);
	char *e = curl_easy_escape(NULL, json_string_value(json_object_get(o, "AmazonOrderId")), 0);
	snprintf(buf, size, "/orders/v0/orders/%s/orderItems", e ? e : "");
	curl_free(e);
	json_decref(o);
}

static void order_items_answered(sync_task_t *t, json_t *body)
{
	json_t *o = json_loads(t->token, 0, NULL);
	json_t *items = json_object_get(json_object_get(body, "payload"), "OrderItems");
	json_object_set(o, "OrderItems", json_is_array(items) ? items : json_array());
	/* A second page of lines (NextToken) is rare (over 100 lines): noted, not fetched. */
	json_t *docs = json_pack("[o]", o);
	sync_task_store(t, amazon_orders_upsert, docs);
	json_decref(docs);
}

/* --- FBA inventory ------------------------------------------------------------------------- */

static void inventory_path(const sync_task_t *t, char *buf, size_t size)
{
	plan_run_t *st = state(t->run);
	int n = snprintf(buf, size,
			 "/fba/inventory/v1/summaries?details=true&granularityType=Marketplace"
			 "&granularityId=%s&marketplaceIds=%s",
			 st->marketplace, st->marketplace);
	if (t->token && n > 0 && (size_t)n < size) {
		char *e = curl_easy_escape(NULL, t->token, 0);
		snprintf(buf + n, size - (size_t)n, "&nextToken=%s", e ? e : "");
		curl_free(e);
	}
}

static void inventory_answered(sync_task_t *t, json_t *body)
{
	sync_run_t *run = t->run;
	json_t *list = json_object_get(json_object_get(body, "payload"), "inventorySummaries");
	const char *next =
	    json_string_value(json_object_get(json_object_get(body, "pagination"), "nextToken"));
	sync_run_res(run, R_INVENTORY)->total += (long long)json_array_size(list);
	if (next && *next) { /* the token lives 30 s: first in line */
		sync_task_t *n = sync_task_new(run, &inventory_step, NULL);
		n->token = xstrdup(next);
		sync_task_push(n, true);
	}
	sync_task_store(t, amazon_inventory_upsert, list);
}

/* --- financial events -------------------------------------------------------------------- */

#define FINANCES_MAX_DAYS 180 /* a wider window answers nothing (amazon.md 6.1) */
#define POSTED_LAG_S	  180 /* PostedBefore defaults to 2 minutes before now */

static void finances_path(const sync_task_t *t, char *buf, size_t size)
{
	if (t->token) { /* NextToken with the same arguments: only it is needed to follow */
		char *e = curl_easy_escape(NULL, t->token, 0);
		snprintf(buf, size,
			 "/finances/v0/financialEvents?MaxResultsPerPage=100&NextToken=%s",
			 e ? e : "");
		curl_free(e);
		return;
	}
	const sync_run_info_t *in = sync_run_info(t->run);
	int days = in->days > 0 ? in->days : 30;
	if (days > FINANCES_MAX_DAYS)
		days = FINANCES_MAX_DAYS;
	int64_t after_ms = in->scheduled && in->since > 0 ? (in->since - INCREMENT_BACK_S) * 1000
							  : wall_ms() - (int64_t)days * 86400000;
	int64_t latest = wall_ms() - POSTED_LAG_S * 1000;
	if (after_ms > latest - 1000)
		after_ms = latest - 1000;
	char after[40];
	iso8601_utc(after_ms, after, sizeof(after));
	char *e = curl_easy_escape(NULL, after, 0);
	snprintf(buf, size, "/finances/v0/financialEvents?MaxResultsPerPage=100&PostedAfter=%s",
		 e ? e : "");
	curl_free(e);
}

static void add_events(json_t *docs, json_t *list, const char *kind)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	    json_array_append_new(docs, json_pack("{s:s, s:O}", "kind", kind, "event", e));
}

static void finances_answered(sync_task_t *t, json_t *body)
{
	sync_run_t *run = t->run;
	json_t *payload = json_object_get(body, "payload");
	json_t *events = json_object_get(payload, "FinancialEvents");
	const char *next = json_string_value(json_object_get(payload, "NextToken"));
	json_t *docs = json_array();
	add_events(docs, json_object_get(events, "ShipmentEventList"), "shipment");
	add_events(docs, json_object_get(events, "RefundEventList"), "refund");
	add_events(docs, json_object_get(events, "ProductAdsPaymentEventList"), "ads");
	add_events(docs, json_object_get(events, "ServiceFeeEventList"), "service_fee");
	sync_run_res(run, R_FINANCES)->total += (long long)json_array_size(docs);
	if (next && *next) { /* pages may be empty: follow until there is no token */
		sync_task_t *n = sync_task_new(run, &finances_step, NULL);
		n->token = xstrdup(next);
		sync_task_push(n, true);
	}
	plan_run_t *st = state(run);
	if (st->orders_pending && json_array_size(docs)) {
		st->holds++;
		sync_task_store_via(t, amazon_finances_hold, docs, held);
	} else {
		sync_task_store(t, amazon_finances_upsert, docs);
	}
	json_decref(docs);
}

/* The held events go in (once per run); done gets the store's outcome. */
static void release_then(sync_run_t *run, sync_store_cb done)
{
	state(run)->released = true;
	sync_task_t *t = sync_task_new(run, &finances_step, NULL);
	amazon_finances_release(sync_run_app(run), sync_run_info(run)->tenant_id,
				sync_run_info(run)->account_id, done, sync_task_storing(t, 0));
}

static void release(sync_run_t *run)
{
	plan_run_t *st = state(run);
	if (st->orders_pending || st->holds || st->released)
		return;
	release_then(run, sync_stored);
}

static void held(const char *err, long written, void *store)
{
	sync_run_t *run = sync_stored_run(store);
	state(run)->holds--;
	sync_stored(err, written, store);
	release(run);
}

/* The orders report is stored (or is empty, or failed): the held events can go in. */
static void orders_over(sync_run_t *run)
{
	plan_run_t *st = state(run);
	if (!st->orders_pending)
		return;
	st->orders_pending = false;
	release(run);
}

/* --- pricing and catalog: the seller's SKUs, 20 to a call ------------------------------------ */

#define PER_CALL 20 /* getPricing's Skus and searchCatalogItems' identifiers at most */

static void pricing_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "/products/pricing/v0/price?MarketplaceId=%s&ItemType=Sku&Skus=%s",
		 state(t->run)->marketplace, t->token);
}

static void catalog_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size,
		 "/catalog/2022-04-01/items?marketplaceIds=%s&identifiersType=ASIN&identifiers=%s"
		 "&includedData=summaries,salesRanks&pageSize=%d",
		 state(t->run)->marketplace, t->token, PER_CALL);
}

static void pricing_answered(sync_task_t *t, json_t *body)
{
	json_t *docs = json_object_get(body, "payload");
	if (!json_is_array(docs)) {
		sync_task_fail(t, "getPricing answered without a payload list");
		return;
	}
	sync_run_res(t->run, R_PRICING)->total += (long long)json_array_size(docs);
	sync_task_store(t, amazon_pricing_upsert, docs);
}

static void catalog_answered(sync_task_t *t, json_t *body)
{
	json_t *docs = json_object_get(body, "items");
	if (!json_is_array(docs)) {
		sync_task_fail(t, "searchCatalogItems answered without items");
		return;
	}
	sync_run_res(t->run, R_CATALOG)->total += (long long)json_array_size(docs);
	sync_task_store(t, amazon_catalog_upsert, docs);
}

/* Queue one call per PER_CALL values of column col (escaped, comma-separated, NULLs skipped). */
static void queue_batches(sync_run_t *run, const PGresult *res, int col, const sync_step_t *step)
{
	int n = PQntuples(res), k = 0;
	char *csv = NULL;
	size_t len = 0;
	for (int i = 0; i <= n; i++) {
		if (i < n && !PQgetisnull(res, i, col)) {
			char *e = curl_easy_escape(NULL, PQgetvalue(res, i, col), 0);
			size_t el = e ? strlen(e) : 0;
			csv = xrealloc(csv, len + el + 2);
			len +=
			    (size_t)snprintf(csv + len, el + 2, "%s%s", k ? "," : "", e ? e : "");
			curl_free(e);
			k++;
		}
		if (k && (k == PER_CALL || i == n)) {
			sync_task_t *t = sync_task_new(run, step, NULL);
			t->token = csv;
			sync_task_push(t, false);
			csv = NULL;
			len = 0;
			k = 0;
		}
	}
	free(csv);
}

/* A resource this run has to do: wanted, and not done by an earlier attempt of the run. */
static bool to_do(sync_run_t *run, int r)
{
	return sync_run_wants(run, r) && strcmp(sync_run_res(run, r)->state, "done") != 0;
}

static void skus_read(const PGresult *res, const char *err, void *store)
{
	sync_run_t *run = sync_stored_run(store);
	state(run)->listed = true;
	if (!err && !sync_run_stopped(run)) {
		if (to_do(run, R_PRICING)) {
			sync_run_res_start(run, R_PRICING);
			queue_batches(run, res, 0, &pricing_step);
		}
		if (to_do(run, R_CATALOG)) {
			sync_run_res_start(run, R_CATALOG);
			queue_batches(run, res, 1, &catalog_step);
		}
	}
	sync_stored(err, 0, store);
}

/* The listings report is stored: price and describe every SKU the account has. */
static void listed(sync_run_t *run)
{
	plan_run_t *st = state(run);
	if (st->skus_asked || sync_run_stopped(run) ||
	    !(to_do(run, R_PRICING) || to_do(run, R_CATALOG)))
		return;
	st->skus_asked = true;
	sync_task_t *t = sync_task_new(run, &pricing_step, NULL);
	amazon_skus(sync_run_app(run), sync_run_info(run)->tenant_id,
		    sync_run_info(run)->account_id, skus_read, sync_task_storing(t, 0));
}

static bool listed_complete(sync_run_t *run)
{
	return state(run)->listed;
}

/* Pricing and catalog follow the listings report (listed). An attempt resuming a run whose
 * listings an earlier attempt stored has no report to wait for: they start at once. Without
 * this, a run whose pricing or catalog store failed (a deadlock, say) retried its job until
 * the last attempt, each attempt ending at once with nothing done. */
static void listed_begin(sync_run_t *run)
{
	if (!to_do(run, R_ITEMS))
		listed(run);
}

/* --- resources ------------------------------------------------------------------------------ */

/* getOrderItems is one call per order at 0.5/s: only what changed since a known point goes
 * through the API; a first sync, scheduled or not, reads a report. */
static void orders_begin(sync_run_t *run)
{
	if (sync_run_info(run)->scheduled && sync_run_info(run)->since > 0) {
		sync_task_push(sync_task_new(run, &orders_step, NULL), false);
		finances_start(run);
	} else {
		/* The events are read at once (at 0.5/s they are the backfill's longest part) and
		 * held until the report's orders are stored. */
		state(run)->orders_pending = true;
		report_create(run, R_ORDERS);
		finances_start(run);
	}
}

static void items_begin(sync_run_t *run)
{
	report_create(run, R_ITEMS);
}

static void inventory_begin(sync_run_t *run)
{
	sync_task_push(sync_task_new(run, &inventory_step, NULL), false);
}

/* Fees land on stored orders: a backfill reads them at once and holds them until its orders
 * report is stored (orders_over); an increment stores them as they come, its orders being
 * mostly stored already. */
static void finances_start(sync_run_t *run)
{
	plan_run_t *st = state(run);
	if (!sync_run_wants(run, R_FINANCES) || st->finances_started || sync_run_stopped(run))
		return;
	st->finances_started = true;
	sync_run_res_start(run, R_FINANCES);
	sync_task_push(sync_task_new(run, &finances_step, NULL), false);
}

/* An attempt resuming a run whose orders an earlier attempt stored: what that attempt held is
 * released first, then the events are read again (from the first page: they have no cursor)
 * and stored as they come. Released first, an event both held and read again is never written
 * by two statements at once (payments have no key that would stop a second copy). */
static void resume_released(const char *err, long written, void *store)
{
	sync_run_t *run = sync_stored_run(store);
	if (!err)
		finances_start(run); /* before sync_stored, which may end the run */
	sync_stored(err, written, store);
}

/* The events start with the orders (orders_begin), unless an earlier attempt stored those. */
static void finances_begin(sync_run_t *run)
{
	plan_run_t *st = state(run);
	if (to_do(run, R_ORDERS) || st->released)
		return;
	release_then(run, resume_released);
}

static bool finances_complete(sync_run_t *run)
{
	return state(run)->finances_started;
}

static bool always(sync_run_t *run)
{
	return true; /* a resource is complete once none of its calls is left */
}

#define REPORT_STEPS(r) [r] = {r, report_path, created, NULL}

static const sync_step_t create_step[R_N] = {REPORT_STEPS(R_ORDERS), REPORT_STEPS(R_ITEMS)};
static const sync_step_t poll_step[R_N] = {[R_ORDERS] = {R_ORDERS, poll_path, polled, NULL},
					   [R_ITEMS] = {R_ITEMS, poll_path, polled, NULL}};
static const sync_step_t document_step[R_N] = {
    [R_ORDERS] = {R_ORDERS, document_path, documented, NULL},
    [R_ITEMS] = {R_ITEMS, document_path, documented, NULL}};
static const sync_step_t download_step[R_N] = {
    [R_ORDERS] = {R_ORDERS, no_path, download_answered, download_failed},
    [R_ITEMS] = {R_ITEMS, no_path, download_answered, download_failed}};
static const sync_step_t orders_step = {R_ORDERS, orders_path, orders_answered, NULL};
static const sync_step_t order_items_step = {R_ORDERS, order_items_path, order_items_answered,
					     NULL};
static const sync_step_t inventory_step = {R_INVENTORY, inventory_path, inventory_answered, NULL};
static const sync_step_t finances_step = {R_FINANCES, finances_path, finances_answered, NULL};
static const sync_step_t pricing_step = {R_PRICING, pricing_path, pricing_answered, NULL};
static const sync_step_t catalog_step = {R_CATALOG, catalog_path, catalog_answered, NULL};

static const char *const orders_scopes[] = {"orders", NULL};
static const char *const items_scopes[] = {"items", NULL};

static const sync_resource_t resources[R_N] = {
    [R_ORDERS] = {"orders", orders_scopes, false, orders_begin, always},
    [R_ITEMS] = {"items", items_scopes, false, items_begin, always},
    [R_INVENTORY] = {"inventory", items_scopes, false, inventory_begin, always},
    [R_FINANCES] = {"finances", orders_scopes, false, finances_begin, finances_complete},
    [R_PRICING] = {"pricing", items_scopes, false, listed_begin, listed_complete},
    [R_CATALOG] = {"catalog", items_scopes, false, listed_begin, listed_complete},
};

static void *run_new(sync_run_t *run)
{
	plan_run_t *st = xcalloc(1, sizeof(*st));
	st->run = run;
	json_t *settings = sync_run_info(run)->settings;
	st->region = json_string_value(json_object_get(settings, "region"));
	json_t *ids = json_object_get(settings, "marketplaceIds");
	snprintf(st->marketplace, sizeof(st->marketplace), "%s",
		 json_string_value(json_array_get(ids, 0))
		     ? json_string_value(json_array_get(ids, 0))
		     : "");
	size_t cap = 1, i;
	json_t *id;
	json_array_foreach(ids, i, id) cap +=
	    strlen(json_string_value(id) ? json_string_value(id) : "") + 1;
	st->marketplaces_csv = xcalloc(1, cap);
	json_array_foreach(ids, i, id)
	{
		if (i)
			strcat(st->marketplaces_csv, ",");
		strcat(st->marketplaces_csv, json_string_value(id) ? json_string_value(id) : "");
	}
	return st;
}

static void run_free(void *arg)
{
	plan_run_t *st = arg;
	for (int r = 0; r < R_N; r++)
		free(st->downloaded[r]);
	free(st->marketplaces_csv);
	free(st);
}

static const char analyze_sql[] = "ANALYZE listings, orders, order_items";

const sync_plan_t amazon_sync_plan = {
    .resources = resources,
    .n_resources = R_N,
    .run_new = run_new,
    .run_free = run_free,
    .get = get,
    .analyze_sql = analyze_sql,
};
