/*
 * forward.c - NAT rules to forwarded endpoints (see forward.h): read each
 * namespace's nftables ruleset and IPVS services, have them analysed
 * (forward_walk.c over the model of forward_rules.c), and turn each front
 * into endpoints of the snapshot, joined to the listener that serves its
 * backend (by namespace address, bound address and port).
 *
 * This file is the snapshot side (netlink reads per namespace, RTM_GETADDR
 * for the namespace's local addresses, building and placing endpoints,
 * joining backends to services); the rule model and the walk are their own
 * files, sharing forward_int.h, so each can be read (and fuzzed) without
 * the others. A dump interrupted by a concurrent ruleset change
 * is read again (three attempts), so a half-old, half-new ruleset is
 * never analysed.
 */
#include "inventory/forward_int.h"
#include "inventory/rtaddr.h"

#include "inventory/ipvs.h"
#include "inventory/netns.h"

#include <errno.h>
#include <netinet/in.h> /* before the linux/ headers, which defer to it */
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- addresses of a namespace (RTM_GETADDR, parsed by rtaddr.c) ---- */

struct fwd_addr_fn {
	int (*fn)(void *ctx, const struct pc_addr *a);
	void *ctx;
};

/* IFA_LOCAL is the address itself on point-to-point links, IFA_ADDRESS
 * elsewhere; both are ours */
static int each_addr(void *arg, const struct pc_rtaddr *a)
{
	struct fwd_addr_fn *f = arg;
	int r = 0;
	if (a->address.family)
		r = f->fn(f->ctx, &a->address);
	if (r == 0 && a->local.family && !pc_addr_equal(&a->local, &a->address))
		r = f->fn(f->ctx, &a->local);
	return r;
}

int pc_fwd_parse_addrs(const void *buf, size_t len, uint32_t seq,
                       int (*fn)(void *ctx, const struct pc_addr *a), void *ctx, bool *done)
{
	struct fwd_addr_fn f = {.fn = fn, .ctx = ctx};
	return pc_rtaddr_parse(buf, len, seq, each_addr, &f, done);
}

/* ---- the snapshot side ---- */

struct nsaddrs {
	uint64_t inode;
	struct pc_addr *a;
	size_t n, cap;
};

static int add_addr(void *ctx, const struct pc_addr *a)
{
	struct nsaddrs *na = ctx;
	if (na->n == na->cap) {
		if (na->cap >= 65536)
			return 0; /* enough to resolve backends; the rest are alike */
		size_t cap = na->cap ? na->cap * 2 : 16;
		struct pc_addr *n = realloc(na->a, cap * sizeof(*n));
		if (!n)
			return PC_ENOMEM;
		na->a = n;
		na->cap = cap;
	}
	na->a[na->n++] = *a;
	return 0;
}

static int read_addrs(int fd, struct nsaddrs *na)
{
	struct fwd_addr_fn f = {.fn = add_addr, .ctx = na};
	return pc_rtaddr_dump(fd, each_addr, &f);
}

static bool has_addr(const struct nsaddrs *na, const struct pc_addr *a)
{
	for (size_t i = 0; i < na->n; i++)
		if (pc_addr_equal(&na->a[i], a))
			return true;
	return false;
}

static const char *const proxy_comms[] = {
    "docker-proxy", "conmon", "rootlessport", "slirp4netns", "pasta", "pasta.avx2",
};

static bool owned_by_proxy(const struct pc_endpoint *ep)
{
	for (size_t i = 0; i < ep->n_owners; i++)
		for (size_t k = 0; k < sizeof(proxy_comms) / sizeof(proxy_comms[0]); k++)
			if (ep->owners[i].comm && strcmp(ep->owners[i].comm, proxy_comms[k]) == 0)
				return true;
	return false;
}

static bool is_listener(const struct pc_endpoint *ep, enum pc_proto proto, uint16_t port,
                        uint64_t inode)
{
	return ep->source == PC_SOURCE_HOST && ep->state == PC_STATE_LISTEN && ep->proto == proto &&
	       ep->port == port && ep->netns.inode == inode;
}

/* Does a socket bound to bound accept connections to dst? An any-bound
 * IPv6 socket takes IPv4 too unless it is v6only, which we cannot see. */
static bool bound_accepts(const struct pc_addr *bound, const struct pc_addr *dst)
{
	if (pc_addr_is_any(bound))
		return bound->family == dst->family || bound->family == AF_INET6;
	return pc_addr_equal(bound, dst);
}

/* The listener of namespace inode serving (proto, addr, port): an exact
 * address first, then a wildcard; -1 when none. */
static long find_listener(const struct pc_snapshot *snap, enum pc_proto proto,
                          const struct pc_addr *addr, uint16_t port, uint64_t inode)
{
	long any = -1;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (!is_listener(ep, proto, port, inode))
			continue;
		if (pc_addr_equal(&ep->addr, addr))
			return (long)i;
		if (any < 0 && (pc_addr_is_any(addr) || bound_accepts(&ep->addr, addr)))
			any = (long)i;
	}
	return any;
}

static long resolve(const struct pc_snapshot *snap, const struct nsaddrs *ns, size_t n_ns,
                    uint64_t front_ns, enum pc_proto proto, const struct pc_forward_target *t)
{
	/* loopback and the front's own addresses first: DNAT stays local */
	for (size_t i = 0; i < n_ns; i++)
		if (ns[i].inode == front_ns &&
		    (pc_addr_is_loopback(&t->addr) || pc_addr_is_any(&t->addr) ||
		     has_addr(&ns[i], &t->addr))) {
			long b = find_listener(snap, proto, &t->addr, t->port, front_ns);
			if (b >= 0)
				return b;
		}
	for (size_t i = 0; i < n_ns; i++) {
		if (ns[i].inode == front_ns || !has_addr(&ns[i], &t->addr))
			continue;
		long b = find_listener(snap, proto, &t->addr, t->port, ns[i].inode);
		if (b >= 0)
			return b;
	}
	return -1;
}

static struct pc_forward *make_forward(struct pc_snapshot *snap, const struct pc_fwd_front *fr,
                                       enum pc_forward_kind kind)
{
	struct pc_forward *f = pc_arena_alloc(&snap->arena, sizeof(*f));
	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	if (fr && fr->rule[0] && !(f->rule = pc_snapshot_strdup(snap, fr->rule)))
		return NULL;
	if (fr && fr->n_to) {
		f->to = pc_arena_alloc(&snap->arena, fr->n_to * sizeof(*f->to));
		if (!f->to)
			return NULL;
		for (size_t i = 0; i < fr->n_to; i++) {
			struct pc_forward_target *t = &f->to[i];
			memset(t, 0, sizeof(*t));
			/* a redirect goes to the address the packet came for */
			t->addr = fr->to[i].addr.family ? fr->to[i].addr : fr->addr;
			t->port = fr->to[i].port;
			t->weight = fr->to[i].weight;
			t->backend_index = -1;
		}
		f->n_to = fr->n_to;
	}
	return f;
}

/* Put one front on the snapshot: on the listener already holding the port
 * (it keeps state listen), or as a new forwarded endpoint. */
static int place_front(struct pc_snapshot *snap, size_t first, const struct pc_fwd_front *fr,
                       const struct pc_netns_entry *ns, const char *ns_name)
{
	for (size_t i = first; i < snap->n_endpoints; i++) {
		struct pc_endpoint *ep = &snap->endpoints[i];
		if (!is_listener(ep, fr->proto, fr->port, ns->inode) || ep->forward)
			continue;
		if (!pc_addr_is_any(&fr->addr) && !bound_accepts(&ep->addr, &fr->addr))
			continue;
		bool proxy = owned_by_proxy(ep);
		ep->forward = make_forward(snap, fr, proxy ? PC_FORWARD_PROXY : fr->kind);
		return ep->forward ? 0 : PC_ENOMEM;
	}
	struct pc_forward *f = make_forward(snap, fr, fr->kind);
	struct pc_endpoint *ep = f ? pc_snapshot_add_endpoint(snap) : NULL;
	if (!ep)
		return PC_ENOMEM;
	ep->source = PC_SOURCE_HOST;
	ep->proto = fr->proto;
	ep->addr = fr->addr;
	ep->port = fr->port;
	ep->state = PC_STATE_FORWARDED;
	ep->bind = pc_bind_of(&fr->addr);
	ep->netns.inode = ns->inode;
	ep->netns.name = ns_name;
	ep->forward = f;
	return 0;
}

struct chain_list {
	struct pc_nft_chain *c;
	size_t n, cap;
};

static int add_chain(void *ctx, const struct pc_nft_chain *c)
{
	struct chain_list *l = ctx;
	if (l->n == l->cap) {
		if (l->n >= MAX_RULES)
			return PC_ETOOBIG;
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct pc_nft_chain *n = realloc(l->c, cap * sizeof(*n));
		if (!n)
			return PC_ENOMEM;
		l->c = n;
		l->cap = cap;
	}
	l->c[l->n++] = *c;
	return 0;
}

/* Every chain's rules (one dump per chain: see pc_nft_dump), then the
 * elements of every set they look up. */
static int read_ruleset(int fd, struct pc_fwd_rules *rs)
{
	struct chain_list l = {0};
	int r = pc_nft_dump_chains(fd, add_chain, &l, NULL, NULL);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		r = pc_nft_dump(fd, l.c[i].family, l.c[i].table, l.c[i].name, pc_fwd_rules_add, rs,
		                NULL, NULL);
	free(l.c);
	for (size_t i = 0; r == 0 && i < pc_fwd_rules_n_sets(rs); i++) {
		uint8_t family;
		const char *table, *name;
		pc_fwd_rules_set(rs, i, &family, &table, &name);
		int e = pc_nft_dump_elems(fd, family, table, name, pc_fwd_rules_add_elem, rs, NULL,
		                          NULL);
		/* a set we could not read is left out of the walk */
		pc_fwd_rules_set_loaded(rs, i, e == 0);
		if (e == PC_ENOMEM)
			r = e;
	}
	return r;
}

static int read_rules(int fd, struct pc_fwd_rules **ret)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		struct pc_fwd_rules *rs = pc_fwd_rules_new();
		if (!rs)
			return PC_ENOMEM;
		int r = read_ruleset(fd, rs);
		if (r == 0) {
			*ret = rs;
			return 0;
		}
		pc_fwd_rules_free(rs);
		if (r != 1) /* not "interrupted": a real failure */
			return r;
	}
	return PC_EIO;
}

/* IPVS virtual services as fronts: one per (address, port) service, its
 * real servers as targets with their IPVS weights. */
struct ipvs_fronts {
	struct pc_fwd_front *f;
	size_t n, cap;
	bool skip; /* the current service is a firewall-mark one */
};

static int ipvs_service(void *ctx, const struct pc_ipvs_service *s)
{
	struct ipvs_fronts *l = ctx;
	l->skip = s->fwmark != 0 || (s->protocol != IPPROTO_TCP && s->protocol != IPPROTO_UDP);
	if (l->skip)
		return 0; /* a firewall mark is not a port a client dials */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct pc_fwd_front *n = realloc(l->f, cap * sizeof(*n));
		if (!n)
			return PC_ENOMEM;
		l->f = n;
		l->cap = cap;
	}
	struct pc_fwd_front *fr = &l->f[l->n++];
	memset(fr, 0, sizeof(*fr));
	fr->family = s->af;
	fr->proto = s->protocol == IPPROTO_TCP ? PC_PROTO_TCP : PC_PROTO_UDP;
	fr->addr = s->addr;
	fr->port = s->port;
	fr->kind = PC_FORWARD_IPVS;
	snprintf(fr->rule, sizeof(fr->rule), "ipvs: %s", s->sched[0] ? s->sched : "?");
	return 0;
}

static int ipvs_dest(void *ctx, const struct pc_ipvs_dest *d)
{
	struct ipvs_fronts *l = ctx;
	if (l->skip || l->n == 0)
		return 0;
	struct pc_fwd_front *fr = &l->f[l->n - 1];
	if (fr->n_to >= 4096)
		return 0;
	struct pc_fwd_target *to = realloc(fr->to, (fr->n_to + 1) * sizeof(*to));
	if (!to)
		return PC_ENOMEM;
	fr->to = to;
	to[fr->n_to].addr = d->addr;
	if (!to[fr->n_to].addr.family)
		to[fr->n_to].addr.family = (sa_family_t)fr->family;
	to[fr->n_to].port = d->port;
	to[fr->n_to].weight = d->weight;
	fr->n_to++;
	return 0;
}

static int read_ipvs(struct pc_snapshot *snap, size_t first, const struct pc_netns_set *set,
                     const struct pc_netns_entry *ns, const char *name)
{
	int fd = pc_netns_socket(set, ns->inode, AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
	if (fd < 0)
		return fd;
	struct ipvs_fronts l = {0};
	int r = pc_ipvs_dump(fd, ipvs_service, ipvs_dest, &l);
	close(fd);
	if (r == -ENOENT) /* no IPVS in this kernel: nothing to show */
		r = 0;
	for (size_t i = 0; r == 0 && i < l.n; i++)
		r = place_front(snap, first, &l.f[i], ns, name);
	pc_fwd_fronts_free(l.f, l.n);
	return r;
}

static int read_namespace(struct pc_snapshot *snap, size_t first, const struct pc_netns_set *set,
                          const struct pc_netns_entry *ns, struct nsaddrs *na)
{
	na->inode = ns->inode;
	int fd = pc_netns_socket(set, ns->inode, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (fd >= 0) {
		int r = read_addrs(fd, na);
		close(fd);
		if (r == PC_ENOMEM)
			return r;
	}
	fd = pc_netns_socket(set, ns->inode, AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	if (fd < 0)
		return fd;
	struct pc_fwd_rules *rs = NULL;
	int r = read_rules(fd, &rs);
	close(fd);
	if (r < 0)
		return r;
	struct pc_fwd_front *fronts = NULL;
	size_t n = 0;
	r = pc_fwd_analyse(rs, &fronts, &n);
	pc_fwd_rules_free(rs);
	if (r < 0)
		return r;
	const char *name = ns->name ? pc_snapshot_strdup(snap, ns->name) : NULL;
	for (size_t i = 0; i < n && r == 0; i++)
		r = place_front(snap, first, &fronts[i], ns, name);
	pc_fwd_fronts_free(fronts, n);
	if (r == 0)
		r = read_ipvs(snap, first, set, ns, name);
	return r;
}

int pc_forward_collect(struct pc_snapshot *snap, const struct pc_netns_set *set,
                       unsigned *ret_denied, struct pc_error *err)
{
	*ret_denied = 0;
	size_t n_ns = pc_netns_count(set);
	struct nsaddrs *na = calloc(n_ns ? n_ns : 1, sizeof(*na));
	if (!na)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	size_t first = 0;
	int r = 0, first_fail = 0;
	unsigned failed = 0;
	for (size_t i = 0; i < n_ns && r != PC_ENOMEM; i++) {
		r = read_namespace(snap, first, set, pc_netns_get(set, i), &na[i]);
		if (r == -EPERM || r == -EACCES) {
			(*ret_denied)++;
			r = 0;
		} else if (r < 0 && r != PC_ENOMEM) {
			if (!first_fail)
				first_fail = r;
			failed++;
			r = 0;
		}
	}
	if (r == 0) {
		/* userland proxies that no NAT rule explains (rootlessport,
		 * slirp4netns, pasta): the proxy is what forwards the port,
		 * but where to is known only inside it */
		for (size_t i = 0; i < snap->n_endpoints && r == 0; i++) {
			struct pc_endpoint *ep = &snap->endpoints[i];
			if (ep->source == PC_SOURCE_HOST && ep->state == PC_STATE_LISTEN &&
			    !ep->forward && owned_by_proxy(ep)) {
				ep->forward = make_forward(snap, NULL, PC_FORWARD_PROXY);
				if (!ep->forward)
					r = PC_ENOMEM;
			}
		}
	}
	for (size_t i = 0; i < snap->n_endpoints && r == 0; i++) {
		struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->source != PC_SOURCE_HOST || !ep->forward)
			continue;
		for (size_t k = 0; k < ep->forward->n_to; k++) {
			struct pc_forward_target *t = &ep->forward->to[k];
			t->backend_index = resolve(snap, na, n_ns, ep->netns.inode, ep->proto, t);
			/* a front is not its own backend (a REDIRECT to the
			 * same port would otherwise point at itself) */
			if (t->backend_index == (long)i)
				t->backend_index = -1;
		}
	}
	for (size_t i = 0; i < n_ns; i++)
		free(na[i].a);
	free(na);
	if (r == PC_ENOMEM)
		return pc_error_set(err, r, "out of memory");
	if (failed && (first_fail == -EPROTONOSUPPORT || first_fail == -ENOENT))
		return pc_snapshot_warn(snap, "nftables is not available in this kernel: forwarded "
		                              "ports are not shown") < 0
		           ? PC_ENOMEM
		           : 0;
	if (failed && pc_snapshot_warn(snap,
	                               "could not read the NAT rules of %u network "
	                               "namespace%s (%s): their forwarded ports are not "
	                               "shown",
	                               failed, failed == 1 ? "" : "s", pc_strerror(first_fail)) < 0)
		return PC_ENOMEM;
	return 0;
}

void pc_forward_join_services(struct pc_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		struct pc_endpoint *ep = &snap->endpoints[i];
		if (!ep->forward || ep->service)
			continue;
		for (size_t k = 0; k < ep->forward->n_to && !ep->service; k++) {
			long b = ep->forward->to[k].backend_index;
			if (b >= 0 && (size_t)b < snap->n_endpoints)
				ep->service = snap->endpoints[b].service;
		}
	}
}
