/*
 * sockdiag.h - sockets of one network namespace through NETLINK_SOCK_DIAG
 * (inet_diag), and the parser of the kernel's reply.
 *
 * The parser is pure: it walks a byte buffer of netlink messages as one
 * recv() returned it, checks every nlmsg and rtattr length, and hands one
 * record per inet_diag_msg to a callback. It is what the unit tests feed
 * with captured and hand-made buffers, and what the fuzzer hammers.
 */
#ifndef PC_INVENTORY_SOCKDIAG_H
#define PC_INVENTORY_SOCKDIAG_H

#include "core/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One socket as the kernel (or /proc/net) described it. */
struct pc_sock_rec {
	uint8_t family;   /* AF_INET or AF_INET6 */
	uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t state;    /* kernel TCP_* state (UDP: TCP_CLOSE unconnected) */
	struct pc_addr local, remote;
	uint16_t local_port, remote_port; /* host order */
	uint32_t uid;
	uint64_t inode;
};

/* Return 0 to go on, or a negative code to stop the walk; that value is
 * passed back. */
typedef int (*pc_sock_rec_fn)(void *ctx, const struct pc_sock_rec *rec);

/* What one buffer of a dump held besides records. */
struct pc_sockdiag_status {
	bool done;        /* NLMSG_DONE seen: the dump is complete */
	bool interrupted; /* NLM_F_DUMP_INTR: the table changed under the dump */
	size_t records;   /* records handed to the callback */
};

/*
 * Parse buf (len bytes, one recv() worth) of replies to the dump with
 * sequence number seq; messages with another seq are skipped. protocol is
 * the protocol the dump asked for. Stops at NLMSG_DONE. Returns 0, PC_EPARSE
 * for a truncated or malformed message, the negative errno of an
 * NLMSG_ERROR, or the callback's non-zero value.
 */
int pc_sockdiag_parse(const void *buf, size_t len, uint32_t seq, uint8_t protocol,
		      pc_sock_rec_fn fn, void *ctx, struct pc_sockdiag_status *ret_status);

/* A NETLINK_SOCK_DIAG socket in the caller's namespace (O_CLOEXEC) or
 * -errno. Sockets in other namespaces come from pc_netns_socket(). */
int pc_sockdiag_open(void);

/* pc_sockdiag_dump(): the kernel flagged the dump as interrupted. */
#define PC_SOCKDIAG_INTERRUPTED 1

/*
 * Dump the sockets of (family, protocol) whose kernel state is in the mask
 * `states` (bit 1 << TCP_*) from the namespace fd was created in, calling
 * fn for each. Every read is bounded (buffer size, receive timeout, a cap
 * on the total). Returns 0; PC_SOCKDIAG_INTERRUPTED when the kernel marked
 * the dump NLM_F_DUMP_INTR (the records already handed over may be
 * inconsistent: drop them and dump again); or -errno, PC_EPARSE,
 * PC_ETIMEOUT, PC_ETOOBIG or the callback's value.
 */
int pc_sockdiag_dump(int fd, uint8_t family, uint8_t protocol, uint32_t states,
		     pc_sock_rec_fn fn, void *ctx);

#endif
