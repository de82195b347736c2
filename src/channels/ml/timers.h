/* The Mercado Livre account timers, safe with several processes on one database: refresh tokens
 * that expire within 30 minutes, sync due accounts (claimed with SKIP LOCKED), trim error
 * histories, drop spent OAuth states, re-seal tokens still under ENCRYPTION_KEY_OLD, and log a
 * health summary (accounts by status) every 15 minutes. */
#ifndef SH_ML_TIMERS_H
#define SH_ML_TIMERS_H

#include "app.h"

#define ML_JOBS_HEALTH_MS      (15 * 60 * 1000)
#define ML_JOBS_MAINTENANCE_MS (60 * 60 * 1000)
#define ML_JOBS_BATCH	       100 /* accounts per sweep */

struct ml_jobs *ml_jobs_start(app_t *app);
/* Stops the timers; work in flight finishes through its own callbacks. */
void ml_jobs_free(struct ml_jobs *j);

#endif
