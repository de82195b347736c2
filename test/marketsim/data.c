/* The simulated marketplace's store: arrays of entities whose ids are their index plus a base, so
 * every lookup by id is one subtraction. Each entity keeps its API view as a JSON object; handlers
 * serve it (or a copy trimmed to the caller's view) and mutations edit it in place. */
#include "marketsim.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

ms_data_t *ms_data_new(const ms_options_t *o)
{
	ms_data_t *d = xcalloc(1, sizeof(*d));
	d->now_ms = o->now_ms;
	ms_seed_catalogue(d, o);
	return d;
}

void ms_data_free(ms_data_t *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_sellers; i++)
		json_decref(d->sellers[i].json);
	for (size_t i = 0; i < d->n_items; i++)
		json_decref(d->items[i].json);
	for (size_t i = 0; i < d->n_orders; i++) {
		json_decref(d->orders[i].json);
		json_decref(d->shipments[i].json);
	}
	for (size_t i = 0; i < d->n_questions; i++)
		json_decref(d->questions[i].json);
	for (size_t i = 0; i < d->n_claims; i++)
		json_decref(d->claims[i].json);
	free(d->sellers);
	free(d->items);
	free(d->orders);
	free(d->shipments);
	free(d->questions);
	free(d->claims);
	free(d);
}

bool ms_parse_id(const char *s, int64_t *out)
{
	if (!s || !*s || strlen(s) > 18)
		return false;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return true;
}

ms_seller_t *ms_seller_find(ms_data_t *d, int64_t id)
{
	for (size_t i = 0; i < d->n_sellers; i++)
		if (d->sellers[i].id == id)
			return &d->sellers[i];
	return NULL;
}

ms_item_t *ms_item_find(ms_data_t *d, const char *id)
{
	int64_t n;
	if (!id || strncmp(id, MS_SITE, 3) != 0 || !ms_parse_id(id + 3, &n))
		return NULL;
	if (n < MS_ITEM_BASE || n - MS_ITEM_BASE >= (int64_t)d->n_items)
		return NULL;
	return &d->items[n - MS_ITEM_BASE];
}

ms_order_t *ms_order_find(ms_data_t *d, int64_t id)
{
	if (id < MS_ORDER_BASE || id - MS_ORDER_BASE >= (int64_t)d->n_orders)
		return NULL;
	return &d->orders[id - MS_ORDER_BASE];
}

ms_shipment_t *ms_shipment_find(ms_data_t *d, int64_t id)
{
	if (id < MS_SHIPMENT_BASE || id - MS_SHIPMENT_BASE >= (int64_t)d->n_orders)
		return NULL;
	return &d->shipments[id - MS_SHIPMENT_BASE];
}

ms_question_t *ms_question_find(ms_data_t *d, int64_t id)
{
	if (id < MS_QUESTION_BASE || id - MS_QUESTION_BASE >= (int64_t)d->n_questions)
		return NULL;
	return &d->questions[id - MS_QUESTION_BASE];
}

ms_claim_t *ms_claim_find(ms_data_t *d, int64_t id)
{
	if (id < MS_CLAIM_BASE || id - MS_CLAIM_BASE >= (int64_t)d->n_claims)
		return NULL;
	return &d->claims[id - MS_CLAIM_BASE];
}
