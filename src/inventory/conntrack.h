/*
 * conntrack.h - the connections NAT translated, from the conntrack table
 * of every network namespace (ctnetlink: NETLINK_NETFILTER,
 * IPCTNL_MSG_CT_GET dump), for `connections` to join a client's socket
 * (client -> front) with the server's (translated client -> backend).
 *
 * An entry is kept only when NAT changed it: its reply tuple is not the
 * mirror of its original tuple (DNAT, REDIRECT, SNAT, masquerade). A
 * connection that no namespace of this host translated has nothing to
 * learn from conntrack and is left to the socket rules of edges.h.
 *
 * The parser is pure and bounded like nft.c's: it walks one recv() worth
 * of netlink messages, checks every nlmsg and nlattr length against what
 * is left, copies headers out with memcpy, and hands one pc_ct_entry per
 * IPCTNL_MSG_CT_NEW to a callback. tests/unit/test_conntrack.c replays
 * captured dumps cut at every byte; tests/fuzz/fuzz_conntrack.c fuzzes it.
 * The kernel's bytes are not network bytes: the privileged parent reads
 * them, next to the NAT rules (docs/privsep.md).
 */
#ifndef PC_INVENTORY_CONNTRACK_H
#define PC_INVENTORY_CONNTRACK_H

#include "core/addr.h"
#include "core/error.h"
#include "core/model.h"
#include "inventory/netlink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* NAT entries kept for one snapshot, all namespaces together: more are
 * counted and left out with a warning (their connections keep their two
 * halves). 200,000 is the default nf_conntrack_max of a 16 GiB host. */
#define PC_CT_MAX_NAT 200000

/* One conntrack entry, as much of it as the join needs. */
struct pc_ct_entry {
	uint8_t l3family; /* AF_INET, AF_INET6 */
	uint8_t l4proto;  /* IPPROTO_TCP, IPPROTO_UDP, ... (0: none given) */
	struct pc_addr orig_src, orig_dst, reply_src, reply_dst;
	uint16_t orig_sport, orig_dport, reply_sport, reply_dport; /* host order */
	uint32_t status;  /* IPS_* bits, 0 when absent */
	uint16_t zone;    /* conntrack zone, 0 when absent */
	uint8_t tcp_state; /* TCP_CONNTRACK_*, 0 when absent */
};

typedef int (*pc_ct_entry_fn)(void *ctx, const struct pc_ct_entry *e);

/* True when NAT changed the entry: the reply tuple is not the original
 * tuple turned around. */
bool pc_ct_is_nat(const struct pc_ct_entry *e);

/*
 * Parse buf (len bytes, one recv() worth) of replies to the conntrack dump
 * with sequence number seq (other messages are skipped). An entry with
 * both tuples complete (addresses of one family, protocol, and ports for
 * TCP/UDP) is handed to fn; one without them is skipped, not an error (an
 * ICMP entry has no ports). Returns 0, PC_EPARSE for a truncated or
 * malformed message, the negative errno of an NLMSG_ERROR, or fn's
 * non-zero value. st->rules counts the entries handed to fn.
 */
int pc_ct_parse(const void *buf, size_t len, uint32_t seq, pc_ct_entry_fn fn, void *ctx,
		struct pc_nl_status *st);

/* The IPCTNL_MSG_CT_GET dump request (all families) with that seq, into
 * buf; returns its length, 0 when cap is too small. */
size_t pc_ct_request(void *buf, size_t cap, uint32_t seq);

/* Dump the conntrack table of the namespace fd's socket lives in
 * (NETLINK_NETFILTER) to fn. capture, when not NULL, sees every recv()
 * buffer first (tests record dumps with it). 0, 1 when the kernel marked
 * the dump interrupted (the table changed under it), or a negative code. */
int pc_ct_dump(int fd, pc_ct_entry_fn fn, void *ctx,
	       void (*capture)(void *cctx, const void *buf, size_t len), void *cctx);

struct pc_netns_set;

/*
 * For every namespace of set: dump its conntrack table and keep the TCP
 * entries NAT translated in snap->nat_conns (in the snapshot's arena, at
 * most PC_CT_MAX_NAT). Namespaces we may not read (EPERM, EACCES) are
 * counted in *ret_denied for the inventory's privilege warning; a kernel
 * without conntrack (or a namespace where it never ran) has no entries and
 * no warning; anything else is a warning on snap. 0, or PC_ENOMEM (err
 * filled).
 */
int pc_conntrack_collect(struct pc_snapshot *snap, const struct pc_netns_set *set,
			 unsigned *ret_denied, struct pc_error *err);

/* Keep e in snap->nat_conns as a connection of netns when it is a TCP
 * entry NAT changed: what pc_conntrack_collect() does for each entry,
 * also for tests that build a snapshot by hand. 1 kept, 0 not (another
 * protocol, or no NAT), PC_ETOOBIG when snap already holds PC_CT_MAX_NAT
 * (e is left out), PC_ENOMEM. */
int pc_conntrack_add(struct pc_snapshot *snap, const struct pc_netns *netns,
		     const struct pc_ct_entry *e);

#endif
