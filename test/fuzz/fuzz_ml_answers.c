/* Mercado Livre's answers as the channel reads them: status and body through ml_result_read
 * (errors into one printable line), the token grant, and the sync plan's readers of pages
 * (scan ids into /items?ids= lists, paging totals), shipment statuses, and /missed_feeds
 * messages into notification rows. Input: the HTTP status on the first line, the body after. */
#include "fuzz.h"

#include "channels/ml/client.h"
#include "channels/ml/data.h"
#include "channels/ml/notification_rows.h"
#include "channels/ml/plan.h"

#include <ctype.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void plan_readers(json_t *body)
{
	/* items: a scan page's ids, 20 at a time */
	json_t *ids = json_object_get(body, "results");
	size_t next = 0, lists = 0;
	char buf[ML_MULTIGET_BUF];
	while (ml_multiget_list(ids, &next, buf, sizeof(buf)) > 0) {
		if (strpbrk(buf, "/?&#% ") || ++lists > json_array_size(ids))
			abort(); /* only ids go into the path; every list progresses */
	}
	/* orders, questions: totals */
	long totals[] = {ml_answer_total(json_object_get(json_object_get(body, "paging"), "total")),
			 ml_answer_total(json_object_get(body, "total"))};
	for (size_t i = 0; i < 2; i++)
		if (totals[i] < 0 || totals[i] > ML_TOTAL_MAX)
			abort();
	ml_shipment_open(json_string_value(json_object_get(body, "status")));

	/* /missed_feeds: each message like a webhook's body */
	json_t *messages = json_object_get(body, "messages");
	notification_rows_t *rows = notification_rows_new();
	for (size_t i = 0; i < json_array_size(messages); i++) {
		json_t *message = json_array_get(messages, i), *details = NULL;
		notification_t note;
		bool foreign;
		if (json_is_object(message) &&
		    notification_parse(message, 0, &note, &details, &foreign)) {
			char *text = json_dumps(message, JSON_COMPACT);
			notification_rows_add(rows, &note, text, strlen(text));
			free(text);
		}
		json_decref(details);
	}
	const char *params[NOTIFICATION_COLUMNS];
	notification_rows_params(rows, params);
	notification_rows_free(rows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char head[16];
	const uint8_t *body;
	size_t len;
	fuzz_split_line(data, size, head, sizeof(head), &body, &len);
	char *text = fuzz_cstr(body, len); /* httpc's bodies are NUL-terminated */
	httpc_response_t resp = {.status = strtol(head, NULL, 10), .body = text, .body_len = len};
	ml_result_t res;
	char msg[300];
	ml_result_read(&res, &resp, msg, sizeof(msg));
	if (res.message)
		for (const char *p = res.message; *p; p++)
			if ((unsigned char)*p < 0x20)
				abort(); /* one printable line */
	if (res.err == ML_OK) {
		plan_readers(res.body);
		ml_result_t copy = res;
		ml_grant_t g;
		ml_grant_read(&copy, &g);
		if (copy.err == ML_OK && (!g.access_token || !g.refresh_token || g.expires_in <= 0))
			abort();
	}
	json_decref(res.body);
	free(text);
	return 0;
}
