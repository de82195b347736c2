/* Recovery of notifications Mercado Livre gave up on: every MISSED_FEEDS_INTERVAL seconds one
 * process (a Redis lease) pages through GET /missed_feeds?app_id= and stores what it finds like
 * any notification (deduplicated by _id, so what did arrive is not stored twice). */
#ifndef SH_ML_MISSED_FEEDS_H
#define SH_ML_MISSED_FEEDS_H

struct app;
typedef struct missed_feeds missed_feeds_t;

/* NULL when ML_CLIENT_ID is not set (there is no application to ask about). */
missed_feeds_t *missed_feeds_start(struct app *app);
/* Before the clients are freed: callbacks that still arrive end the pass instead of going on. */
void missed_feeds_stop(missed_feeds_t *m);
void missed_feeds_free(missed_feeds_t *m);

#endif
