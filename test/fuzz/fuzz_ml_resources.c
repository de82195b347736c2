/* A notification's resource as each topic's fetcher reads it (ml_resource_id, as items.c,
 * orders.c, shipments.c, questions.c and claims.c call it): the id that goes into the path of
 * the GET at Mercado Livre. Input: the resource string. */
#include "fuzz.h"

#include "channels/ml/notifications.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char *prefix;
		bool digits;
		size_t max;
	} topics[] = {{"/items/", false, 40},
		      {"/orders/", true, 19},
		      {"/shipments/", true, 19},
		      {"/questions/", true, 19},
		      {NULL, true, 19}};
	char *resource = fuzz_cstr(data, size);
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		char id[48];
		if (!ml_resource_id(resource, topics[i].prefix, topics[i].digits, topics[i].max, id,
				    sizeof(id)))
			continue;
		size_t n = strlen(id);
		if (n == 0 || n > topics[i].max || strpbrk(id, "/?&#% \r\n\t"))
			abort(); /* the id could change the path it goes into */
	}
	free(resource);
	return 0;
}
