/* Address lists and the client address behind proxies. */
#include <criterion/criterion.h>

#include "netaddr.h"

Test(netaddr, cidr_and_exact_matches)
{
	char err[128];
	netaddr_list_t *l =
	    netaddr_list_parse("10.0.0.0/8, 192.168.1.7 ,::1,2001:db8::/32", err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	cr_assert(netaddr_list_has(l, "10.255.0.1"));
	cr_assert_not(netaddr_list_has(l, "11.0.0.1"));
	cr_assert(netaddr_list_has(l, "192.168.1.7"));
	cr_assert_not(netaddr_list_has(l, "192.168.1.8"));
	cr_assert(netaddr_list_has(l, "::1"));
	cr_assert(netaddr_list_has(l, "2001:db8:ffff::1"));
	cr_assert_not(netaddr_list_has(l, "2001:db9::1"));
	cr_assert_not(netaddr_list_has(l, "not-an-ip"));
	netaddr_list_free(l);
}

Test(netaddr, odd_prefix_lengths)
{
	char err[128];
	netaddr_list_t *l = netaddr_list_parse("172.16.0.0/12", err, sizeof(err));
	cr_assert(netaddr_list_has(l, "172.31.255.255"));
	cr_assert_not(netaddr_list_has(l, "172.32.0.0"));
	netaddr_list_free(l);
}

Test(netaddr, malformed_entries_are_named)
{
	char err[128];
	cr_assert_null(netaddr_list_parse("10.0.0.1, bogus", err, sizeof(err)));
	cr_assert_str_eq(err, "not an address: bogus");
	cr_assert_null(netaddr_list_parse("10.0.0.0/33", err, sizeof(err)));
	cr_assert_null(netaddr_list_parse("10.0.0.0/", err, sizeof(err)));
	netaddr_list_t *empty = netaddr_list_parse("", err, sizeof(err));
	cr_assert(netaddr_list_empty(empty));
	netaddr_list_free(empty);
}

Test(netaddr, client_behind_trusted_proxies)
{
	char err[128], out[64];
	netaddr_list_t *t = netaddr_list_parse("127.0.0.1, 10.0.0.0/8", err, sizeof(err));
	/* Untrusted peer: X-Forwarded-For is ignored. */
	netaddr_client(t, "203.0.113.9", "1.2.3.4", out, sizeof(out));
	cr_assert_str_eq(out, "203.0.113.9");
	/* Trusted peer: the rightmost untrusted hop is the client, whatever the client claims. */
	netaddr_client(t, "127.0.0.1", "6.6.6.6, 198.51.100.2, 10.1.1.1", out, sizeof(out));
	cr_assert_str_eq(out, "198.51.100.2");
	/* No header. */
	netaddr_client(t, "127.0.0.1", NULL, out, sizeof(out));
	cr_assert_str_eq(out, "127.0.0.1");
	/* Garbage hop: keep the last trustworthy address. */
	netaddr_client(t, "127.0.0.1", "<script>, 10.0.0.2", out, sizeof(out));
	cr_assert_str_eq(out, "10.0.0.2");
	netaddr_list_free(t);
}

Test(netaddr, internal_hosts_are_told_from_public_ones)
{
	const char *internal[] = {
	    "127.0.0.1",   "127.255.0.9",     "10.0.0.1",	"172.16.0.1",	   "172.31.255.255",
	    "192.168.1.1", "169.254.169.254", "0.0.0.0",	"[::1]",	   "::",
	    "[fc00::1]",   "fdff::2",	      "[fe80::1%eth0]", "::ffff:10.0.0.1", "localhost",
	    "LocalHost.",  "a.b.localhost",   "100.64.0.1"};
	const char *public[] = {
	    "8.8.8.8",	      "172.32.0.1",  "192.169.0.1",	  "169.255.0.1", "[2001:db8::1]",
	    "::ffff:8.8.8.8", "example.com", "localhost.example", "11.0.0.1",	 "fec0::1"};
	for (size_t i = 0; i < sizeof(internal) / sizeof(*internal); i++)
		cr_expect(netaddr_host_is_internal(internal[i]), "%s", internal[i]);
	for (size_t i = 0; i < sizeof(public) / sizeof(*public); i++)
		cr_expect_not(netaddr_host_is_internal(public[i]), "%s", public[i]);
}
