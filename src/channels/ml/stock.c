/* Stock pushes to Mercado Livre (channel_t.push_stock): PUT /items/:id {available_quantity}, or
 * for a variation {variations: [...]} naming every variation of the item (Mercado Livre deletes
 * the ones a PUT leaves out) with the quantity on the one pushed. Through the account's one
 * bucket, as every call of the channel. */
#include "client.h"
#include "data.h"
#include "ml.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct push_call {
	channel_push_cb cb;
	void *arg;
} push_call_t;

static void put_done(const ml_result_t *res, void *arg)
{
	push_call_t *c = arg;
	c->cb((enum channel_err)res->err, res->err == ML_OK ? NULL : res->message, c->arg);
	free(c);
}

/* The body of the PUT, NULL when the variation is not one of the item's. */
static char *body_of(const channel_listing_t *l, long quantity)
{
	json_t *body;
	if (!l->variation[0]) {
		body = json_pack("{s:I}", "available_quantity", (json_int_t)quantity);
	} else {
		json_t *vars = json_array();
		bool found = false;
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(l->raw, "variations"), i, v)
		{
			json_t *id = json_object_get(v, "id");
			char idtext[32];
			if (json_is_integer(id))
				snprintf(idtext, sizeof(idtext), "%lld",
					 (long long)json_integer_value(id));
			else
				snprintf(idtext, sizeof(idtext), "%s",
					 json_string_value(id) ? json_string_value(id) : "");
			json_t *entry = json_pack("{s:O}", "id", id);
			if (strcmp(idtext, l->variation) == 0) {
				json_object_set_new(entry, "available_quantity",
						    json_integer(quantity));
				found = true;
			}
			json_array_append_new(vars, entry);
		}
		if (!found) {
			json_decref(vars);
			return NULL;
		}
		body = json_pack("{s:o}", "variations", vars);
	}
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}

void ml_push_stock(app_t *app, const channel_listing_t *l, long quantity, channel_push_cb cb,
		   void *arg)
{
	char *body = body_of(l, quantity);
	if (!body) {
		cb(CHANNEL_ERR_NOT_FOUND, "the variation is not one of the item's", arg);
		return;
	}
	push_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	char path[160];
	snprintf(path, sizeof(path), "/items/%s", l->external_id);
	ml_account_put(app, l->account_id, ML_SYNC_OP, path, body, put_done, c);
	free(body);
}
