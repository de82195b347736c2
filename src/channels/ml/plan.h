/* The Mercado Livre sync plan (plan.c): what the sync engine (sync_engine.h) fetches and stores
 * for an ml account, in the backfill behind POST /api/sync/start and in the scheduled
 * incremental sync (summary.c). */
#ifndef SH_ML_PLAN_H
#define SH_ML_PLAN_H

#include "sync_engine.h"

extern const sync_plan_t ml_sync_plan;

#endif
