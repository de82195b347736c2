/* Proving a Tiny token before it is stored (see the header): the cheapest call that answers
 * only a good token, then the token sealed. */
#include "token_proof.h"
#include "account.h"
#include "arena.h"
#include "client.h"
#include "crypto.h"
#include "errors.h"
#include "httpc.h"
#include "log.h"
#include "upkeep.h"
#include "util.h"
#include "validate.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

typedef struct proof {
	req_t *r;
	char *token; /* malloc'd (r and its arena may go with the answer); cleared once done */
	const char *store_failed;
	tiny_proved_cb done;
	void *arg;
} proof_t;

const char *tiny_token_field(req_t *r, json_t **d)
{
	const char *token =
	    validate_string(r, "apiToken", V_REQUIRED | V_RAW, TINY_TOKEN_MAX, d, NULL);
	if (token && strspn(token, TINY_TOKEN_CHARS) != strlen(token))
		*d = http_problem(*d, "apiToken", "must be the token of Tiny's API extension");
	return token;
}

static void tested(const tiny_result_t *res, void *arg)
{
	proof_t *p = arg; /* in r's arena: read before r is answered */
	req_t *r = p->r;
	char *token = p->token;
	if (res->err == CHANNEL_ERR_UNAUTHORIZED || res->err == CHANNEL_ERR_FORBIDDEN) {
		http_invalid(r, http_problem(NULL, "apiToken",
					     arena_printf(r->arena, "was refused by Tiny (%s)",
							  res->message)));
	} else if (res->err != CHANNEL_OK) {
		tiny_error_reply(r, res->err, "Testing the Tiny token", res->message);
	} else {
		crypto_keys_t keys;
		upkeep_keys(r->app, &keys);
		char *sealed = crypto_seal(&keys, token);
		OPENSSL_cleanse(&keys, sizeof(keys));
		if (sealed) {
			p->done(r, token, sealed, res->limit, p->arg);
		} else {
			log_error("tiny: sealing the token failed");
			http_error(r, 500, "INTERNAL", p->store_failed, NULL);
		}
	}
	explicit_bzero(token, strlen(token));
	free(token);
}

void tiny_token_prove(req_t *r, const char *token, const char *store_failed, tiny_proved_cb done,
		      void *arg)
{
	proof_t *p = arena_calloc(r->arena, 1, sizeof(*p));
	p->r = r;
	p->token = xstrdup(token);
	p->store_failed = store_failed;
	p->done = done;
	p->arg = arg;
	/* A search matching nothing is the cheapest call that proves the token (codigo 20). */
	char form[128] = "";
	httpc_form_add(form, sizeof(form), "pesquisa", "sellerhub-token-test");
	tiny_call_with_token(r->app, NULL, p->token, "produtos.pesquisa", form, tested, p);
}
