/* What a sync run of a Mercado Livre account fetches, as steps of the sync engine; each answer
 * is upserted as it arrives and may add calls (a scan page adds the next page and its
 * multigets, an orders page adds its shipments).
 *
 *   items      search_type=scan (past the 1000-offset cap), ids 20 at a time through /items?ids=
 *   orders     one window of order.date_created (backfill) or order.date_last_updated
 *              (scheduled) over the whole range; a window holding more than WINDOW_MAX orders
 *              is cut into enough whole-hour parts to hold about 3/4 of that each (its first
 *              page told how many), and so on; then 51 per page
 *   shipments  /shipments/{id} (x-format-new) of each order's shipping.id, and the SLA of the
 *              shipments not yet delivered or cancelled
 *   questions  /questions/search by status, 100 per page
 *
 * Cursors: orders resume from the start of the earliest window not completely stored (pages
 * and shipments); questions from the first status not finished; items rescan their ids (cheap)
 * and skip the multiget of those already stored by this run. */
#include "plan.h"
#include "data.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW_MAX     1000 /* orders per window: stays under any offset cap */
#define ORDERS_PAGE    51
#define ITEMS_PAGE     100
#define QUESTIONS_PAGE 100

enum res { R_ITEMS, R_ORDERS, R_SHIPMENTS, R_QUESTIONS, R_N };

static const char *const question_statuses[] = {
    "UNANSWERED", "ANSWERED", "CLOSED_UNANSWERED", "UNDER_REVIEW", "BANNED", "DELETED", "DISABLED"};
#define N_QSTATUS ((int)ARRAY_LEN(question_statuses))

/* A range of orders [from, to) in whole hours; done when every page and shipment is stored
 * (its group drained without a failure). */
typedef struct window {
	sync_group_t group; /* first: the group is the window */
	struct window *next;
	int64_t from, to; /* epoch seconds */
	long total;	  /* -1 until the first page answered */
	bool split;
} window_t;

/* The plan's state of one run. Owned by the run (run_free). */
typedef struct plan_run {
	sync_run_t *run;
	int64_t seller;
	/* items */
	bool rescan; /* the scroll expired: skip what this run stored, as a resumed run does */
	bool scan_done;
	/* orders */
	window_t *windows; /* sorted by from */
	int64_t orders_end;
	bool orders_by_update;
	/* questions: the status being fetched, its pages as one group */
	int q_status;
	sync_group_t q_group;
} plan_run_t;

static const sync_step_t scan_step, items_step, orders_step, shipment_step, sla_step,
    questions_step;

/* On resume: which of these item ids this run has not stored yet. */
static const char unsynced_sql[] =
    "SELECT coalesce(string_agg(x, ','), '') FROM unnest(string_to_array($3, ',')) x"
    " WHERE NOT EXISTS (SELECT 1 FROM listings i WHERE i.tenant_id = $1 AND i.account_id = $2"
    " AND i.external_id = x AND i.synced_at >= $4::timestamptz)";

/* cachedData from the synced tables. */
static const char cached_sql[] =
    "UPDATE accounts a SET"
    " cached_products = (SELECT count(*) FROM listings i WHERE i.account_id = a.id),"
    " cached_orders = (SELECT count(*) FROM orders o WHERE o.account_id = a.id),"
    " cached_issues = (SELECT count(*) FROM ml_questions q WHERE q.tenant_id = a.tenant_id"
    "   AND q.account_id = a.id AND q.status = 'UNANSWERED')"
    "  + (SELECT count(*) FROM ml_claims c WHERE c.tenant_id = a.tenant_id"
    "   AND c.account_id = a.id AND c.status = 'opened'),"
    " cached_at = now() WHERE a.id = $1";

static const char analyze_sql[] = "ANALYZE listings, listing_variations, orders, order_items,"
				  " payments, order_days, shipments, ml_questions";

static plan_run_t *state(const sync_run_t *run)
{
	return sync_run_state(run);
}

/* Whole hours, "2026-08-01T13:00:00.000Z" (Mercado Livre counts these filters to the hour). */
static void iso_hour(int64_t epoch_s, char *buf, size_t size)
{
	time_t t = (time_t)epoch_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:00:00.000Z", &tm);
}

/* --- the call ------------------------------------------------------------------------------ */

static void ml_answered(const ml_result_t *res, void *arg)
{
	sync_answer_t a = {.status = res->status, .body = res->body};
	switch (res->err) {
	case ML_OK:
		a.outcome = SYNC_OK;
		break;
	case ML_ERR_RATE_LIMITED:
	case ML_ERR_TRANSIENT:
		a.outcome = SYNC_AGAIN;
		break;
	case ML_ERR_NOT_FOUND:
		a.outcome = SYNC_NOT_FOUND;
		break;
	case ML_ERR_EXPIRED:
	case ML_ERR_INVALID_GRANT:
	case ML_ERR_UNAUTHORIZED:
	case ML_ERR_FORBIDDEN:
	case ML_ERR_CONFIG:
		a.outcome = SYNC_FATAL;
		break;
	default:
		a.outcome = SYNC_FAILED;
		break;
	}
	if (a.outcome != SYNC_OK)
		a.message = res->message ? res->message : ml_err_name(res->err);
	sync_task_answered(arg, &a);
}

/* Every call of a run goes through the account's one bucket (ML_SYNC_OP). */
static void get(sync_task_t *t, const char *path)
{
	ml_account_get(sync_run_app(t->run), sync_run_info(t->run)->account_id, ML_SYNC_OP, path,
		       ml_answered, t);
}

/* --- items --------------------------------------------------------------------------------- */

static void scan_path(const sync_task_t *t, char *buf, size_t size)
{
	int64_t seller = state(t->run)->seller;
	if (t->token)
		snprintf(buf, size, "/users/%" PRId64 "/items/search?search_type=scan&scroll_id=%s",
			 seller, t->token);
	else
		snprintf(buf, size, "/users/%" PRId64 "/items/search?search_type=scan&limit=%d",
			 seller, ITEMS_PAGE);
}

static void items_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "/items?ids=%s", t->token);
}

/* An item id as Mercado Livre writes them ("MLB123"): what may go into /items?ids= as is. */
static bool item_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= ML_ITEM_ID_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

size_t ml_multiget_list(json_t *ids, size_t *next, char *buf, size_t size)
{
	size_t n = json_array_size(ids), joined = 0, len = 0;
	if (size)
		buf[0] = '\0';
	for (; *next < n && joined < MULTIGET; (*next)++) {
		const char *id = json_string_value(json_array_get(ids, *next));
		if (!item_id_ok(id) || len + strlen(id) + 2 > size)
			continue; /* not an item id: nothing to ask for */
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", id);
		joined++;
	}
	return joined;
}

long ml_answer_total(json_t *v)
{
	json_int_t n = json_integer_value(v);
	return n < 0 ? 0 : n > ML_TOTAL_MAX ? ML_TOTAL_MAX : (long)n;
}

static void push_multigets(sync_run_t *run, json_t *ids)
{
	size_t next = 0;
	char buf[ML_MULTIGET_BUF];
	while (ml_multiget_list(ids, &next, buf, sizeof(buf)) > 0) {
		sync_task_t *t = sync_task_new(run, &items_step, NULL);
		t->token = xstrdup(buf);
		sync_task_push(t, false);
	}
}

/* The ids of one scan page, asked which this run already stored. Owned by the query. */
typedef struct unsynced {
	sync_run_t *run;
	json_t *ids;
} unsynced_t;

static void unsynced_done(const PGresult *res, const char *err, void *arg)
{
	unsynced_t *u = arg;
	sync_run_t *run = u->run;
	if (err) {
		push_multigets(run, u->ids); /* fetch them all again: harmless */
	} else {
		const char *list = pg_value(res, 0, 0);
		json_t *keep = json_array();
		char *copy = xstrdup(list ? list : ""), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			json_array_append_new(keep, json_string(tok));
		free(copy);
		long skipped = (long)(json_array_size(u->ids) - json_array_size(keep));
		sync_run_res(run, R_ITEMS)->done += skipped;
		push_multigets(run, keep);
		json_decref(keep);
	}
	json_decref(u->ids);
	free(u);
	sync_run_release(run);
}

static void scan_answered(sync_task_t *t, json_t *body)
{
	sync_run_t *run = t->run;
	plan_run_t *st = state(run);
	json_t *ids = json_object_get(body, "results");
	const char *scroll = json_string_value(json_object_get(body, "scroll_id"));
	json_t *total = json_object_get(json_object_get(body, "paging"), "total");
	if (json_is_integer(total))
		sync_run_res(run, R_ITEMS)->total = ml_answer_total(total);
	if (json_array_size(ids) > 0 && scroll) {
		sync_task_t *next = sync_task_new(run, &scan_step, NULL);
		next->token = xstrdup(scroll);
		sync_task_push(next, true); /* the scroll lives 5 minutes from its last use */
	} else {
		st->scan_done = true;
	}
	if (json_array_size(ids) > 0) {
		const sync_run_info_t *in = sync_run_info(run);
		if (in->resume || st->rescan) {
			unsynced_t *u = xcalloc(1, sizeof(*u));
			u->run = run;
			u->ids = json_incref(ids);
			char *list = NULL;
			size_t len = 0;
			for (size_t i = 0; i < json_array_size(ids); i++) {
				const char *s = json_string_value(json_array_get(ids, i));
				if (!s)
					continue;
				list = xrealloc(list, len + strlen(s) + 2);
				len += (size_t)sprintf(list + len, "%s%s", len ? "," : "", s);
			}
			const char *params[] = {in->tenant_id, in->account_id, list ? list : "",
						in->started_at};
			sync_run_hold(run);
			pg_query(sync_run_app(run)->pg, unsynced_sql, 4, params, unsynced_done, u);
			free(list);
		} else {
			push_multigets(run, ids);
		}
	}
	sync_task_end(t);
}

static bool scan_failed(sync_task_t *t, const sync_answer_t *a)
{
	plan_run_t *st = state(t->run);
	if (t->token && a->status == 400) {
		/* The scroll expired: scan again; what this run stored is skipped. */
		log_info("sync %s: items scroll expired, scanning again",
			 sync_run_info(t->run)->id);
		st->rescan = true;
		free(t->token);
		t->token = NULL;
		t->attempt++;
		sync_task_again(t);
		return true;
	}
	st->scan_done = true;
	return false;
}

static void items_answered(sync_task_t *t, json_t *body)
{
	json_t *docs = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(body, i, e)
	{
		json_t *code = json_object_get(e, "code");
		if (!code)
			code = json_object_get(e, "status_code");
		if (json_integer_value(code) == 200 && json_is_object(json_object_get(e, "body")))
			json_array_append(docs, json_object_get(e, "body"));
		else
			sync_run_res(t->run, R_ITEMS)->done++; /* gone meanwhile: counted */
	}
	sync_task_store(t, ml_items_upsert, docs);
	json_decref(docs);
}

static void items_begin(sync_run_t *run)
{
	sync_run_res(run, R_ITEMS)->done = 0;
	sync_task_push(sync_task_new(run, &scan_step, NULL), false);
}

static bool items_complete(sync_run_t *run)
{
	return state(run)->scan_done || !sync_run_wants(run, R_ITEMS);
}

/* --- orders windows ------------------------------------------------------------------------ */

/* The cursor: the start of the earliest window not finished; finished windows at the front
 * are dropped. */
static void windows_advance(sync_group_t *g, sync_run_t *run)
{
	plan_run_t *st = state(run);
	while (st->windows && st->windows->group.pending == 0 && !st->windows->group.failed) {
		window_t *w = st->windows;
		st->windows = w->next;
		if (!w->split) /* a split window's range belongs to its halves */
			sync_run_res(run, R_ORDERS)->cursor = w->to;
		free(w);
	}
}

static window_t *window_add(plan_run_t *st, int64_t from, int64_t to)
{
	window_t *w = xcalloc(1, sizeof(*w));
	w->group.drained = windows_advance;
	w->from = from;
	w->to = to;
	w->total = -1;
	window_t **pp = &st->windows;
	while (*pp && (*pp)->from < from)
		pp = &(*pp)->next;
	w->next = *pp;
	*pp = w;
	return w;
}

static void issue_window(sync_run_t *run, window_t *w)
{
	sync_task_t *t = sync_task_new(run, &orders_step, &w->group);
	t->offset = 0;
	sync_task_push(t, false);
}

static void orders_path(const sync_task_t *t, char *buf, size_t size)
{
	const plan_run_t *st = state(t->run);
	const window_t *w = (const window_t *)t->group;
	const char *field = st->orders_by_update ? "date_last_updated" : "date_created";
	char from[40], to[40];
	iso_hour(w->from, from, sizeof(from));
	iso_hour(w->to - 3600, to, sizeof(to));
	snprintf(buf, size,
		 "/orders/search?seller=%" PRId64 "&order.%s.from=%s&order.%s.to=%s"
		 "&sort=date_asc&offset=%ld&limit=%d",
		 st->seller, field, from, field, to, t->offset, ORDERS_PAGE);
}

static void add_shipment(sync_run_t *run, window_t *w, json_t *order)
{
	json_int_t id =
	    json_integer_value(json_object_get(json_object_get(order, "shipping"), "id"));
	if (id <= 0 || !sync_run_wants(run, R_SHIPMENTS))
		return;
	sync_task_t *t = sync_task_new(run, &shipment_step, &w->group);
	t->id = id;
	sync_run_res(run, R_SHIPMENTS)->total++;
	sync_run_res_start(run, R_SHIPMENTS);
	sync_task_push(t, false);
}

static void orders_answered(sync_task_t *t, json_t *body)
{
	sync_run_t *run = t->run;
	plan_run_t *st = state(run);
	window_t *w = (window_t *)t->group;
	long total = ml_answer_total(json_object_get(json_object_get(body, "paging"), "total"));
	if (t->offset == 0) {
		int64_t hours = (w->to - w->from) / 3600;
		if (total > WINDOW_MAX && hours > 1) {
			/* Too many for one window: cut it in whole hours and ask each part. */
			int64_t parts = (total + WINDOW_MAX * 3 / 4 - 1) / (WINDOW_MAX * 3 / 4);
			if (parts > hours)
				parts = hours;
			w->split = true;
			w->total = 0;
			int64_t from = w->from;
			for (int64_t i = 1; i <= parts; i++) {
				int64_t to =
				    i == parts ? w->to : w->from + (hours * i / parts) * 3600;
				issue_window(run, window_add(st, from, to));
				from = to;
			}
			/* w stays (before its parts) until this task ends. */
			sync_task_end(t);
			return;
		}
		w->total = total;
		sync_run_res(run, R_ORDERS)->total += total;
		for (long off = ORDERS_PAGE; off < total; off += ORDERS_PAGE) {
			sync_task_t *p = sync_task_new(run, &orders_step, &w->group);
			p->offset = off;
			sync_task_push(p, false);
		}
	}
	json_t *results = json_object_get(body, "results");
	size_t i;
	json_t *o;
	json_array_foreach(results, i, o) add_shipment(run, w, o);
	sync_task_store(t, ml_orders_upsert, results);
}

static void orders_begin(sync_run_t *run)
{
	plan_run_t *st = state(run);
	const sync_run_info_t *in = sync_run_info(run);
	sync_res_t *orders = sync_run_res(run, R_ORDERS);
	int64_t now = wall_ms() / 1000;
	st->orders_end = (now / 3600 + 1) * 3600; /* through the current hour */
	int64_t start;
	if (in->scheduled && in->since > 0) {
		st->orders_by_update = true;
		start = (in->since / 3600) * 3600;
	} else {
		start = ((now - (int64_t)in->days * 86400) / 3600) * 3600;
	}
	if (orders->cursor < start || orders->cursor > st->orders_end)
		orders->cursor = start;
	if (in->resume) {
		orders->total = orders->done;
		sync_run_res(run, R_SHIPMENTS)->total = sync_run_res(run, R_SHIPMENTS)->done;
	}
	if (sync_run_wants(run, R_SHIPMENTS))
		sync_run_res_start(run, R_SHIPMENTS);
	if (orders->cursor < st->orders_end)
		issue_window(run, window_add(st, orders->cursor, st->orders_end));
}

/* Orders and their shipments are complete together. */
static bool orders_complete(sync_run_t *run)
{
	const plan_run_t *st = state(run);
	return !st->windows && sync_run_res(run, R_ORDERS)->cursor >= st->orders_end;
}

/* --- shipments ----------------------------------------------------------------------------- */

static void shipment_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "/shipments/%" PRId64, t->id);
}

static void sla_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "/shipments/%" PRId64 "/sla", t->id);
}

static void shipment_answered(sync_task_t *t, json_t *body)
{
	const char *status = json_string_value(json_object_get(body, "status"));
	if (ml_shipment_open(status)) {
		sync_task_t *sla = sync_task_new(t->run, &sla_step, t->group);
		sla->id = t->id;
		sync_task_push(sla, false);
	}
	json_t *docs = json_pack("[O]", body);
	sync_task_store(t, ml_shipments_upsert, docs);
	json_decref(docs);
}

/* The SLA is part of its shipment: stored onto it, counted as nothing of its own. */
static void sla_answered(sync_task_t *t, json_t *body)
{
	const sync_run_info_t *in = sync_run_info(t->run);
	void *store = sync_task_storing(t, 0);
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, t->id);
	char *text = json_dumps(body, JSON_COMPACT);
	ml_shipments_sla(sync_run_app(t->run), in->tenant_id, in->account_id, id, text, sync_stored,
			 store);
	free(text);
}

/* No such shipment (or no SLA): nothing to keep. */
static bool shipment_failed(sync_task_t *t, const sync_answer_t *a)
{
	if (a->outcome != SYNC_NOT_FOUND)
		return false;
	sync_task_end(t);
	return true;
}

/* --- questions by status ------------------------------------------------------------------- */

static void questions_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size,
		 "/questions/search?seller_id=%" PRId64
		 "&api_version=4&status=%s&sort_fields=date_created&sort_types=ASC"
		 "&offset=%ld&limit=%d",
		 state(t->run)->seller, question_statuses[t->index], t->offset, QUESTIONS_PAGE);
}

static void questions_next_status(sync_run_t *run)
{
	plan_run_t *st = state(run);
	if (st->q_status >= N_QSTATUS || sync_run_stopped(run))
		return;
	/* The scheduled sync refreshes the unanswered ones; answers arrive by webhook. */
	if (sync_run_info(run)->scheduled && st->q_status > 0) {
		st->q_status = N_QSTATUS;
		sync_run_res(run, R_QUESTIONS)->cursor = N_QSTATUS;
		return;
	}
	sync_task_t *t = sync_task_new(run, &questions_step, &st->q_group);
	t->index = st->q_status;
	sync_task_push(t, false);
}

/* This status is complete: on to the next (the cursor stays at a failed one). */
static void questions_drained(sync_group_t *g, sync_run_t *run)
{
	plan_run_t *st = state(run);
	sync_res_t *q = sync_run_res(run, R_QUESTIONS);
	if (!q->error[0])
		q->cursor = st->q_status + 1;
	st->q_status++;
	questions_next_status(run);
}

static void questions_answered(sync_task_t *t, json_t *body)
{
	sync_run_t *run = t->run;
	if (t->offset == 0) {
		long total = ml_answer_total(json_object_get(body, "total"));
		sync_run_res(run, R_QUESTIONS)->total += total;
		for (long off = QUESTIONS_PAGE; off < total; off += QUESTIONS_PAGE) {
			sync_task_t *p = sync_task_new(run, &questions_step, t->group);
			p->index = t->index;
			p->offset = off;
			sync_task_push(p, false);
		}
	}
	sync_task_store(t, ml_questions_upsert, json_object_get(body, "questions"));
}

static void questions_begin(sync_run_t *run)
{
	if (sync_run_info(run)->resume)
		sync_run_res(run, R_QUESTIONS)->total = sync_run_res(run, R_QUESTIONS)->done;
	questions_next_status(run);
}

static bool questions_complete(sync_run_t *run)
{
	return state(run)->q_status >= N_QSTATUS;
}

/* --- the plan ------------------------------------------------------------------------------ */

static void *run_new(sync_run_t *run)
{
	plan_run_t *st = xcalloc(1, sizeof(*st));
	st->run = run;
	st->seller = (int64_t)strtoll(sync_run_info(run)->external_id, NULL, 10);
	st->q_status = (int)sync_run_res(run, R_QUESTIONS)->cursor;
	st->q_group.drained = questions_drained;
	return st;
}

static void run_free(void *arg)
{
	plan_run_t *st = arg;
	while (st->windows) {
		window_t *w = st->windows;
		st->windows = w->next;
		free(w);
	}
	free(st);
}

static const sync_step_t scan_step = {R_ITEMS, scan_path, scan_answered, scan_failed};
static const sync_step_t items_step = {R_ITEMS, items_path, items_answered, NULL};
static const sync_step_t orders_step = {R_ORDERS, orders_path, orders_answered, NULL};
static const sync_step_t shipment_step = {R_SHIPMENTS, shipment_path, shipment_answered,
					  shipment_failed};
static const sync_step_t sla_step = {R_SHIPMENTS, sla_path, sla_answered, shipment_failed};
static const sync_step_t questions_step = {R_QUESTIONS, questions_path, questions_answered, NULL};

static const char *const items_scopes[] = {"items", NULL};
static const char *const orders_scopes[] = {"orders", "shipments", NULL};
static const char *const questions_scopes[] = {"questions", NULL};

static const sync_resource_t resources[R_N] = {
    [R_ITEMS] = {"items", items_scopes, false, items_begin, items_complete},
    [R_ORDERS] = {"orders", orders_scopes, true, orders_begin, orders_complete},
    [R_SHIPMENTS] = {"shipments", orders_scopes, false, NULL, orders_complete},
    [R_QUESTIONS] = {"questions", questions_scopes, true, questions_begin, questions_complete},
};

const sync_plan_t ml_sync_plan = {
    .resources = resources,
    .n_resources = R_N,
    .run_new = run_new,
    .run_free = run_free,
    .get = get,
    .counts_sql = cached_sql,
    .analyze_sql = analyze_sql,
};
