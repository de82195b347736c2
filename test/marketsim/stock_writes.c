/* The log of stock writes a seller's app made (Mercado Livre PUT /items available_quantity, per
 * variation too; Amazon patchListingsItem fulfillment_availability), each with marketsim's time,
 * so a benchmark measures when the last write of a sale's new stock landed:
 * GET /_sim/stock-writes[?since=<index>] → {"count":N,"writes":[{channel,id,variation,quantity,
 * timeMs}]} from the since-th write on. Cleared by /_sim/reset. */
#include "marketsim.h"

#include <stdio.h>

void ms_stock_write(ms_t *ms, const char *channel, const char *id, const char *variation,
		    long quantity)
{
	json_array_append_new(ms->stock_writes,
			      json_pack("{s:s, s:s, s:s, s:I, s:I}", "channel", channel, "id", id,
					"variation", variation ? variation : "", "quantity",
					(json_int_t)quantity, "timeMs",
					(json_int_t)ms_wall_ms(ms)));
}

void h_sim_stock_writes(ms_req_t *r)
{
	long since;
	if (!ms_arg_long(r, "since", 0, &since))
		return;
	size_t n = json_array_size(r->ms->stock_writes);
	json_t *out = json_array();
	for (size_t i = since > 0 ? (size_t)since : 0; i < n; i++)
		json_array_append(out, json_array_get(r->ms->stock_writes, i));
	ms_reply_json(r, 200, json_pack("{s:I, s:o}", "count", (json_int_t)n, "writes", out));
}
