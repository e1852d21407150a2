/*
 * route.c - source address lookup over rtnetlink (see route.h).
 *
 * Every netlink reply is bounded (a fixed 32 KiB receive buffer, NLMSG_OK
 * and RTA_OK on every header) and checked against the request's sequence
 * number; attributes of unexpected size are ignored rather than read.
 */
#include "scan/route.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef RTM_F_FIB_MATCH
#define RTM_F_FIB_MATCH 0x2000
#endif

#define MAX_TABLE_ROUTES 65536
#define MAX_CACHED_ROUTES 64
#define ADDR_CACHE 4096 /* direct-mapped per-address answers */

struct prefix {
	struct pc_addr dst;
	unsigned len;
};

struct cached {
	struct pc_route route;
	bool leaf; /* no more specific route inside it */
};

struct addr_slot {
	bool used;
	struct pc_addr dst;
	struct pc_route route;
};

struct link_info {
	int ifindex; /* 0: empty */
	int ret;     /* 0 or PC_ENOTSUP */
	uint8_t mac[6];
};

#define ROUTE_LINKS 16

struct pc_route_cache {
	int fd;
	struct link_info links[ROUTE_LINKS];
	uint32_t seq;
	bool default_rules; /* no policy routing beyond the built-in rules */
	struct prefix *table; /* grows by doubling, up to MAX_TABLE_ROUTES */
	size_t n_table, cap_table;
	struct cached cached[MAX_CACHED_ROUTES];
	size_t n_cached;
	struct addr_slot *slots;
	unsigned long queries;
	uint8_t buf[32768];
};

static size_t alen(uint8_t family)
{
	return family == AF_INET6 ? 16 : 4;
}

static bool in_prefix(const struct pc_addr *a, const struct pc_addr *p, unsigned len)
{
	if (a->family != p->family)
		return false;
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a->bytes, p->bytes, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a->bytes[full] & mask) != (p->bytes[full] & mask))
			return false;
	}
	return true;
}

static int nl_send(struct pc_route_cache *rc, struct nlmsghdr *h)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	h->nlmsg_seq = ++rc->seq;
	for (;;) {
		ssize_t n = sendto(rc->fd, h, h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa));
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Receive the replies to the last request; cb gets each message of our
 * sequence. Ends at NLMSG_DONE (dump) or after one message (not a dump). */
static int nl_recv(struct pc_route_cache *rc, bool dump,
		   int (*cb)(struct pc_route_cache *rc, const struct nlmsghdr *h, void *arg), void *arg)
{
	for (;;) {
		ssize_t n = recv(rc->fd, rc->buf, sizeof(rc->buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		size_t left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)rc->buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != rc->seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
					return -EPROTO;
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error == 0 && !dump)
					return 0;
				return e->error ? e->error : 0;
			}
			int ret = cb(rc, h, arg);
			if (ret < 0)
				return ret;
			if (!dump)
				return 0;
		}
	}
}

struct route_msg {
	uint8_t family;
	unsigned dst_len;
	uint8_t type;
	bool has_dst, has_src, has_gw;
	struct pc_addr dst, src, gw;
	int oif;
};

static int parse_route(const struct nlmsghdr *h, struct route_msg *m)
{
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return -EPROTO;
	const struct rtmsg *rt = NLMSG_DATA(h);
	memset(m, 0, sizeof(*m));
	if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6)
		return -EPROTO;
	m->family = rt->rtm_family;
	m->dst_len = rt->rtm_dst_len;
	if (m->dst_len > alen(m->family) * 8)
		return -EPROTO;
	m->type = rt->rtm_type;
	m->dst.family = m->family;
	size_t al = alen(m->family);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*rt)));
	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t plen = RTA_PAYLOAD(a);
		switch (a->rta_type) {
		case RTA_DST:
			if (plen == al) {
				memcpy(m->dst.bytes, RTA_DATA(a), al);
				m->has_dst = true;
			}
			break;
		case RTA_PREFSRC:
			if (plen == al) {
				m->src.family = m->family;
				memcpy(m->src.bytes, RTA_DATA(a), al);
				m->has_src = true;
			}
			break;
		case RTA_GATEWAY:
			if (plen == al) {
				m->gw.family = m->family;
				memcpy(m->gw.bytes, RTA_DATA(a), al);
				m->has_gw = true;
			}
			break;
		case RTA_OIF:
			if (plen == sizeof(int))
				memcpy(&m->oif, RTA_DATA(a), sizeof(int));
			break;
		default:
			break;
		}
	}
	return 0;
}

int pc_route_parse_reply(const void *msg, size_t len, struct pc_route *ret_route)
{
	const struct nlmsghdr *h = msg;
	struct route_msg m;
	if (len < sizeof(*h) || h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len ||
	    h->nlmsg_type != RTM_NEWROUTE || parse_route(h, &m) < 0)
		return PC_EPARSE;
	struct pc_route r;
	memset(&r, 0, sizeof(r));
	r.dst = m.dst;
	r.dst_len = m.dst_len;
	if (m.has_src)
		r.src = m.src;
	if (m.has_gw)
		r.gateway = m.gw;
	r.oif = m.oif;
	*ret_route = r;
	return 0;
}

static int table_cb(struct pc_route_cache *rc, const struct nlmsghdr *h, void *arg)
{
	(void)arg;
	struct route_msg m;
	if (h->nlmsg_type != RTM_NEWROUTE || parse_route(h, &m) < 0)
		return 0;
	if (rc->n_table == rc->cap_table) {
		if (rc->cap_table >= MAX_TABLE_ROUTES)
			return -E2BIG;
		size_t cap = rc->cap_table ? rc->cap_table * 2 : 64;
		struct prefix *t = realloc(rc->table, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		rc->table = t;
		rc->cap_table = cap;
	}
	rc->table[rc->n_table].dst = m.dst;
	rc->table[rc->n_table].len = m.dst_len;
	rc->n_table++;
	return 0;
}

static int rule_cb(struct pc_route_cache *rc, const struct nlmsghdr *h, void *arg)
{
	(void)rc;
	if (h->nlmsg_type == RTM_NEWRULE)
		(*(unsigned *)arg)++;
	return 0;
}

static int dump(struct pc_route_cache *rc, uint16_t type, uint8_t family,
		int (*cb)(struct pc_route_cache *, const struct nlmsghdr *, void *), void *arg)
{
	struct {
		struct nlmsghdr h;
		struct rtmsg rt;
	} req;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt));
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.rt.rtm_family = family;
	int ret = nl_send(rc, &req.h);
	if (ret < 0)
		return ret;
	return nl_recv(rc, true, cb, arg);
}

int pc_route_open(struct pc_route_cache **ret_cache, struct pc_error *err)
{
	struct pc_route_cache *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	rc->fd = -1;
	rc->slots = calloc(ADDR_CACHE, sizeof(*rc->slots));
	if (!rc->slots) {
		pc_route_close(rc);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	rc->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (rc->fd < 0) {
		int e = -errno;
		pc_route_close(rc);
		pc_error_set(err, e, "cannot open a route netlink socket: %s", strerror(-e));
		return e;
	}
	int ret = dump(rc, RTM_GETROUTE, AF_UNSPEC, table_cb, NULL);
	unsigned rules4 = 0, rules6 = 0;
	if (ret == 0)
		ret = dump(rc, RTM_GETRULE, AF_INET, rule_cb, &rules4);
	if (ret == 0)
		ret = dump(rc, RTM_GETRULE, AF_INET6, rule_cb, &rules6);
	if (ret < 0) {
		pc_route_close(rc);
		pc_error_set(err, ret, "cannot read the route table: %s", strerror(-ret));
		return ret;
	}
	/* built-in rules: local, main, default (IPv6: local, main) */
	rc->default_rules = rules4 <= 3 && rules6 <= 2;
	*ret_cache = rc;
	return 0;
}

void pc_route_close(struct pc_route_cache *rc)
{
	if (!rc)
		return;
	if (rc->fd >= 0)
		close(rc->fd);
	free(rc->table);
	free(rc->slots);
	free(rc);
}

unsigned long pc_route_queries(const struct pc_route_cache *rc)
{
	return rc->queries;
}

static int get_cb(struct pc_route_cache *rc, const struct nlmsghdr *h, void *arg)
{
	(void)rc;
	if (h->nlmsg_type != RTM_NEWROUTE)
		return -EPROTO;
	return parse_route(h, arg);
}

static int query(struct pc_route_cache *rc, const struct pc_addr *dst, bool fib_match,
		 struct route_msg *m)
{
	struct {
		struct nlmsghdr h;
		struct rtmsg rt;
		uint8_t attrs[64];
	} req;
	memset(&req, 0, sizeof(req));
	size_t al = alen(dst->family);
	req.h.nlmsg_type = RTM_GETROUTE;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	req.rt.rtm_family = dst->family;
	req.rt.rtm_dst_len = (unsigned char)(al * 8);
	req.rt.rtm_flags = fib_match ? RTM_F_FIB_MATCH : 0;
	struct rtattr *a = (struct rtattr *)req.attrs;
	a->rta_type = RTA_DST;
	a->rta_len = (unsigned short)RTA_LENGTH(al);
	memcpy(RTA_DATA(a), dst->bytes, al);
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt)) + RTA_ALIGN(a->rta_len);
	rc->queries++;
	int ret = nl_send(rc, &req.h);
	if (ret < 0)
		return ret;
	memset(m, 0, sizeof(*m));
	m->type = RTN_UNSPEC;
	ret = nl_recv(rc, false, get_cb, m);
	if (ret < 0)
		return ret;
	if (m->family != dst->family)
		return -EPROTO;
	return 0;
}

static bool is_leaf(const struct pc_route_cache *rc, const struct pc_addr *dst, unsigned len)
{
	if (!rc->default_rules)
		return false;
	for (size_t i = 0; i < rc->n_table; i++) {
		const struct prefix *p = &rc->table[i];
		if (p->len > len && in_prefix(&p->dst, dst, len))
			return false;
	}
	return true;
}

static size_t slot_of(const struct pc_addr *a)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < alen(a->family); i++)
		h = (h ^ a->bytes[i]) * 16777619u;
	return h % ADDR_CACHE;
}

int pc_route_lookup(struct pc_route_cache *rc, const struct pc_addr *dst, struct pc_route *ret_route)
{
	if (dst->family != AF_INET && dst->family != AF_INET6)
		return PC_EINVAL;
	for (size_t i = 0; i < rc->n_cached; i++) {
		const struct cached *c = &rc->cached[i];
		if (c->leaf && in_prefix(dst, &c->route.dst, c->route.dst_len)) {
			*ret_route = c->route;
			return 0;
		}
	}
	struct addr_slot *slot = &rc->slots[slot_of(dst)];
	if (slot->used && pc_addr_equal(&slot->dst, dst)) {
		*ret_route = slot->route;
		return 0;
	}

	struct route_msg m, fm;
	int ret = query(rc, dst, false, &m);
	if (ret == -ENETUNREACH || ret == -EHOSTUNREACH || ret == -EACCES || ret == -EINVAL)
		return PC_EINVAL;
	if (ret < 0)
		return ret;
	if (m.type != RTN_UNICAST && m.type != RTN_LOCAL)
		return PC_EINVAL;
	if (!m.has_src)
		return PC_EINVAL;
	struct pc_route r;
	memset(&r, 0, sizeof(r));
	r.src = m.src;
	if (m.has_gw)
		r.gateway = m.gw;
	r.oif = m.oif;
	r.dst = *dst;
	r.dst_len = (unsigned)alen(dst->family) * 8;

	/* which table entry matched, so that its neighbours can share it */
	if (query(rc, dst, true, &fm) == 0 && fm.dst_len <= r.dst_len) {
		r.dst = fm.dst;
		r.dst.family = dst->family;
		r.dst_len = fm.dst_len;
		/* IPv4 picks the source by output interface and gateway, the
		 * same for the whole route; IPv6 source selection (RFC 6724)
		 * may depend on the destination unless the route names one */
		bool shared = dst->family == AF_INET || fm.has_src;
		if (shared && rc->n_cached < MAX_CACHED_ROUTES &&
		    is_leaf(rc, &r.dst, r.dst_len) && in_prefix(dst, &r.dst, r.dst_len)) {
			rc->cached[rc->n_cached].route = r;
			rc->cached[rc->n_cached].leaf = true;
			rc->n_cached++;
		}
	}
	slot->used = true;
	slot->dst = *dst;
	slot->route = r;
	*ret_route = r;
	return 0;
}

int pc_route_link_mac(struct pc_route_cache *rc, int ifindex, uint8_t ret_mac[6])
{
	size_t i;
	for (i = 0; i < ROUTE_LINKS && rc->links[i].ifindex; i++) {
		if (rc->links[i].ifindex == ifindex) {
			if (rc->links[i].ret == 0)
				memcpy(ret_mac, rc->links[i].mac, 6);
			return rc->links[i].ret;
		}
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
		return -errno;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = ioctl(fd, SIOCGIFHWADDR, &ifr);
	int e = errno;
	close(fd);
	if (r < 0)
		return -e;
	struct link_info li = {.ifindex = ifindex, .ret = PC_ENOTSUP};
	if (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
		memcpy(li.mac, ifr.ifr_hwaddr.sa_data, 6);
		li.ret = 0;
	}
	if (i < ROUTE_LINKS)
		rc->links[i] = li;
	if (li.ret == 0)
		memcpy(ret_mac, li.mac, 6);
	return li.ret;
}
