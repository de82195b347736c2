/* Mercado Livre notifications as POST /webhooks/ml receives them (and as /missed_feeds lists
 * them): the body parsed by the HTTP layer (http_body_parse), checked by notification_parse
 * and, when good, rendered with its raw body into the PostgreSQL array literals of the intake's
 * INSERT, which must be whole: one PostgreSQL refuses fails the group. Input: the body. */
#include "fuzz.h"

#include "channels/ml/notification_rows.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void check_params(notification_rows_t *rows)
{
	const char *params[NOTIFICATION_COLUMNS];
	notification_rows_params(rows, params);
	for (size_t i = 0; i < NOTIFICATION_COLUMNS; i++)
		if (!params[i] || params[i][0] != '{' || params[i][strlen(params[i]) - 1] != '}')
			abort(); /* every column is an array literal */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The timestamp check on its own, on any bytes. */
	char *s = fuzz_cstr(data, size < 64 ? size : 64);
	notification_timestamp_ok(s);
	free(s);

	char problem[200];
	json_t *body = http_body_parse((const char *)data, size, problem, sizeof(problem));
	if (!body)
		return 0; /* 400 INVALID_JSON */
	if (json_is_object(body)) {
		static const int64_t apps[] = {0, 5503910054141466};
		notification_rows_t *rows = notification_rows_new();
		for (size_t i = 0; i < 2; i++) {
			notification_t n;
			json_t *details = NULL;
			bool foreign = false;
			if (notification_parse(body, apps[i], &n, &details, &foreign)) {
				/* twice: a group holds several, the literals grow */
				notification_rows_add(rows, &n, (const char *)data, size);
				notification_rows_add(rows, &n, (const char *)data, size);
				check_params(rows);
			} else if (!details && !foreign) {
				abort(); /* a refusal names its problems */
			}
			json_decref(details);
		}
		if (notification_rows_count(rows) % 2)
			abort();
		notification_rows_free(rows);
	}
	json_decref(body);
	return 0;
}
