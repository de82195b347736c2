/* What marketsim was asked: a ring of the last requests (so a test can assert "exactly one
 * refresh call was made") and counters by status. Control requests (/_sim/) are not recorded. */
#include "marketsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define RING 4096

struct entry {
	char method[8];
	char path[192];
	char query[320];
	int status;
	int64_t wall_ms;
};

struct ms_traffic {
	struct entry ring[RING];
	uint64_t total; /* requests ever recorded; ring holds the last RING */
	uint64_t by_status[600];
	json_t *counters; /* named events: rate_limited, faults_injected ... */
};

ms_traffic_t *ms_traffic_new(void)
{
	ms_traffic_t *t = xcalloc(1, sizeof(*t));
	t->counters = json_object();
	return t;
}

void ms_traffic_free(ms_traffic_t *t)
{
	if (!t)
		return;
	json_decref(t->counters);
	free(t);
}

void ms_traffic_record(ms_traffic_t *t, const char *method, const char *path, const char *query,
		       int status, int64_t at_wall_ms)
{
	struct entry *e = &t->ring[t->total % RING];
	snprintf(e->method, sizeof(e->method), "%s", method);
	snprintf(e->path, sizeof(e->path), "%s", path);
	snprintf(e->query, sizeof(e->query), "%s", query);
	e->status = status;
	e->wall_ms = at_wall_ms;
	t->total++;
	if (status >= 0 && status < 600)
		t->by_status[status]++;
}

void ms_traffic_count(ms_traffic_t *t, const char *counter)
{
	json_t *v = json_object_get(t->counters, counter);
	json_object_set_new(t->counters, counter, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static bool path_matches(const char *want, const char *path)
{
	size_t n = strlen(want);
	if (n && want[n - 1] == '*')
		return strncmp(want, path, n - 1) == 0;
	return strcmp(want, path) == 0;
}

static bool entry_matches(const struct entry *e, const char *path, const char *method)
{
	return (!path || path_matches(path, e->path)) &&
	       (!method || strcasecmp(method, e->method) == 0);
}

json_t *ms_traffic_requests(ms_traffic_t *t, const char *path, const char *method, long limit)
{
	uint64_t first = t->total > RING ? t->total - RING : 0;
	long count = 0;
	for (uint64_t i = first; i < t->total; i++)
		count += entry_matches(&t->ring[i % RING], path, method);
	long skip = limit >= 0 && count > limit ? count - limit : 0;
	json_t *list = json_array();
	for (uint64_t i = first; i < t->total; i++) {
		struct entry *e = &t->ring[i % RING];
		if (!entry_matches(e, path, method) || skip-- > 0)
			continue;
		char ts[32];
		iso8601_utc(e->wall_ms, ts, sizeof(ts));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:s}", "method",
						      e->method, "path", e->path, "query", e->query,
						      "status", e->status, "time", ts));
	}
	return json_pack("{s:I, s:o}", "count", (json_int_t)count, "requests", list);
}

json_t *ms_traffic_stats(ms_traffic_t *t)
{
	json_t *by = json_object();
	for (int s = 0; s < 600; s++) {
		if (!t->by_status[s])
			continue;
		char k[16];
		snprintf(k, sizeof(k), "%d", s);
		json_object_set_new(by, k, json_integer((json_int_t)t->by_status[s]));
	}
	json_t *out = json_pack("{s:I, s:o}", "requests", (json_int_t)t->total, "by_status", by);
	json_object_update(out, t->counters);
	return out;
}
