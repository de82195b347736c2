/* Tenant events and the streams that push them (GET /api/metrics/stream, Server-Sent Events).
 *
 * The contract every producer follows, in SQL (sql/0026_tenant_events.sql has the triggers of
 * orders and sync runs, and tenant_event() to call):
 *   pg_notify('tenant_events', json_build_object('tenant', <uuid>, 'event', 'order'|'alert'|'sync',
 *             'data', <small json>)::text)
 * Every process LISTENs on tenant_events, so a stream hears every change of its tenant whichever
 * process committed it. Each event is written to the tenant's streams at once as `event: <name>`
 * with `data: <data>`; the tenant's realtime object (GET /api/metrics/realtime) is then computed
 * once for all its streams after SSE_COALESCE_MS, however many events and streams there are.
 * A stream whose client does not keep up (SSE_MAX_BUFFER unsent) is dropped.
 *
 * Resume: tenant_event() also logs each event (sql/0037, tenant_event_log, kept SSE_RESUME_S)
 * and its id rides in the notification, written as the event's `id:`. A client reconnecting
 * with Last-Event-ID gets its tenant's logged events after that id, then what arrived
 * meanwhile; when the log no longer reaches back to its id (or it missed over 1,000) it gets
 * only the realtime object every new stream gets. Ids come from one sequence and are taken
 * before commit, so an event of a transaction that committed after a later-numbered one can
 * be missed by a resume in that instant; the realtime object that follows is the state. */
#ifndef SH_TENANT_EVENTS_H
#define SH_TENANT_EVENTS_H

#include "app.h"

typedef struct tenant_events tenant_events_t;

tenant_events_t *tenant_events_new(app_t *app);
/* Answers r with a stream of its tenant's events, or 429 past a cap. */
void tenant_events_subscribe(tenant_events_t *te, req_t *r);
/* After the HTTP server and the pool are freed (their callbacks still reach it). */
void tenant_events_free(tenant_events_t *te);

#endif
