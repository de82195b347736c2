/* Address lists with CIDR matching for IPv4 and IPv6. */
#include "netaddr.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct net {
	int family;
	unsigned char addr[16];
	int bits;
} net_t;

struct netaddr_list {
	net_t *nets;
	size_t n;
};

static bool parse_addr(const char *s, int *family, unsigned char out[16])
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

netaddr_list_t *netaddr_list_parse(const char *spec, char *err, size_t errlen)
{
	netaddr_list_t *l = xcalloc(1, sizeof(*l));
	const char *p = spec ? spec : "";
	while (*p) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		size_t len = strcspn(p, ", \t");
		if (!len)
			break;
		char item[80];
		if (len >= sizeof(item)) {
			snprintf(err, errlen, "address too long: %.20s...", p);
			netaddr_list_free(l);
			return NULL;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		net_t n = {0};
		char *slash = strchr(item, '/');
		if (slash)
			*slash = '\0';
		if (!parse_addr(item, &n.family, n.addr)) {
			snprintf(err, errlen, "not an address: %s", item);
			netaddr_list_free(l);
			return NULL;
		}
		int max = n.family == AF_INET ? 32 : 128;
		n.bits = max;
		if (slash) {
			char *end;
			long b = strtol(slash + 1, &end, 10);
			if (*end || end == slash + 1 || b < 0 || b > max) {
				snprintf(err, errlen, "bad prefix length in %s/%s", item,
					 slash + 1);
				netaddr_list_free(l);
				return NULL;
			}
			n.bits = (int)b;
		}
		l->nets = xrealloc(l->nets, (l->n + 1) * sizeof(net_t));
		l->nets[l->n++] = n;
	}
	return l;
}

void netaddr_list_free(netaddr_list_t *l)
{
	if (l) {
		free(l->nets);
		free(l);
	}
}

bool netaddr_list_empty(const netaddr_list_t *l)
{
	return !l || l->n == 0;
}

static bool in_net(const net_t *n, int family, const unsigned char *a)
{
	if (n->family != family)
		return false;
	int full = n->bits / 8, rest = n->bits % 8;
	if (memcmp(n->addr, a, (size_t)full) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (n->addr[full] & mask) == (a[full] & mask);
}

bool netaddr_list_has(const netaddr_list_t *l, const char *ip)
{
	int family;
	unsigned char a[16];
	if (!l || !parse_addr(ip, &family, a))
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (in_net(&l->nets[i], family, a))
			return true;
	return false;
}

void netaddr_client(const netaddr_list_t *trusted, const char *peer, const char *xff, char *out,
		    size_t outlen)
{
	snprintf(out, outlen, "%s", peer);
	if (!xff || !netaddr_list_has(trusted, peer))
		return;
	/* Right to left: each hop was added by the one after it; stop at the first we don't trust.
	 */
	const char *end = xff + strlen(xff);
	while (end > xff) {
		const char *start = end;
		while (start > xff && start[-1] != ',')
			start--;
		const char *a = start, *b = end;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		char hop[64];
		int family;
		unsigned char bin[16];
		if (b - a <= 0 || (size_t)(b - a) >= sizeof(hop))
			return;
		memcpy(hop, a, (size_t)(b - a));
		hop[b - a] = '\0';
		if (!parse_addr(hop, &family, bin))
			return; /* garbage: keep the last trustworthy answer */
		snprintf(out, outlen, "%s", hop);
		if (!netaddr_list_has(trusted, hop))
			return;
		end = start > xff ? start - 1 : xff;
	}
}

/* The networks netaddr_is_internal refuses. */
static const net_t internal_nets[] = {
    {AF_INET, {0}, 8},	       /* 0.0.0.0/8: "this network" */
    {AF_INET, {10}, 8},	       /* private */
    {AF_INET, {100, 64}, 10},  /* carrier-grade NAT */
    {AF_INET, {127}, 8},       /* loopback */
    {AF_INET, {169, 254}, 16}, /* link-local: cloud metadata */
    {AF_INET, {172, 16}, 12},  /* private */
    {AF_INET, {192, 168}, 16}, /* private */
    {AF_INET6, {0}, 128},      /* :: */
    {AF_INET6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128}, /* ::1 */
    {AF_INET6, {0xfc}, 7},					       /* unique local */
    {AF_INET6, {0xfe, 0x80}, 10},				       /* link-local */
};

bool netaddr_is_internal(int family, const unsigned char *addr)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (family == AF_INET6 && memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
		family = AF_INET;
		addr += 12;
	} else if (family != AF_INET && family != AF_INET6) {
		return true;
	}
	for (size_t i = 0; i < sizeof(internal_nets) / sizeof(internal_nets[0]); i++)
		if (in_net(&internal_nets[i], family, addr))
			return true;
	return false;
}

static bool ends_with(const char *s, size_t n, const char *tail)
{
	size_t t = strlen(tail);
	return n >= t && strncasecmp(s + n - t, tail, t) == 0;
}

bool netaddr_host_is_internal(const char *host)
{
	size_t n = strlen(host);
	while (n && host[n - 1] == '.')
		n--; /* "localhost." is localhost */
	if ((n == 9 && strncasecmp(host, "localhost", 9) == 0) || ends_with(host, n, ".localhost"))
		return true;
	char text[64];
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n >= sizeof(text))
		return false;
	memcpy(text, host, n);
	text[n] = '\0';
	text[strcspn(text, "%")] = '\0'; /* an IPv6 zone id */
	int family;
	unsigned char a[16];
	return parse_addr(text, &family, a) && netaddr_is_internal(family, a);
}
