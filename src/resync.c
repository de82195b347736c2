/* The channels' ways to sync one stored row again (include/resync.h): a small table filled at
 * start, read by the handlers. */
#include "resync.h"
#include "log.h"

#include <stddef.h>
#include <string.h>

#define MAX_RESYNC 16

static struct {
	const char *channel, *resource;
	resync_fn fn;
} table[MAX_RESYNC];

void resync_register(const char *channel, const char *resource, resync_fn fn)
{
	for (size_t i = 0; i < MAX_RESYNC; i++) {
		if (!table[i].fn || (strcmp(table[i].channel, channel) == 0 &&
				     strcmp(table[i].resource, resource) == 0)) {
			table[i].channel = channel;
			table[i].resource = resource;
			table[i].fn = fn;
			return;
		}
	}
	log_error("resync: no room for %s %s", channel, resource);
}

resync_fn resync_find(const char *channel, const char *resource)
{
	for (size_t i = 0; i < MAX_RESYNC && table[i].fn; i++)
		if (strcmp(table[i].channel, channel) == 0 &&
		    strcmp(table[i].resource, resource) == 0)
			return table[i].fn;
	return NULL;
}
