/* The janitor: one family of timers that does the periodic work on every channel's accounts,
 * safe with several processes on one database. Each sweep claims or lists its work in
 * PostgreSQL (the due syncs with FOR UPDATE SKIP LOCKED), so two processes never do an item
 * twice:
 * - tokens: refresh the tokens that expire within UPKEEP_WINDOW_S (channels with a grant);
 * - sync: claim the accounts due for their scheduled sync (channels with a sync);
 * - maintenance, hourly and soon after start: trim error histories, re-seal tokens still under
 *   ENCRYPTION_KEY_OLD, and each channel's own (channel_t.maintain);
 * - health, every 15 minutes: a log line with the accounts by channel and status;
 * - inventory, every INVENTORY_DETECT_MS (0: never): the stock discrepancy detection of every
 *   tenant (discrepancies.h; one process at a time, the others' skipped).

 * - alerts, every ALERT_SWEEP_MS: every tenant's alert rules evaluated (alerts.h).
 * A sweep still busy when its timer fires again is skipped, never doubled. */
#ifndef SH_JANITOR_H
#define SH_JANITOR_H

#include "app.h"

#define JANITOR_HEALTH_MS      (15 * 60 * 1000)
#define JANITOR_MAINTENANCE_MS (60 * 60 * 1000)
#define JANITOR_BATCH	       100 /* accounts per token or re-seal sweep */

typedef struct janitor janitor_t;

/* After the channels are started. */
janitor_t *janitor_start(app_t *app);
/* Stops the timers; work in flight finishes through its own callbacks. */
void janitor_free(janitor_t *j);

#endif
