/* hiredis async on the loop, with reconnect and backoff. The server keeps serving when Redis is
 * down: commands then fail fast with an error in their callback and callers decide whether to
 * fail open or closed. Open a second redis_t for blocking reads (XREADGROUP BLOCK). */
#ifndef SH_REDIS_H
#define SH_REDIS_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>

typedef struct redis redis_t;

/* Runs exactly once, on the loop, never inside redis_command. reply is NULL when err is set
 * (not connected, connection lost, timed out). A Redis error reply is a reply of type
 * REDIS_REPLY_ERROR with err NULL. reply is valid only during the callback. */
typedef void (*redis_cb)(redisReply *reply, const char *err, void *arg);

/* url: redis://[[user]:password@]host[:port][/db]. `name` labels log lines ("main", "jobs").
 * timeout_ms bounds every command (0 = 2000). */
redis_t *redis_new(struct event_base *base, const char *url, const char *name, int timeout_ms);
void redis_free(redis_t *r);
bool redis_connected(const redis_t *r);

void redis_command(redis_t *r, redis_cb cb, void *arg, const char *fmt, ...);
void redis_commandv(redis_t *r, redis_cb cb, void *arg, int argc, const char **argv,
		    const size_t *argvlen);

#endif
