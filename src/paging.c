/* One page and its total side by side: see the header. */
#include "paging.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

void paging_params(const page_t *page, page_params_t *out)
{
	snprintf(out->limit, sizeof(out->limit), "%d", page->limit);
	snprintf(out->offset, sizeof(out->offset), "%ld", page->after_key ? 0 : page->offset);
}

/* Owned by paging_read until both statements are back: the caller's arg may be gone as soon
 * as cb ran, which is at the first failure. */
typedef struct paging {
	paging_cb cb;
	void *arg;
	int pending;
	bool answered;
	PGresult *rows; /* a copy, kept when the page arrives before its total */
	long long total;
} paging_t;

static void part(paging_t *p, const PGresult *res, const char *err, bool rows)
{
	p->pending--;
	if (p->answered) {
		/* the other statement failed and was answered */
	} else if (err) {
		p->answered = true;
		p->cb(res, 0, err, p->arg);
	} else if (p->pending > 0) {
		if (rows)
			p->rows = PQcopyResult(res, PG_COPYRES_TUPLES | PG_COPYRES_ATTRS);
		else
			p->total = pg_int(res, 0, 0, 0);
	} else {
		p->answered = true;
		if (rows)
			p->cb(res, p->total, NULL, p->arg);
		else
			p->cb(p->rows, pg_int(res, 0, 0, 0), NULL, p->arg);
	}
	if (p->pending > 0)
		return;
	PQclear(p->rows);
	free(p);
}

static void rows_back(const PGresult *res, const char *err, void *arg)
{
	part(arg, res, err, true);
}

static void total_back(const PGresult *res, const char *err, void *arg)
{
	part(arg, res, err, false);
}

void paging_read(pg_pool_t *pool, const pg_stmt_t stmts[2], paging_cb cb, void *arg)
{
	paging_t *p = xcalloc(1, sizeof(*p));
	p->cb = cb;
	p->arg = arg;
	p->pending = 2;
	pg_query_prepared(pool, stmts[0].sql, stmts[0].nparams, stmts[0].params, rows_back, p);
	pg_query_prepared(pool, stmts[1].sql, stmts[1].nparams, stmts[1].params, total_back, p);
}
