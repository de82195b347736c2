/* Tiny's v2 API: POST /api2/<service>.php, form-encoded (the query of a POST and a GET are read
 * too), `token` naming the company and `formato=json`. Every answer is HTTP 200 with the
 * "retorno" envelope, errors included: token (1, 2), plan without API (5), the per-minute limits of
 * the company's plan (6, general and batch services) and concurrency (11, a quarter of the
 * per-minute limit, visible with --tiny-latency-ms). Every answer to a company carries
 * x-limit-api, its per-minute allowance. */
#include "tiny.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_method.h"
#include "util.h"

typedef void (*tiny_service_fn)(tiny_call_t *c);

static const struct service {
	const char *name;
	tiny_service_fn fn;
	bool batch; /* counted against the plan's batch limit too */
} services[] = {
    {"produtos.pesquisa", tiny_produtos_pesquisa, false},
    {"produto.obter", tiny_produto_obter, false},
    {"produto.incluir", tiny_produto_incluir, true},
    {"produto.alterar", tiny_produto_alterar, true},
    {"produto.obter.estoque", tiny_produto_obter_estoque, false},
    {"produto.atualizar.estoque", tiny_produto_atualizar_estoque, false},
    {"pedidos.pesquisa", tiny_pedidos_pesquisa, false},
    {"pedido.obter", tiny_pedido_obter, false},
    {"pedido.incluir", tiny_pedido_incluir, false},
    {"pedido.alterar.situacao", tiny_pedido_alterar_situacao, false},
    {"gerar.nota.fiscal.pedido", tiny_gerar_nota_fiscal_pedido, false},
    {"nota.fiscal.obter", tiny_nota_fiscal_obter, false},
};

/* ---- parameters and the envelope ---- */

const char *tiny_param(tiny_call_t *c, const char *name)
{
	const char *v = evhttp_find_header(&c->form, name);
	return v ? v : ms_arg(c->r, name);
}

void tiny_ok(tiny_call_t *c, json_t *fields)
{
	json_t *ret = json_pack("{s:i, s:s}", "status_processamento", 3, "status", "OK");
	json_object_update(ret, fields);
	json_decref(fields);
	json_decref(c->reply);
	c->reply = json_pack("{s:o}", "retorno", ret);
}

void tiny_err(tiny_call_t *c, int codigo, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* 2: processed, with validation errors; 1: not processed at all. */
	int processing = codigo >= 20 && codigo < 35 ? 2 : 1;
	json_decref(c->reply);
	c->reply =
	    json_pack("{s:{s:i, s:s, s:i, s:[{s:s}]}}", "retorno", "status_processamento",
		      processing, "status", "Erro", "codigo_erro", codigo, "erros", "erro", msg);
}

json_t *tiny_json_param(tiny_call_t *c, const char *name)
{
	const char *v = tiny_param(c, name);
	if (!v || !*v) {
		tiny_err(c, 10, "O parâmetro %s não foi informado", name);
		return NULL;
	}
	json_error_t e;
	json_t *j = json_loads(v, 0, &e);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		tiny_err(c, 3, "JSON mal formado ou inválido no parâmetro %s", name);
		return NULL;
	}
	return j;
}

bool tiny_page(tiny_call_t *c, size_t total, size_t size, size_t *page, size_t *pages)
{
	const char *v = tiny_param(c, "pagina");
	long n = 1;
	if (v && *v) {
		char *end;
		n = strtol(v, &end, 10);
		if (*end || n < 1) {
			tiny_err(c, 31, "pagina deve ser um número a partir de 1");
			return false;
		}
	}
	if (total == 0) {
		tiny_err(c, 20, "A consulta não retornou registros");
		return false;
	}
	*pages = (total + size - 1) / size;
	if ((size_t)n > *pages) {
		tiny_err(c, 23, "A página solicitada não existe");
		return false;
	}
	*page = (size_t)n;
	return true;
}

bool tiny_number(json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return isfinite(*out);
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return false;
	char *end;
	*out = strtod(json_string_value(v), &end);
	return !*end && isfinite(*out);
}

/* ---- limits ---- */

/* The company's counters for the current minute of marketsim's clock; false with the error set
 * when this call is over a limit (a call over the limit is not counted). */
static bool take_call(tiny_call_t *c, bool batch)
{
	tiny_company_t *co = c->co;
	int64_t minute = ms_wall_ms(c->r->ms) / 60000;
	if (minute != co->window_minute) {
		co->window_minute = minute;
		co->used = co->used_batch = 0;
	}
	if (co->limit <= 0) {
		tiny_err(c, 5, "API bloqueada ou sem acesso: o plano %s não inclui a API",
			 co->plan);
		return false;
	}
	if (co->used >= co->limit || (batch && co->used_batch >= co->batch_limit)) {
		ms_traffic_count(c->r->ms->traffic, "tiny_throttled_minute");
		tiny_err(c, 6, "API Bloqueada - Excedido o número de acessos no último minuto");
		return false;
	}
	co->used++;
	if (batch)
		co->used_batch++;
	return true;
}

static int concurrency_limit(const tiny_company_t *co)
{
	return co->limit / 4 > 1 ? co->limit / 4 : 1;
}

/* ---- answers held by --tiny-latency-ms ---- */

struct tiny_pending {
	struct tiny_pending *prev, *next;
	tiny_t *tiny;
	tiny_company_t *co;
	struct evhttp_request *req; /* NULL once the client went away */
	struct evbuffer *body;
	struct event timer;
	char method[8], path[128];
};

static void pending_unlink(struct tiny_pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		p->tiny->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	event_del(&p->timer);
	evbuffer_free(p->body);
	if (p->co)
		p->co->in_flight--;
	free(p);
}

static void on_client_closed(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	struct tiny_pending *p = arg;
	p->req = NULL;
}

static void on_pending_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct tiny_pending *p = arg;
	ms_t *ms = p->tiny->ms;
	if (p->req) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(p->req), NULL, NULL);
		evhttp_send_reply(p->req, 200, NULL, p->body);
		ms_traffic_record(ms->traffic, p->method, p->path, "", 200, ms_wall_ms(ms));
	}
	pending_unlink(p);
}

void tiny_pending_free_all(tiny_t *t)
{
	while (t->pending) {
		struct tiny_pending *p = t->pending;
		if (p->req) {
			evhttp_connection_set_closecb(evhttp_request_get_connection(p->req), NULL,
						      NULL);
			evhttp_send_reply(p->req, 503, NULL, NULL);
		}
		p->co = NULL;
		pending_unlink(p);
	}
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	return evbuffer_add(data, buf, size);
}

/* Send the answer now, or hold it for --tiny-latency-ms: the company's call stays in flight
 * (counted in co->in_flight) until the timer sends it. */
static void answer(tiny_call_t *c, bool hold)
{
	ms_req_t *r = c->r;
	ms_t *ms = r->ms;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	if (c->co) {
		char limit[16];
		snprintf(limit, sizeof(limit), "%d", c->co->limit);
		evhttp_add_header(h, "x-limit-api", limit);
	}
	int latency = ms->opt.tiny_latency_ms;
	if (!hold) {
		ms_reply_json(r, 200, c->reply);
		c->reply = NULL;
		return;
	}
	struct tiny_pending *p = xcalloc(1, sizeof(*p));
	p->tiny = ms->tiny;
	p->co = c->co;
	p->req = r->req;
	p->body = evbuffer_new();
	json_dump_callback(c->reply, dump_cb, p->body, JSON_COMPACT | JSON_REAL_PRECISION(12));
	json_decref(c->reply);
	c->reply = NULL;
	snprintf(p->method, sizeof(p->method), "%s", http_method_name(r->method));
	snprintf(p->path, sizeof(p->path), "%s", r->path);
	evhttp_add_header(h, "Content-Type", "application/json;charset=UTF-8");
	evhttp_connection_set_closecb(evhttp_request_get_connection(r->req), on_client_closed, p);
	p->next = ms->tiny->pending;
	if (p->next)
		p->next->prev = p;
	ms->tiny->pending = p;
	evtimer_assign(&p->timer, ms->base, on_pending_due, p);
	struct timeval tv = {latency / 1000, (latency % 1000) * 1000};
	evtimer_add(&p->timer, &tv);
	/* Answered, as far as the request path goes: the reply leaves with the timer. */
	r->status = 200;
}

/* ---- the request path ---- */

void h_tiny_api(ms_req_t *r)
{
	tiny_t *t = r->ms->tiny;
	tiny_call_t c = {.r = r, .tiny = t};
	TAILQ_INIT(&c.form);
	const char *name = r->params[0];
	size_t n = strlen(name);
	const struct service *svc = NULL;
	for (size_t i = 0; n > 4 && strcmp(name + n - 4, ".php") == 0 && i < ARRAY_LEN(services);
	     i++)
		if (strlen(services[i].name) == n - 4 &&
		    strncmp(services[i].name, name, n - 4) == 0)
			svc = &services[i];
	if (!svc) {
		ms_reply_error(r, 404, "not_found", "File not found: %s", r->path);
		return;
	}
	const char *body = ms_body(r);
	if (body && evhttp_parse_query_str(body, &c.form) != 0)
		evhttp_clear_headers(&c.form); /* a malformed form reads as no fields */
	const char *token = tiny_param(&c, "token");
	const char *formato = tiny_param(&c, "formato");
	if (!token || !*token)
		tiny_err(&c, 1, "Token não informado");
	else if (!(c.co = tiny_company_by_token(t, token)))
		tiny_err(&c, 2, "Token inválido ou não encontrado");
	else if (!formato || strcasecmp(formato, "json") != 0)
		tiny_err(&c, 10, "formato: só formato=json é simulado");
	else if (take_call(&c, svc->batch)) {
		bool hold = r->ms->opt.tiny_latency_ms > 0;
		if (hold && c.co->in_flight >= concurrency_limit(c.co)) {
			ms_traffic_count(r->ms->traffic, "tiny_throttled_concurrency");
			tiny_err(&c, 11,
				 "API Bloqueada - Excedido o número de acessos simultâneos");
		} else {
			svc->fn(&c);
			if (!c.reply)
				tiny_err(&c, 35, "Erro inesperado, tente novamente");
			if (hold)
				c.co->in_flight++;
			answer(&c, hold);
			evhttp_clear_headers(&c.form);
			return;
		}
	}
	/* Errors before the service are answered at once. */
	answer(&c, false);
	evhttp_clear_headers(&c.form);
}
