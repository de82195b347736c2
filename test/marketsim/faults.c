/* Injected failures: a list of rules matched against each API request. A rule may delay the
 * answer, replace it with an error status, or drop the connection, for a share of the matching
 * requests (its own PRNG, so a seeded run fails the same requests) and a limited count. */
#include "marketsim.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define MAX_FAULTS 64

struct ms_faults {
	ms_fault_t list[MAX_FAULTS];
	int n;
	uint64_t rng;
};

ms_faults_t *ms_faults_new(uint64_t seed)
{
	ms_faults_t *f = xcalloc(1, sizeof(*f));
	f->rng = seed ^ 0xfa017fa017ULL;
	return f;
}

void ms_faults_free(ms_faults_t *f)
{
	free(f);
}

void ms_faults_clear(ms_faults_t *f)
{
	f->n = 0;
}

bool ms_faults_add(ms_faults_t *f, json_t *spec, int *index, char *err, size_t errlen)
{
	if (f->n >= MAX_FAULTS) {
		snprintf(err, errlen, "too many faults (max %d)", MAX_FAULTS);
		return false;
	}
	ms_fault_t nf = {.rate = 1, .count = -1};
	json_t *v;
	if ((v = json_object_get(spec, "path"))) {
		if (!json_is_string(v) || json_string_length(v) >= sizeof(nf.path) ||
		    json_string_value(v)[0] == '\0')
			goto bad_path;
		snprintf(nf.path, sizeof(nf.path), "%s", json_string_value(v));
	} else {
		snprintf(nf.path, sizeof(nf.path), "*");
	}
	if ((v = json_object_get(spec, "method"))) {
		if (!json_is_string(v) || json_string_length(v) >= sizeof(nf.method)) {
			snprintf(err, errlen, "method must be a string like \"GET\"");
			return false;
		}
		snprintf(nf.method, sizeof(nf.method), "%s", json_string_value(v));
	}
	if ((v = json_object_get(spec, "status"))) {
		if (!json_is_integer(v) ||
		    (json_integer_value(v) != 0 &&
		     (json_integer_value(v) < 100 || json_integer_value(v) > 599))) {
			snprintf(err, errlen, "status must be an HTTP status (or 0)");
			return false;
		}
		nf.status = (int)json_integer_value(v);
	}
	if ((v = json_object_get(spec, "rate"))) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
			snprintf(err, errlen, "rate must be a number in 0..1");
			return false;
		}
		nf.rate = json_number_value(v);
	}
	if ((v = json_object_get(spec, "latency_ms"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 600000) {
			snprintf(err, errlen, "latency_ms must be an integer in 0..600000");
			return false;
		}
		nf.latency_ms = (int)json_integer_value(v);
	}
	if ((v = json_object_get(spec, "count"))) {
		if (!json_is_integer(v)) {
			snprintf(err, errlen, "count must be an integer (< 0 = unlimited)");
			return false;
		}
		nf.count = (long)json_integer_value(v);
	}
	if ((v = json_object_get(spec, "drop")))
		nf.drop = json_is_true(v);
	if (!nf.status && !nf.latency_ms && !nf.drop) {
		snprintf(err, errlen, "a fault needs a status, a latency_ms or drop:true");
		return false;
	}
	f->list[f->n] = nf;
	*index = f->n++;
	return true;
bad_path:
	snprintf(err, errlen, "path must be a non-empty string (exact, or a prefix ending in *)");
	return false;
}

static bool path_matches(const char *rule, const char *path)
{
	size_t n = strlen(rule);
	if (n && rule[n - 1] == '*')
		return strncmp(rule, path, n - 1) == 0;
	return strcmp(rule, path) == 0;
}

int ms_faults_pick(ms_faults_t *f, const char *method, const char *path)
{
	for (int i = 0; i < f->n; i++) {
		ms_fault_t *x = &f->list[i];
		if (x->count == 0 || !path_matches(x->path, path))
			continue;
		if (x->method[0] && strcasecmp(x->method, method) != 0)
			continue;
		if (x->rate < 1 && rng_unit(&f->rng) >= x->rate)
			continue;
		if (x->count > 0)
			x->count--;
		return i;
	}
	return -1;
}

const ms_fault_t *ms_faults_get(const ms_faults_t *f, int index)
{
	return index >= 0 && index < f->n ? &f->list[index] : NULL;
}
