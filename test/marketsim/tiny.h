/* marketsim's Tiny ERP (Olist Tiny) side: the v2 token API (POST /api2/<service>.php with its
 * "retorno" envelope), companies with their plans and per-minute limits, catalogues whose SKUs
 * (codigo) are the Mercado Livre sellers' SKUs, stock per deposit, orders (pedidos), invoices
 * and the stock and order-status webhooks. Facts: shared/providers/mercadolivre-and-tiny.md,
 * part 2. Served by the same process and port as Mercado Livre. */
#ifndef MARKETSIM_TINY_H
#define MARKETSIM_TINY_H

#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marketsim.h"

#define TINY_DEPOSITS	  3 /* "Geral" (the default), "Loja Física", "Avarias" (not counted) */
#define TINY_KIT_MAX	  4
#define TINY_ID_SPAN	  10000000LL /* ids of one company: base + company * span + index */
#define TINY_PRODUCT_BASE 700000000LL
#define TINY_ORDER_BASE	  800000000LL
#define TINY_INVOICE_BASE 900000000LL

extern const char *const tiny_deposit_names[TINY_DEPOSITS];
extern const bool tiny_deposit_ignored[TINY_DEPOSITS]; /* desconsiderar = S */

typedef struct tiny_product {
	int64_t id;
	char codigo[64];
	char tipo;	   /* 'P' product, 'K' kit (its stock comes from its components) */
	char variacao;	   /* 'N' none, 'P' parent of variations (stock of its children), 'V' */
	int64_t parent_id; /* variacao 'V': the parent's id */
	int n_kit;
	int64_t kit_id[TINY_KIT_MAX];
	double kit_qty[TINY_KIT_MAX];
	double saldo[TINY_DEPOSITS]; /* own stock per deposit (kits and parents keep none) */
	double reserved; /* held by open orders: its lines, its kits', its variations' */
	json_t *json;	 /* produto.obter's view, without stock */
} tiny_product_t;

typedef struct tiny_line {
	int64_t product_id;
	double qty;
} tiny_line_t;

typedef struct tiny_order {
	int64_t id, numero;
	int64_t created_ms, updated_ms;
	char numero_ecommerce[64]; /* "" = none */
	char situacao[24];	   /* the v2 code: em_aberto, aprovado, ..., faturado, cancelado */
	bool stock_launched;	   /* its invoice took the units out of the warehouse */
	int64_t invoice_id;	   /* 0 = none */
	tiny_line_t *lines;	   /* the products ordered (a kit stays a kit) */
	size_t n_lines;
	json_t *json; /* pedido.obter's view; situacao and id_nota_fiscal kept current */
} tiny_order_t;

typedef struct tiny_invoice {
	int64_t id, order_id, numero;
	json_t *json; /* nota.fiscal.obter's view */
} tiny_invoice_t;

typedef struct tiny_company {
	int64_t id;
	size_t ix;
	char name[80], cnpj[16], token[65], plan[24];
	int limit, batch_limit; /* calls per minute: general and batch services */
	int64_t seller_id;	/* the Mercado Livre seller whose SKUs it shares (0 = none) */
	int64_t id_ecommerce;	/* the integration's id in webhooks */
	char webhook_url[512];	/* "" = no webhooks */
	char stock_type;	/* webhook tipoEstoque: 'F' physical or 'D' available */
	int64_t window_minute;	/* the minute (marketsim's clock) the counters below count */
	int used, used_batch;	/* calls in that minute */
	int in_flight;		/* answers not sent yet (with --tiny-latency-ms) */
	tiny_product_t *products;
	size_t n_products, cap_products;
	strmap_t *by_codigo; /* codigo → index + 1 */
	tiny_order_t *orders;
	size_t n_orders, cap_orders;
	strmap_t *by_ecommerce; /* numero_ecommerce → index + 1 */
	tiny_invoice_t *invoices;
	size_t n_invoices, cap_invoices;
} tiny_company_t;

typedef struct tiny_webhooks tiny_webhooks_t;
struct tiny_pending;

typedef struct tiny {
	ms_t *ms;
	tiny_company_t *companies;
	size_t n_companies;
	strmap_t *by_token; /* token → company index + 1 */
	uint64_t rng;	    /* draws for what is made after start */
	tiny_webhooks_t *webhooks;
	struct tiny_pending *pending; /* answers held by --tiny-latency-ms */
} tiny_t;

/* tiny_data.c: the store, stock arithmetic and the changes every caller shares. */
tiny_t *tiny_new(ms_t *ms);
void tiny_free(tiny_t *t);
tiny_company_t *tiny_company_by_token(tiny_t *t, const char *token);
tiny_company_t *tiny_company_find(tiny_t *t, int64_t id);
/* Lookups inside one company: another company's ids are not found. */
tiny_product_t *tiny_product_find(tiny_company_t *co, int64_t id);
tiny_product_t *tiny_product_by_codigo(tiny_company_t *co, const char *codigo);
tiny_order_t *tiny_order_find(tiny_company_t *co, int64_t id);
tiny_order_t *tiny_order_by_ecommerce(tiny_company_t *co, const char *numero);
tiny_invoice_t *tiny_invoice_find(tiny_company_t *co, int64_t id);
/* Whichever company owns the id (for the control API). */
tiny_order_t *tiny_order_find_any(tiny_t *t, int64_t id, tiny_company_t **co);
tiny_product_t *tiny_product_add(tiny_company_t *co, const char *codigo, json_t *json);
tiny_order_t *tiny_order_add(tiny_company_t *co);
/* A new order (situacao em_aberto) of n lines with their unit prices, its view built; the
 * caller checked the products. numero_ecommerce may be "" (none). */
tiny_order_t *tiny_order_create(tiny_company_t *co, json_t *cliente, const tiny_line_t *lines,
				const double *prices, size_t n, const char *numero_ecommerce,
				int64_t created_ms, double frete);
void tiny_company_set_plan(tiny_company_t *co, const char *plan, int limit_override);
bool tiny_plan_known(const char *plan);

/* Physical stock (deposits not ignored), reserved (open orders), per deposit. */
double tiny_stock_saldo(tiny_company_t *co, const tiny_product_t *p);
double tiny_stock_reserved(tiny_company_t *co, const tiny_product_t *p);
double tiny_stock_deposit(tiny_company_t *co, const tiny_product_t *p, int deposit);
int tiny_deposit_find(const char *name); /* -1 when unknown */
/* Move stock of a plain product or variation in one deposit: tipo 'B' sets, 'E' adds, 'S'
 * subtracts. Fires the stock webhooks (the product, its parent, the kits it is part of). */
void tiny_stock_move(ms_t *ms, tiny_company_t *co, tiny_product_t *p, int deposit, char tipo,
		     double qty);
/* Whether a product's stock can be moved (not a kit nor a parent of variations). */
bool tiny_stock_movable(const tiny_product_t *p);

bool tiny_situacao_known(const char *code);
const char *tiny_situacao_label(const char *code);
/* The code for a code or a label ("Em aberto" → em_aberto); NULL when unknown. */
const char *tiny_situacao_code(const char *s);
/* Change an order's situation at at_ms (fires the webhook); false with msg when not allowed. */
bool tiny_order_set_situacao(ms_t *ms, tiny_company_t *co, tiny_order_t *o, const char *code,
			     int64_t at_ms, char *msg, size_t msglen);
/* Stock webhooks for every product an order touches (its components too): physical moves
 * always, reservations only for companies whose webhooks carry the available stock. */
void tiny_order_stock_touched(ms_t *ms, tiny_company_t *co, const tiny_order_t *o, bool physical);
/* Invoice an order: the invoice, the stock out of "Geral", situacao faturado, webhooks. NULL
 * with codigo_erro and msg when it cannot be. */
tiny_invoice_t *tiny_order_invoice(ms_t *ms, tiny_company_t *co, tiny_order_t *o,
				   const char *modelo, int64_t at_ms, int *codigo_erro, char *msg,
				   size_t msglen);
/* Views. */
json_t *tiny_product_view(tiny_company_t *co, const tiny_product_t *p);
json_t *tiny_stock_view(tiny_company_t *co, const tiny_product_t *p);
json_t *tiny_company_truth(tiny_company_t *co);
json_t *tiny_company_summary(const tiny_company_t *co);
/* "dd/mm/yyyy" (with " hh:mm:ss" when with_time) in Brazil's time. */
void tiny_date_fmt(int64_t wall_ms, bool with_time, char *buf, size_t size);
/* Stock quantities as Tiny writes them in JSON. */
json_t *tiny_qty_json(double q);

/* tiny_seed.c: the seeded companies, catalogues (the ML sellers' SKUs first) and orders. */
void tiny_seed(tiny_t *t, const ms_options_t *o, const ms_data_t *d);
/* produto.obter's view of a new product (id and codigo are set by tiny_product_add). */
json_t *tiny_product_json(const char *nome, double preco, double custo, const char *tipo,
			  const char *classe, const char *variacao, int64_t created_ms);

/* tiny_api.c: the v2 API's request path and envelope. */
void tiny_pending_free_all(tiny_t *t); /* answers still held: 503 */
typedef struct tiny_call {
	ms_req_t *r;
	tiny_t *tiny;
	tiny_company_t *co;
	struct evkeyvalq form; /* body fields, then the query's */
	json_t *reply;	       /* the answer, sent by tiny_api once the service returns */
} tiny_call_t;
const char *tiny_param(tiny_call_t *c, const char *name);
/* {"retorno":{"status_processamento":3,"status":"OK", ...fields (stolen)}} */
void tiny_ok(tiny_call_t *c, json_t *fields);
/* The error envelope with codigo_erro and one message in erros[]. */
void tiny_err(tiny_call_t *c, int codigo, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A JSON payload field (produto=, pedido=, estoque=): the object, or NULL with the error set. */
json_t *tiny_json_param(tiny_call_t *c, const char *name);
/* Page n (from 1) of total records, size per page: false with the error set (20, 23). */
bool tiny_page(tiny_call_t *c, size_t total, size_t size, size_t *page, size_t *pages);
/* A number given as a JSON number or a string ("5.00"). */
bool tiny_number(json_t *v, double *out);

/* tiny_produtos.c and tiny_pedidos.c: the services. */
void tiny_produtos_pesquisa(tiny_call_t *c);
void tiny_produto_obter(tiny_call_t *c);
void tiny_produto_incluir(tiny_call_t *c);
void tiny_produto_alterar(tiny_call_t *c);
void tiny_produto_obter_estoque(tiny_call_t *c);
void tiny_produto_atualizar_estoque(tiny_call_t *c);
void tiny_pedidos_pesquisa(tiny_call_t *c);
void tiny_pedido_obter(tiny_call_t *c);
void tiny_pedido_incluir(tiny_call_t *c);
void tiny_pedido_alterar_situacao(tiny_call_t *c);
void tiny_gerar_nota_fiscal_pedido(tiny_call_t *c);
void tiny_nota_fiscal_obter(tiny_call_t *c);

/* tiny_webhooks.c: POSTs to each company's webhook URL, retried on marketsim's clock. */
tiny_webhooks_t *tiny_webhooks_new(ms_t *ms);
void tiny_webhooks_free(tiny_webhooks_t *w);
void tiny_webhook_stock(ms_t *ms, tiny_company_t *co, const tiny_product_t *p);
void tiny_webhook_order(ms_t *ms, tiny_company_t *co, const tiny_order_t *o);
json_t *tiny_webhooks_stats(tiny_webhooks_t *w);
void tiny_clock_moved(tiny_t *t);

/* Handlers: the API and the /_sim/tiny control API. */
void h_tiny_api(ms_req_t *r);
void h_sim_tiny_get(ms_req_t *r);
void h_sim_tiny_company(ms_req_t *r);
void h_sim_tiny_stock(ms_req_t *r);
void h_sim_tiny_order_situacao(ms_req_t *r);
void h_sim_tiny_order_nota(ms_req_t *r);

#endif
