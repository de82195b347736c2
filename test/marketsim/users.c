/* GET /users/me and GET /users/{id}: the owner sees the private view, anyone else the public one.
 */
#include "marketsim.h"

#include <string.h>

void h_users_me(ms_req_t *r)
{
	ms_reply_json(r, 200, json_incref(r->seller->json));
}

static json_t *public_view(const ms_seller_t *s)
{
	static const char *const keys[] = {"id",	"nickname",	    "country_id",
					   "address",	"user_type",	    "site_id",
					   "permalink", "seller_reputation"};
	json_t *out = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(s->json, keys[i]);
		if (strcmp(keys[i], "address") == 0)
			v = json_pack("{s:O, s:O}", "city", json_object_get(v, "city"), "state",
				      json_object_get(v, "state"));
		else
			json_incref(v);
		json_object_set_new(out, keys[i], v);
	}
	json_object_set_new(
	    out, "status",
	    json_pack("{s:O}", "site_status",
		      json_object_get(json_object_get(s->json, "status"), "site_status")));
	return out;
}

void h_user(ms_req_t *r)
{
	int64_t id;
	ms_seller_t *s = ms_parse_id(r->params[0], &id) ? ms_seller_find(r->ms->data, id) : NULL;
	if (!s) {
		ms_reply_error(r, 404, "not_found", "User not found");
		return;
	}
	ms_reply_json(r, 200, s == r->seller ? json_incref(s->json) : public_view(s));
}
