/* Forwarding marketplace orders to Tiny: see the header. */
#include "forward.h"
#include "accounts.h"
#include "client.h"
#include "pedido.h"
#include "status.h"
#include "tiny.h"
#include "httpc.h"
#include "log.h"
#include "sql_json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// clang-format off
#define TENANT_OF "coalesce($1::uuid, (SELECT tenant_id FROM accounts WHERE id = $2::uuid))"

/* Every marketplace order of a tenant with a Tiny account gets its row (the primary account's);
 * a cancelled one is no sale for the ERP. */
static const char enlist_sql[] =
    "INSERT INTO erp_orders (order_id, tenant_id, account_id)"
    " SELECT o.id, o.tenant_id, a.id FROM orders o"
    " JOIN LATERAL (SELECT id FROM accounts WHERE tenant_id = o.tenant_id AND channel = 'tiny'"
    "  ORDER BY is_primary DESC, created_at, id LIMIT 1) a ON true"
    " WHERE o.tenant_id = " TENANT_OF " AND o.channel <> 'tiny'"
    " AND o.status NOT IN ('cancelled', 'invalid')"
    " ON CONFLICT (order_id) DO NOTHING";

/* By hand: what was held or failed is tried again now, with a fresh count of tries (an account
 * whose token Tiny refused holds its orders until it has a new one). */
static const char retry_sql[] =
    "UPDATE erp_orders e SET status = 'pending', attempts = 0, next_try_at = now()"
    " WHERE e.tenant_id = " TENANT_OF " AND e.status IN ('held', 'failed')"
    " AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id AND a.status = 'active')";

/* Held rows are due now: their cause (a SKU unknown, a token refused) may have gone. */
static const char wake_sql[] =
    "UPDATE erp_orders SET next_try_at = now()"
    " WHERE tenant_id = " TENANT_OF " AND status = 'held' AND next_try_at > now()";

/* Due rows of active accounts, claimed for a lease longer than a call's timeout; each with the
 * order's data for the pedido (pedido.h). */
static const char claim_sql[] =
    "WITH c AS (SELECT e.order_id FROM erp_orders e WHERE e.tenant_id = " TENANT_OF
    "  AND e.status IN ('pending', 'held') AND e.next_try_at <= now()"
    "  AND (e.lease_until IS NULL OR e.lease_until < now())"
    "  AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id AND a.status = 'active')"
    "  ORDER BY e.next_try_at, e.order_id LIMIT " FORWARD_BATCH_TEXT " FOR UPDATE SKIP LOCKED)"
    " UPDATE erp_orders e SET lease_until = now() + $3::int * interval '1 second',"
    "  attempts = e.attempts + 1, updated_at = now()"
    " FROM c, orders o WHERE e.order_id = c.order_id AND o.id = e.order_id"
    " RETURNING e.order_id, e.tenant_id, e.account_id, e.attempts, " TINY_PEDIDO_SOURCE "::text";

/* A row's outcome; the lease ends with it. A held row waits twice as long each try and fails
 * after the allowed tries ($9), unless the account holds it ($10: a refused token, whose rows
 * wait for a new one without spending tries); a pending one waits at most 5 minutes. */
static const char settle_sql[] =
    "UPDATE erp_orders SET"
    " status = CASE WHEN $3 = 'held' AND NOT $10 AND attempts >= $9 THEN 'failed' ELSE $3 END,"
    " last_error = CASE WHEN $3 = 'held' AND NOT $10 AND attempts >= $9"
    "  THEN 'gave up after ' || attempts || ' tries: ' || $7 ELSE $7 END,"
    " attempts = CASE WHEN $10 THEN 0 ELSE attempts END,"
    " pedido_id = coalesce($4, pedido_id), numero = coalesce($5, numero),"
    " situacao = coalesce($6, situacao),"
    " situacao_at = CASE WHEN $6 IS NULL THEN situacao_at ELSE now() END,"
    " sent_at = CASE WHEN $3 = 'sent' THEN coalesce(sent_at, now()) ELSE sent_at END,"
    " poll_at = CASE WHEN $3 = 'sent' THEN now() + $11::bigint * interval '1 ms' ELSE poll_at END,"
    " next_try_at = CASE WHEN $3 IN ('pending', 'held') THEN now() + least($8::bigint"
    "  * 2 ^ least(greatest(attempts - 1, 0), 20), CASE $3 WHEN 'held' THEN 21600000"
    "  ELSE 300000 END) * interval '1 ms' ELSE now() END,"
    " lease_until = NULL, updated_at = now() WHERE order_id = $1 AND tenant_id = $2";

/* Rows claimed but not tried: free for the next claim at once (nothing was sent for them). */
static const char release_sql[] =
    "UPDATE erp_orders SET lease_until = NULL, attempts = greatest(attempts - 1, 0)"
    " WHERE order_id = ANY($1::uuid[]) AND tenant_id = $2 AND status IN ('pending', 'held')";

/* Tiny refused the token: the account waits for a new one (PUT .../token). */
static const char expire_sql[] =
    "UPDATE accounts SET status = 'expired', " ACCOUNTS_PUSH_ERROR("'token'", "$2")
    " WHERE id = $1 AND channel = 'tiny' AND status = 'active'";
// clang-format on

typedef struct row {
	char *order_id, *tenant_id, *account_id;
	int attempts;
	json_t *order; /* TINY_PEDIDO_SOURCE */
} row_t;

typedef struct pass {
	app_t *app;
	char *tenant_id, *account_id;
	int flags;
	forward_cb cb;
	void *arg;
	row_t *rows;
	int n, at;
	bool looked_again;  /* a duplicate refusal looks the order up once more */
	int64_t claimed_us; /* the batch's claim: its lease runs from then */
	forward_counts_t counts;
} pass_t;

static void next_row(pass_t *p);
static void claim(pass_t *p);

static void rows_free(pass_t *p)
{
	for (int i = 0; i < p->n; i++) {
		row_t *r = &p->rows[i];
		free(r->order_id);
		free(r->tenant_id);
		free(r->account_id);
		json_decref(r->order);
	}
	free(p->rows);
	p->rows = NULL;
	p->n = p->at = 0;
}

static void pass_end(pass_t *p, const char *err)
{
	p->cb(&p->counts, err, p->arg);
	rows_free(p);
	free(p->tenant_id);
	free(p->account_id);
	free(p);
}

static void settled(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err)
		log_error("tiny: forward: storing an order's state: %s", err);
	p->at++;
	next_row(p);
}

typedef struct outcome {
	const char *status, *pedido_id, *numero, *situacao, *error;
	bool account_held;
} outcome_t;

/* The row's outcome; the lease ends with it. */
static void settle(pass_t *p, const outcome_t *o)
{
	row_t *r = &p->rows[p->at];
	const tiny_config_t *cfg = tiny_config(p->app);
	bool gives_up =
	    strcmp(o->status, "held") == 0 && !o->account_held && r->attempts >= cfg->hold_tries;
	if (strcmp(o->status, "sent") == 0)
		p->counts.sent++;
	else if (gives_up || strcmp(o->status, "failed") == 0)
		p->counts.failed++;
	else if (strcmp(o->status, "held") == 0)
		p->counts.held++;
	else
		p->counts.pending++;
	char base[24], tries[24], poll[24];
	snprintf(base, sizeof(base), "%ld", cfg->retry_base_ms);
	snprintf(tries, sizeof(tries), "%ld", cfg->hold_tries);
	snprintf(poll, sizeof(poll), "%ld", cfg->poll_ms);
	const char *params[] = {
	    r->order_id, r->tenant_id, o->status, o->pedido_id, o->numero,
	    o->situacao, o->error,     base,	  tries,	o->account_held ? "true" : "false",
	    poll};
	pg_query(p->app->pg, settle_sql, 11, params, settled, p);
}

static void settle_simple(pass_t *p, const char *status, const char *error)
{
	settle(p, &(outcome_t){.status = status, .error = error});
}

static void expired(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err)
		log_error("tiny: forward: marking the account expired: %s", err);
	settle(p, &(outcome_t){.status = "held",
			       .error = "the Tiny account's token was refused: forwarding waits "
					"for a new token (PUT /api/tiny-accounts/:id/token)",
			       .account_held = true});
}

/* A failed call's outcome for the row: tried again (pending), held with the reason (a Tiny
 * validation error, an account that cannot call), or failed (any other refusal). */
static void settle_error(pass_t *p, const tiny_result_t *res)
{
	switch (res->err) {
	case CHANNEL_ERR_UNAUTHORIZED: {
		const char *params[] = {p->rows[p->at].account_id, res->message};
		pg_query(p->app->pg, expire_sql, 2, params, expired, p);
		return;
	}
	case CHANNEL_ERR_EXPIRED:
		expired(NULL, NULL, p);
		return;
	case CHANNEL_ERR_TRANSIENT:
	case CHANNEL_ERR_RATE_LIMITED:
	case CHANNEL_ERR_BAD_RESPONSE:
		settle_simple(p, "pending", res->message);
		return;
	case CHANNEL_ERR_FORBIDDEN:
		settle_simple(p, "held", res->message);
		return;
	default:
		settle_simple(p, res->code == TINY_VALIDATION ? "held" : "failed", res->message);
	}
}

/* A number or string field as text, into buf. */
static const char *text_of(json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return NULL;
}

static void send_order(pass_t *p);

static void looked_up(const tiny_result_t *res, void *arg)
{
	pass_t *p = arg;
	if (res->err != CHANNEL_OK) {
		settle_error(p, res);
		return;
	}
	json_t *found =
	    json_object_get(json_array_get(json_object_get(res->retorno, "pedidos"), 0), "pedido");
	if (res->empty || !found) {
		send_order(p);
		return;
	}
	char id[32], num[32];
	settle(p, &(outcome_t){
		      .status = "sent",
		      .pedido_id = text_of(json_object_get(found, "id"), id, sizeof(id)),
		      .numero = text_of(json_object_get(found, "numero"), num, sizeof(num)),
		      .situacao =
			  tiny_situacao_code(json_string_value(json_object_get(found, "situacao"))),
		  });
}

/* Tiny's own record of the order, if it has one. */
static void look_up(pass_t *p)
{
	char form[256] = "";
	httpc_form_add(form, sizeof(form), "numeroEcommerce",
		       json_string_value(json_object_get(p->rows[p->at].order, "externalId")));
	tiny_call(p->app, p->rows[p->at].account_id, "pedidos.pesquisa", form, looked_up, p);
}

static void sent(const tiny_result_t *res, void *arg)
{
	pass_t *p = arg;
	if (res->code == TINY_DUPLICATE && !p->looked_again) {
		p->looked_again = true; /* it is there already: take its numbers */
		look_up(p);
		return;
	}
	if (res->err != CHANNEL_OK) {
		settle_error(p, res);
		return;
	}
	/* registros.registro, or registros[0].registro (Tiny answers either). */
	json_t *regs = json_object_get(res->retorno, "registros");
	json_t *reg =
	    json_object_get(json_is_array(regs) ? json_array_get(regs, 0) : regs, "registro");
	char id[32], num[32];
	settle(p, &(outcome_t){.status = "sent",
			       .pedido_id = text_of(json_object_get(reg, "id"), id, sizeof(id)),
			       .numero = text_of(json_object_get(reg, "numero"), num, sizeof(num)),
			       .situacao = "em_aberto"});
}

static void send_order(pass_t *p)
{
	row_t *r = &p->rows[p->at];
	json_t *pedido = tiny_pedido_json(r->order);
	char *text = json_dumps(pedido, JSON_COMPACT);
	json_decref(pedido);
	size_t size = strlen(text) * 3 + 32;
	char *form = xcalloc(1, size);
	httpc_form_add(form, size, "pedido", text);
	free(text);
	tiny_call(p->app, r->account_id, "pedido.incluir", form, sent, p);
	free(form);
}

/* Why the ERP cannot take the order yet, or NULL. */
static const char *hold_reason(const row_t *r, char *buf, size_t size)
{
	json_t *items = json_object_get(r->order, "items");
	if (json_array_size(items) == 0)
		return "the order has no lines";
	size_t k;
	json_t *it;
	json_array_foreach(items, k, it)
	{
		const char *sku = json_string_value(json_object_get(it, "sku"));
		if (!sku || !*sku)
			return "a line of the order has no SKU";
		if (!json_is_true(json_object_get(it, "known"))) {
			snprintf(buf, size, "SKU %.100s is not a product of the Tiny account", sku);
			return buf;
		}
	}
	return NULL;
}

static void released(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err)
		log_error("tiny: forward: releasing unsent rows: %s", err);
	pass_end(p, NULL);
}

/* Half the lease gone (a slow or throttled Tiny): the rows not tried yet go back, so that no row
 * is tried after its lease could have passed to another process. */
static bool lease_spent(pass_t *p)
{
	int64_t half_us = tiny_config(p->app)->lease_s * 500000LL;
	if (p->at >= p->n || now_us() - p->claimed_us < half_us)
		return false;
	size_t size = (size_t)(p->n - p->at) * 40 + 3;
	char *ids = xcalloc(1, size);
	strcat(ids, "{");
	for (int i = p->at; i < p->n; i++) {
		strcat(ids, p->rows[i].order_id);
		strcat(ids, i + 1 < p->n ? "," : "}");
	}
	p->counts.pending += p->n - p->at;
	const char *params[] = {ids, p->rows[p->at].tenant_id};
	pg_query(p->app->pg, release_sql, 2, params, released, p);
	free(ids);
	return true;
}

static void next_row(pass_t *p)
{
	if (lease_spent(p))
		return;
	if (p->at >= p->n) {
		bool full = p->n == FORWARD_BATCH;
		rows_free(p);
		if (full)
			claim(p); /* more may be due */
		else
			pass_end(p, NULL);
		return;
	}
	p->looked_again = false;
	char buf[160];
	row_t *r = &p->rows[p->at];
	const char *reason = hold_reason(r, buf, sizeof(buf));
	if (reason)
		settle_simple(p, "held", reason);
	else if (r->attempts > 1)
		look_up(p); /* an earlier try may have reached Tiny */
	else
		send_order(p); /* the first claim: nothing was sent before it committed */
}

static char *dup_value(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	return xstrdup(v ? v : "");
}

static void claimed(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err) {
		pass_end(p, err);
		return;
	}
	p->n = PQntuples(res);
	p->at = 0;
	p->claimed_us = now_us();
	p->rows = xcalloc(p->n ? p->n : 1, sizeof(*p->rows));
	for (int i = 0; i < p->n; i++) {
		row_t *r = &p->rows[i];
		r->order_id = dup_value(res, i, 0);
		r->tenant_id = dup_value(res, i, 1);
		r->account_id = dup_value(res, i, 2);
		r->attempts = (int)pg_int(res, i, 3, 1);
		const char *order = pg_value(res, i, 4);
		r->order = order ? json_loads(order, 0, NULL) : NULL;
		if (!json_is_object(r->order)) {
			json_decref(r->order);
			r->order = json_object();
		}
	}
	next_row(p);
}

static void claim(pass_t *p)
{
	char lease[24];
	snprintf(lease, sizeof(lease), "%ld", tiny_config(p->app)->lease_s);
	const char *params[] = {p->tenant_id, p->account_id, lease};
	pg_query(p->app->pg, claim_sql, 3, params, claimed, p);
}

static void ready(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err) {
		pass_end(p, err);
		return;
	}
	claim(p);
}

static void enlisted(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err) {
		pass_end(p, err);
		return;
	}
	if (p->flags & (FORWARD_BY_HAND | FORWARD_WAKE_HELD)) {
		const char *params[] = {p->tenant_id, p->account_id};
		pg_query(p->app->pg, p->flags & FORWARD_BY_HAND ? retry_sql : wake_sql, 2, params,
			 ready, p);
		return;
	}
	claim(p);
}

void tiny_forward_run(app_t *app, const char *tenant_id, const char *account_id, int flags,
		      forward_cb cb, void *arg)
{
	pass_t *p = xcalloc(1, sizeof(*p));
	p->app = app;
	p->tenant_id = tenant_id ? xstrdup(tenant_id) : NULL;
	p->account_id = account_id ? xstrdup(account_id) : NULL;
	p->flags = flags;
	p->cb = cb;
	p->arg = arg;
	if (flags & FORWARD_NO_ENLIST) {
		enlisted(NULL, NULL, p);
		return;
	}
	const char *params[] = {p->tenant_id, p->account_id};
	pg_query(app->pg, enlist_sql, 2, params, enlisted, p);
}

// clang-format off
/* Orders of a tenant with a Tiny account that have no pedido there yet. */
#define PENDING_FROM                                                                               \
	" FROM orders o LEFT JOIN erp_orders e ON e.order_id = o.id"                               \
	" WHERE o.tenant_id = $1 AND o.channel <> 'tiny'"                                          \
	" AND o.status NOT IN ('cancelled', 'invalid')"                                          \
	" AND EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = $1 AND a.channel = 'tiny')"    \
	" AND (e.status IS NULL OR e.status <> 'sent')"

static const char pending_sql[] =
    "SELECT json_build_object('orderId', o.id, 'channel', o.channel,"
    " 'externalId', o.external_id, 'accountId', o.account_id,"
    " 'dateCreated', " SQL_TS("o.date_created") ", 'status', coalesce(e.status, 'pending'),"
    " 'reason', coalesce(e.last_error, CASE e.status WHEN 'failed' THEN 'refused by Tiny'"
    "  ELSE 'waiting to be sent to Tiny' END), 'attempts', coalesce(e.attempts, 0),"
    " 'updatedAt', " SQL_TS("e.updated_at") ")::text, NULL" PENDING_FROM
    " ORDER BY o.date_created DESC, o.id DESC LIMIT $2 OFFSET $3";
static const char pending_count_sql[] = "SELECT count(*)" PENDING_FROM;
// clang-format on

void tiny_forward_pending(app_t *app, const char *tenant_id, const page_params_t *pp, paging_cb cb,
			  void *arg)
{
	const char *p[] = {tenant_id, pp->limit, pp->offset};
	pg_stmt_t stmts[] = {{pending_sql, 3, p}, {pending_count_sql, 1, p}};
	paging_read(app->pg, stmts, cb, arg);
}
