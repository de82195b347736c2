/* Non-blocking libpq pool. Each connection is a small state machine driven by one embedded
 * `struct event` on its socket (re-assigned when the socket changes, as during connect):
 *
 *   DOWN --connect--> CONNECTING --ok--> IDLE <--> BUSY      (any query)
 *                                         IDLE <--> PINNED   (BEGIN .. COMMIT/ROLLBACK)
 *   any --socket error/EOF--> DOWN --backoff timer--> CONNECTING
 *
 * An op is one unit of work (a query, a BEGIN, a batch) with its callback. Ops wait in the
 * pool's FIFO until a connection is idle (urgent ones at its head, and only they may take the
 * last idle connection); a pinned transaction's ops wait on the transaction. Bulk ops (large
 * stores) run one at a time and yield to urgent ones: see may_start.
 * Callbacks for ops that fail without reaching a connection are delivered from a deferred
 * event so that no callback ever runs inside the call that queued it. */
#include "pg.h"
#include "log.h"
#include "util.h"

#include <event2/event_struct.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SWEEP_MS       250
#define MAX_PREPARED   512
/* How long a bulk op stays back while urgent work is committing: past it, it starts anyway (an
 * intake that never pauses must not stop the stores). */
#define BULK_YIELD_MS 50
/* Bulk ops running at once: one, so that large stores take at most one of the database's
 * cores from the urgent commits, however many runs store at once. */
#define BULK_RUNNING	      1
#define BULK_QUEUE_TIMEOUT_MS (10 * PG_QUEUE_TIMEOUT_MS)

enum op_kind {
	OP_QUERY,
	OP_PREPARED,
	OP_BEGIN,
	OP_TX_QUERY,
	OP_TX_COPY,
	OP_COMMIT,
	OP_ROLLBACK,
	OP_BATCH
};
enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY, C_PINNED };

typedef struct stmt {
	char *sql;
	int nparams;
	char **params;
} stmt_t;

typedef struct op {
	TAILQ_ENTRY(op) link;
	enum op_kind kind;
	stmt_t *stmts; /* one, or n for a batch; owned */
	int nstmts;
	pg_cb cb;
	pg_tx_cb txcb;
	pg_batch_cb bcb;
	void *arg;
	pg_tx_t *tx;
	bool urgent;
	bool bulk;
	bool yielded; /* a bulk op held back for urgent work (counted once) */
	int64_t queued_ms;
	/* execution */
	int stage; /* OP_PREPARED: 1 = PREPARE sent, 2 = EXECUTE sent */
	const char *prep_name;
	PGresult *result;   /* single-statement result (error result wins) */
	PGresult **results; /* batch results */
	int cur;	    /* batch: statement whose results are arriving */
	char *err;
	/* OP_TX_COPY: rows go to copy_row as they arrive; paused while it wants no more */
	pg_copy_row_cb copy_row;
	bool copying, paused;
} op_t;

TAILQ_HEAD(op_list, op);

typedef struct prepared {
	char *sql;
	char name[16];
} prepared_t;

typedef struct conn {
	pg_pool_t *pool;
	PGconn *pg;
	enum conn_state state;
	struct event ev; /* socket readiness; live when ev_what != 0 */
	short ev_what;
	evutil_socket_t ev_fd;
	struct event retry; /* reconnect backoff */
	int backoff_ms;
	bool flushing;
	bool abandoned; /* closed on purpose (pg_tx_copy_abandon): no warning */
	op_t *op;
	pg_tx_t *tx;
	prepared_t *prepared;
	int nprepared;
} conn_t;

struct pg_tx {
	pg_pool_t *pool;
	conn_t *conn; /* NULL once the connection is gone */
	struct op_list ops;
	char *err; /* set when the transaction can no longer succeed */
};

struct pg_pool {
	struct event_base *base;
	char *conninfo;
	char *options; /* the connections' "options": fixed styles and zone, then the caller's */
	conn_t *conns;
	int size;
	struct op_list waiting;
	size_t nwaiting;
	struct op_list deferred;
	struct event deferred_ev;
	struct event sweep_ev;
	int connected;
	int urgent_running, bulk_running; /* ops of each class on a connection */
	struct event bulk_ev;		  /* a yielding bulk op's deadline */
	bool unreachable; /* the last connect attempt failed and no connection is up */
	bool closing;
	char last_error[256];
	unsigned long long queries, errors, reconnects, timeouts, bulk_yields;
};

static void conn_io(evutil_socket_t fd, short what, void *arg);
static void conn_connect(conn_t *c);
static bool conn_next(conn_t *c);
static void conn_start(conn_t *c, op_t *op);
static void op_detach(conn_t *c);

/* --- ops ------------------------------------------------------------------------------------ */

static void stmt_copy(stmt_t *dst, const char *sql, int nparams, const char *const *params)
{
	dst->sql = xstrdup(sql);
	dst->nparams = nparams;
	dst->params = nparams ? xcalloc((size_t)nparams, sizeof(char *)) : NULL;
	for (int i = 0; i < nparams; i++)
		dst->params[i] = params[i] ? xstrdup(params[i]) : NULL;
}

static op_t *op_new(enum op_kind kind, void *arg)
{
	op_t *op = xcalloc(1, sizeof(*op));
	op->kind = kind;
	op->arg = arg;
	op->queued_ms = now_ms();
	return op;
}

static void op_free(op_t *op)
{
	for (int i = 0; i < op->nstmts; i++) {
		for (int j = 0; j < op->stmts[i].nparams; j++)
			free(op->stmts[i].params[j]);
		free(op->stmts[i].params);
		free(op->stmts[i].sql);
	}
	free(op->stmts);
	PQclear(op->result);
	if (op->results) {
		for (int i = 0; i < op->nstmts; i++)
			PQclear(op->results[i]);
		free(op->results);
	}
	free(op->err);
	free(op);
}

static void op_set_err(op_t *op, const char *msg)
{
	if (op->err)
		return;
	op->err = xstrdup(msg);
	/* libpq messages end in a newline; keep log lines and API errors on one line. */
	for (char *p = op->err; *p; p++)
		if (*p == '\n')
			*p = (p[1] ? ' ' : '\0');
}

static void tx_free(pg_tx_t *tx)
{
	free(tx->err);
	free(tx);
}

/* Run the op's callback and free it. The tx of a COMMIT/ROLLBACK dies here too. */
static void op_deliver(pg_pool_t *p, op_t *op)
{
	if (op->err)
		p->errors++;
	switch (op->kind) {
	case OP_BEGIN:
		if (op->err) {
			if (op->tx)
				tx_free(op->tx);
			op->txcb(NULL, op->err, op->arg);
		} else {
			op->txcb(op->tx, NULL, op->arg);
		}
		break;
	case OP_BATCH:
		op->bcb(op->results, op->nstmts, op->err, op->arg);
		break;
	case OP_COMMIT:
	case OP_ROLLBACK: {
		pg_tx_t *tx = op->tx;
		if (op->cb)
			op->cb(op->result, op->err, op->arg);
		tx_free(tx);
		break;
	}
	default:
		op->cb(op->result, op->err, op->arg);
		break;
	}
	op_free(op);
}

static void deferred_run(evutil_socket_t fd, short what, void *arg)
{
	pg_pool_t *p = arg;
	op_t *op;
	while ((op = TAILQ_FIRST(&p->deferred))) {
		TAILQ_REMOVE(&p->deferred, op, link);
		op_deliver(p, op);
	}
}

/* Fail an op that never reached (or can no longer reach) a connection. */
static void op_fail_later(pg_pool_t *p, op_t *op, const char *msg)
{
	op_set_err(op, msg);
	TAILQ_INSERT_TAIL(&p->deferred, op, link);
	event_active(&p->deferred_ev, EV_TIMEOUT, 0);
}

static void fail_waiting(pg_pool_t *p, const char *msg)
{
	op_t *op;
	while ((op = TAILQ_FIRST(&p->waiting))) {
		TAILQ_REMOVE(&p->waiting, op, link);
		p->nwaiting--;
		op_fail_later(p, op, msg);
	}
}

/* --- connections ------------------------------------------------------------------------- */

static void watch(conn_t *c, short what)
{
	evutil_socket_t fd = PQsocket(c->pg);
	if (c->ev_what == what && c->ev_fd == fd)
		return;
	if (c->ev_what)
		event_del(&c->ev);
	c->ev_what = what;
	c->ev_fd = fd;
	event_assign(&c->ev, c->pool->base, fd, what | EV_PERSIST, conn_io, c);
	event_add(&c->ev, NULL);
}

static void unwatch(conn_t *c)
{
	if (c->ev_what)
		event_del(&c->ev);
	c->ev_what = 0;
	c->ev_fd = -1;
}

static void forget_prepared(conn_t *c)
{
	for (int i = 0; i < c->nprepared; i++)
		free(c->prepared[i].sql);
	free(c->prepared);
	c->prepared = NULL;
	c->nprepared = 0;
}

static void schedule_reconnect(conn_t *c)
{
	int jitter = c->backoff_ms / 4 ? (int)(now_us() % (c->backoff_ms / 4)) : 0;
	struct timeval tv = {(c->backoff_ms + jitter) / 1000,
			     ((c->backoff_ms + jitter) % 1000) * 1000};
	evtimer_add(&c->retry, &tv);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void tx_break(pg_tx_t *tx, const char *msg)
{
	if (!tx->err)
		tx->err = xstrdup(msg);
	tx->conn = NULL;
	op_t *op;
	while ((op = TAILQ_FIRST(&tx->ops))) {
		TAILQ_REMOVE(&tx->ops, op, link);
		if (op->kind == OP_ROLLBACK)
			TAILQ_INSERT_TAIL(&tx->pool->deferred, op, link); /* nothing left to undo */
		else
			op_fail_later(tx->pool, op, msg);
	}
	event_active(&tx->pool->deferred_ev, EV_TIMEOUT, 0);
}

/* The connection is unusable: fail what ran on it, then reconnect after a backoff. */
static void conn_lost(conn_t *c, const char *why)
{
	pg_pool_t *p = c->pool;
	char msg[320];
	snprintf(msg, sizeof(msg), "database connection lost: %s", why);
	for (char *q = msg; *q; q++)
		if (*q == '\n' || *q == '\t')
			*q = ' ';
	if (!p->closing && !c->abandoned)
		log_warn("pg: %s", msg);
	c->abandoned = false;
	unwatch(c);
	if (c->state != C_CONNECTING && c->state != C_DOWN)
		p->connected--;
	PQfinish(c->pg);
	c->pg = NULL;
	c->state = C_DOWN;
	c->flushing = false;
	forget_prepared(c);
	op_t *op = c->op;
	op_detach(c);
	if (c->tx) {
		tx_break(c->tx, msg);
		c->tx = NULL;
	}
	if (op) {
		if (op->kind == OP_ROLLBACK)
			TAILQ_INSERT_TAIL(&p->deferred, op, link);
		else
			op_fail_later(p, op, msg);
		event_active(&p->deferred_ev, EV_TIMEOUT, 0);
	}
	if (!p->closing) {
		p->reconnects++;
		c->backoff_ms = BACKOFF_MIN_MS;
		schedule_reconnect(c);
	}
}

static void connect_failed(conn_t *c, const char *why)
{
	pg_pool_t *p = c->pool;
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	for (char *q = p->last_error; *q; q++)
		if (*q == '\n' || *q == '\t')
			*q = ' ';
	unwatch(c);
	PQfinish(c->pg);
	c->pg = NULL;
	c->state = C_DOWN;
	if (p->connected == 0) {
		/* Nothing can serve the queue: fail it now rather than let callers hang. */
		if (!p->unreachable)
			log_warn("pg: database unreachable: %s", p->last_error);
		p->unreachable = true;
		char msg[320];
		snprintf(msg, sizeof(msg), "database unavailable: %s", p->last_error);
		fail_waiting(p, msg);
	}
	schedule_reconnect(c);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_connect(arg);
}

static void notice_cb(void *arg, const char *message)
{
	log_debug("pg notice: %s", message);
}

static void conn_connect(conn_t *c)
{
	/* Text results are read by shape (timestamps as "YYYY-MM-DD HH:MM:SS+00"): pin the styles
	 * and the zone whatever the server's defaults. Keywords after dbname override its
	 * expansion. */
	static const char *const keys[] = {"dbname", "options", NULL};
	const char *values[] = {c->pool->conninfo, c->pool->options, NULL};
	c->pg = PQconnectStartParams(keys, values, 1);
	if (!c->pg)
		die("pg: out of memory");
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		connect_failed(c, PQerrorMessage(c->pg));
		return;
	}
	PQsetnonblocking(c->pg, 1);
	PQsetNoticeProcessor(c->pg, notice_cb, NULL);
	c->state = C_CONNECTING;
	watch(c, EV_WRITE);
}

static void connect_poll(conn_t *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		watch(c, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		watch(c, EV_WRITE);
		return;
	case PGRES_POLLING_FAILED:
		connect_failed(c, PQerrorMessage(c->pg));
		return;
	default:
		break;
	}
	pg_pool_t *p = c->pool;
	if (p->unreachable)
		log_info("pg: database reachable again");
	p->unreachable = false;
	p->connected++;
	c->state = C_IDLE;
	c->backoff_ms = BACKOFF_MIN_MS;
	watch(c, EV_READ);
	conn_next(c);
}

static const char *find_prepared(conn_t *c, const char *sql)
{
	for (int i = 0; i < c->nprepared; i++)
		if (strcmp(c->prepared[i].sql, sql) == 0)
			return c->prepared[i].name;
	return NULL;
}

static const char *add_prepared(conn_t *c, const char *sql)
{
	if (c->nprepared == MAX_PREPARED)
		return NULL;
	c->prepared = xrealloc(c->prepared, (size_t)(c->nprepared + 1) * sizeof(prepared_t));
	prepared_t *pr = &c->prepared[c->nprepared];
	pr->sql = xstrdup(sql);
	snprintf(pr->name, sizeof(pr->name), "sh%d", c->nprepared);
	c->nprepared++;
	return pr->name;
}

static bool send_params(conn_t *c, const stmt_t *s)
{
	return PQsendQueryParams(c->pg, s->sql, s->nparams, NULL, (const char *const *)s->params,
				 NULL, NULL, 0) == 1;
}

static void flush(conn_t *c)
{
	int f = PQflush(c->pg);
	if (f < 0) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	c->flushing = f == 1;
	watch(c, f == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void conn_start(conn_t *c, op_t *op)
{
	c->op = op;
	c->pool->urgent_running += op->urgent;
	c->pool->bulk_running += op->bulk;
	if (c->state == C_IDLE)
		c->state = C_BUSY;
	c->pool->queries++;
	bool ok = true;
	const stmt_t *s = op->stmts;
	switch (op->kind) {
	case OP_QUERY:
	case OP_TX_QUERY:
	case OP_TX_COPY:
		ok = send_params(c, s);
		break;
	case OP_PREPARED:
		op->prep_name = find_prepared(c, s->sql);
		if (op->prep_name) {
			op->stage = 2;
			ok =
			    PQsendQueryPrepared(c->pg, op->prep_name, s->nparams,
						(const char *const *)s->params, NULL, NULL, 0) == 1;
		} else if ((op->prep_name = add_prepared(c, s->sql))) {
			op->stage = 1;
			ok = PQsendPrepare(c->pg, op->prep_name, s->sql, s->nparams, NULL) == 1;
		} else {
			op->stage = 2; /* cache full: run it unnamed */
			ok = send_params(c, s);
		}
		break;
	case OP_BEGIN:
		ok = PQsendQuery(c->pg, "BEGIN") == 1;
		break;
	case OP_COMMIT:
		ok = PQsendQuery(c->pg, "COMMIT") == 1;
		break;
	case OP_ROLLBACK:
		ok = PQsendQuery(c->pg, "ROLLBACK") == 1;
		break;
	case OP_BATCH:
		op->results = xcalloc((size_t)op->nstmts, sizeof(PGresult *));
		ok = PQenterPipelineMode(c->pg) == 1;
		for (int i = 0; ok && i < op->nstmts; i++)
			ok = send_params(c, &op->stmts[i]);
		ok = ok && PQpipelineSync(c->pg) == 1;
		break;
	}
	if (!ok) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	flush(c);
}

/* The first idle connection, or NULL; *idle counts them. */
static conn_t *idle_conn(pg_pool_t *p, int *idle)
{
	conn_t *found = NULL;
	*idle = 0;
	for (int i = 0; i < p->size; i++)
		if (p->conns[i].state == C_IDLE && !p->conns[i].op) {
			found = found ? found : &p->conns[i];
			(*idle)++;
		}
	return found;
}

/* The op leaves its connection (answered, or the connection lost). */
static void op_detach(conn_t *c)
{
	if (!c->op)
		return;
	c->pool->urgent_running -= c->op->urgent;
	c->pool->bulk_running -= c->op->bulk;
	c->op = NULL;
}

/* The last idle connection is kept for urgent work (webhook acknowledgements): with every
 * other connection busy with background queries, an acknowledgement still starts at once
 * instead of waiting for one of them to end.
 * A bulk op (a chunk of a backfill, a page of events: up to hundreds of milliseconds of the
 * database's CPU and WAL) also waits for the bulk op before it, and stays back while urgent
 * work is committing, for at most BULK_YIELD_MS: an acknowledgement's commit then does not
 * share the database with several large stores at once. */
static bool may_start(pg_pool_t *p, op_t *op, int idle)
{
	if (op->urgent)
		return true;
	if (p->size > 1 && idle <= 1)
		return false;
	if (!op->bulk)
		return true;
	if (p->bulk_running >= BULK_RUNNING)
		return false;
	const op_t *first = TAILQ_FIRST(&p->waiting);
	if (p->urgent_running == 0 && !(first && first->urgent))
		return true;
	int64_t left = op->queued_ms + BULK_YIELD_MS - now_ms();
	if (left <= 0)
		return true;
	if (!op->yielded) {
		op->yielded = true;
		p->bulk_yields++;
	}
	if (!evtimer_pending(&p->bulk_ev, NULL)) {
		struct timeval tv = {0, (suseconds_t)left * 1000};
		evtimer_add(&p->bulk_ev, &tv);
	}
	return false;
}

/* Give an idle connection its next op: its transaction's, or the pool's oldest waiting one
 * that may start. Whether it started one. */
static bool conn_next(conn_t *c)
{
	if (c->op || c->state == C_DOWN || c->state == C_CONNECTING)
		return false;
	pg_pool_t *p = c->pool;
	if (c->state == C_PINNED) {
		op_t *op = TAILQ_FIRST(&c->tx->ops);
		if (op) {
			TAILQ_REMOVE(&c->tx->ops, op, link);
			conn_start(c, op);
		}
		return op != NULL;
	}
	int idle;
	idle_conn(p, &idle);
	op_t *op;
	TAILQ_FOREACH(op, &p->waiting, link)
	if (may_start(p, op, idle))
		break;
	if (!op)
		return false;
	TAILQ_REMOVE(&p->waiting, op, link);
	p->nwaiting--;
	conn_start(c, op);
	return true;
}

/* Offer the waiting ops to every idle connection: what may start now (a bulk op whose turn
 * came, work queued behind a bulk op that stays back) does. */
static void kick(pg_pool_t *p)
{
	for (int i = 0; i < p->size && p->nwaiting; i++) {
		conn_t *c = &p->conns[i];
		if (c->state == C_IDLE && !c->op && !conn_next(c))
			return;
	}
}

static void bulk_due(evutil_socket_t fd, short what, void *arg)
{
	kick(arg);
}

static void keep_result(op_t *op, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	bool failed =
	    st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR;
	if (failed)
		op_set_err(op, PQresultErrorMessage(res));
	if (op->kind == OP_BATCH) {
		if (op->cur < op->nstmts && !op->results[op->cur])
			op->results[op->cur] = res;
		else
			PQclear(res);
		if (st == PGRES_PIPELINE_ABORTED)
			op_set_err(op, "batch aborted by an earlier statement");
		return;
	}
	/* Keep the error result if there is one, else the last. */
	if (op->result && PQresultStatus(op->result) == PGRES_FATAL_ERROR) {
		PQclear(res);
		return;
	}
	PQclear(op->result);
	op->result = res;
}

/* The op's statement finished on c (every result read). */
static void op_finished(conn_t *c)
{
	op_t *op = c->op;
	pg_pool_t *p = c->pool;
	if (op->kind == OP_PREPARED && op->stage == 1) {
		if (op->err) {
			/* The name was not created: forget it so a later use prepares again. */
			c->nprepared--;
			free(c->prepared[c->nprepared].sql);
		} else {
			PQclear(op->result);
			op->result = NULL;
			op->stage = 2;
			const stmt_t *s = op->stmts;
			if (PQsendQueryPrepared(c->pg, op->prep_name, s->nparams,
						(const char *const *)s->params, NULL, NULL,
						0) != 1) {
				conn_lost(c, PQerrorMessage(c->pg));
				return;
			}
			flush(c);
			return;
		}
	}
	op_detach(c);
	switch (op->kind) {
	case OP_BEGIN:
		if (op->err) {
			c->state = C_IDLE;
		} else {
			pg_tx_t *tx = xcalloc(1, sizeof(*tx));
			tx->pool = p;
			tx->conn = c;
			TAILQ_INIT(&tx->ops);
			op->tx = tx;
			c->tx = tx;
			c->state = C_PINNED;
		}
		break;
	case OP_TX_QUERY:
	case OP_TX_COPY:
		break; /* stays pinned */
	case OP_COMMIT:
	case OP_ROLLBACK:
		/* A COMMIT of a failed transaction answers ROLLBACK: that is a failure. */
		if (!op->err && op->kind == OP_COMMIT && op->result &&
		    strcmp(PQcmdStatus(op->result), "ROLLBACK") == 0)
			op_set_err(op, "transaction rolled back after an earlier error");
		c->tx->conn = NULL;
		c->tx = NULL;
		c->state = C_IDLE;
		break;
	case OP_BATCH:
		PQexitPipelineMode(c->pg);
		c->state = C_IDLE;
		break;
	default:
		c->state = C_IDLE;
		break;
	}
	bool freed_class = op->urgent || op->bulk;
	op_deliver(p, op);
	/* The callback may have queued more work on c (a pinned transaction); if not, take next. */
	if (c->state != C_DOWN)
		conn_next(c);
	if (freed_class) /* a bulk op may start now, on any idle connection */
		kick(p);
}

/* A COPY TO STDOUT's rows, one CopyData message each, while its reader wants them: false when
 * it paused (or abandoned the copy from its callback), true once the copy's data has ended
 * (its result follows). */
static bool read_copy(conn_t *c)
{
	op_t *op = c->op;
	while (!op->paused) {
		char *row;
		int n = PQgetCopyData(c->pg, &row, 1);
		if (n == 0)
			return false; /* the rest is still on its way */
		if (n < 0) {
			op->copying = false;
			return true;
		}
		bool more = op->copy_row(row, n, op->arg);
		PQfreemem(row);
		if (c->op != op)
			return false; /* abandoned: the op is failed and delivered later */
		if (!more) {
			/* Nothing more is read: PostgreSQL waits on its full socket. */
			op->paused = true;
			unwatch(c);
		}
	}
	return false;
}

static void read_results(conn_t *c)
{
	while (c->op && !PQisBusy(c->pg)) {
		op_t *op = c->op;
		if (op->copying) {
			if (!read_copy(c))
				return;
			continue;
		}
		PGresult *res = PQgetResult(c->pg);
		if (res && op->kind == OP_TX_COPY && PQresultStatus(res) == PGRES_COPY_OUT) {
			PQclear(res);
			op->copying = true;
			continue;
		}
		if (op->kind == OP_BATCH) {
			if (!res) {
				op->cur++; /* the next statement's results follow */
				continue;
			}
			if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
				PQclear(res);
				op_finished(c);
				return;
			}
			keep_result(op, res);
			continue;
		}
		if (!res) {
			op_finished(c);
			return;
		}
		keep_result(op, res);
	}
}

static void conn_io(evutil_socket_t fd, short what, void *arg)
{
	conn_t *c = arg;
	if (c->state == C_CONNECTING) {
		connect_poll(c);
		return;
	}
	if ((what & EV_READ) && !PQconsumeInput(c->pg)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->flushing) {
		flush(c);
		if (c->state == C_DOWN || c->flushing)
			return;
	}
	if (!c->op) {
		/* Idle: the server may have closed the connection (restart) or sent a notice. */
		PGnotify *n;
		while ((n = PQnotifies(c->pg)))
			PQfreemem(n);
		if (PQstatus(c->pg) != CONNECTION_OK)
			conn_lost(c, "closed by the server");
		return;
	}
	read_results(c);
}

/* --- pool ------------------------------------------------------------------------------------ */

/* A bulk op may also wait for the bulk ops before it, by design: it has longer. */
static void sweep(evutil_socket_t fd, short what, void *arg)
{
	pg_pool_t *p = arg;
	int64_t now = now_ms();
	op_t *op = TAILQ_FIRST(&p->waiting), *next;
	for (; op; op = next) {
		next = TAILQ_NEXT(op, link);
		if (op->queued_ms >= now - (op->bulk ? BULK_QUEUE_TIMEOUT_MS : PG_QUEUE_TIMEOUT_MS))
			continue;
		TAILQ_REMOVE(&p->waiting, op, link);
		p->nwaiting--;
		p->timeouts++;
		op_fail_later(p, op, "timed out waiting for a database connection");
	}
}

pg_pool_t *pg_pool_new(struct event_base *base, const char *conninfo, int size)
{
	return pg_pool_new_with(base, conninfo, size, NULL);
}

pg_pool_t *pg_pool_new_with(struct event_base *base, const char *conninfo, int size,
			    const char *settings)
{
	static const char fixed[] = "-c DateStyle=ISO -c IntervalStyle=postgres -c TimeZone=UTC";
	pg_pool_t *p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->conninfo = xstrdup(conninfo);
	size_t n = sizeof(fixed) + (settings ? strlen(settings) + 1 : 0);
	p->options = xmalloc(n);
	snprintf(p->options, n, "%s%s%s", fixed, settings ? " " : "", settings ? settings : "");
	p->size = size;
	p->conns = xcalloc((size_t)size, sizeof(conn_t));
	TAILQ_INIT(&p->waiting);
	TAILQ_INIT(&p->deferred);
	event_assign(&p->deferred_ev, base, -1, 0, deferred_run, p);
	event_assign(&p->sweep_ev, base, -1, EV_PERSIST, sweep, p);
	evtimer_assign(&p->bulk_ev, base, bulk_due, p);
	struct timeval tv = {0, SWEEP_MS * 1000};
	event_add(&p->sweep_ev, &tv);
	for (int i = 0; i < size; i++) {
		conn_t *c = &p->conns[i];
		c->pool = p;
		c->ev_fd = -1;
		c->backoff_ms = BACKOFF_MIN_MS;
		evtimer_assign(&c->retry, base, retry_cb, c);
		conn_connect(c);
	}
	return p;
}

void pg_pool_free(pg_pool_t *p)
{
	if (!p)
		return;
	p->closing = true;
	for (int i = 0; i < p->size; i++) {
		conn_t *c = &p->conns[i];
		evtimer_del(&c->retry);
		if (c->pg)
			conn_lost(c, "shutting down");
	}
	fail_waiting(p, "shutting down");
	deferred_run(-1, 0, p);
	event_del(&p->deferred_ev);
	event_del(&p->sweep_ev);
	event_del(&p->bulk_ev);
	free(p->conns);
	free(p->conninfo);
	free(p->options);
	free(p);
}

void pg_pool_stats(const pg_pool_t *p, pg_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	out->size = p->size;
	for (int i = 0; i < p->size; i++) {
		switch (p->conns[i].state) {
		case C_IDLE:
			out->idle++;
			break;
		case C_BUSY:
			out->busy++;
			break;
		case C_PINNED:
			out->pinned++;
			break;
		default:
			break;
		}
	}
	out->connected = p->connected;
	out->waiting = p->nwaiting;
	out->queries = p->queries;
	out->errors = p->errors;
	out->reconnects = p->reconnects;
	out->timeouts = p->timeouts;
	out->bulk_yields = p->bulk_yields;
}

static void submit_at(pg_pool_t *p, op_t *op, bool urgent)
{
	if (p->closing) {
		op_fail_later(p, op, "shutting down");
		return;
	}
	if (p->unreachable && p->connected == 0) {
		char msg[320];
		snprintf(msg, sizeof(msg), "database unavailable: %s", p->last_error);
		op_fail_later(p, op, msg);
		return;
	}
	op->urgent = urgent;
	int idle;
	conn_t *c = idle_conn(p, &idle);
	if (c && (urgent || (TAILQ_EMPTY(&p->waiting) && may_start(p, op, idle)))) {
		conn_start(c, op);
		return;
	}
	if (urgent)
		TAILQ_INSERT_HEAD(&p->waiting, op, link);
	else
		TAILQ_INSERT_TAIL(&p->waiting, op, link);
	p->nwaiting++;
	if (c && !urgent)
		kick(p); /* the ops before it may be bulk ops that stay back */
}

static void submit(pg_pool_t *p, op_t *op)
{
	submit_at(p, op, false);
}

static op_t *single(enum op_kind kind, const char *sql, int nparams, const char *const *params,
		    pg_cb cb, void *arg)
{
	op_t *op = op_new(kind, arg);
	op->cb = cb;
	op->nstmts = 1;
	op->stmts = xcalloc(1, sizeof(stmt_t));
	stmt_copy(op->stmts, sql, nparams, params);
	return op;
}

void pg_query(pg_pool_t *p, const char *sql, int nparams, const char *const *params, pg_cb cb,
	      void *arg)
{
	submit(p, single(OP_QUERY, sql, nparams, params, cb, arg));
}

void pg_query_prepared(pg_pool_t *p, const char *sql, int nparams, const char *const *params,
		       pg_cb cb, void *arg)
{
	submit(p, single(OP_PREPARED, sql, nparams, params, cb, arg));
}

void pg_query_bulk(pg_pool_t *p, const char *sql, int nparams, const char *const *params, pg_cb cb,
		   void *arg)
{
	op_t *op = single(OP_PREPARED, sql, nparams, params, cb, arg);
	op->bulk = true;
	submit(p, op);
}

void pg_query_urgent(pg_pool_t *p, const char *sql, int nparams, const char *const *params,
		     pg_cb cb, void *arg)
{
	submit_at(p, single(OP_PREPARED, sql, nparams, params, cb, arg), true);
}

void pg_batch(pg_pool_t *p, const pg_stmt_t *stmts, int n, pg_batch_cb cb, void *arg)
{
	op_t *op = op_new(OP_BATCH, arg);
	op->bcb = cb;
	op->nstmts = n;
	op->stmts = xcalloc((size_t)n, sizeof(stmt_t));
	for (int i = 0; i < n; i++)
		stmt_copy(&op->stmts[i], stmts[i].sql, stmts[i].nparams, stmts[i].params);
	if (n == 0) {
		op_fail_later(p, op, "empty batch");
		return;
	}
	submit(p, op);
}

const PGresult *pg_batch_failed(PGresult *const *results, int n)
{
	for (int i = 0; i < n; i++)
		if (results[i] && PQresultStatus(results[i]) == PGRES_FATAL_ERROR)
			return results[i];
	return NULL;
}

/* pg_batch_one's callback and its argument, until the batch answers. */
typedef struct batch_one {
	int which;
	pg_cb cb;
	void *arg;
} batch_one_t;

static void batch_one_done(PGresult *const *results, int n, const char *err, void *arg)
{
	batch_one_t one = *(batch_one_t *)arg;
	free(arg);
	if (err)
		one.cb(pg_batch_failed(results, n), err, one.arg);
	else
		one.cb(results[one.which], NULL, one.arg);
}

void pg_batch_one(pg_pool_t *p, const pg_stmt_t *stmts, int n, int which, pg_cb cb, void *arg)
{
	batch_one_t *one = xmalloc(sizeof(*one));
	*one = (batch_one_t){which, cb, arg};
	pg_batch(p, stmts, n, batch_one_done, one);
}

void pg_ping(pg_pool_t *p, pg_cb cb, void *arg)
{
	pg_query(p, "SELECT 1", 0, NULL, cb, arg);
}

void pg_tx_begin(pg_pool_t *p, pg_tx_cb cb, void *arg)
{
	op_t *op = op_new(OP_BEGIN, arg);
	op->txcb = cb;
	submit(p, op);
}

static void tx_submit(pg_tx_t *tx, op_t *op)
{
	op->tx = tx;
	if (!tx->conn) {
		if (op->kind == OP_ROLLBACK) {
			TAILQ_INSERT_TAIL(&tx->pool->deferred, op, link);
			event_active(&tx->pool->deferred_ev, EV_TIMEOUT, 0);
		} else {
			op_fail_later(tx->pool, op, tx->err ? tx->err : "transaction is closed");
		}
		return;
	}
	TAILQ_INSERT_TAIL(&tx->ops, op, link);
	conn_next(tx->conn);
}

void pg_tx_query(pg_tx_t *tx, const char *sql, int nparams, const char *const *params, pg_cb cb,
		 void *arg)
{
	op_t *op = single(OP_TX_QUERY, sql, nparams, params, cb, arg);
	op->nstmts = 1;
	tx_submit(tx, op);
}

void pg_tx_copy_out(pg_tx_t *tx, const char *sql, int nparams, const char *const *params,
		    pg_copy_row_cb row, pg_cb done, void *arg)
{
	op_t *op = single(OP_TX_COPY, sql, nparams, params, done, arg);
	op->copy_row = row;
	tx_submit(tx, op);
}

void pg_tx_copy_resume(pg_tx_t *tx)
{
	conn_t *c = tx->conn;
	if (!c || !c->op || c->op->kind != OP_TX_COPY || !c->op->paused)
		return;
	c->op->paused = false;
	/* Rows libpq has buffered already wait for no socket event: read them on the next turn. */
	watch(c, EV_READ);
	event_active(&c->ev, EV_READ, 0);
}

void pg_tx_copy_abandon(pg_tx_t *tx)
{
	conn_t *c = tx->conn;
	if (!c || !c->op || c->op->kind != OP_TX_COPY)
		return;
	c->abandoned = true;
	conn_lost(c, "copy abandoned");
}

void pg_tx_commit(pg_tx_t *tx, pg_cb cb, void *arg)
{
	op_t *op = op_new(OP_COMMIT, arg);
	op->cb = cb;
	tx_submit(tx, op);
}

void pg_tx_rollback(pg_tx_t *tx, pg_cb cb, void *arg)
{
	op_t *op = op_new(OP_ROLLBACK, arg);
	op->cb = cb;
	tx_submit(tx, op);
}

/* --- results ------------------------------------------------------------------------------- */

const char *pg_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

const char *pg_value(const PGresult *res, int row, int col)
{
	if (!res || row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

bool pg_bool(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	return v && v[0] == 't';
}

long long pg_int(const PGresult *res, int row, int col, long long dflt)
{
	const char *v = pg_value(res, row, col);
	return v ? strtoll(v, NULL, 10) : dflt;
}
