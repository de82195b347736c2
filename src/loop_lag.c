/* The loop's punctuality probe (include/loop_lag.h). */
#include "loop_lag.h"

#include <stdlib.h>
#include <time.h>

#include "metrics.h"
#include "util.h"

struct loop_lag {
	struct event_base *base;
	struct event *ev;
	metric_t *lag;
	double due_us; /* when the timer should fire next */
	double cpu_us; /* the loop thread's CPU time then */
	metric_t *late_busy, *late_starved;
	double worst_s;
};

static const double lag_buckets[] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
				     0.1,   0.25,  0.5,	  1,	2.5};

static void tick(evutil_socket_t fd, short what, void *arg);

/* Not EV_PERSIST: libevent would schedule from the previous due time, and the next figure
 * would carry this one's lateness. */
static double thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void arm(loop_lag_t *l)
{
	struct timeval tv = {0, LOOP_LAG_PERIOD_MS * 1000};
	/* libevent adds tv to the time its loop turn began: make that now. */
	event_base_update_cache_time(l->base);
	l->due_us = (double)now_us() + LOOP_LAG_PERIOD_MS * 1000.0;
	l->cpu_us = thread_cpu_us();
	evtimer_add(l->ev, &tv);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	loop_lag_t *l = arg;
	double now = (double)now_us();
	double late = now > l->due_us ? (now - l->due_us) / 1e6 : 0;
	metric_observe(l->lag, late);
	if (late > LOOP_LATE_S) {
		/* Busy: the loop ran for most of the wait (a long callback); starved: it was
		 * runnable or asleep while other threads or processes had the CPU. */
		double ran_s = (thread_cpu_us() - l->cpu_us) / 1e6;
		double waited_s = LOOP_LAG_PERIOD_MS / 1e3 + late;
		metric_inc(ran_s * 2 >= waited_s ? l->late_busy : l->late_starved);
	}
	if (late > l->worst_s)
		l->worst_s = late;
	arm(l);
}

static double worst(void *arg)
{
	return ((loop_lag_t *)arg)->worst_s;
}

loop_lag_t *loop_lag_start(struct event_base *base)
{
	loop_lag_t *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->lag = metrics_histogram("sellerhub_loop_lag_seconds",
				   "How late the event loop ran a timer that was due", "",
				   lag_buckets, sizeof lag_buckets / sizeof *lag_buckets);
	l->late_busy = metrics_counter("sellerhub_loop_late_total",
				       "Timers run more than 10 ms late, by why", "cause=\"busy\"");
	l->late_starved =
	    metrics_counter("sellerhub_loop_late_total", "Timers run more than 10 ms late, by why",
			    "cause=\"starved\"");
	metrics_gauge_fn("sellerhub_loop_lag_max_seconds", "The worst loop lag since start", "",
			 worst, l);
	l->base = base;
	l->ev = evtimer_new(base, tick, l);
	if (!l->ev) {
		free(l);
		return NULL;
	}
	arm(l);
	return l;
}

void loop_lag_free(loop_lag_t *l)
{
	if (!l)
		return;
	if (l->ev)
		event_free(l->ev);
	free(l);
}
