/* Tiny's stock webhook (POST /webhooks/tiny, tipo "estoque"): the product's new balance, applied
 * to the SKU master through stock_set_on_hand (cause 'erp') in the statement whose commit the
 * 200 waits for. */
#ifndef SH_TINY_WEBHOOKS_H
#define SH_TINY_WEBHOOKS_H

#include "channel.h"

extern const channel_intake_t tiny_intake;

#endif
