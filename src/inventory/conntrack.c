/*
 * conntrack.c - the conntrack table over ctnetlink, and its parser.
 *
 * Why our own parser rather than libnetfilter_conntrack: the join needs
 * two tuples (addresses, protocol, ports), the status bits, the zone and
 * the TCP state: five nested attributes of one message type. The shared
 * bounded walkers of netlink.h read them in about two hundred lines, as
 * nft.c and ipvs.c do; the library would add a build dependency (it is not
 * in our list) and its allocator and object model between the fuzzer and
 * our bounds, in a binary that runs as root from cron, for nothing we
 * would not still have to check ourselves.
 *
 * Bounds: every nlmsg_len and nla_len is checked against what is left
 * (pc_nl_next, pc_nla_next); an address attribute must have exactly its
 * family's length and a port exactly two bytes, else the entry is
 * malformed; the dump has the shared loop's byte cap and timeout; what is
 * kept for a snapshot is capped at PC_CT_MAX_NAT entries, with a warning.
 * Only TCP entries NAT changed are kept: the edges are TCP, and an entry
 * NAT did not touch pairs nothing the sockets do not already pair.
 */
#include "inventory/conntrack.h"

#include "inventory/netns.h"

#include <errno.h>
#include <netinet/in.h> /* before the linux/ headers, which defer to it */
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Dumps the kernel marks as interrupted are retried this many times. */
#define DUMP_RETRIES 3

struct tuple {
	struct pc_addr src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	bool has_proto, has_sport, has_dport;
};

static int get_be16(const uint8_t *d, size_t n, uint16_t *ret)
{
	if (n != 2)
		return PC_EPARSE;
	uint16_t v;
	memcpy(&v, d, 2);
	*ret = ntohs(v);
	return 0;
}

static int get_addr(const uint8_t *d, size_t n, uint8_t family, struct pc_addr *ret)
{
	size_t want = family == AF_INET ? 4 : 16;
	if (n != want)
		return PC_EPARSE;
	memset(ret, 0, sizeof(*ret));
	ret->family = family;
	memcpy(ret->bytes, d, n);
	return 0;
}

/* CTA_TUPLE_IP: the two addresses of one family. */
static int parse_tuple_ip(const uint8_t *p, size_t len, struct tuple *t)
{
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int e;
	while ((e = pc_nla_next(&p, &len, &type, &d, &n)) > 0) {
		int r = 0;
		if (type == CTA_IP_V4_SRC)
			r = get_addr(d, n, AF_INET, &t->src);
		else if (type == CTA_IP_V4_DST)
			r = get_addr(d, n, AF_INET, &t->dst);
		else if (type == CTA_IP_V6_SRC)
			r = get_addr(d, n, AF_INET6, &t->src);
		else if (type == CTA_IP_V6_DST)
			r = get_addr(d, n, AF_INET6, &t->dst);
		if (r < 0)
			return r;
	}
	return e;
}

/* CTA_TUPLE_PROTO: the layer 4 protocol and, for TCP/UDP, the ports. */
static int parse_tuple_proto(const uint8_t *p, size_t len, struct tuple *t)
{
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int e;
	while ((e = pc_nla_next(&p, &len, &type, &d, &n)) > 0) {
		int r = 0;
		if (type == CTA_PROTO_NUM) {
			if (n != 1)
				return PC_EPARSE;
			t->proto = d[0];
			t->has_proto = true;
		} else if (type == CTA_PROTO_SRC_PORT) {
			r = get_be16(d, n, &t->sport);
			t->has_sport = r == 0;
		} else if (type == CTA_PROTO_DST_PORT) {
			r = get_be16(d, n, &t->dport);
			t->has_dport = r == 0;
		}
		if (r < 0)
			return r;
	}
	return e;
}

static int parse_tuple(const uint8_t *p, size_t len, struct tuple *t)
{
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int e;
	memset(t, 0, sizeof(*t));
	while ((e = pc_nla_next(&p, &len, &type, &d, &n)) > 0) {
		int r = 0;
		if (type == CTA_TUPLE_IP)
			r = parse_tuple_ip(d, n, t);
		else if (type == CTA_TUPLE_PROTO)
			r = parse_tuple_proto(d, n, t);
		if (r < 0)
			return r;
	}
	return e;
}

/* CTA_PROTOINFO -> CTA_PROTOINFO_TCP -> CTA_PROTOINFO_TCP_STATE */
static int parse_protoinfo(const uint8_t *p, size_t len, uint8_t *ret_state)
{
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int e;
	while ((e = pc_nla_next(&p, &len, &type, &d, &n)) > 0) {
		if (type != CTA_PROTOINFO_TCP)
			continue;
		uint16_t t2;
		const uint8_t *d2;
		size_t n2;
		int e2;
		while ((e2 = pc_nla_next(&d, &n, &t2, &d2, &n2)) > 0) {
			if (t2 == CTA_PROTOINFO_TCP_STATE) {
				if (n2 != 1)
					return PC_EPARSE;
				*ret_state = d2[0];
			}
		}
		if (e2 < 0)
			return e2;
	}
	return e;
}

/* A tuple the join can use: both addresses of one family, a protocol, and
 * both ports where the protocol has ports. */
static bool tuple_complete(const struct tuple *t)
{
	if (!t->src.family || t->src.family != t->dst.family || !t->has_proto)
		return false;
	if (t->proto == IPPROTO_TCP || t->proto == IPPROTO_UDP || t->proto == IPPROTO_SCTP ||
	    t->proto == IPPROTO_DCCP || t->proto == IPPROTO_UDPLITE)
		return t->has_sport && t->has_dport;
	return true;
}

/* One IPCTNL_MSG_CT_NEW payload. 1 with *ret filled, 0 for an entry the
 * join cannot use, PC_EPARSE. */
static int parse_entry(const uint8_t *pl, size_t plen, struct pc_ct_entry *ret)
{
	if (plen < NLMSG_ALIGN(sizeof(struct nfgenmsg)))
		return PC_EPARSE;
	const uint8_t *p = pl + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	size_t len = plen - NLMSG_ALIGN(sizeof(struct nfgenmsg));
	struct tuple orig, reply;
	bool has_orig = false, has_reply = false;
	memset(ret, 0, sizeof(*ret));
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int e;
	while ((e = pc_nla_next(&p, &len, &type, &d, &n)) > 0) {
		int r = 0;
		if (type == CTA_TUPLE_ORIG) {
			r = parse_tuple(d, n, &orig);
			has_orig = true;
		} else if (type == CTA_TUPLE_REPLY) {
			r = parse_tuple(d, n, &reply);
			has_reply = true;
		} else if (type == CTA_STATUS) {
			uint32_t v;
			if (n != 4)
				return PC_EPARSE;
			memcpy(&v, d, 4);
			ret->status = ntohl(v);
		} else if (type == CTA_ZONE) {
			r = get_be16(d, n, &ret->zone);
		} else if (type == CTA_PROTOINFO) {
			r = parse_protoinfo(d, n, &ret->tcp_state);
		}
		if (r < 0)
			return r;
	}
	if (e < 0)
		return e;
	if (!has_orig || !has_reply || !tuple_complete(&orig) || !tuple_complete(&reply) ||
	    orig.src.family != reply.src.family || orig.proto != reply.proto)
		return 0;
	ret->l3family = orig.src.family;
	ret->l4proto = orig.proto;
	ret->orig_src = orig.src;
	ret->orig_dst = orig.dst;
	ret->orig_sport = orig.sport;
	ret->orig_dport = orig.dport;
	ret->reply_src = reply.src;
	ret->reply_dst = reply.dst;
	ret->reply_sport = reply.sport;
	ret->reply_dport = reply.dport;
	return 1;
}

bool pc_ct_is_nat(const struct pc_ct_entry *e)
{
	return !pc_addr_equal(&e->orig_src, &e->reply_dst) ||
	       !pc_addr_equal(&e->orig_dst, &e->reply_src) || e->orig_sport != e->reply_dport ||
	       e->orig_dport != e->reply_sport;
}

int pc_ct_parse(const void *buf, size_t len, uint32_t seq, pc_ct_entry_fn fn, void *ctx,
		struct pc_nl_status *st)
{
	struct pc_nl_walk w = {
		.p = buf,
		.len = len,
		.seq = seq,
		.type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW,
		.st = st,
	};
	const unsigned char *pl;
	size_t plen;
	int r;
	while ((r = pc_nl_next(&w, &pl, &plen)) > 0) {
		struct pc_ct_entry e;
		r = parse_entry(pl, plen, &e);
		if (r < 0)
			break;
		if (r == 1) {
			st->rules++;
			r = fn(ctx, &e);
			if (r != 0)
				break;
		}
	}
	return r;
}

size_t pc_ct_request(void *vbuf, size_t cap, uint32_t seq)
{
	unsigned char *buf = vbuf;
	struct nfgenmsg g = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0};
	size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(g));
	if (cap < len)
		return 0;
	struct nlmsghdr h = {
		.nlmsg_len = (uint32_t)len,
		.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
		.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.nlmsg_seq = seq,
	};
	memset(buf, 0, len);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + NLMSG_HDRLEN, &g, sizeof(g));
	return len;
}

struct ct_dump {
	pc_ct_entry_fn fn;
	void *ctx;
	void (*capture)(void *cctx, const void *buf, size_t len);
	void *cctx;
	uint32_t seq;
	struct pc_nl_status st;
};

static int parse_buf(void *ctx, const void *buf, size_t len, bool *done)
{
	struct ct_dump *d = ctx;
	if (d->capture)
		d->capture(d->cctx, buf, len);
	int r = pc_ct_parse(buf, len, d->seq, d->fn, d->ctx, &d->st);
	*done = d->st.done;
	return r;
}

int pc_ct_dump(int fd, pc_ct_entry_fn fn, void *ctx,
	       void (*capture)(void *cctx, const void *buf, size_t len), void *cctx)
{
	struct ct_dump d = {.fn = fn, .ctx = ctx, .capture = capture, .cctx = cctx};
	d.seq = pc_nl_next_seq();
	unsigned char req[NLMSG_HDRLEN + 16];
	size_t n = pc_ct_request(req, sizeof(req), d.seq);
	int r = pc_nl_dump(fd, req, n, parse_buf, &d);
	if (r == 0 && d.st.interrupted)
		return 1;
	return r;
}

/* ---- the snapshot's NAT connections ---- */

static int append(struct pc_snapshot *snap, const struct pc_nat_conn *c)
{
	if (snap->n_nat_conns == snap->cap_nat_conns) {
		/* the arena cannot grow a block: a new one twice the size
		 * (the old ones, at most as big together, stay until the
		 * snapshot is freed) */
		size_t cap = snap->cap_nat_conns ? 2 * snap->cap_nat_conns : 64;
		struct pc_nat_conn *v = pc_arena_alloc(&snap->arena, cap * sizeof(*v));
		if (!v)
			return PC_ENOMEM;
		if (snap->n_nat_conns)
			memcpy(v, snap->nat_conns, snap->n_nat_conns * sizeof(*v));
		snap->nat_conns = v;
		snap->cap_nat_conns = cap;
	}
	snap->nat_conns[snap->n_nat_conns++] = *c;
	return 0;
}

int pc_conntrack_add(struct pc_snapshot *snap, const struct pc_netns *netns,
		     const struct pc_ct_entry *e)
{
	if (e->l4proto != IPPROTO_TCP || !pc_ct_is_nat(e))
		return 0;
	if (snap->n_nat_conns >= PC_CT_MAX_NAT)
		return PC_ETOOBIG;
	struct pc_nat_conn c = {
		.netns = *netns,
		.orig_src = e->orig_src,
		.orig_dst = e->orig_dst,
		.reply_src = e->reply_src,
		.reply_dst = e->reply_dst,
		.orig_sport = e->orig_sport,
		.orig_dport = e->orig_dport,
		.reply_sport = e->reply_sport,
		.reply_dport = e->reply_dport,
	};
	int r = append(snap, &c);
	return r < 0 ? r : 1;
}

struct collect {
	struct pc_snapshot *snap;
	struct pc_netns netns;
	size_t over; /* NAT entries left out for the cap */
};

static int on_entry(void *ctx, const struct pc_ct_entry *e)
{
	struct collect *c = ctx;
	int r = pc_conntrack_add(c->snap, &c->netns, e);
	if (r == PC_ETOOBIG) {
		c->over++; /* counted for the warning; the dump goes on */
		return 0;
	}
	return r < 0 ? r : 0;
}

/* "no conntrack to read here" rather than "something broke" */
static bool is_absent(int r)
{
	return r == -ENOENT || r == -EOPNOTSUPP || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT;
}

static int read_namespace(struct collect *c, const struct pc_netns_set *set,
			  const struct pc_netns_entry *ns)
{
	int fd = pc_netns_socket(set, ns->inode, AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	if (fd < 0)
		return fd;
	size_t before = c->snap->n_nat_conns, over = c->over;
	int r = 0;
	for (int attempt = 0; attempt <= DUMP_RETRIES; attempt++) {
		r = pc_ct_dump(fd, on_entry, c, NULL, NULL);
		if (r != 1)
			break;
		if (attempt < DUMP_RETRIES) {
			/* drop the inconsistent copy and read it again */
			c->snap->n_nat_conns = before;
			c->over = over;
		}
	}
	close(fd);
	if (r == 1)
		r = pc_snapshot_warn(c->snap, "the conntrack table of network namespace %llu kept "
					      "changing while it was read: some connections "
					      "through NAT may show as two halves",
				     (unsigned long long)ns->inode);
	return r;
}

int pc_conntrack_collect(struct pc_snapshot *snap, const struct pc_netns_set *set,
			 unsigned *ret_denied, struct pc_error *err)
{
	*ret_denied = 0;
	struct collect c = {.snap = snap};
	unsigned failed = 0;
	int first_fail = 0, r = 0;
	for (size_t i = 0; i < pc_netns_count(set); i++) {
		const struct pc_netns_entry *ns = pc_netns_get(set, i);
		c.netns.inode = ns->inode;
		c.netns.name = NULL;
		if (ns->name && !(c.netns.name = pc_snapshot_strdup(snap, ns->name))) {
			r = PC_ENOMEM;
			break;
		}
		r = read_namespace(&c, set, ns);
		if (r == PC_ENOMEM)
			break;
		if (r == -EPERM || r == -EACCES) {
			(*ret_denied)++;
		} else if (r < 0 && !is_absent(r)) {
			if (!first_fail)
				first_fail = r;
			failed++;
		}
		r = 0;
	}
	if (r == 0 && c.over &&
	    pc_snapshot_warn(snap, "more than %d connections through NAT in the conntrack "
				   "tables: %zu were left out and show as two halves",
			     PC_CT_MAX_NAT, c.over) < 0)
		r = PC_ENOMEM;
	if (r == 0 && failed &&
	    pc_snapshot_warn(snap, "could not read the conntrack table of %u network "
				   "namespace%s (%s): connections through NAT there show as two "
				   "halves",
			     failed, failed == 1 ? "" : "s", pc_strerror(first_fail)) < 0)
		r = PC_ENOMEM;
	if (r == PC_ENOMEM)
		return pc_error_set(err, r, "out of memory reading the conntrack tables");
	return 0;
}
