/* Notification intake of every channel (src/api/webhooks.c): POST /webhooks/:channel, grouped
 * and committed with their jobs before the answer. */
#ifndef SH_WEBHOOKS_H
#define SH_WEBHOOKS_H

struct app;
typedef struct webhooks webhooks_t;

/* After the channels are registered (channel.h): one queue of groups per channel intake. */
webhooks_t *webhooks_new(struct app *app);
void webhooks_free(webhooks_t *w);

#endif
