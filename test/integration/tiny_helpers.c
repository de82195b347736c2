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
