/* The poll for lost webhooks: see the header. */
#include "poll.h"
#include "client.h"
#include "httpc.h"
#include "log.h"
#include "sql_json.h"
#include "status.h"
#include "tiny.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES_MAX 40 /* 2,000 changed pedidos a poll; the rest wait for the next one */

// clang-format off
/* Due accounts, their poll time moved to now; each with the time to ask from, in Tiny's clock
 * (Brazil's), a minute before the last poll (a change made during it). An account never
 * polled asks from its oldest open order's sending. */
static const char claim_sql[] =
    "WITH due AS (SELECT a.id, a.settings->'ordersPolledAt' AS before,"
    "  coalesce((a.settings->>'ordersPolledAt')::timestamptz, (SELECT min(e.sent_at)"
    "   FROM erp_orders e WHERE e.account_id = a.id AND e.status = 'sent'"
    "   AND e.poll_at IS NOT NULL), now()) AS since"
    "  FROM accounts a WHERE a.channel = 'tiny' AND a.status = 'active'"
    "  AND coalesce((a.settings->>'ordersPolledAt')::timestamptz, '-infinity')"
    "   <= now() - $1::bigint * interval '1 ms'"
    "  ORDER BY a.id LIMIT 20 FOR UPDATE OF a SKIP LOCKED)" /* the rest: next round */
    " UPDATE accounts a SET settings = a.settings || jsonb_build_object('ordersPolledAt',"
    "  " SQL_TS("now()") ") FROM due WHERE a.id = due.id"
    " RETURNING a.id, coalesce(due.before, 'null')::text, to_char((due.since"
    "  - interval '1 minute') AT TIME ZONE 'America/Sao_Paulo', 'DD/MM/YYYY HH24:MI:SS')";

/* Sent orders whose situation at Tiny ($2: [{id, situacao}]) is not ours: read them now. */
static const char changed_sql[] =
    "UPDATE erp_orders e SET poll_at = now()"
    " FROM jsonb_to_recordset($2::jsonb) AS x(id text, situacao text)"
    " WHERE e.account_id = $1 AND e.pedido_id = x.id AND e.status = 'sent'"
    " AND e.situacao IS DISTINCT FROM x.situacao RETURNING 1";

static const char restore_sql[] =
    "UPDATE accounts SET settings = CASE WHEN $2::jsonb = 'null'::jsonb"
    "  THEN settings - 'ordersPolledAt'"
    "  ELSE settings || jsonb_build_object('ordersPolledAt', $2::jsonb) END WHERE id = $1";
// clang-format on

typedef struct account {
	char *id, *before, *since;
} account_t;

typedef struct round {
	app_t *app;
	poll_cb cb;
	void *arg;
	account_t *accounts;
	int n, at;
	long page;
	int changed;
} round_t;

static void next_account(round_t *r);
static void ask(round_t *r);

static void round_end(round_t *r, const char *err)
{
	r->cb(r->changed, err, r->arg);
	for (int i = 0; i < r->n; i++) {
		free(r->accounts[i].id);
		free(r->accounts[i].before);
		free(r->accounts[i].since);
	}
	free(r->accounts);
	free(r);
}

static void account_done(const PGresult *res, const char *err, void *arg)
{
	round_t *r = arg;
	if (err)
		log_error("tiny: poll: %s", err);
	r->at++;
	next_account(r);
}

/* The poll failed: the next round asks from the same time again. */
static void give_back(round_t *r, const char *why)
{
	log_warn("tiny: poll of account %s: %s", r->accounts[r->at].id, why);
	const char *params[] = {r->accounts[r->at].id, r->accounts[r->at].before};
	pg_query(r->app->pg, restore_sql, 2, params, account_done, r);
}

static void page_stored(const PGresult *res, const char *err, void *arg)
{
	round_t *r = arg;
	if (err) {
		give_back(r, err);
		return;
	}
	r->changed += PQntuples(res);
	r->page++;
	ask(r);
}

static void answered(const tiny_result_t *res, void *arg)
{
	round_t *r = arg;
	if (res->err != CHANNEL_OK) {
		give_back(r, res->message);
		return;
	}
	json_t *list = json_object_get(res->retorno, "pedidos");
	if (res->empty || json_array_size(list) == 0) {
		account_done(NULL, NULL, r);
		return;
	}
	json_t *seen = json_array();
	size_t i;
	json_t *entry;
	json_array_foreach(list, i, entry)
	{
		json_t *p = json_object_get(entry, "pedido");
		const char *code =
		    tiny_situacao_code(json_string_value(json_object_get(p, "situacao")));
		double id = tiny_num(json_object_get(p, "id"), 0);
		if (code && id > 0) {
			char text[32];
			snprintf(text, sizeof(text), "%.0f", id);
			json_array_append_new(
			    seen, json_pack("{s:s, s:s}", "id", text, "situacao", code));
		}
	}
	long pages = (long)tiny_num(json_object_get(res->retorno, "numero_paginas"), 1);
	if (r->page >= pages || r->page >= PAGES_MAX)
		r->page = -1; /* the last page: stored, then the account is done */
	char *doc = json_dumps(seen, JSON_COMPACT);
	json_decref(seen);
	const char *params[] = {r->accounts[r->at].id, doc};
	pg_query(r->app->pg, changed_sql, 2, params, page_stored, r);
	free(doc);
}

static void ask(round_t *r)
{
	if (r->page <= 0) { /* past the last page */
		account_done(NULL, NULL, r);
		return;
	}
	char form[160] = "", page[24];
	snprintf(page, sizeof(page), "%ld", r->page);
	httpc_form_add(form, sizeof(form), "dataAtualizacao", r->accounts[r->at].since);
	httpc_form_add(form, sizeof(form), "pagina", page);
	tiny_call(r->app, r->accounts[r->at].id, "pedidos.pesquisa", form, answered, r);
}

static void next_account(round_t *r)
{
	if (r->at >= r->n) {
		round_end(r, NULL);
		return;
	}
	r->page = 1;
	ask(r);
}

static void claimed(const PGresult *res, const char *err, void *arg)
{
	round_t *r = arg;
	if (err) {
		round_end(r, err);
		return;
	}
	r->n = PQntuples(res);
	r->accounts = xcalloc(r->n ? r->n : 1, sizeof(*r->accounts));
	for (int i = 0; i < r->n; i++) {
		r->accounts[i].id = xstrdup(pg_value(res, i, 0));
		r->accounts[i].before = xstrdup(pg_value(res, i, 1));
		r->accounts[i].since = xstrdup(pg_value(res, i, 2));
	}
	next_account(r);
}

void tiny_poll_run(app_t *app, poll_cb cb, void *arg)
{
	round_t *r = xcalloc(1, sizeof(*r));
	r->app = app;
	r->cb = cb;
	r->arg = arg;
	char interval[24];
	snprintf(interval, sizeof(interval), "%ld", tiny_config(app)->poll_ms);
	const char *params[] = {interval};
	pg_query(app->pg, claim_sql, 1, params, claimed, r);
}
