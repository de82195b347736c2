/* A small thread pool for CPU-heavy work (argon2id, large exports) so the loop never blocks.
 * work(arg) runs on a worker thread and must not touch loop state; done(arg) then runs on the
 * loop. Requires evthread_use_pthreads() before the event_base is created. */
#ifndef SH_WORKERS_H
#define SH_WORKERS_H

#include <event2/event.h>
#include <stddef.h>

typedef struct workers workers_t;

/* nice: the threads' niceness (0..19; Linux sets it per thread), so that under a full CPU
 * their work yields to the loop's, whose lateness every answer pays. */
workers_t *workers_new(struct event_base *base, int nthreads, int nice);
/* Waits for queued and running jobs to finish (their done callbacks run), then joins. */
void workers_free(workers_t *w);
void workers_submit(workers_t *w, void (*work)(void *arg), void (*done)(void *arg), void *arg);
size_t workers_queued(const workers_t *w);

#endif
