/* See the header. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiny_helpers.h"

json_t *tnh_company(const h_proc_t *sim, size_t i)
{
	h_resp_t r = msh_sim(sim, "GET", "/_sim/tiny", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *c = json_incref(json_array_get(h_json_path(r.json, "companies"), i));
	h_resp_free(&r);
	cr_assert(c, "no company %zu", i);
	return c;
}

long long tnh_plain_product(const h_proc_t *sim, int want, char *sku, size_t size)
{
	json_t *c = tnh_company(sim, 0);
	size_t i;
	json_t *p;
	int seen = 0;
	json_array_foreach(json_object_get(c, "products"), i, p)
	{
		const char *tipo = msh_str(p, "tipo"), *var = msh_str(p, "variacao");
		if (strcmp(tipo, "K") == 0 || strcmp(var, "N") != 0 ||
		    json_object_get(p, "parentId"))
			continue;
		if (seen++ == want) {
			snprintf(sku, size, "%s", msh_str(p, "codigo"));
			long long saldo = (long long)json_number_value(json_object_get(p, "saldo"));
			json_decref(c);
			return saldo;
		}
	}
	json_decref(c);
	cr_assert_fail("marketsim has fewer than %d plain products", want + 1);
	return 0;
}

void tnh_connect(const h_proc_t *srv, const h_proc_t *sim, const session_t *owner, char *id)
{
	json_t *c = tnh_company(sim, 0);
	char body[512];
	snprintf(body, sizeof(body), "{\"apiToken\":\"%s\"}", msh_str(c, "token"));
	json_decref(c);
	h_resp_t r = ident_call(srv, "POST", "/api/tiny-accounts", owner->access, body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, 40, "%s", json_string_value(h_json_path(r.json, "data.id")));
	h_resp_free(&r);
}

void tnh_account_row(const char *tenant_id, const char *channel, char *id)
{
	static int seq;
	char *v = h_sql_text("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
			     " access_token_sealed) VALUES ('%s', '%s', '%d%d', 'Loja', 'v1:k:x')"
			     " RETURNING id",
			     tenant_id, channel, getpid(), ++seq);
	snprintf(id, 40, "%.36s", v);
	free(v);
}

static int seq;

int tiny_pedidos_for(const h_proc_t *sim, const char *ext, long long *id)
{
	json_t *c = tnh_company(sim, 0);
	int n = 0;
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(c, "orders"), i, o)
	{
		const char *num = json_string_value(json_object_get(o, "numeroEcommerce"));
		if (num && strcmp(num, ext) == 0) {
			if (n++ == 0 && id)
				*id = json_integer_value(json_object_get(o, "id"));
		}
	}
	json_decref(c);
	return n;
}

void tiny_shop_at(const h_proc_t *srv, const h_proc_t *sim, tiny_shop_t *s)
{
	ident_signup(srv, &s->owner);
	tnh_connect(srv, sim, &s->owner, s->tiny);
	tnh_account_row(s->owner.tenant_id, "ml", s->ml);
}

void tiny_erp_product(const tiny_shop_t *s, const char *sku)
{
	cr_assert_eq(h_sql_int("WITH i AS (INSERT INTO products (tenant_id, sku, title, source,"
			       " erp_account_id, erp_id) VALUES ('%s', '%s', 'P', 'erp', '%s', '1')"
			       " RETURNING 1) SELECT count(*) FROM i",
			       s->owner.tenant_id, sku, s->tiny),
		     1);
}

void tiny_ml_order(const tiny_shop_t *s, const char *sku1, const char *sku2, char *ext)
{
	snprintf(ext, 64, "2000%d%04d", getpid(), ++seq);
	cr_assert_eq(
	    h_sql_int("WITH o AS (INSERT INTO orders (tenant_id, account_id, channel,"
		      " external_id, status, date_created, last_updated, total_amount,"
		      " buyer_nickname, raw) VALUES ('%s', '%s', 'ml', '%s', 'paid', now(),"
		      " now(), 30, 'COMPRADOR', '{}') RETURNING id, tenant_id),"
		      " i AS (INSERT INTO order_items (order_id, tenant_id, sku, title,"
		      " quantity, unit_price) SELECT id, tenant_id, s, 'T', 1, 10 FROM o,"
		      " unnest(ARRAY['%s', '%s']::text[]) s WHERE s <> '' RETURNING 1)"
		      " SELECT count(*) FROM i",
		      s->owner.tenant_id, s->ml, ext, sku1, sku2 ? sku2 : ""),
	    sku2 ? 2 : 1);
}

char *tiny_row(const char *ext, const char *col)
{
	return h_sql_text("SELECT coalesce((SELECT e.%s::text FROM erp_orders e JOIN orders o"
			  " ON o.id = e.order_id WHERE o.external_id = '%s'), '')",
			  col, ext);
}

json_t *tiny_forward_now(const h_proc_t *p, const tiny_shop_t *s)
{
	h_resp_t r = ident_call(p, "POST", "/api/erp/forward", s->owner.access, "{}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *d = json_incref(json_object_get(r.json, "data"));
	h_resp_free(&r);
	return d;
}
