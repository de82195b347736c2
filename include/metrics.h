/* Prometheus metrics: counters, gauges and histograms with fixed label sets, rendered as text at
 * /metrics. Create a metric once (at start or on first use) and keep the pointer: updates are
 * a few arithmetic operations with no lookup. Single-threaded: update only from the loop. */
#ifndef SH_METRICS_H
#define SH_METRICS_H

#include <event2/buffer.h>
#include <stddef.h>

typedef struct metric metric_t;

/* `labels` is the rendered label set without braces, e.g. `route="/health",code="2xx"`, or "".
 * Asking again for the same name and labels returns the same metric. */
metric_t *metrics_counter(const char *name, const char *help, const char *labels);
/* Buckets are upper bounds in ascending order (seconds for latencies); NULL = default latency set.
 */
metric_t *metrics_histogram(const char *name, const char *help, const char *labels,
			    const double *buckets, size_t nbuckets);
/* A gauge whose value is read at render time. */
void metrics_gauge_fn(const char *name, const char *help, const char *labels,
		      double (*read)(void *arg), void *arg);

/* A counter whose value is read at render time (a module's own running total). */
void metrics_counter_fn(const char *name, const char *help, const char *labels,
			double (*read)(void *arg), void *arg);

void metric_inc(metric_t *m);
void metric_add(metric_t *m, double v);
void metric_observe(metric_t *m, double v);
double metric_value(const metric_t *m); /* counter/gauge value, histogram count */

void metrics_render(struct evbuffer *out);
/* Free every metric (at exit, so leak checks stay clean). */
void metrics_reset(void);

#endif
