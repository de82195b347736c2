/* A dedicated, non-blocking PostgreSQL connection that LISTENs on channels and reports each
 * NOTIFY. It reconnects with backoff when the connection is lost, and tells its owner whenever
 * it starts or stops listening: notifications sent while it was not listening are lost, so an
 * owner that caches must drop what it holds on either transition. */
#ifndef SH_PG_LISTEN_H
#define SH_PG_LISTEN_H

#include <event2/event.h>
#include <stdbool.h>

typedef struct pg_listener pg_listener_t;

typedef void (*pg_notify_cb)(const char *channel, const char *payload, void *arg);
/* listening: true once every LISTEN is confirmed, false when the connection is lost. */
typedef void (*pg_listen_state_cb)(bool listening, void *arg);

/* channels: plain identifiers (they are sent unquoted), NULL-terminated. */
pg_listener_t *pg_listener_new(struct event_base *base, const char *conninfo,
			       const char *const *channels, pg_notify_cb on_notify,
			       pg_listen_state_cb on_state, void *arg);
bool pg_listener_listening(const pg_listener_t *l);
void pg_listener_free(pg_listener_t *l);

#endif
