/* A pool of non-blocking libpq connections on the loop.
 *
 * Every call takes a callback that runs exactly once, on the loop, never from inside the call
 * that queued it. Parameters are copied, so the caller's strings may die after the call.
 * Queries wait in FIFO order when every connection is busy; when the database is unreachable
 * they fail with an error instead of hanging (at once when no connection is up, or after
 * PG_QUEUE_TIMEOUT_MS in the queue). A lost connection fails its running query (it is never
 * re-sent: it may have been applied) and reconnects with backoff. */
#ifndef SH_PG_H
#define SH_PG_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>

#define PG_QUEUE_TIMEOUT_MS 10000

typedef struct pg_pool pg_pool_t;
typedef struct pg_tx pg_tx_t;

/* res is the statement's result (or its error result), owned by the pool and valid only during
 * the callback; err is NULL on success, else one line (res may be NULL, e.g. connection lost). */
typedef void (*pg_cb)(const PGresult *res, const char *err, void *arg);
/* tx is NULL when err is set. */
typedef void (*pg_tx_cb)(pg_tx_t *tx, const char *err, void *arg);
/* Pipeline: one result per statement, in order; err set if any statement failed (then nothing
 * was applied: the batch is one implicit transaction). */
typedef void (*pg_batch_cb)(PGresult *const *results, int n, const char *err, void *arg);

typedef struct pg_stmt {
	const char *sql;
	int nparams;
	const char *const *params; /* text format; NULL entries are SQL NULL */
} pg_stmt_t;

typedef struct pg_stats {
	int size, connected, idle, busy, pinned;
	size_t waiting;
	unsigned long long queries, errors, reconnects, timeouts;
	unsigned long long bulk_yields; /* bulk ops that stayed back for urgent work */
} pg_stats_t;

pg_pool_t *pg_pool_new(struct event_base *base, const char *conninfo, int size);
/* The same, each connection started with settings too ("-c name=value ...": the server's
 * options; values without spaces). */
pg_pool_t *pg_pool_new_with(struct event_base *base, const char *conninfo, int size,
			    const char *settings);
/* Fails everything queued or running with "shutting down", closes the connections, frees. */
void pg_pool_free(pg_pool_t *p);
void pg_pool_stats(const pg_pool_t *p, pg_stats_t *out);

/* One statement with $1.. parameters on any free connection (unnamed statement). */
void pg_query(pg_pool_t *p, const char *sql, int nparams, const char *const *params, pg_cb cb,
	      void *arg);
/* Same, but prepared once per connection and reused: for the hot, fixed statements. */
void pg_query_prepared(pg_pool_t *p, const char *sql, int nparams, const char *const *params,
		       pg_cb cb, void *arg);
/* Same, but ahead of everything waiting for a connection, and allowed the pool's last idle
 * connection, which other work leaves free: for work whose latency is the product (webhook
 * acknowledgements), never for bulk work. */
void pg_query_urgent(pg_pool_t *p, const char *sql, int nparams, const char *const *params,
		     pg_cb cb, void *arg);
/* Same as pg_query_prepared, for a large store (a backfill's chunk, a page of events): bulk
 * ops run one at a time per pool and stay back while urgent work commits (at most 50 ms each),
 * so acknowledgements never share the database with several of them. */
void pg_query_bulk(pg_pool_t *p, const char *sql, int nparams, const char *const *params, pg_cb cb,
		   void *arg);
/* Several statements in pipeline mode: one round trip, all or nothing. */
void pg_batch(pg_pool_t *p, const pg_stmt_t *stmts, int n, pg_batch_cb cb, void *arg);
/* In a failed batch's results, the error result of the statement that failed; NULL when none
 * has one (the connection was lost before it answered). */
const PGresult *pg_batch_failed(PGresult *const *results, int n);
/* A batch whose answer is one of its statements' (which: its index), as pg_query's is: cb gets
 * that statement's result, or the failed statement's (pg_batch_failed) and the error. */
void pg_batch_one(pg_pool_t *p, const pg_stmt_t *stmts, int n, int which, pg_cb cb, void *arg);
/* A round trip (SELECT 1) on any free connection: whether the database answers. */
void pg_ping(pg_pool_t *p, pg_cb cb, void *arg);

/* BEGIN on a connection pinned to the transaction until commit or rollback. The owner must end
 * every transaction it was given with pg_tx_commit or pg_tx_rollback, even after an error. */
void pg_tx_begin(pg_pool_t *p, pg_tx_cb cb, void *arg);
void pg_tx_query(pg_tx_t *tx, const char *sql, int nparams, const char *const *params, pg_cb cb,
		 void *arg);
/* COPY ... TO STDOUT in the transaction: row gets each CopyData message (data valid only during
 * the call) as it arrives; done runs once after the last (its result, or the error). row returns
 * false to pause: nothing more is read from the connection (PostgreSQL waits on its full
 * socket, so memory stays flat) until pg_tx_copy_resume. pg_tx_copy_abandon ends a copy early
 * by closing its connection (done gets an error; the transaction is gone, roll it back to free
 * it). */
typedef bool (*pg_copy_row_cb)(const char *data, int len, void *arg);
void pg_tx_copy_out(pg_tx_t *tx, const char *sql, int nparams, const char *const *params,
		    pg_copy_row_cb row, pg_cb done, void *arg);
void pg_tx_copy_resume(pg_tx_t *tx);
void pg_tx_copy_abandon(pg_tx_t *tx);
void pg_tx_commit(pg_tx_t *tx, pg_cb cb, void *arg);
void pg_tx_rollback(pg_tx_t *tx, pg_cb cb, void *arg); /* cb may be NULL */

/* A condition to AND into a write statement whose effects may be lost in a PostgreSQL crash
 * because they are re-derived (a replayable job's bookkeeping): its transaction commits without
 * waiting for the WAL flush (SET LOCAL synchronous_commit = off, as set_config). The condition
 * holds no column, so it is evaluated before any row is written; a statement that writes
 * nothing has nothing to flush. A crash loses at most the last ~0.6 s of such commits, and
 * always a suffix: any later synchronous commit flushes them too (WAL is flushed in order). */
#define PG_COMMIT_NO_FLUSH_WAIT "(SELECT set_config('synchronous_commit', 'off', true)) = 'off'"

/* Result helpers. */
const char *pg_sqlstate(const PGresult *res);		     /* "23505" or "" */
const char *pg_value(const PGresult *res, int row, int col); /* NULL for SQL NULL */
bool pg_bool(const PGresult *res, int row, int col);
long long pg_int(const PGresult *res, int row, int col, long long dflt);

#endif
