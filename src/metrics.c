/* Prometheus registry. Families hold series; a series is one label set. Rendering walks the
 * families in creation order, which keeps /metrics stable between scrapes. */
#include "metrics.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { COUNTER, GAUGE, HISTOGRAM, GAUGE_FN, COUNTER_FN };

typedef struct family family_t;

struct metric {
	struct metric *next; /* next series of the family */
	struct family *family;
	char *labels;
	double value; /* counter/gauge; histogram sum */
	uint64_t count;
	uint64_t *buckets; /* per-bucket counts, not cumulative */
	double (*read)(void *arg);
	void *arg;
};

struct family {
	struct family *next;
	char *name, *help;
	enum kind kind;
	double *bounds;
	size_t nbounds;
	metric_t *series, **tail;
};

static family_t *families, **families_tail = &families;

static const double default_latency[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					 0.1,	 0.25,	0.5,	1,     2.5,  5,	    10};

static family_t *family(const char *name, const char *help, enum kind kind, const double *bounds,
			size_t nbounds)
{
	for (family_t *f = families; f; f = f->next)
		if (strcmp(f->name, name) == 0) {
			if (f->kind != kind)
				die("metrics: %s registered with two types", name);
			return f;
		}
	family_t *f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->kind = kind;
	if (kind == HISTOGRAM) {
		if (!bounds) {
			bounds = default_latency;
			nbounds = ARRAY_LEN(default_latency);
		}
		f->bounds = xmalloc(nbounds * sizeof(double));
		memcpy(f->bounds, bounds, nbounds * sizeof(double));
		f->nbounds = nbounds;
	}
	f->tail = &f->series;
	*families_tail = f;
	families_tail = &f->next;
	return f;
}

static metric_t *series(family_t *f, const char *labels)
{
	for (metric_t *m = f->series; m; m = m->next)
		if (strcmp(m->labels, labels) == 0)
			return m;
	metric_t *m = xcalloc(1, sizeof(*m));
	m->family = f;
	m->labels = xstrdup(labels);
	if (f->kind == HISTOGRAM)
		m->buckets = xcalloc(f->nbounds, sizeof(uint64_t));
	*f->tail = m;
	f->tail = &m->next;
	return m;
}

metric_t *metrics_counter(const char *name, const char *help, const char *labels)
{
	return series(family(name, help, COUNTER, NULL, 0), labels ? labels : "");
}

metric_t *metrics_histogram(const char *name, const char *help, const char *labels,
			    const double *buckets, size_t nbuckets)
{
	return series(family(name, help, HISTOGRAM, buckets, nbuckets), labels ? labels : "");
}

void metrics_gauge_fn(const char *name, const char *help, const char *labels,
		      double (*read)(void *arg), void *arg)
{
	metric_t *m = series(family(name, help, GAUGE_FN, NULL, 0), labels ? labels : "");
	m->read = read;
	m->arg = arg;
}

void metrics_counter_fn(const char *name, const char *help, const char *labels,
			double (*read)(void *arg), void *arg)
{
	metric_t *m = series(family(name, help, COUNTER_FN, NULL, 0), labels ? labels : "");
	m->read = read;
	m->arg = arg;
}

void metric_inc(metric_t *m)
{
	m->value += 1;
}

void metric_add(metric_t *m, double v)
{
	m->value += v;
}

void metric_observe(metric_t *m, double v)
{
	m->count++;
	m->value += v;
	/* Few buckets: a linear scan is as quick as a binary search here. Values past the last
	 * bound land only in +Inf, which is the count. */
	const struct family *f = m->family;
	for (size_t i = 0; i < f->nbounds; i++)
		if (v <= f->bounds[i]) {
			m->buckets[i]++;
			return;
		}
}

double metric_value(const metric_t *m)
{
	return m->buckets ? (double)m->count : m->read ? m->read(m->arg) : m->value;
}

static void render_series(struct evbuffer *out, const char *name, const char *suffix,
			  const char *labels, const char *extra, double v)
{
	const char *sep = *labels && *extra ? "," : "";
	if (*labels || *extra)
		evbuffer_add_printf(out, "%s%s{%s%s%s} %.17g\n", name, suffix, labels, sep, extra,
				    v);
	else
		evbuffer_add_printf(out, "%s%s %.17g\n", name, suffix, v);
}

void metrics_render(struct evbuffer *out)
{
	static const char *const type_names[] = {"counter", "gauge", "histogram", "gauge",
						 "counter"};
	for (family_t *f = families; f; f = f->next) {
		evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
				    type_names[f->kind]);
		for (metric_t *m = f->series; m; m = m->next) {
			if (f->kind != HISTOGRAM) {
				render_series(out, f->name, "", m->labels, "",
					      m->read ? m->read(m->arg) : m->value);
				continue;
			}
			uint64_t cum = 0;
			char le[48];
			for (size_t i = 0; i < f->nbounds; i++) {
				cum += m->buckets[i];
				snprintf(le, sizeof(le), "le=\"%g\"", f->bounds[i]);
				render_series(out, f->name, "_bucket", m->labels, le, (double)cum);
			}
			render_series(out, f->name, "_bucket", m->labels, "le=\"+Inf\"",
				      (double)m->count);
			render_series(out, f->name, "_sum", m->labels, "", m->value);
			render_series(out, f->name, "_count", m->labels, "", (double)m->count);
		}
	}
}

void metrics_reset(void)
{
	family_t *f = families;
	while (f) {
		family_t *fn = f->next;
		metric_t *m = f->series;
		while (m) {
			metric_t *mn = m->next;
			free(m->labels);
			free(m->buckets);
			free(m);
			m = mn;
		}
		free(f->name);
		free(f->help);
		free(f->bounds);
		free(f);
		f = fn;
	}
	families = NULL;
	families_tail = &families;
}
