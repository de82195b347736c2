/* Syncing one stored row again from its channel now (POST /api/shipments/:id/sync): a channel
 * registers, per resource, how it fetches one row by its id there and stores it; the core's
 * handler finds the row's channel and calls that, never naming a channel. */
#ifndef SH_RESYNC_H
#define SH_RESYNC_H

struct app;

/* code NULL on success; else the envelope's code for the channel's failure (502) and a
 * sentence without secrets. */
typedef void (*resync_done_cb)(const char *code, const char *error, void *arg);
/* Fetch the row the account knows as external_id and store it (its upsert), then done once. */
typedef void (*resync_fn)(struct app *app, const char *tenant_id, const char *account_id,
			  const char *external_id, resync_done_cb done, void *arg);

/* At start: channel's way to resync resource ("shipments"). */
void resync_register(const char *channel, const char *resource, resync_fn fn);
/* NULL when the channel registered none for resource. */
resync_fn resync_find(const char *channel, const char *resource);

#endif
