/* Marketplace notification intake (see src/api/webhooks.c) and the jobs that process them. */
#ifndef SH_WEBHOOKS_H
#define SH_WEBHOOKS_H

struct app;
typedef struct webhooks webhooks_t;

webhooks_t *webhooks_new(struct app *app);
void webhooks_free(webhooks_t *w);

#endif
