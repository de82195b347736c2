/* Amazon flat-file report documents (report.c), as the sync plan reads a download: gzip or plain,
 * any header, any rows. Every chunk must be a JSON array of documents whose count adds up, and
 * the rows counted must cover the documents made. Input: the document; its first byte picks the
 * report kind. */
#include "fuzz.h"

#include <jansson.h>

#include "channels/amazon/report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum amazon_report_kind kind = data[0] & 1 ? AMAZON_REPORT_LISTINGS : AMAZON_REPORT_ORDERS;
	amazon_report_t r;
	amazon_report_read(kind, (const char *)data + 1, size - 1, &r);
	long docs = 0;
	for (size_t i = 0; i < r.n_chunks; i++) {
		json_t *c = json_loads(r.chunks[i], 0, NULL);
		if (!json_is_array(c) || json_array_size(c) == 0 ||
		    json_array_size(c) > AMAZON_REPORT_CHUNK)
			abort();
		docs += (long)json_array_size(c);
		json_decref(c);
	}
	if (docs != r.docs || r.bad > r.rows || r.docs > r.rows)
		abort();
	amazon_report_free(&r);
	return 0;
}
