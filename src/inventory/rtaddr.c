/*
 * rtaddr.c - every visited namespace's own addresses (RTM_GETADDR), read by
 * the privileged parent next to the other netlink readers.
 *
 * Why: an agent's listener bound to 0.0.0.0 says nothing about where a
 * sweep could reach it; the addresses of its namespace do. They are kept in
 * the snapshot (snapshot.addresses) and the ledger, where `fleet exposure`
 * joins them to what the scanners saw.
 *
 * What is trusted: nothing in a reply. The message walker (netlink.c) and
 * the attribute walker check every length against what is left; an
 * address attribute whose length does not match its family is ignored; a
 * dump has the byte cap and timeout of pc_nl_dump; each namespace keeps at
 * most PC_RTADDR_MAX_PER_NS addresses. Headers are copied out with memcpy
 * (no alignment is assumed). The parser is fuzzed (fuzz_rtaddr) and
 * unit-tested on replies cut at every byte (test_rtaddr).
 */
#include "inventory/rtaddr.h"

#include "inventory/netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const struct pc_addr *pc_rtaddr_own(const struct pc_rtaddr *r)
{
	return r->local.family ? &r->local : &r->address;
}

int pc_rtaddr_parse(const void *buf, size_t len, uint32_t seq,
		    int (*fn)(void *ctx, const struct pc_rtaddr *a), void *ctx, bool *done)
{
	struct pc_nl_status st = {0};
	struct pc_nl_walk w = {.p = buf, .len = len, .seq = seq, .type = RTM_NEWADDR, .st = &st};
	const unsigned char *pl;
	size_t plen;
	int r;
	while ((r = pc_nl_next(&w, &pl, &plen)) > 0) {
		struct ifaddrmsg ifa;
		if (plen < NLMSG_ALIGN(sizeof(ifa)))
			return PC_EPARSE;
		memcpy(&ifa, pl, sizeof(ifa));
		const uint8_t *p = pl + NLMSG_ALIGN(sizeof(ifa));
		size_t n = plen - NLMSG_ALIGN(sizeof(ifa));
		size_t want = ifa.ifa_family == AF_INET ? 4 : ifa.ifa_family == AF_INET6 ? 16 : 0;
		struct pc_rtaddr rec = {
			.prefix_len = ifa.ifa_prefixlen,
			.scope = ifa.ifa_scope,
			.ifindex = ifa.ifa_index,
		};
		uint16_t t;
		const uint8_t *v;
		size_t vn;
		int e;
		while ((e = pc_nla_next(&p, &n, &t, &v, &vn)) > 0) {
			struct pc_addr *dst = t == IFA_LOCAL     ? &rec.local
					      : t == IFA_ADDRESS ? &rec.address
								 : NULL;
			if (dst && want && vn == want) {
				dst->family = ifa.ifa_family;
				memcpy(dst->bytes, v, want);
			}
		}
		if (e < 0)
			return e;
		if (rec.address.family || rec.local.family)
			if ((e = fn(ctx, &rec)) != 0)
				return e;
	}
	if (st.done)
		*done = true;
	return r;
}

struct dump_ctx {
	int (*fn)(void *ctx, const struct pc_rtaddr *a);
	void *ctx;
	uint32_t seq;
};

static int parse_buf(void *arg, const void *buf, size_t len, bool *done)
{
	struct dump_ctx *d = arg;
	return pc_rtaddr_parse(buf, len, d->seq, d->fn, d->ctx, done);
}

int pc_rtaddr_dump(int fd, int (*fn)(void *ctx, const struct pc_rtaddr *a), void *ctx)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg ifa;
	} req;
	memset(&req, 0, sizeof(req));
	struct dump_ctx d = {.fn = fn, .ctx = ctx, .seq = pc_nl_next_seq()};
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = d.seq;
	req.ifa.ifa_family = AF_UNSPEC;
	return pc_nl_dump(fd, &req, sizeof(req), parse_buf, &d);
}

/* --- the inventory step ---------------------------------------------------- */

struct ns_ctx {
	struct pc_snapshot *snap;
	uint64_t inode;
	const char *name;
	size_t kept, dropped;
};

static int keep_addr(void *arg, const struct pc_rtaddr *a)
{
	struct ns_ctx *c = arg;
	const struct pc_addr *own = pc_rtaddr_own(a);
	if (pc_addr_is_loopback(own) || pc_addr_is_any(own))
		return 0;
	if (c->kept >= PC_RTADDR_MAX_PER_NS) {
		c->dropped++;
		return 0;
	}
	c->kept++;
	return pc_snapshot_add_address(c->snap, c->inode, c->name, own, a->prefix_len);
}

/* The name the inventory gave the namespace's endpoints, else the set's. */
static const char *ns_name(const struct pc_snapshot *snap, size_t first,
			   const struct pc_netns_entry *e)
{
	for (size_t i = first; i < snap->n_endpoints; i++)
		if (snap->endpoints[i].netns.inode == e->inode && snap->endpoints[i].netns.name)
			return snap->endpoints[i].netns.name;
	return e->name;
}

int pc_rtaddr_collect(struct pc_snapshot *snap, size_t first, const struct pc_netns_set *set)
{
	size_t unread = 0, dropped = 0;
	int first_error = 0;
	for (size_t i = 0; i < pc_netns_count(set); i++) {
		const struct pc_netns_entry *e = pc_netns_get(set, i);
		int fd = pc_netns_socket(set, e->inode, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
		/* not permitted to enter it: its sockets could not be read
		 * either, and the inventory's one warning about privileges
		 * already says so */
		if (fd == -EPERM || fd == -EACCES)
			continue;
		if (fd < 0) {
			unread++;
			first_error = first_error ? first_error : fd;
			continue;
		}
		size_t before = snap->n_addresses;
		struct ns_ctx c = {.snap = snap, .inode = e->inode, .name = ns_name(snap, first, e)};
		int r = pc_rtaddr_dump(fd, keep_addr, &c);
		close(fd);
		if (r == PC_ENOMEM)
			return r;
		if (r < 0) {
			/* half a dump would read as "this host has no such address" */
			snap->n_addresses = before;
			unread++;
			first_error = first_error ? first_error : r;
			continue;
		}
		dropped += c.dropped;
	}
	if (unread &&
	    pc_snapshot_warn(snap, "could not read the addresses of %zu network namespace%s (%s): "
				   "their listeners bound to any address cannot be matched to sweeps",
			     unread, unread == 1 ? "" : "s", pc_strerror(first_error)) < 0)
		return PC_ENOMEM;
	if (dropped &&
	    pc_snapshot_warn(snap, "%zu addresses past %d per namespace were not recorded",
			     dropped, PC_RTADDR_MAX_PER_NS) < 0)
		return PC_ENOMEM;
	return 0;
}
