/* The ERP loop's sweep (every TINY_SWEEP_MS): the recent marketplace orders of tenants with a
 * Tiny account enlisted for forwarding, then, for each tenant with due work (orders to send or
 * to try again, sent ones due a read or a cancellation), a forwarding pass and a status pass.
 * Safe with several processes: both passes claim their rows (SKIP LOCKED, leases). A sweep
 * still running when the timer fires is not doubled. */
#ifndef SH_TINY_LOOP_H
#define SH_TINY_LOOP_H

#include "app.h"

typedef struct tiny_loop tiny_loop_t;

/* NULL when TINY_SWEEP_MS is 0. */
tiny_loop_t *tiny_loop_start(app_t *app);
/* Stops the timer; a sweep in flight ends through its callbacks and frees itself. */
void tiny_loop_stop(tiny_loop_t *l);

#endif
