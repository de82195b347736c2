/* Tiny's webhooks: a stock update (tipo "estoque") or an order's new situation (tipo
 * "situacao_pedido") POSTed as JSON to the company's webhook URL. The receiver must answer 200
 * (within 5 s here); otherwise the call is retried up to 10 times, each wait 5 minutes longer than
 * the one before (what the v3 documentation says; v2's text is cut off), on marketsim's clock so
 * a test moves the clock instead of waiting. */
#include "tiny.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ATTEMPTS_MAX 10
#define STEP_S	     300.0
#define TIMEOUT_S    5
#define LOG_MAX	     200

enum hook_state { H_WAITING, H_SENDING, H_CLOSING };

/* One webhook until it is delivered or given up; owned by the tiny_webhooks list. */
struct hook {
	struct hook *prev, *next;
	tiny_webhooks_t *owner;
	char url[512], host[256], path[512], tipo[24];
	int port, attempts, status;
	int64_t company_id;
	char *body;
	enum hook_state state;
	struct event timer;
	struct evhttp_connection *conn;
	int64_t due_us; /* marketsim's clock: the next attempt */
	json_t *log;	/* this hook's entry in the log (shared reference) */
};

struct tiny_webhooks {
	ms_t *ms;
	struct hook *head;
	json_t *log; /* the latest LOG_MAX hooks, oldest first */
	json_int_t emitted, delivered, failed_attempts, given_up, no_target;
};

tiny_webhooks_t *tiny_webhooks_new(ms_t *ms)
{
	tiny_webhooks_t *w = xcalloc(1, sizeof(*w));
	w->ms = ms;
	w->log = json_array();
	return w;
}

static void hook_free(struct hook *h)
{
	tiny_webhooks_t *w = h->owner;
	if (h->prev)
		h->prev->next = h->next;
	else
		w->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	event_del(&h->timer);
	if (h->conn)
		evhttp_connection_free(h->conn);
	json_decref(h->log);
	free(h->body);
	free(h);
}

void tiny_webhooks_free(tiny_webhooks_t *w)
{
	if (!w)
		return;
	while (w->head)
		hook_free(w->head);
	json_decref(w->log);
	free(w);
}

json_t *tiny_webhooks_stats(tiny_webhooks_t *w)
{
	size_t pending = 0;
	for (struct hook *h = w->head; h; h = h->next)
		pending++;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:O}", "emitted", w->emitted, "delivered",
			 w->delivered, "failedAttempts", w->failed_attempts, "givenUp", w->given_up,
			 "noTarget", w->no_target, "pending", (json_int_t)pending, "log", w->log);
}

/* The timer fires in `seconds` of marketsim's clock (re-armed by tiny_clock_moved). */
static void arm(struct hook *h, double seconds)
{
	h->due_us = ms_now_us(h->owner->ms) + (int64_t)(seconds * 1e6);
	struct timeval tv = {(time_t)seconds,
			     (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
	evtimer_add(&h->timer, &tv);
}

void tiny_clock_moved(tiny_t *t)
{
	if (!t)
		return;
	int64_t now = ms_now_us(t->ms);
	for (struct hook *h = t->webhooks->head; h; h = h->next) {
		if (h->state != H_WAITING)
			continue;
		int64_t left = h->due_us > now ? h->due_us - now : 0;
		struct timeval tv = {(time_t)(left / 1000000), (suseconds_t)(left % 1000000)};
		evtimer_add(&h->timer, &tv);
	}
}

static void on_response(struct evhttp_request *req, void *arg)
{
	struct hook *h = arg;
	h->status = req ? evhttp_request_get_response_code(req) : 0;
	/* The connection is freed from the timer, never inside its own callback. */
	h->state = H_CLOSING;
	arm(h, 0);
}

static void attempt(struct hook *h)
{
	ms_t *ms = h->owner->ms;
	h->attempts++;
	h->conn = evhttp_connection_base_new(ms->base, NULL, h->host, (ev_uint16_t)h->port);
	evhttp_connection_set_timeout(h->conn, TIMEOUT_S);
	evhttp_connection_set_retries(h->conn, 0);
	struct evhttp_request *req = evhttp_request_new(on_response, h);
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	evhttp_add_header(hd, "Host", h->host);
	evhttp_add_header(hd, "Content-Type", "application/json");
	evhttp_add_header(hd, "User-Agent", "marketsim-tiny-webhooks");
	evbuffer_add(evhttp_request_get_output_buffer(req), h->body, strlen(h->body));
	h->state = H_SENDING;
	if (evhttp_make_request(h->conn, req, EVHTTP_REQ_POST, h->path) != 0) {
		h->status = 0;
		h->state = H_CLOSING;
		arm(h, 0);
	}
}

static void after_attempt(struct hook *h)
{
	tiny_webhooks_t *w = h->owner;
	evhttp_connection_free(h->conn);
	h->conn = NULL;
	json_object_set_new(h->log, "attempts", json_integer(h->attempts));
	json_object_set_new(h->log, "status", json_integer(h->status));
	if (h->status == 200) {
		w->delivered++;
		json_object_set_new(h->log, "delivered", json_true());
		hook_free(h);
		return;
	}
	w->failed_attempts++;
	if (h->attempts >= ATTEMPTS_MAX) {
		w->given_up++;
		hook_free(h);
		return;
	}
	h->state = H_WAITING;
	arm(h, STEP_S * h->attempts);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct hook *h = arg;
	if (h->state == H_CLOSING) {
		after_attempt(h);
		return;
	}
	/* Early by marketsim's clock (it stood still): wait on; a frozen clock re-arms us when
	 * it moves. */
	int64_t left = h->due_us - ms_now_us(h->owner->ms);
	if (left > 0) {
		if (!h->owner->ms->clock.frozen) {
			struct timeval tv = {(time_t)(left / 1000000),
					     (suseconds_t)(left % 1000000)};
			evtimer_add(&h->timer, &tv);
		}
		return;
	}
	attempt(h);
}

static void emit(ms_t *ms, tiny_company_t *co, const char *tipo, json_t *dados)
{
	tiny_t *t = ms->tiny;
	if (!t) { /* still seeding: the seeded past sends nothing */
		json_decref(dados);
		return;
	}
	tiny_webhooks_t *w = t->webhooks;
	w->emitted++;
	if (!co->webhook_url[0]) {
		w->no_target++;
		json_decref(dados);
		return;
	}
	struct evhttp_uri *u = evhttp_uri_parse(co->webhook_url);
	if (!u || !evhttp_uri_get_host(u)) {
		if (u)
			evhttp_uri_free(u);
		w->no_target++;
		json_decref(dados);
		return;
	}
	struct hook *h = xcalloc(1, sizeof(*h));
	h->owner = w;
	snprintf(h->url, sizeof(h->url), "%s", co->webhook_url);
	snprintf(h->host, sizeof(h->host), "%s", evhttp_uri_get_host(u));
	h->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
	snprintf(h->path, sizeof(h->path), "%s%s%s", path && *path ? path : "/", query ? "?" : "",
		 query ? query : "");
	evhttp_uri_free(u);
	snprintf(h->tipo, sizeof(h->tipo), "%s", tipo);
	h->company_id = co->id;
	json_t *body = json_pack("{s:s, s:I, s:s, s:s, s:o}", "cnpj", co->cnpj, "idEcommerce",
				 (json_int_t)co->id_ecommerce, "tipo", tipo, "versao",
				 strcmp(tipo, "estoque") == 0 ? "1.0.0" : "2", "dados", dados);
	h->body = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12));
	char sent[32];
	iso8601_utc(ms_wall_ms(ms), sent, sizeof(sent));
	h->log = json_pack("{s:I, s:s, s:s, s:O, s:s, s:i, s:i, s:b}", "companyId",
			   (json_int_t)co->id, "tipo", tipo, "url", h->url, "body", body, "created",
			   sent, "attempts", 0, "status", 0, "delivered", 0);
	json_decref(body);
	json_array_append(w->log, h->log);
	if (json_array_size(w->log) > LOG_MAX)
		json_array_remove(w->log, 0);
	evtimer_assign(&h->timer, ms->base, on_timer, h);
	h->next = w->head;
	if (h->next)
		h->next->prev = h;
	w->head = h;
	h->state = H_WAITING;
	arm(h, 0);
}

void tiny_webhook_stock(ms_t *ms, tiny_company_t *co, const tiny_product_t *p)
{
	double saldo = tiny_stock_saldo(co, p);
	if (co->stock_type == 'D')
		saldo -= tiny_stock_reserved(co, p);
	const tiny_product_t *parent =
	    p->variacao == 'V' ? tiny_product_find(co, p->parent_id) : NULL;
	char type[2] = {co->stock_type, '\0'};
	emit(ms, co, "estoque",
	     json_pack("{s:s, s:o, s:I, s:s, s:s, s:s}", "tipoEstoque", type, "saldo",
		       tiny_qty_json(saldo), "idProduto", (json_int_t)p->id, "sku", p->codigo,
		       "skuMapeamento", p->codigo, "skuMapeamentoPai",
		       parent ? parent->codigo : ""));
}

void tiny_webhook_order(ms_t *ms, tiny_company_t *co, const tiny_order_t *o)
{
	emit(ms, co, "situacao_pedido",
	     json_pack("{s:s, s:I, s:s, s:s}", "idPedidoEcommerce", o->numero_ecommerce,
		       "idVendaTiny", (json_int_t)o->id, "situacao", o->situacao,
		       "descricaoSituacao", tiny_situacao_label(o->situacao)));
}
