/* The Mercado Livre sync plan (plan.c): what the sync engine (sync_engine.h) fetches and stores
 * for an ml account, in the backfill behind POST /api/sync/start and in the scheduled
 * incremental sync (summary.c). */
#ifndef SH_ML_PLAN_H
#define SH_ML_PLAN_H

#include <jansson.h>

#include "sync_engine.h"

extern const sync_plan_t ml_sync_plan;

/* Reading Mercado Livre's answers (pure; fuzzed by test/fuzz/fuzz_ml_answers.c). */
#define MULTIGET	20 /* ids per /items?ids= */
#define ML_ITEM_ID_MAX	30
#define ML_MULTIGET_BUF (MULTIGET * (ML_ITEM_ID_MAX + 1) + 1)
#define ML_TOTAL_MAX	10000000 /* a page's total past this is not believed */
/* Joins up to MULTIGET usable item ids of the array ids, from index *next on, into buf
 * ("MLB1,MLB2"); *next moves past what it looked at. Returns how many it joined (0: done).
 * Strings that are not item ids are skipped. */
size_t ml_multiget_list(json_t *ids, size_t *next, char *buf, size_t size);
/* A paging total as a count: 0 when absent or negative, at most ML_TOTAL_MAX. */
long ml_answer_total(json_t *v);

#endif
