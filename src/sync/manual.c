/* The sync types mapped onto a plan's resources: see sync_manage.h. */
#include "sync_manage.h"
#include "channel.h"

#include <stdio.h>

#include <string.h>

const char *const sync_types[] = {"orders", "inventory", "pricing", "finance",
				  "items",  "questions", NULL};

/* The resources of each type, by name, in the order of sync_types. Stock comes with a catalogue
 * of products at an ERP; a marketplace's stock and prices come with its listings only when it
 * has no resource of their own, and then the type is said to be lacking (its items type
 * fetches them). */
static const char *const type_resources[SYNC_TYPES_N][4] = {
    {"orders", "shipments", NULL},
    {"inventory", "products", NULL},
    {"pricing", NULL},
    {"finances", NULL},
    {"items", "products", "catalog", NULL},
    {"questions", NULL},
};

/* The run scopes narrower than "all" (sql/0005's sync_runs.scope), in the order tried: one named
 * after a type before its synonym (a plan may want the same resources for orders and shipments). */
static const char *const scopes[] = {"questions", "items", "orders", "shipments", NULL};

int sync_type_index(const char *name)
{
	for (int i = 0; sync_types[i]; i++)
		if (strcmp(sync_types[i], name) == 0)
			return i;
	return -1;
}

static bool listed(const char *const *list, const char *name)
{
	for (int i = 0; list && list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

void sync_manual_map(const sync_plan_t *plan, unsigned types, sync_manual_map_t *out)
{
	memset(out, 0, sizeof(*out));
	unsigned wanted = 0;
	for (int t = 0; t < SYNC_TYPES_N; t++) {
		if (!(types & (1u << t)))
			continue;
		bool any = false;
		for (int r = 0; plan && r < plan->n_resources && r < 32; r++)
			if (listed(type_resources[t], plan->resources[r].name)) {
				wanted |= 1u << r;
				any = true;
			}
		if (any)
			out->served |= 1u << t;
		else
			out->lacking |= 1u << t;
	}
	if (!wanted)
		return;
	out->scope = "all";
	for (int s = 0; scopes[s]; s++) {
		bool all = true;
		for (int r = 0; r < plan->n_resources && r < 32 && all; r++)
			if (wanted & (1u << r))
				all = listed(plan->resources[r].scopes, scopes[s]);
		if (all) {
			out->scope = scopes[s];
			break;
		}
	}
	for (int r = 0; r < plan->n_resources && r < 32; r++)
		if (strcmp(out->scope, "all") == 0 || listed(plan->resources[r].scopes, out->scope))
			out->resources |= 1u << r;
}

void sync_type_scopes(int type, char *buf, size_t size)
{
	size_t at = (size_t)snprintf(buf, size, "{all");
	for (int s = 0; scopes[s]; s++) {
		bool fetched = false;
		for (size_t c = 0; channels[c] && !fetched; c++) {
			const sync_plan_t *p = channels[c]->plan;
			for (int r = 0; p && r < p->n_resources && !fetched; r++)
				fetched = listed(type_resources[type], p->resources[r].name) &&
					  listed(p->resources[r].scopes, scopes[s]);
		}
		if (fetched && at < size)
			at += (size_t)snprintf(buf + at, size - at, ",%s", scopes[s]);
	}
	if (at < size)
		snprintf(buf + at, size - at, "}");
}
