/* Worker threads. Jobs go in a mutex-guarded FIFO; finished jobs go in a second FIFO and an
 * event made active from the worker wakes the loop, which runs their done callbacks. */
#include "workers.h"
#include "util.h"

#include <event2/event_struct.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct job {
	struct job *next;
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
} job_t;

typedef struct fifo {
	job_t *head, *tail;
} fifo_t;

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	fifo_t waiting, finished;
	size_t queued, running;
	bool stopping;
	int nthreads, nice;
	pthread_t *threads;
	struct event wake;
};

static void push(fifo_t *f, job_t *j)
{
	j->next = NULL;
	if (f->tail)
		f->tail->next = j;
	else
		f->head = j;
	f->tail = j;
}

static job_t *pop(fifo_t *f)
{
	job_t *j = f->head;
	if (j) {
		f->head = j->next;
		if (!f->head)
			f->tail = NULL;
	}
	return j;
}

static void *worker_main(void *arg)
{
	workers_t *w = arg;
	/* Per thread on Linux (a thread is a task with its own nice value); failure is harmless. */
	if (w->nice > 0)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), w->nice);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		job_t *j;
		while (!(j = pop(&w->waiting)) && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!j)
			break;
		w->running++;
		pthread_mutex_unlock(&w->lock);
		j->work(j->arg);
		pthread_mutex_lock(&w->lock);
		w->running--;
		push(&w->finished, j);
		event_active(&w->wake, EV_READ, 0);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void run_finished(evutil_socket_t fd, short what, void *arg)
{
	workers_t *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		job_t *j = pop(&w->finished);
		if (j)
			w->queued--;
		pthread_mutex_unlock(&w->lock);
		if (!j)
			return;
		if (j->done)
			j->done(j->arg);
		free(j);
	}
}

workers_t *workers_new(struct event_base *base, int nthreads, int nice)
{
	workers_t *w = xcalloc(1, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	event_assign(&w->wake, base, -1, 0, run_finished, w);
	w->nthreads = nthreads;
	w->nice = nice;
	w->threads = xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0)
			die("workers: cannot start a thread");
	return w;
}

void workers_submit(workers_t *w, void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
	job_t *j = xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&w->lock);
	push(&w->waiting, j);
	w->queued++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

size_t workers_queued(const workers_t *w)
{
	return w->queued;
}

void workers_free(workers_t *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true; /* threads finish the queue first: pop() before checking stopping */
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	run_finished(-1, 0, w);
	event_del(&w->wake);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->threads);
	free(w);
}
