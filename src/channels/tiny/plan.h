/* The Tiny import as a sync plan (sync_engine.h): the company's products (produtos.pesquisa,
 * 100 a page, then produto.obter of each) into the SKU master as source 'erp', kits with their
 * components, and each plain product's stock (produto.obter.estoque) through
 * stock_set_erp_balance (kept as Tiny's balance, and on hand through stock_set_on_hand 'erp'). */
#ifndef SH_TINY_PLAN_H
#define SH_TINY_PLAN_H

#include "sync_engine.h"

extern const sync_plan_t tiny_sync_plan;

#endif
