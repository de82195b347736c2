/* How late the loop runs what is due: a timer every LOOP_LAG_PERIOD_MS notes how long after
 * its due time it fired, into the histogram sellerhub_loop_lag_seconds and the gauge of the
 * worst lag since start; each tick later than LOOP_LATE_S is counted by why:
 * sellerhub_loop_late_total{cause="busy"} when the loop thread ran for most of the wait (a long
 * callback: move that work to the workers), "starved" when it did not (the CPU was taken by
 * other threads or processes). A webhook's ack can be no faster than the loop is punctual, so this
 * is the first figure to read when acks are slow while the process works. */
#ifndef SH_LOOP_LAG_H
#define SH_LOOP_LAG_H

#include <event2/event.h>

#define LOOP_LAG_PERIOD_MS 20
#define LOOP_LATE_S	   0.010 /* later than this is counted as busy or starved */

typedef struct loop_lag loop_lag_t;

loop_lag_t *loop_lag_start(struct event_base *base);
void loop_lag_free(loop_lag_t *l);

#endif
