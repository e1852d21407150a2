/*
 * route.h - which source address the kernel would use to reach a target.
 *
 * The SYN engine sends through raw IP sockets, so the kernel chooses the
 * route, the interface and the next hop's MAC (resolving it by ARP/NDP when
 * needed) for each packet; we only need the source address that goes into
 * the IP header, the TCP checksum and the cookie. It comes from the kernel's
 * own answer to RTM_GETROUTE over rtnetlink, never from guessing.
 *
 * Asking the kernel for every probe costs a netlink round trip, so answers
 * are cached per matched route (RTM_F_FIB_MATCH gives its prefix): a cached
 * route answers for every address inside it, unless the route table (read
 * once, when the cache is opened) holds a more specific route inside it, or
 * policy routing rules beyond the defaults exist; then every new address is
 * asked about, and remembered in a small per-address cache.
 */
#ifndef PC_SCAN_ROUTE_H
#define PC_SCAN_ROUTE_H

#include "core/addr.h"
#include "core/error.h"

#include <stdbool.h>

struct pc_route {
	struct pc_addr dst;     /* the matched route's prefix */
	unsigned dst_len;
	struct pc_addr src;     /* source address the kernel picks */
	struct pc_addr gateway; /* family 0 when the target is on-link */
	int oif;                /* output interface index */
};

struct pc_route_cache;

/* Open a route-netlink socket in the current namespace and read the route
 * table and rules. 0 or negative code, with err filled. */
int pc_route_open(struct pc_route_cache **ret_cache, struct pc_error *err);
void pc_route_close(struct pc_route_cache *rc);

/* The route to dst. 0; PC_EINVAL when there is no route (unreachable,
 * blackhole, prohibited) or no source address; negative errno on netlink
 * failure. */
int pc_route_lookup(struct pc_route_cache *rc, const struct pc_addr *dst, struct pc_route *ret_route);

/* The hardware address of interface ifindex when it is Ethernet (ARP works
 * on it): 0; PC_ENOTSUP for other link types (loopback, tun, ...);
 * negative errno when the interface cannot be read. Cached. */
int pc_route_link_mac(struct pc_route_cache *rc, int ifindex, uint8_t ret_mac[6]);

/* Parse one netlink message as the kernel answers RTM_GETROUTE (header
 * included; len is what was received). 0 and ret_route filled (dst and
 * dst_len, src when the route names one, gateway, oif); PC_EPARSE for
 * anything malformed or of another type. For the fuzzer and tests; the
 * lookups use the same parser. */
int pc_route_parse_reply(const void *msg, size_t len, struct pc_route *ret_route);

/* Statistics for tests: kernel queries made so far. */
unsigned long pc_route_queries(const struct pc_route_cache *rc);

#endif
