/* The ERP loop back: see the header. */
#include "status.h"
#include "accounts.h"
#include "client.h"
#include "httpc.h"
#include "log.h"
#include "tiny.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct situacao {
	const char *code, *label;
	bool final;
} situacoes[] = {
    {"em_aberto", "Em aberto", false},
    {"aprovado", "Aprovado", false},
    {"preparando_envio", "Preparando envio", false},
    {"faturado", "Faturado", false},
    {"pronto_envio", "Pronto para envio", false},
    {"enviado", "Enviado", false},
    {"entregue", "Entregue", true},
    {"nao_entregue", "Não entregue", false},
    {"cancelado", "Cancelado", true},
    {"dados_incompletos", "Dados incompletos", false},
};

const char *tiny_situacao_code(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_LEN(situacoes); i++)
		if (strcmp(situacoes[i].code, s) == 0 || strcasecmp(situacoes[i].label, s) == 0)
			return situacoes[i].code;
	return NULL;
}

bool tiny_situacao_final(const char *code)
{
	for (size_t i = 0; code && i < ARRAY_LEN(situacoes); i++)
		if (strcmp(situacoes[i].code, code) == 0)
			return situacoes[i].final;
	return false;
}

// clang-format off
#define TENANT_OF "coalesce($1::uuid, (SELECT tenant_id FROM accounts WHERE id = $2::uuid))"

/* Sent orders the marketplace cancelled since: their cancellation is due now. */
static const char mark_sql[] =
    "UPDATE erp_orders e SET cancel_state = 'due', poll_at = now() FROM orders o"
    " WHERE e.tenant_id = " TENANT_OF " AND e.status = 'sent' AND e.poll_at IS NOT NULL"
    " AND e.cancel_state IS NULL AND o.id = e.order_id AND o.tenant_id = e.tenant_id"
    " AND o.status = 'cancelled'";

/* Due rows of active accounts, leased; with the claim's time, against which a webhook that
 * lands meanwhile is told apart. */
static const char claim_sql[] =
    "WITH c AS (SELECT e.order_id FROM erp_orders e WHERE e.tenant_id = " TENANT_OF
    "  AND e.status = 'sent' AND e.poll_at IS NOT NULL AND e.poll_at <= now()"
    "  AND (e.lease_until IS NULL OR e.lease_until < now())"
    "  AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id AND a.status = 'active')"
    "  ORDER BY e.poll_at LIMIT 20 FOR UPDATE SKIP LOCKED)"
    " UPDATE erp_orders e SET lease_until = now() + $3::int * interval '1 second'"
    " FROM c WHERE e.order_id = c.order_id"
    " RETURNING e.order_id, e.tenant_id, e.account_id, e.pedido_id, e.cancel_state = 'due',"
    "  e.invoice_numero IS NULL, now()::text";

/* What the read found. A webhook stored after the claim ($12) is newer than this read: its
 * situation stays and the row is read again at once. */
static const char read_sql[] =
    "UPDATE erp_orders SET"
    " situacao = CASE WHEN situacao_at > $12::timestamptz THEN situacao"
    "  ELSE coalesce($3, situacao) END,"
    " situacao_at = CASE WHEN situacao_at > $12::timestamptz OR $3 IS NOT DISTINCT FROM situacao"
    "  THEN situacao_at ELSE now() END,"
    " invoice_id = coalesce($4, invoice_id), invoice_numero = coalesce($5, invoice_numero),"
    " invoice_serie = coalesce($6, invoice_serie), invoice_chave = coalesce($7, invoice_chave),"
    " invoice_emitted_at = coalesce(to_date($8, 'DD/MM/YYYY'), invoice_emitted_at),"
    " poll_at = CASE WHEN situacao_at > $12::timestamptz THEN now() WHEN $10 THEN NULL"
    "  ELSE now() + $9::bigint * interval '1 ms' END,"
    " last_error = $11, lease_until = NULL, updated_at = now()"
    " WHERE order_id = $1 AND tenant_id = $2";

/* The cancellation's outcome: taken ('sent'), refused ('failed' with Tiny's message), or not
 * known (NULL: still due, after a wait). */
static const char cancel_sql[] =
    "UPDATE erp_orders SET cancel_state = coalesce($3, cancel_state), cancel_error = $4,"
    " situacao = CASE WHEN $3 = 'sent' THEN 'cancelado' ELSE situacao END,"
    " situacao_at = CASE WHEN $3 = 'sent' THEN now() ELSE situacao_at END,"
    " poll_at = CASE WHEN $3 = 'sent' THEN NULL ELSE now() + $5::bigint * interval '1 ms' END,"
    " lease_until = NULL, updated_at = now() WHERE order_id = $1 AND tenant_id = $2";

static const char expire_sql[] =
    "UPDATE accounts SET status = 'expired', " ACCOUNTS_PUSH_ERROR("'token'", "$2")
    " WHERE id = $1 AND channel = 'tiny' AND status = 'active'";
// clang-format on

typedef struct row {
	char *order_id, *tenant_id, *account_id, *pedido_id, *claimed_at;
	bool cancel, wants_invoice;
} row_t;

typedef struct pass {
	app_t *app;
	char *tenant_id, *account_id;
	status_cb cb;
	void *arg;
	row_t *rows;
	int n, at;
	status_counts_t counts;
	/* the row being read */
	char situacao[24], invoice_id[32];
} pass_t;

static void next_row(pass_t *p);

static void pass_end(pass_t *p, const char *err)
{
	p->cb(&p->counts, err, p->arg);
	for (int i = 0; i < p->n; i++) {
		free(p->rows[i].order_id);
		free(p->rows[i].tenant_id);
		free(p->rows[i].account_id);
		free(p->rows[i].pedido_id);
		free(p->rows[i].claimed_at);
	}
	free(p->rows);
	free(p->tenant_id);
	free(p->account_id);
	free(p);
}

static void stored(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err)
		log_error("tiny: status: storing an order's state: %s", err);
	p->at++;
	next_row(p);
}

static const char *num_text(long v, char *buf, size_t size)
{
	snprintf(buf, size, "%ld", v);
	return buf;
}

/* The read's outcome: the situation (NULL: unchanged), the invoice (NULL: none), an error. */
static void store_read(pass_t *p, const char *situacao, json_t *nota, const char *error)
{
	row_t *r = &p->rows[p->at];
	char poll[24];
	const char *inv_id = nota ? p->invoice_id : NULL;
	const char *params[] = {
	    r->order_id,
	    r->tenant_id,
	    situacao,
	    inv_id,
	    nota ? json_string_value(json_object_get(nota, "numero")) : NULL,
	    nota ? json_string_value(json_object_get(nota, "serie")) : NULL,
	    nota ? json_string_value(json_object_get(nota, "chave_acesso")) : NULL,
	    nota ? json_string_value(json_object_get(nota, "data_emissao")) : NULL,
	    num_text(tiny_config(p->app)->poll_ms, poll, sizeof(poll)),
	    tiny_situacao_final(situacao) ? "true" : "false",
	    error,
	    r->claimed_at};
	if (nota)
		p->counts.invoices++;
	pg_query(p->app->pg, read_sql, 12, params, stored, p);
}

static void store_cancel(pass_t *p, const char *state, const char *error)
{
	row_t *r = &p->rows[p->at];
	char poll[24];
	long wait = state ? tiny_config(p->app)->poll_ms : tiny_config(p->app)->retry_base_ms;
	const char *params[] = {r->order_id, r->tenant_id, state, error,
				num_text(wait, poll, sizeof(poll))};
	pg_query(p->app->pg, cancel_sql, 5, params, stored, p);
}

static void expired(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err)
		log_error("tiny: status: marking the account expired: %s", err);
	store_cancel(p, NULL, NULL); /* the row waits, as it was, for a new token */
}

/* A call that failed for the account's sake: a refused token expires the account. */
static bool account_failed(pass_t *p, const tiny_result_t *res)
{
	if (res->err != CHANNEL_ERR_UNAUTHORIZED)
		return false;
	const char *params[] = {p->rows[p->at].account_id, res->message};
	pg_query(p->app->pg, expire_sql, 2, params, expired, p);
	return true;
}

static bool retryable(enum channel_err e)
{
	return e == CHANNEL_ERR_TRANSIENT || e == CHANNEL_ERR_RATE_LIMITED ||
	       e == CHANNEL_ERR_BAD_RESPONSE || e == CHANNEL_ERR_EXPIRED;
}

static void invoice_read(const tiny_result_t *res, void *arg)
{
	pass_t *p = arg;
	if (account_failed(p, res))
		return;
	json_t *nota = json_object_get(res->retorno, "nota_fiscal");
	if (res->err != CHANNEL_OK || !json_is_object(nota)) {
		p->counts.failed++;
		/* The situation is stored; the invoice is looked for again at the next read. */
		store_read(p, p->situacao[0] ? p->situacao : NULL, NULL,
			   res->message ? res->message : "Tiny's invoice could not be read");
		return;
	}
	store_read(p, p->situacao[0] ? p->situacao : NULL, nota, NULL);
}

static void pedido_read(const tiny_result_t *res, void *arg)
{
	pass_t *p = arg;
	row_t *r = &p->rows[p->at];
	if (account_failed(p, res))
		return;
	if (res->err == CHANNEL_ERR_NOT_FOUND) {
		p->counts.failed++;
		store_read(p, NULL, NULL, "Tiny has no such pedido any more");
		return;
	}
	json_t *pedido = json_object_get(res->retorno, "pedido");
	if (res->err != CHANNEL_OK || !json_is_object(pedido)) {
		p->counts.failed++;
		store_read(p, NULL, NULL,
			   res->message ? res->message : "Tiny's pedido could not be read");
		return;
	}
	p->counts.read++;
	const char *code =
	    tiny_situacao_code(json_string_value(json_object_get(pedido, "situacao")));
	snprintf(p->situacao, sizeof(p->situacao), "%s", code ? code : "");
	double nf = tiny_num(json_object_get(pedido, "id_nota_fiscal"), 0);
	if (nf > 0 && r->wants_invoice) {
		snprintf(p->invoice_id, sizeof(p->invoice_id), "%.0f", nf);
		char form[64] = "";
		httpc_form_add(form, sizeof(form), "id", p->invoice_id);
		tiny_call(p->app, r->account_id, "nota.fiscal.obter", form, invoice_read, p);
		return;
	}
	store_read(p, code, NULL, NULL);
}

static void cancelled(const tiny_result_t *res, void *arg)
{
	pass_t *p = arg;
	if (account_failed(p, res))
		return;
	if (res->err == CHANNEL_OK) {
		p->counts.cancelled++;
		store_cancel(p, "sent", NULL);
	} else if (retryable(res->err)) {
		store_cancel(p, NULL, res->message);
	} else {
		p->counts.failed++;
		store_cancel(p, "failed", res->message);
	}
}

static void next_row(pass_t *p)
{
	if (p->at >= p->n) {
		pass_end(p, NULL);
		return;
	}
	row_t *r = &p->rows[p->at];
	p->situacao[0] = p->invoice_id[0] = '\0';
	char form[128] = "";
	httpc_form_add(form, sizeof(form), "id", r->pedido_id);
	if (r->cancel) {
		httpc_form_add(form, sizeof(form), "situacao", "cancelado");
		tiny_call(p->app, r->account_id, "pedido.alterar.situacao", form, cancelled, p);
	} else {
		tiny_call(p->app, r->account_id, "pedido.obter", form, pedido_read, p);
	}
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
	p->rows = xcalloc(p->n ? p->n : 1, sizeof(*p->rows));
	for (int i = 0; i < p->n; i++) {
		row_t *r = &p->rows[i];
		r->order_id = dup_value(res, i, 0);
		r->tenant_id = dup_value(res, i, 1);
		r->account_id = dup_value(res, i, 2);
		r->pedido_id = dup_value(res, i, 3);
		r->cancel = pg_bool(res, i, 4);
		r->wants_invoice = pg_bool(res, i, 5);
		r->claimed_at = dup_value(res, i, 6);
	}
	next_row(p);
}

static void marked(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err) {
		pass_end(p, err);
		return;
	}
	char lease[24];
	const char *params[] = {p->tenant_id, p->account_id,
				num_text(tiny_config(p->app)->lease_s, lease, sizeof(lease))};
	pg_query(p->app->pg, claim_sql, 3, params, claimed, p);
}

void tiny_status_run(app_t *app, const char *tenant_id, const char *account_id, status_cb cb,
		     void *arg)
{
	pass_t *p = xcalloc(1, sizeof(*p));
	p->app = app;
	p->tenant_id = tenant_id ? xstrdup(tenant_id) : NULL;
	p->account_id = account_id ? xstrdup(account_id) : NULL;
	p->cb = cb;
	p->arg = arg;
	const char *params[] = {p->tenant_id, p->account_id};
	pg_query(app->pg, mark_sql, 2, params, marked, p);
}
