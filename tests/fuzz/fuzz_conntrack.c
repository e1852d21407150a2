/*
 * fuzz_conntrack.c - the ctnetlink dump parser (src/inventory/conntrack.c)
 * on arbitrary bytes, as if one recv() from NETLINK_NETFILTER returned
 * them; then the edge join (src/inventory/edges.c) over what it kept.
 *
 * The bytes are copied so ASan sees any read past their end. The dump's
 * sequence number is taken from the first message, so seeds cut from the
 * real capture (tests/unit/data/conntrack/nat.bin, one recv() buffer per
 * seed) keep theirs. Every entry the parser returns goes through the
 * snapshot's NAT list, and its two halves become sockets (the client's in
 * one namespace, the server's in another, every third one twice, so some
 * tuples are ambiguous), next to fixed sockets and listeners of the
 * capture's lab: the join is driven by the fuzzed tuples, and its
 * invariants are checked.
 */
#include "core/error.h"
#include "core/model.h"
#include "inventory/conntrack.h"
#include "inventory/edges.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	struct pc_snapshot *snap;
	size_t n;
};

static struct pc_endpoint *half(struct pc_snapshot *s, uint64_t ns, const struct pc_addr *l,
				uint16_t lp, const struct pc_addr *p, uint16_t pp)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	if (!e)
		return NULL;
	e->proto = PC_PROTO_TCP;
	e->state = PC_STATE_ESTABLISHED;
	e->addr = *l;
	e->port = lp;
	e->has_peer = true;
	e->peer_addr = *p;
	e->peer_port = pp;
	e->netns.inode = ns;
	return e;
}

static int on_entry(void *vctx, const struct pc_ct_entry *e)
{
	struct ctx *c = vctx;
	struct pc_netns ns = {.inode = 3, .name = "gw"};
	/* a complete entry has one family for all four addresses */
	if (e->orig_src.family != e->l3family || e->orig_dst.family != e->l3family ||
	    e->reply_src.family != e->l3family || e->reply_dst.family != e->l3family)
		abort();
	c->n++;
	if (c->n > 4096)
		return 0; /* enough to join; keep each run fast */
	if (!half(c->snap, 2, &e->orig_src, e->orig_sport, &e->orig_dst, e->orig_dport) ||
	    !half(c->snap, 4, &e->reply_src, e->reply_sport, &e->reply_dst, e->reply_dport))
		return PC_ENOMEM;
	if (c->n % 3 == 0 &&
	    !half(c->snap, 5, &e->orig_src, e->orig_sport, &e->orig_dst, e->orig_dport))
		return PC_ENOMEM;
	return pc_conntrack_add(c->snap, &ns, e) < 0 ? PC_ENOMEM : 0;
}

static void sock(struct pc_snapshot *s, uint64_t ns, enum pc_state state, const char *local,
		 uint16_t lport, const char *peer, uint16_t pport)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	if (!e)
		return;
	e->proto = PC_PROTO_TCP;
	e->state = state;
	pc_addr_parse(local, &e->addr);
	e->port = lport;
	e->netns.inode = ns;
	if (peer) {
		e->has_peer = true;
		pc_addr_parse(peer, &e->peer_addr);
		e->peer_port = pport;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	uint32_t seq = 0;
	if (size >= 12)
		memcpy(&seq, buf + 8, 4);
	struct ctx c = {.snap = pc_snapshot_new("fuzz")};
	if (!c.snap) {
		free(buf);
		return 0;
	}
	/* listeners and halves of the capture's lab: ports 80, 81, 9090 */
	sock(c.snap, 4, PC_STATE_LISTEN, "0.0.0.0", 80, NULL, 0);
	sock(c.snap, 4, PC_STATE_LISTEN, "fd00:198:18:61::2", 80, NULL, 0);
	sock(c.snap, 3, PC_STATE_LISTEN, "0.0.0.0", 9090, NULL, 0);
	for (uint16_t p = 0; p < 4; p++) {
		uint16_t sport = (uint16_t)(40000 + p);
		sock(c.snap, 2, PC_STATE_ESTABLISHED, "198.18.60.2", sport, "198.18.60.1", 8080);
		sock(c.snap, 4, PC_STATE_ESTABLISHED, "198.18.61.2", 80, "198.18.60.2", sport);
		sock(c.snap, 2, PC_STATE_ESTABLISHED, "fd00:198:18:60::2", sport,
		     "fd00:198:18:60::1", 8080);
		sock(c.snap, 4, PC_STATE_ESTABLISHED, "::ffff:198.18.61.2", 80, "::ffff:198.18.60.2",
		     sport);
	}
	struct pc_nl_status st = {0};
	int r = pc_ct_parse(buf, size, seq, on_entry, &c, &st);
	if (r == 0 && st.rules != c.n && c.n <= 4096)
		abort();
	struct pc_edges *edges = NULL;
	if (pc_edges_build(c.snap, &edges, NULL) == 0) {
		const struct pc_edge_stats *s = &edges->stats;
		size_t total = 0;
		for (size_t i = 0; i < edges->n_edges; i++) {
			const struct pc_edge *e = &edges->edges[i];
			total += e->count;
			if ((e->basis == PC_EDGE_CONNTRACK) != (e->via.kind != PC_VIA_NONE))
				abort();
		}
		if (s->connections != s->sockets - s->paired || total != s->connections ||
		    s->nat > s->paired || s->nat_entries != c.snap->n_nat_conns)
			abort();
		pc_edges_free(edges);
	}
	pc_snapshot_free(c.snap);
	free(buf);
	return 0;
}
