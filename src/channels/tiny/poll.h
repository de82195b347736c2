/* For webhooks that never came: every TINY_POLL_MS each active Tiny account asks Tiny for the
 * pedidos changed since its last poll (pedidos.pesquisa by dataAtualizacao, 50 a page) and
 * brings forward the read (status.h) of each sent order whose situation there differs from
 * ours. One call an account when nothing changed, however many orders are open. The last
 * poll's time is the account's settings.ordersPolledAt, claimed in PostgreSQL so that two
 * processes never poll one account at once; a failed poll puts the old time back. */
#ifndef SH_TINY_POLL_H
#define SH_TINY_POLL_H

#include "app.h"

typedef void (*poll_cb)(int changed, const char *err, void *arg);

/* One round over the accounts due a poll: changed is how many orders were brought forward. */
void tiny_poll_run(app_t *app, poll_cb cb, void *arg);

#endif
