/* Shipments in the new format only: GET /shipments/{id} and /shipments/{id}/sla both require the
 * `x-format-new: true` header, mandatory since October 2025. */
#include "marketsim.h"

#include <string.h>
#include <strings.h>

#include "util.h"

/* The caller's shipment, or NULL with the error sent. */
static ms_shipment_t *shipment_for(ms_req_t *r)
{
	const char *fmt = ms_header(r, "x-format-new");
	if (!fmt || strcasecmp(fmt, "true") != 0) {
		ms_reply_error(r, 400, "bad_request",
			       "The x-format-new: true header is required for shipments");
		return NULL;
	}
	int64_t id;
	ms_shipment_t *s =
	    ms_parse_id(r->params[0], &id) ? ms_shipment_find(r->ms->data, id) : NULL;
	if (!s) {
		ms_reply_error(r, 404, "not_found", "Shipment %s not found", r->params[0]);
		return NULL;
	}
	if (s->seller_id != r->seller->id) {
		ms_reply_error(r, 403, ms_error_code(403),
			       "The shipment does not belong to the caller");
		return NULL;
	}
	return s;
}

void h_shipment_get(ms_req_t *r)
{
	ms_shipment_t *s = shipment_for(r);
	if (s)
		ms_reply_json(r, 200, json_incref(s->json));
}

/* on_time/delayed against the handling limit: live for shipments not yet handed over. */
void h_shipment_sla(ms_req_t *r)
{
	ms_shipment_t *s = shipment_for(r);
	if (!s)
		return;
	const char *st = json_string_value(json_object_get(s->json, "status"));
	const char *sla;
	if (strcmp(st, "handling") == 0 || strcmp(st, "ready_to_ship") == 0 ||
	    strcmp(st, "pending") == 0)
		sla = ms_wall_ms(r->ms) > s->expected_ms ? "delayed" : "on_time";
	else if (strcmp(st, "cancelled") == 0 || strcmp(st, "to_be_agreed") == 0 ||
		 strcmp(st, "not_verified") == 0)
		sla = "insuficient_info"; /* sic: the API's own spelling */
	else
		sla = s->id % 7 == 0 ? "delayed" : s->id % 5 == 0 ? "early" : "on_time";
	ms_reply_json(r, 200,
		      json_pack("{s:s, s:s, s:o, s:O}", "status", sla, "service", "241",
				"expected_date", ms_time_json(s->expected_ms), "last_updated",
				json_object_get(s->json, "last_updated")));
}
