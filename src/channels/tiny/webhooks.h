/* Tiny's webhooks (POST /webhooks/tiny), applied in the statement whose commit the 200 waits for:
 * tipo "estoque", the product's new balance, to the SKU master through stock_set_on_hand (cause
 * 'erp'); tipo "situacao_pedido", a pedido's new situation, to its order's erp_orders row, whose
 * read from Tiny (status.h: the invoice, when there is one) it brings forward. */
#ifndef SH_TINY_WEBHOOKS_H
#define SH_TINY_WEBHOOKS_H

#include "channel.h"

extern const channel_intake_t tiny_intake;

#endif
