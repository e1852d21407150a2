/*
 * netlink.h - the pieces every netlink reader of the inventory shares: the
 * bounded dump loop, the message walker and the attribute walker.
 *
 * A dump is one request, then replies split over several recv() calls; a
 * message never straddles two, so each buffer is parsed on its own. Nothing
 * in a reply is trusted: every nlmsg_len and nla_len is checked against
 * what is left, a truncated datagram is an error, and the whole dump has a
 * byte cap and a receive timeout. Used by sock_diag (sockdiag.c), nftables
 * (nft.c), addresses (forward.c) and IPVS (ipvs.c).
 */
#ifndef PC_INVENTORY_NETLINK_H
#define PC_INVENTORY_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one buffer of a dump held besides records. */
struct pc_nl_status {
	bool done;        /* NLMSG_DONE seen */
	bool interrupted; /* NLM_F_DUMP_INTR */
	size_t rules;     /* records handed to the callback */
};

/* The loop of a netlink dump, shared by the nftables, address and
 * conntrack dumps: send req on fd, then hand each buffer received (from
 * the kernel only) to parse until it sets *done. Bounded: 256 KiB per
 * recv, 5 s receive timeout, 1 GiB in all. 0, -errno, PC_EPARSE (a
 * truncated datagram), PC_ETIMEOUT, PC_ETOOBIG or parse's value. */
int pc_nl_dump(int fd, const void *req, size_t reqlen,
               int (*parse)(void *ctx, const void *buf, size_t len, bool *done), void *ctx);
/* One attribute from (*p, *len): 1 with the attribute's type (flags masked)
 * and payload, advancing past it; 0 at the end; PC_EPARSE when a length
 * lies. Padding shorter than a header at the end is tolerated. */
int pc_nla_next(const uint8_t **p, size_t *len, uint16_t *type, const uint8_t **data, size_t *dlen);

/* The messages of one recv() worth of a dump reply, one by one: 1 with the
 * payload of a message of `type` for `seq` (others are skipped); 0 at the
 * end (NLMSG_DONE, which sets st->done, or the buffer's end); or a negative
 * code (PC_EPARSE, the errno of an NLMSG_ERROR, PC_EIO on overrun). Shared
 * by every netlink parser here (nftables, addresses, IPVS). */
struct pc_nl_walk {
	const unsigned char *p;
	size_t len;
	uint32_t seq;
	uint16_t type;
	struct pc_nl_status *st;
};
int pc_nl_next(struct pc_nl_walk *w, const unsigned char **ret_payload, size_t *ret_len);

/* A fresh dump sequence number (per thread). */
uint32_t pc_nl_next_seq(void);

#endif
