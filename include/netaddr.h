/* Address lists ("10.0.0.0/8, 192.168.1.7, ::1") and the client address behind trusted
 * proxies. Pure functions, no allocation after parsing. */
#ifndef SH_NETADDR_H
#define SH_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct netaddr_list netaddr_list_t;

/* NULL on a malformed entry (err names it); an empty string gives an empty list. */
netaddr_list_t *netaddr_list_parse(const char *spec, char *err, size_t errlen);
void netaddr_list_free(netaddr_list_t *l);
bool netaddr_list_empty(const netaddr_list_t *l);
/* Is the textual address in one of the list's networks? */
bool netaddr_list_has(const netaddr_list_t *l, const char *ip);
/* The client: walk X-Forwarded-For from the right past trusted proxies, starting from the
 * socket's peer; the first untrusted hop is the client. Writes it into out. */
void netaddr_client(const netaddr_list_t *trusted, const char *peer, const char *xff, char *out,
		    size_t outlen);

/* Is the address one an outgoing request to a seller-given URL must never reach: loopback,
 * private, link-local (cloud metadata), unique-local, unspecified (0.0.0.0/8, ::), IPv4 mapped
 * into IPv6 alike? family AF_INET (4 bytes) or AF_INET6 (16); any other family is refused. */
bool netaddr_is_internal(int family, const unsigned char *addr);
/* The same for a host as a URL spells it: an IPv4 or IPv6 literal (brackets allowed), or
 * "localhost" and its subdomains. A name is not resolved here: false. */
bool netaddr_host_is_internal(const char *host);

#endif
