/*
 * rtaddr.h - the addresses of a network namespace, from an rtnetlink
 * RTM_GETADDR dump: the bounded parser (fuzzed: tests/fuzz/fuzz_rtaddr.c),
 * the dump, and the inventory's step that records every visited
 * namespace's addresses in the snapshot (snapshot.addresses).
 */
#ifndef PC_INVENTORY_RTADDR_H
#define PC_INVENTORY_RTADDR_H

#include "core/error.h"
#include "core/model.h"
#include "inventory/netns.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One RTM_NEWADDR message: IFA_ADDRESS and IFA_LOCAL (they differ on
 * point-to-point links, where IFA_LOCAL is ours; elsewhere they are equal
 * or only IFA_ADDRESS is given). A family of 0 means absent. */
struct pc_rtaddr {
	struct pc_addr address, local;
	uint8_t prefix_len;
	uint8_t scope; /* RT_SCOPE_* */
	uint32_t ifindex;
};

/* The address a record stands for: IFA_LOCAL when present, else IFA_ADDRESS. */
const struct pc_addr *pc_rtaddr_own(const struct pc_rtaddr *r);

/* The RTM_NEWADDR messages of one buffer of a dump reply for seq, each
 * with an IPv4 or IPv6 address handed to fn (non-zero stops and is
 * returned); others are skipped. *done is set at NLMSG_DONE. 0, PC_EPARSE
 * (a length lies), or the errno of an NLMSG_ERROR. */
int pc_rtaddr_parse(const void *buf, size_t len, uint32_t seq,
		    int (*fn)(void *ctx, const struct pc_rtaddr *a), void *ctx, bool *done);

/* Dump the addresses of the namespace of the NETLINK_ROUTE socket fd to
 * fn. pc_nl_dump's bounds and codes. */
int pc_rtaddr_dump(int fd, int (*fn)(void *ctx, const struct pc_rtaddr *a), void *ctx);

/* Addresses kept per namespace at most (the rest are counted in a
 * warning): a namespace with more is a router, not a host. */
#define PC_RTADDR_MAX_PER_NS 4096

/*
 * Record in snap->addresses the addresses (loopback left out) of every
 * namespace of set, each named as its endpoints were named (a /run/netns
 * or container name) from snap->endpoints[first..]. A namespace that
 * cannot be read costs one warning, never the audit. 0 or PC_ENOMEM.
 */
int pc_rtaddr_collect(struct pc_snapshot *snap, size_t first, const struct pc_netns_set *set);

#endif
