/* Prometheus rendering: counters, labels, cumulative histogram buckets. */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <string.h>

#include "metrics.h"

static char *render(void)
{
	static char out[8192];
	struct evbuffer *b = evbuffer_new();
	metrics_render(b);
	size_t n = evbuffer_copyout(b, out, sizeof(out) - 1);
	out[n] = 0;
	evbuffer_free(b);
	return out;
}

Test(metrics, counter_with_labels, .fini = metrics_reset)
{
	metric_t *a = metrics_counter("t_requests_total", "Requests", "route=\"/x\"");
	metric_t *b = metrics_counter("t_requests_total", "Requests", "route=\"/y\"");
	cr_assert_eq(metrics_counter("t_requests_total", "Requests", "route=\"/x\""), a);
	metric_inc(a);
	metric_inc(a);
	metric_add(b, 5);
	char *s = render();
	cr_assert(strstr(s, "# TYPE t_requests_total counter\n"), "%s", s);
	cr_assert(strstr(s, "t_requests_total{route=\"/x\"} 2\n"), "%s", s);
	cr_assert(strstr(s, "t_requests_total{route=\"/y\"} 5\n"), "%s", s);
}

Test(metrics, histogram_buckets_are_cumulative, .fini = metrics_reset)
{
	static const double bounds[] = {0.1, 1, 10};
	metric_t *h = metrics_histogram("t_latency_seconds", "Latency", "", bounds, 3);
	metric_observe(h, 0.05);
	metric_observe(h, 0.5);
	metric_observe(h, 0.5);
	metric_observe(h, 100);
	char *s = render();
	cr_assert(strstr(s, "t_latency_seconds_bucket{le=\"0.1\"} 1\n"), "%s", s);
	cr_assert(strstr(s, "t_latency_seconds_bucket{le=\"1\"} 3\n"), "%s", s);
	cr_assert(strstr(s, "t_latency_seconds_bucket{le=\"10\"} 3\n"), "%s", s);
	cr_assert(strstr(s, "t_latency_seconds_bucket{le=\"+Inf\"} 4\n"), "%s", s);
	cr_assert(strstr(s, "t_latency_seconds_count 4\n"), "%s", s);
	cr_assert(strstr(s, "t_latency_seconds_sum 101.05"), "%s", s);
	cr_assert_eq(metric_value(h), 4);
}

static double read_seven(void *arg)
{
	return 7;
}

Test(metrics, gauge_fn_reads_at_render_time, .fini = metrics_reset)
{
	metrics_gauge_fn("t_gauge", "G", "", read_seven, NULL);
	cr_assert(strstr(render(), "t_gauge 7\n"));
}
