/* One page of a list and the total of every page, read side by side: how the data modules
 * (orders.c, listings.c, shipments.c) answer a list. Knows nothing of HTTP. */
#ifndef SH_PAGING_H
#define SH_PAGING_H

#include "pg.h"

/* Which rows of a list: at most limit, after skipping offset; or, with after_key set (a keyset
 * cursor: the sort key and id of the last row seen, as text), the limit rows after that one. */
typedef struct page {
	int limit;
	long offset;
	const char *after_key, *after_id;
} page_t;

/* The page's limit and offset as statement parameters (text); the offset is 0 past a cursor. */
typedef struct page_params {
	char limit[16], offset[24];
} page_params_t;
void paging_params(const page_t *page, page_params_t *out);

/* A list's answer, given exactly once. On success err is NULL, rows the page's rows (valid only
 * during the call; NULL for an empty page that was never read) and total the count of every
 * page's rows. On failure err is one line and rows the failed statement's result, as pg_cb's
 * res (NULL when the database was unreachable). */
typedef void (*paging_cb)(const PGresult *rows, long long total, const char *err, void *arg);

/* Runs stmts[0] (the page's rows) and stmts[1] (its total: one row, one number) as two prepared
 * statements side by side on the pool (a pipelined batch would be parsed and planned again for
 * every request). cb runs once: at the first failure, or when both are back. */
void paging_read(pg_pool_t *pool, const pg_stmt_t stmts[2], paging_cb cb, void *arg);

#endif
