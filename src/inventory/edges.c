/*
 * edges.c - established TCP sockets -> connections -> service edges
 * (rules in edges.h).
 *
 * Built for hosts with tens of thousands of sockets: the halves are sorted
 * once by (local, peer) so that each half finds its mirror by binary search,
 * the listeners once by (netns, port), and the connections once by edge key
 * before they are collapsed. A conntrack entry finds its two halves by the
 * same binary search (two lookups per entry), so joining through NAT keeps
 * the whole O((halves + entries) log halves). Nothing here touches the
 * system.
 */
#include "inventory/edges.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One established socket, with its addresses in comparable form. */
struct half {
	const struct pc_endpoint *ep;
	struct pc_addr local, peer; /* IPv4-mapped folded to IPv4 */
};

struct conn {
	struct pc_edge_end client, server;
	struct pc_edge_via via;
	int client_pid; /* lowest owner pid of a local client, -1 when none */
	enum pc_edge_basis basis;
};

struct ctx {
	const struct pc_snapshot *snap;
	struct half *halves;
	size_t n_halves;
	size_t *by_tuple; /* indexes into halves, sorted by (local, peer, netns) */
	int64_t *pair;    /* the mirror half of each half, -1 when none */
	int64_t *nat;     /* the conntrack entry that joined it, -1 when none */
	const struct pc_endpoint **listeners; /* sorted by (netns, port) */
	size_t n_listeners;
};

static void fold(const struct pc_addr *in, struct pc_addr *out)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	*out = *in;
	if (in->family == AF_INET6 && memcmp(in->bytes, mapped, 12) == 0) {
		memset(out, 0, sizeof(*out));
		out->family = AF_INET;
		memcpy(out->bytes, in->bytes + 12, 4);
	}
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_tuple(const struct pc_addr *la, uint16_t lpa, const struct pc_addr *pa,
		     uint16_t ppa, const struct pc_addr *lb, uint16_t lpb,
		     const struct pc_addr *pb, uint16_t ppb)
{
	int c = pc_addr_compare(la, lb);
	if (c)
		return c;
	if (lpa != lpb)
		return lpa < lpb ? -1 : 1;
	c = pc_addr_compare(pa, pb);
	if (c)
		return c;
	if (ppa != ppb)
		return ppa < ppb ? -1 : 1;
	return 0;
}

/* qsort_r (glibc): the index sort needs the halves it indexes */
static int cmp_by_tuple(const void *pa, const void *pb, void *arg)
{
	const struct half *halves = arg;
	const struct half *a = &halves[*(const size_t *)pa];
	const struct half *b = &halves[*(const size_t *)pb];
	int c = cmp_tuple(&a->local, a->ep->port, &a->peer, a->ep->peer_port, &b->local,
			  b->ep->port, &b->peer, b->ep->peer_port);
	if (c)
		return c;
	return cmp_u64(a->ep->netns.inode, b->ep->netns.inode);
}

/* First index in by_tuple whose half has this (local, peer), or n. */
static size_t lower_bound(const struct ctx *x, const struct pc_addr *l, uint16_t lp,
			  const struct pc_addr *p, uint16_t pp)
{
	size_t lo = 0, hi = x->n_halves;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct half *h = &x->halves[x->by_tuple[mid]];
		if (cmp_tuple(&h->local, h->ep->port, &h->peer, h->ep->peer_port, l, lp, p, pp) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool same_tuple(const struct half *h, const struct pc_addr *l, uint16_t lp,
		       const struct pc_addr *p, uint16_t pp)
{
	return cmp_tuple(&h->local, h->ep->port, &h->peer, h->ep->peer_port, l, lp, p, pp) == 0;
}

/* How many halves have this (local, peer); *first is set to the first. */
static size_t tuple_range(const struct ctx *x, const struct pc_addr *l, uint16_t lp,
			  const struct pc_addr *p, uint16_t pp, size_t *first)
{
	size_t i = lower_bound(x, l, lp, p, pp), n = 0;
	*first = i;
	while (i + n < x->n_halves && same_tuple(&x->halves[x->by_tuple[i + n]], l, lp, p, pp))
		n++;
	return n;
}

/* The four addresses of a conntrack entry, folded like the halves':
 * original source and destination, reply source and destination. */
static void fold_nat(const struct pc_nat_conn *c, struct pc_addr out[4])
{
	fold(&c->orig_src, &out[0]);
	fold(&c->orig_dst, &out[1]);
	fold(&c->reply_src, &out[2]);
	fold(&c->reply_dst, &out[3]);
}

/*
 * Rule 0: each NAT'd conntrack entry joins the one half that sent its
 * original tuple to the one half that answers with its reply tuple. Runs
 * before pair_halves(), which leaves joined halves alone.
 */
static void join_nat(struct ctx *x)
{
	for (size_t k = 0; k < x->snap->n_nat_conns; k++) {
		const struct pc_nat_conn *c = &x->snap->nat_conns[k];
		struct pc_addr a[4];
		fold_nat(c, a);
		size_t fc, fs;
		if (tuple_range(x, &a[0], c->orig_sport, &a[1], c->orig_dport, &fc) != 1 ||
		    tuple_range(x, &a[2], c->reply_sport, &a[3], c->reply_dport, &fs) != 1)
			continue; /* a half is missing (another host), or ambiguous */
		size_t i = x->by_tuple[fc], j = x->by_tuple[fs];
		if (i == j || x->pair[i] >= 0 || x->pair[j] >= 0)
			continue; /* a second entry for the same halves: the first holds */
		x->pair[i] = (int64_t)j;
		x->pair[j] = (int64_t)i;
		x->nat[i] = x->nat[j] = (int64_t)k;
	}
}

static void pair_halves(struct ctx *x)
{
	for (size_t i = 0; i < x->n_halves; i++) {
		if (x->pair[i] >= 0)
			continue;
		const struct half *h = &x->halves[i];
		size_t first, own_first;
		/* the mirror has our peer as its local end and the other way round */
		size_t n = tuple_range(x, &h->peer, h->ep->peer_port, &h->local, h->ep->port, &first);
		if (n == 0)
			continue;
		int64_t found = -1;
		for (size_t k = 0; k < n; k++) {
			size_t m = x->by_tuple[first + k];
			if (m != i && x->halves[m].ep->netns.inode == h->ep->netns.inode) {
				found = (int64_t)m;
				break;
			}
		}
		if (found < 0) {
			size_t own = tuple_range(x, &h->local, h->ep->port, &h->peer,
						 h->ep->peer_port, &own_first);
			if (n == 1 && own == 1 && x->by_tuple[first] != i)
				found = (int64_t)x->by_tuple[first];
		}
		if (found >= 0 && x->pair[found] < 0) {
			x->pair[i] = found;
			x->pair[found] = (int64_t)i;
		}
	}
}

static int cmp_listener(const void *pa, const void *pb)
{
	const struct pc_endpoint *a = *(const struct pc_endpoint *const *)pa;
	const struct pc_endpoint *b = *(const struct pc_endpoint *const *)pb;
	int c = cmp_u64(a->netns.inode, b->netns.inode);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return pc_addr_compare(&a->addr, &b->addr);
}

/*
 * The listener of (netns, addr, port): the one bound to that very address,
 * else one bound to any address of its family, else a dual-stack :: for an
 * IPv4 address. NULL when none.
 */
static const struct pc_endpoint *find_listener(const struct ctx *x, uint64_t netns,
					       const struct pc_addr *addr, uint16_t port)
{
	size_t lo = 0, hi = x->n_listeners;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pc_endpoint *l = x->listeners[mid];
		if (l->netns.inode < netns || (l->netns.inode == netns && l->port < port))
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct pc_endpoint *best = NULL;
	int best_score = 0;
	for (size_t i = lo; i < x->n_listeners; i++) {
		const struct pc_endpoint *l = x->listeners[i];
		if (l->netns.inode != netns || l->port != port)
			break;
		struct pc_addr la;
		fold(&l->addr, &la);
		int score = 0;
		if (pc_addr_equal(&la, addr))
			score = 3;
		else if (pc_addr_is_any(&la) && la.family == addr->family)
			score = 2;
		else if (pc_addr_is_any(&la) && la.family == AF_INET6 && addr->family == AF_INET)
			score = 1;
		if (score > best_score) {
			best = l;
			best_score = score;
		}
	}
	return best;
}

static int lowest_pid(const struct pc_owner *o, size_t n)
{
	int pid = -1;
	for (size_t i = 0; i < n; i++)
		if (o[i].pid > 0 && (pid < 0 || o[i].pid < pid))
			pid = o[i].pid;
	return pid;
}

static void local_end(struct pc_edge_end *end, const struct half *h, bool server)
{
	memset(end, 0, sizeof(*end));
	end->local = true;
	end->addr = h->local;
	end->port = server ? h->ep->port : 0;
	end->netns = h->ep->netns;
	end->owners = h->ep->n_owners ? h->ep->owners : NULL;
	end->n_owners = h->ep->n_owners;
}

static void remote_end(struct pc_edge_end *end, const struct pc_addr *addr, uint16_t port)
{
	memset(end, 0, sizeof(*end));
	end->addr = *addr;
	end->port = port;
}

/* A listener's owners are the service's; an accepted socket of a pre-fork
 * server is owned by one worker only. */
static void server_owners(struct pc_edge_end *end, const struct pc_endpoint *listener)
{
	if (listener && listener->n_owners) {
		end->owners = listener->owners;
		end->n_owners = listener->n_owners;
	}
}

static void conn_of_pair(const struct ctx *x, size_t i, size_t j, struct conn *c)
{
	const struct half *a = &x->halves[i], *b = &x->halves[j];
	const struct pc_endpoint *la = find_listener(x, a->ep->netns.inode, &a->local, a->ep->port);
	const struct pc_endpoint *lb = find_listener(x, b->ep->netns.inode, &b->local, b->ep->port);
	const struct half *srv, *cli;
	const struct pc_endpoint *listener;
	if (la && !lb) {
		srv = a, cli = b, listener = la;
		c->basis = PC_EDGE_LISTENER;
	} else if (lb && !la) {
		srv = b, cli = a, listener = lb;
		c->basis = PC_EDGE_LISTENER;
	} else {
		uint16_t sp = pc_edges_server_port(a->ep->port, b->ep->port);
		bool a_serves = sp == a->ep->port;
		if (a->ep->port == b->ep->port) /* simultaneous open: any stable choice */
			a_serves = pc_addr_compare(&a->local, &b->local) <= 0;
		srv = a_serves ? a : b;
		cli = a_serves ? b : a;
		listener = a_serves ? la : lb;
		c->basis = PC_EDGE_HEURISTIC;
	}
	local_end(&c->server, srv, true);
	server_owners(&c->server, listener);
	local_end(&c->client, cli, false);
}

/* A connection joined by conntrack entry k: i and j are its halves. */
static void conn_of_nat(const struct ctx *x, size_t i, size_t j, size_t k, struct conn *c)
{
	const struct pc_nat_conn *nc = &x->snap->nat_conns[k];
	struct pc_addr a[4]; /* orig src, orig dst, reply src, reply dst */
	fold_nat(nc, a);
	/* the half that sent the original tuple opened the connection */
	bool i_client = same_tuple(&x->halves[i], &a[0], nc->orig_sport, &a[1], nc->orig_dport);
	const struct half *cli = &x->halves[i_client ? i : j];
	const struct half *srv = &x->halves[i_client ? j : i];
	local_end(&c->server, srv, true);
	server_owners(&c->server, find_listener(x, srv->ep->netns.inode, &srv->local, srv->ep->port));
	local_end(&c->client, cli, false);
	c->basis = PC_EDGE_CONNTRACK;
	memset(&c->via, 0, sizeof(c->via));
	if (!pc_addr_equal(&a[1], &a[2]) || nc->orig_dport != nc->reply_sport)
		c->via.kind = srv->ep->netns.inode == nc->netns.inode ? PC_VIA_REDIRECT : PC_VIA_DNAT;
	else
		c->via.kind = PC_VIA_SNAT;
	c->via.addr = a[1];
	c->via.port = nc->orig_dport;
	if (!pc_addr_equal(&a[0], &a[3]) || nc->orig_sport != nc->reply_dport)
		c->via.source = a[3];
	c->via.netns = nc->netns;
}

static void conn_of_half(const struct ctx *x, size_t i, struct conn *c)
{
	const struct half *h = &x->halves[i];
	uint64_t ns = h->ep->netns.inode;
	const struct pc_endpoint *l = find_listener(x, ns, &h->local, h->ep->port);
	if (l) {
		local_end(&c->server, h, true);
		server_owners(&c->server, l);
		remote_end(&c->client, &h->peer, 0);
		c->basis = PC_EDGE_LISTENER;
		return;
	}
	/* our peer is a listener of this very namespace, reached over loopback:
	 * its own half is missing (it closed while we read) */
	if (pc_addr_is_loopback(&h->peer)) {
		l = find_listener(x, ns, &h->peer, h->ep->peer_port);
		if (l) {
			local_end(&c->client, h, false);
			remote_end(&c->server, &h->peer, h->ep->peer_port);
			c->server.local = true;
			c->server.netns = h->ep->netns;
			server_owners(&c->server, l);
			c->basis = PC_EDGE_LISTENER;
			return;
		}
	}
	c->basis = PC_EDGE_HEURISTIC;
	uint16_t sp = pc_edges_server_port(h->ep->port, h->ep->peer_port);
	if (sp == h->ep->port && h->ep->port != h->ep->peer_port) {
		local_end(&c->server, h, true);
		remote_end(&c->client, &h->peer, 0);
	} else {
		local_end(&c->client, h, false);
		remote_end(&c->server, &h->peer, h->ep->peer_port);
	}
}

static int cmp_end(const struct pc_edge_end *a, int apid, const struct pc_edge_end *b, int bpid)
{
	if (a->local != b->local)
		return a->local ? -1 : 1;
	int c = cmp_u64(a->netns.inode, b->netns.inode);
	if (c)
		return c;
	if (apid != bpid)
		return apid < bpid ? -1 : 1;
	c = pc_addr_compare(&a->addr, &b->addr);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

static int cmp_via(const struct pc_edge_via *a, const struct pc_edge_via *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	int c = pc_addr_compare(&a->addr, &b->addr);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return cmp_u64(a->netns.inode, b->netns.inode);
}

static int cmp_conn(const void *pa, const void *pb)
{
	const struct conn *a = pa, *b = pb;
	int c = cmp_end(&a->server, 0, &b->server, 0);
	if (c)
		return c;
	c = cmp_via(&a->via, &b->via);
	if (c)
		return c;
	return cmp_end(&a->client, a->client_pid, &b->client, b->client_pid);
}

static int fail_nomem(struct pc_error *err)
{
	return pc_error_set(err, PC_ENOMEM, "out of memory building connection edges");
}

int pc_edges_build(const struct pc_snapshot *snap, struct pc_edges **ret_edges,
		   struct pc_error *err)
{
	struct ctx x = {.snap = snap};
	struct conn *conns = NULL;
	struct pc_edges *out = NULL;
	int r = 0;

	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *e = &snap->endpoints[i];
		if (e->source != PC_SOURCE_HOST || e->proto != PC_PROTO_TCP)
			continue;
		if (e->state == PC_STATE_ESTABLISHED && e->has_peer)
			x.n_halves++;
		else if (e->state == PC_STATE_LISTEN)
			x.n_listeners++;
	}
	x.halves = calloc(x.n_halves ? x.n_halves : 1, sizeof(*x.halves));
	x.by_tuple = calloc(x.n_halves ? x.n_halves : 1, sizeof(*x.by_tuple));
	x.pair = calloc(x.n_halves ? x.n_halves : 1, sizeof(*x.pair));
	x.nat = calloc(x.n_halves ? x.n_halves : 1, sizeof(*x.nat));
	x.listeners = calloc(x.n_listeners ? x.n_listeners : 1, sizeof(*x.listeners));
	conns = calloc(x.n_halves ? x.n_halves : 1, sizeof(*conns));
	out = calloc(1, sizeof(*out));
	if (!x.halves || !x.by_tuple || !x.pair || !x.nat || !x.listeners || !conns || !out) {
		r = fail_nomem(err);
		goto out;
	}

	size_t nh = 0, nl = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *e = &snap->endpoints[i];
		if (e->source != PC_SOURCE_HOST || e->proto != PC_PROTO_TCP)
			continue;
		if (e->state == PC_STATE_ESTABLISHED && e->has_peer) {
			x.halves[nh].ep = e;
			fold(&e->addr, &x.halves[nh].local);
			fold(&e->peer_addr, &x.halves[nh].peer);
			x.by_tuple[nh] = nh;
			nh++;
		} else if (e->state == PC_STATE_LISTEN) {
			x.listeners[nl++] = e;
		}
	}
	if (nh > 1)
		qsort_r(x.by_tuple, nh, sizeof(*x.by_tuple), cmp_by_tuple, x.halves);
	if (nl > 1)
		qsort(x.listeners, nl, sizeof(*x.listeners), cmp_listener);
	for (size_t i = 0; i < nh; i++)
		x.pair[i] = x.nat[i] = -1;
	join_nat(&x);
	pair_halves(&x);

	size_t nc = 0;
	for (size_t i = 0; i < nh; i++) {
		struct conn *c = &conns[nc];
		if (x.pair[i] >= 0) {
			if ((size_t)x.pair[i] < i)
				continue; /* counted with its mirror */
			if (x.nat[i] >= 0) {
				conn_of_nat(&x, i, (size_t)x.pair[i], (size_t)x.nat[i], c);
				out->stats.nat++;
			} else {
				conn_of_pair(&x, i, (size_t)x.pair[i], c);
			}
			out->stats.paired++;
		} else {
			conn_of_half(&x, i, c);
		}
		c->client_pid = c->client.local ? lowest_pid(c->client.owners, c->client.n_owners)
						: -1;
		if (c->basis == PC_EDGE_HEURISTIC)
			out->stats.heuristic++;
		nc++;
	}
	out->stats.sockets = nh;
	out->stats.connections = nc;
	out->stats.nat_entries = snap->n_nat_conns;
	if (nc > 1)
		qsort(conns, nc, sizeof(*conns), cmp_conn);

	out->edges = calloc(nc ? nc : 1, sizeof(*out->edges));
	if (!out->edges) {
		r = fail_nomem(err);
		goto out;
	}
	for (size_t i = 0; i < nc; i++) {
		struct pc_edge *last = out->n_edges ? &out->edges[out->n_edges - 1] : NULL;
		if (last && cmp_conn(&conns[i - 1], &conns[i]) == 0) {
			last->count++;
			if (conns[i].basis == PC_EDGE_HEURISTIC)
				last->basis = PC_EDGE_HEURISTIC;
			continue;
		}
		struct pc_edge *e = &out->edges[out->n_edges++];
		e->client = conns[i].client;
		e->server = conns[i].server;
		e->via = conns[i].via;
		e->count = 1;
		e->basis = conns[i].basis;
	}
	*ret_edges = out;
	out = NULL;
out:
	free(x.halves);
	free(x.by_tuple);
	free(x.pair);
	free(x.nat);
	free(x.listeners);
	free(conns);
	pc_edges_free(out);
	return r;
}

void pc_edges_free(struct pc_edges *edges)
{
	if (!edges)
		return;
	free(edges->edges);
	free(edges);
}

static bool ephemeral(uint16_t p)
{
	return p >= 32768 && p <= 60999;
}

uint16_t pc_edges_server_port(uint16_t a, uint16_t b)
{
	if ((a < 1024) != (b < 1024))
		return a < 1024 ? a : b;
	if (ephemeral(a) != ephemeral(b))
		return ephemeral(a) ? b : a;
	return a <= b ? a : b;
}

const char *pc_edge_basis_name(enum pc_edge_basis b)
{
	if (b == PC_EDGE_CONNTRACK)
		return "conntrack";
	return b == PC_EDGE_HEURISTIC ? "heuristic" : "listener";
}

const char *pc_edge_via_name(enum pc_edge_via_kind k)
{
	switch (k) {
	case PC_VIA_DNAT:
		return "dnat";
	case PC_VIA_REDIRECT:
		return "redirect";
	case PC_VIA_SNAT:
		return "snat";
	default:
		return NULL;
	}
}

const char *pc_edge_end_label(const struct pc_edge_end *end, char *buf, size_t len)
{
	char a[PC_ADDR_STRLEN];
	pc_addr_format(&end->addr, a, sizeof(a));
	if (end->port) {
		if (end->addr.family == AF_INET6)
			snprintf(buf, len, "[%s]:%u", a, (unsigned)end->port);
		else
			snprintf(buf, len, "%s:%u", a, (unsigned)end->port);
	} else if (end->local && end->n_owners) {
		snprintf(buf, len, "%d/%s", end->owners[0].pid,
			 end->owners[0].comm ? end->owners[0].comm : "?");
	} else {
		snprintf(buf, len, "%s", a);
	}
	return buf;
}
