/* Query strings as the list routes read them: the text after '?' parsed by the HTTP layer
 * (http_query_set), then every shared validator the handlers call: page, limit and cursor
 * (list_parse), accountId (UUID), free-text filters, from/to dates, channel, enums and
 * integers; then GET /api/orders/export's check (format, fields, startDate, endDate). Input:
 * the query string (what follows '?'), no newline. */
#include "fuzz.h"

#include "api.h"
#include "exports.h"
#include "listing.h"
#include "validate.h"

#include <stdio.h>
#include <time.h>

/* An accepted date names a real day: checked here by the C library, not by the validator's
 * own table. */
static bool real_day(const char *s)
{
	int y, m, d;
	if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
	time_t t = timegm(&tm);
	struct tm back;
	gmtime_r(&t, &back);
	return back.tm_year == y - 1900 && back.tm_mon == m - 1 && back.tm_mday == d;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const statuses[] = {"queued", "running", "done", "failed", NULL};
	char *q = fuzz_cstr(data, size);
	req_t *r = fuzz_req_new();
	r->method = "GET";
	http_query_set(r, q);
	json_t *d = NULL;

	list_req_t l;
	list_parse(r, &l, &d);
	if (!d && (l.page < 1 || l.limit < 1 || l.limit > 100))
		abort(); /* accepted page and limit are in range */
	if (l.cursor_key && !validate_uuid(l.cursor_id))
		abort(); /* a decoded cursor names a row id */
	list_uuid_param(r, "accountId", &d);
	list_text_param(r, "status", 40, &d);
	list_text_param(r, "q", 100, &d);
	list_text_param(r, "itemId", 40, &d);
	const char *from = list_time_param(r, "from", &d);
	const char *to = list_time_param(r, "to", &d);
	list_channel_param(r, &d);
	validate_query_enum(r, "state", statuses, &d);
	validate_query_int(r, "hours", 24, 1, 24 * 30, &d);
	if (!d && ((from && !real_day(from)) || (to && !real_day(to))))
		abort(); /* what passes reaches SQL as a timestamptz */
	http_query_valid(r);

	/* GET /api/orders/export's own check: what passes names known fields and a period. */
	json_t *e = NULL;
	export_spec_t spec = {0};
	if (!(e = export_query_check(r, &spec))) {
		if (spec.nfields < 1 || spec.nfields > EXPORT_MAX_FIELDS || !real_day(spec.start) ||
		    !real_day(spec.end) || strcmp(spec.start, spec.end) > 0)
			abort();
		for (int i = 0; i < spec.nfields; i++)
			if (!spec.fields[i] || export_field(spec.fields[i]->name) != spec.fields[i])
				abort();
	}
	json_decref(e);

	json_decref(d);
	fuzz_req_free(r);
	free(q);
	return 0;
}
