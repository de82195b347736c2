/* Notification intake of every channel (src/api/webhooks.c): POST /webhooks/:channel, grouped
 * and committed with their jobs before the answer. */
#ifndef SH_WEBHOOKS_H
#define SH_WEBHOOKS_H

#include <stdbool.h>

struct app;
typedef struct webhooks webhooks_t;

/* After the channels are registered (channel.h): one queue of groups per channel intake. */
webhooks_t *webhooks_new(struct app *app);
void webhooks_free(webhooks_t *w);

/* The intake is flooded: so many notifications wait for their commit (over every channel) that
 * senders are plainly faster than the commits. For jobs_set_pressure (its arg: the webhooks_t). */
bool webhooks_flooded(void *w);

#endif
