/* POST /api/sync/manual {types, accountId?, dateRange?}: a backfill of each of the tenant's
 * accounts (or the one) whose channel serves some of the types (sync_manage.h maps them onto
 * its plan), started one after the other as POST /api/sync/start does; types an account's
 * channel lacks, and accounts already syncing, are listed as skipped. 202 when a run started. */
#include "api.h"
#include "channel.h"
#include "identity.h"
#include "listing.h"
#include "permissions.h"
#include "sync_manage.h"
#include "sync_runs.h"
#include "util.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_DAYS	   365
#define DEFAULT_DAYS	   30
#define DEFAULT_ESTIMATE_S 60

typedef struct manual_call {
	req_t *r;
	sync_manual_body_t b;
	PGresult *rows;
	int next, started;
	long long first_job;
	long estimate_s;
	json_t *jobs, *skipped;
	bool busy; /* an account was skipped as already syncing */
} manual_call_t;

static json_t *type_names(unsigned bits)
{
	json_t *a = json_array();
	for (int t = 0; sync_types[t]; t++)
		if (bits & (1u << t))
			json_array_append_new(a, json_string(sync_types[t]));
	return a;
}

static void skip(manual_call_t *c, const char *account, const char *channel, unsigned types,
		 const char *reason)
{
	json_array_append_new(c->skipped,
			      json_pack("{s:s, s:s, s:o, s:s}", "accountId", account, "channel",
					channel, "types", type_names(types), "reason", reason));
}

static void finish(manual_call_t *c)
{
	req_t *r = c->r;
	PQclear(c->rows);
	if (!c->started) {
		json_t *d = NULL;
		size_t i;
		json_t *s;
		json_array_foreach(c->skipped, i, s)
		{
			char problem[200];
			snprintf(problem, sizeof(problem), "account %s (%s): %s",
				 json_string_value(json_object_get(s, "accountId")),
				 json_string_value(json_object_get(s, "channel")),
				 json_string_value(json_object_get(s, "reason")));
			d = http_problem(d, "types", problem);
		}
		json_decref(c->jobs);
		json_decref(c->skipped);
		if (c->busy && json_array_size(d) == 1)
			http_error(r, 409, "SYNC_RUNNING",
				   "A sync of this account is already running.", d);
		else
			http_error(r, 409, "NOTHING_TO_SYNC",
				   "No account of yours can sync these types now.", d);
		return;
	}
	json_t *data =
	    json_pack("{s:I, s:s, s:I, s:i, s:o, s:o}", "jobId", (json_int_t)c->first_job, "status",
		      "queued", "estimatedTime", (json_int_t)c->estimate_s, "days", c->b.days,
		      "jobs", c->jobs, "skipped", c->skipped);
	if (c->b.from)
		json_object_set_new(data, "dateRange",
				    json_pack("{s:s, s:s?}", "from", c->b.from, "to", c->b.to));
	http_ok(r, 202, data, "Sync started");
}

static void start_next(manual_call_t *c);

/* The account being started is row c->next - 1 of c->rows. */
static void started(const PGresult *res, const char *err, void *arg)
{
	manual_call_t *c = arg;
	int row = c->next - 1;
	const char *account = pg_value(c->rows, row, 0), *channel = pg_value(c->rows, row, 1);
	if (err) {
		PQclear(c->rows);
		json_decref(c->jobs);
		json_decref(c->skipped);
		identity_db_error(c->r, "sync: manual", res, err);
		return;
	}
	json_t *job = json_array_get(c->jobs, json_array_size(c->jobs) - 1);
	if (!pg_value(res, 0, 1)) {
		unsigned types = 0;
		json_t *t;
		size_t i;
		json_array_foreach(json_object_get(job, "types"), i, t) types |=
		    1u << sync_type_index(json_string_value(t));
		json_array_remove(c->jobs, json_array_size(c->jobs) - 1);
		skip(c, account, channel, types, "a sync of this account is already running");
		c->busy = true;
	} else {
		long long id = pg_int(res, 0, 1, 0);
		json_object_set_new(job, "jobId", json_integer(id));
		json_object_set_new(job, "runId", json_string(pg_value(res, 0, 2)));
		if (!c->started++)
			c->first_job = id;
		long est = pg_int(c->rows, row, 3, -1);
		est = est > 0 ? est : DEFAULT_ESTIMATE_S;
		if (est > c->estimate_s)
			c->estimate_s = est; /* the runs go side by side: the longest one */
	}
	start_next(c);
}

static void start_next(manual_call_t *c)
{
	while (c->next < PQntuples(c->rows)) {
		int row = c->next++;
		const char *account = pg_value(c->rows, row, 0);
		const char *channel = pg_value(c->rows, row, 1);
		const char *status = pg_value(c->rows, row, 2);
		const channel_t *ch = channel_find(channel);
		sync_manual_map_t m;
		sync_manual_map(ch ? ch->plan : NULL, c->b.types, &m);
		if (m.lacking)
			skip(c, account, channel, m.lacking,
			     m.scope ? "the channel has no such resource"
				     : "the channel syncs none of these types");
		if (!m.scope)
			continue;
		if (strcmp(status, "expired") == 0 || strcmp(status, "error") == 0) {
			skip(c, account, channel, m.served,
			     "the account must be connected again first");
			continue;
		}
		json_t *res = json_array();
		for (int i = 0; i < ch->plan->n_resources; i++)
			if (m.resources & (1u << i))
				json_array_append_new(res,
						      json_string(ch->plan->resources[i].name));
		json_array_append_new(c->jobs,
				      json_pack("{s:s, s:s, s:s, s:o, s:o}", "accountId", account,
						"channel", channel, "scope", m.scope, "types",
						type_names(m.served), "resources", res));
		sync_backfill_start(c->r->app, c->r->tenant_id, account, m.scope, c->b.days,
				    started, c);
		return;
	}
	finish(c);
}

static void accounts_read(const PGresult *res, const char *err, void *arg)
{
	manual_call_t *c = arg;
	if (err) {
		json_decref(c->jobs);
		json_decref(c->skipped);
		identity_db_error(c->r, "sync: manual accounts", res, err);
		return;
	}
	if (c->b.account_id && PQntuples(res) == 0) {
		json_decref(c->jobs);
		json_decref(c->skipped);
		http_error(c->r, 404, "NOT_FOUND", "No such account.", NULL);
		return;
	}
	c->rows = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
	start_next(c);
}

/* "YYYY-MM-DD..." as its day's UTC midnight; false when it does not start with a date. */
static bool day_of(const char *s, time_t *out)
{
	int y, m, d;
	if (!s || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
	*out = timegm(&tm);
	return true;
}

static const char *range_end(req_t *r, json_t *range, const char *name, json_t **d)
{
	json_t *v = json_object_get(range, name);
	char field[32];
	snprintf(field, sizeof(field), "dateRange.%s", name);
	if (!v) {
		*d = http_problem(*d, arena_strdup(r->arena, field), "is required");
		return NULL;
	}
	const char *s = json_string_value(v);
	if (!s || !validate_iso_time(s)) {
		*d = http_problem(*d, arena_strdup(r->arena, field),
				  "must be an ISO-8601 date or date-time");
		return NULL;
	}
	return s;
}

json_t *sync_manual_body_check(req_t *r, sync_manual_body_t *b)
{
	json_t *d = NULL;
	const char *key;
	json_t *v;
	json_object_foreach(r->body, key, v)
	{
		if (strcmp(key, "types") != 0 && strcmp(key, "accountId") != 0 &&
		    strcmp(key, "dateRange") != 0)
			d = http_problem(d, arena_strdup(r->arena, key), "is not a known field");
	}
	json_t *types = r->body ? json_object_get(r->body, "types") : NULL;
	if (!json_is_array(types) || json_array_size(types) == 0) {
		d = http_problem(
		    d, "types",
		    "is required: a list of orders, inventory, pricing, finance, items, "
		    "questions");
	} else {
		size_t i;
		json_array_foreach(types, i, v)
		{
			int t = json_is_string(v) ? sync_type_index(json_string_value(v)) : -1;
			if (t < 0)
				d = http_problem(d, "types",
						 "each must be one of orders, inventory, pricing, "
						 "finance, items, questions");
			else if (b->types & (1u << t))
				d = http_problem(d, "types", "must not repeat a type");
			else
				b->types |= 1u << t;
		}
	}
	b->account_id = validate_string(r, "accountId", V_OPTIONAL | V_NULLABLE, 64, &d, NULL);
	if (b->account_id && !validate_uuid(b->account_id))
		d = http_problem(d, "accountId", "must be a UUID");
	b->days = DEFAULT_DAYS;
	json_t *range = r->body ? json_object_get(r->body, "dateRange") : NULL;
	if (range && !json_is_null(range)) {
		if (!json_is_object(range))
			return http_problem(d, "dateRange", "must be an object {from, to}");
		b->from = range_end(r, range, "from", &d);
		b->to = json_object_get(range, "to") ? range_end(r, range, "to", &d) : NULL;
		time_t from, to, today = (time_t)(wall_ms() / 1000 / 86400 * 86400);
		if (b->from && day_of(b->from, &from)) {
			if (from > today)
				d = http_problem(d, "dateRange.from", "must not be in the future");
			else if ((today - from) / 86400 + 1 > MAX_DAYS)
				d = http_problem(
				    d, "dateRange.from",
				    "must be at most 365 days ago (a backfill's reach)");
			else
				b->days = (int)((today - from) / 86400) + 1;
		}
		if (b->from && b->to && day_of(b->from, &from) && day_of(b->to, &to) && to < from)
			d = http_problem(d, "dateRange.to", "must not be before dateRange.from");
	}
	return d;
}

static void sync_manual(req_t *r)
{
	if (!perm_require(r, "sync.run"))
		return;
	manual_call_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	json_t *d = sync_manual_body_check(r, &c->b);
	if (d) {
		http_invalid(r, d);
		return;
	}
	c->jobs = json_array();
	c->skipped = json_array();
	sync_runs_accounts(r->app, r->tenant_id, c->b.account_id, accounts_read, c);
}

void api_sync_manage_routes(app_t *app)
{
	http_route(app->http, "POST", "/api/sync/manual", sync_manual, ROUTE_AUTH,
		   "Sync types (orders, inventory, pricing, finance, items, questions) of every "
		   "account or one (accountId), from dateRange.from: 202 with the jobs started and "
		   "what was skipped");
}
