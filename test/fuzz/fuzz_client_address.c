/* The client's address behind trusted proxies: X-Forwarded-For walked from the right
 * (netaddr_client, as http.c does for every request), then checked against an allow-list (the
 * webhook intake's WEBHOOK_ALLOW_IPS). Input: the X-Forwarded-For header's value. */
#include "fuzz.h"

#include "netaddr.h"

static netaddr_list_t *trusted, *allowed;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	char err[96];
	trusted = netaddr_list_parse("127.0.0.1, ::1, 10.0.0.0/8, fd00::/8", err, sizeof(err));
	allowed =
	    netaddr_list_parse("54.88.218.97/32, 18.215.140.160, 2001:db8::/32", err, sizeof(err));
	return trusted && allowed ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xff = fuzz_cstr(data, size);
	static const char *const peers[] = {"127.0.0.1", "10.1.2.3", "203.0.113.9", "::1"};
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		char client[64];
		memset(client, 'x', sizeof(client));
		netaddr_client(trusted, peers[i], xff, client, sizeof(client));
		if (!memchr(client, '\0', sizeof(client)))
			abort(); /* always a C string within the buffer */
		netaddr_list_has(allowed, client);
	}
	/* the input as an address list too (the settings' syntax) */
	char err[96];
	netaddr_list_t *l = netaddr_list_parse(xff, err, sizeof(err));
	if (l)
		netaddr_list_has(l, "10.0.0.1");
	netaddr_list_free(l);
	free(xff);
	return 0;
}
