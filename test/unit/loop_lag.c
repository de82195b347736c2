/* The loop's punctuality probe: a callback that holds the loop shows as busy lateness, a
 * loop that waits for nothing shows none. */
#include <criterion/criterion.h>
#include <event2/event.h>

#include "loop_lag.h"
#include "metrics.h"
#include "util.h"

static metric_t *late(const char *cause)
{
	char labels[32];
	snprintf(labels, sizeof(labels), "cause=\"%s\"", cause);
	return metrics_counter("sellerhub_loop_late_total", "", labels);
}

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double spin_wall_us; /* how long the spin took on the clock */

static void stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(arg);
}

/* 60 ms of CPU time, as a long callback spends it; the loop then runs 100 ms more. */
static void hold_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	double start = (double)now_us(), until = cpu_us() + 60 * 1000;
	while (cpu_us() < until)
		;
	spin_wall_us = (double)now_us() - start;
	struct timeval tv = {0, 100 * 1000};
	event_base_update_cache_time(arg);
	event_base_once(arg, -1, EV_TIMEOUT, stop, arg, &tv);
}

static void run_for_ms(struct event_base *base, int ms)
{
	struct timeval tv = {0, ms * 1000};
	event_base_once(base, -1, EV_TIMEOUT, stop, base, &tv);
	event_base_dispatch(base);
}

Test(loop_lag, a_long_callback_counts_as_busy, .fini = metrics_reset)
{
	struct event_base *base = event_base_new();
	loop_lag_t *l = loop_lag_start(base);
	cr_assert(l);
	struct timeval soon = {0, 5 * 1000};
	event_base_once(base, -1, EV_TIMEOUT, hold_loop, base, &soon);
	event_base_dispatch(base);
	double busy = metric_value(late("busy")), starved = metric_value(late("starved"));
	cr_assert_geq(busy + starved, 1, "the 60 ms callback made no tick late");
	/* On a host so loaded that the spin itself waited for the CPU, starved is right too. */
	if (spin_wall_us < 1.5 * 60 * 1000)
		cr_assert_geq(busy, 1, "busy %g starved %g", busy, starved);
	metric_t *h = metrics_histogram("sellerhub_loop_lag_seconds", "", "", NULL, 0);
	cr_assert_geq(metric_value(h), 2, "ticks: %g", metric_value(h));
	loop_lag_free(l);
	event_base_free(base);
}

Test(loop_lag, an_idle_loop_is_punctual, .fini = metrics_reset)
{
	struct event_base *base = event_base_new();
	loop_lag_t *l = loop_lag_start(base);
	run_for_ms(base, 150);
	cr_assert_eq(metric_value(late("busy")), 0);
	loop_lag_free(l);
	event_base_free(base);
}
