/* Stock pushes: the job that sets a linked listing's offered quantity to its SKU's available.
 * What to push is decided in SQL (sql/0023: a change of products.available fills stock_pushes
 * and queues one job per listing or variation, announced on NOTIFY sh_jobs); the job reads the
 * newest value when it runs and pushes through the listing's channel (channel_t.push_stock)
 * until the value it pushed is still the newest, so many changes make few pushes. */
#ifndef SH_STOCK_PUSH_H
#define SH_STOCK_PUSH_H

#include "app.h"

#define STOCK_PUSH_JOB "stock_push"

/* Register the job kind (after jobs_new, before jobs_start). */
void stock_push_register(app_t *app);

#endif
