/*
 * forward_walk.c - the chain walk of the NAT analysis: from every base
 * chain, rule by rule, following jumps, gotos and verdict-map elements,
 * to the DNAT and redirect rules at the end; one front per forwarded
 * (address, port) with its targets (pc_fwd_analyse).
 *
 * The analysis is a walk of the chain graph, not a pattern match on chain
 * names: kube-proxy, Docker and netavark all write "match a local
 * destination port, jump somewhere, eventually DNAT", and only the walk sees
 * that a NodePort rule in KUBE-NODEPORTS ends in two KUBE-SEP DNATs three
 * jumps later. The context carried down the walk is the destination matched
 * so far (protocol, address, port, "is local") and the share of traffic
 * still flowing (a statistic-mode rule takes p of what is left, exactly as
 * the kernel evaluates the chain top-down). A rule that contradicts the
 * context (another port) cannot match and is skipped. The walk is bounded
 * (MAX_DEPTH, MAX_STEPS) because a ruleset can be written as a web of
 * jumps that would take exponential time to enumerate.
 *
 * Split from forward.c: it reads only the rule model (forward_rules.c)
 * and knows nothing of namespaces or the snapshot.
 */
#include "inventory/forward_int.h"

#include <netinet/in.h> /* before the linux/ headers, which defer to it */
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* What the walk has matched so far on its way down. */
struct ctx {
	int l4proto;
	bool has_daddr, local;
	struct pc_addr daddr;
	int dport;
	double weight;
	bool split;
	const struct frule *front; /* the rule that matched the port */
	const char *comment;
};

struct emit {
	int family;
	enum pc_proto proto;
	struct pc_addr addr;
	uint16_t port;
	bool local;
	enum pc_forward_kind kind;
	const struct frule *front;
	const char *comment;
	struct pc_fwd_target t;
	size_t seq;
};

struct walk {
	const struct pc_fwd_rules *rs;
	struct emit *e;
	size_t n, cap;
	size_t steps;
	int err;
};

static int family_of(const struct ctx *c, const struct frule *f)
{
	if (c->has_daddr)
		return c->daddr.family;
	if (f->has_nat_addr)
		return f->nat_addr.family;
	return f->family == NFPROTO_IPV6 ? AF_INET6 : AF_INET;
}

static void emit(struct walk *w, const struct ctx *c, const struct frule *f)
{
	if (c->dport < 0 || (c->l4proto != IPPROTO_TCP && c->l4proto != IPPROTO_UDP))
		return; /* not a local destination port */
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct emit *e = realloc(w->e, cap * sizeof(*e));
		if (!e) {
			w->err = PC_ENOMEM;
			return;
		}
		w->e = e;
		w->cap = cap;
	}
	struct emit *e = &w->e[w->n++];
	memset(e, 0, sizeof(*e));
	e->family = family_of(c, f);
	e->proto = c->l4proto == IPPROTO_TCP ? PC_PROTO_TCP : PC_PROTO_UDP;
	if (c->has_daddr)
		e->addr = c->daddr;
	else
		e->addr.family = (sa_family_t)e->family;
	e->port = (uint16_t)c->dport;
	e->seq = w->n - 1;
	e->local = c->local;
	e->kind = f->nat == PC_NFT_NAT_DNAT ? PC_FORWARD_DNAT : PC_FORWARD_REDIRECT;
	e->front = c->front;
	e->comment = c->comment;
	if (f->nat == PC_NFT_NAT_DNAT && f->has_nat_addr)
		e->t.addr = f->nat_addr;
	e->t.port = (uint16_t)(f->nat_port >= 0 ? f->nat_port : c->dport);
	e->t.weight = c->split ? c->weight : -1;
}

static void walk_lookups(struct walk *w, const struct frule *f, const struct ctx *c, size_t li,
                         int depth);

static void walk_chain(struct walk *w, long ci, const struct ctx *in, int depth)
{
	const struct pc_fwd_rules *rs = w->rs;
	if (ci < 0 || depth > MAX_DEPTH)
		return;
	const struct chain *ch = &rs->chains[ci];
	double remaining = 1.0;
	bool split = false;
	for (size_t k = 0; k < ch->n && !w->err; k++) {
		if (++w->steps > MAX_STEPS) {
			w->err = PC_ETOOBIG;
			return;
		}
		const struct frule *f = &rs->r[rs->order[ch->first + k]];
		struct ctx c = *in;
		/* a rule that contradicts what was matched above never matches */
		if (f->l4proto >= 0) {
			if (c.l4proto >= 0 && c.l4proto != f->l4proto)
				continue;
			c.l4proto = f->l4proto;
		}
		if (f->dport >= 0) {
			if (c.dport >= 0 && c.dport != f->dport)
				continue;
			if (c.dport < 0) {
				c.front = f;
				if (f->comment)
					c.comment = f->comment;
			}
			c.dport = f->dport;
		}
		if (f->has_daddr) {
			if (c.has_daddr && !pc_addr_equal(&c.daddr, &f->daddr))
				continue;
			c.has_daddr = true;
			c.daddr = f->daddr;
		}
		if (f->dst_local)
			c.local = true;
		if (!c.comment && f->comment)
			c.comment = f->comment;
		double share = remaining;
		if (f->probability >= 0) {
			share = remaining * f->probability;
			remaining -= share;
			split = true;
		}
		/* the rule after a split takes what is left: a share too */
		c.split = in->split || split;
		c.weight = in->weight * share;
		walk_lookups(w, f, &c, 0, depth);
	}
}

/* Merge a set element's key into the context, field by field; false when
 * the element contradicts it (or is too short for its fields). */
static bool merge_key(struct ctx *c, const struct flookup *lk, const struct felem *el,
                      const struct frule *f)
{
	size_t off = 0;
	for (size_t i = 0; i < lk->n_fields; i++) {
		size_t len = lk->field[i] == PC_NFT_F_DADDR6 ? 16 : 4;
		if (off + (lk->field[i] == PC_NFT_F_L4PROTO ? 1
		           : lk->field[i] == PC_NFT_F_DPORT ? 2
		                                            : len) >
		    el->key_len)
			return false;
		const uint8_t *k = el->key + off;
		switch (lk->field[i]) {
		case PC_NFT_F_DADDR4:
		case PC_NFT_F_DADDR6: {
			struct pc_addr a = {.family = len == 4 ? AF_INET : AF_INET6};
			memcpy(a.bytes, k, len);
			if (c->has_daddr && !pc_addr_equal(&c->daddr, &a))
				return false;
			c->has_daddr = true;
			c->daddr = a;
			break;
		}
		case PC_NFT_F_L4PROTO:
			if (c->l4proto >= 0 && c->l4proto != k[0])
				return false;
			c->l4proto = k[0];
			break;
		case PC_NFT_F_DPORT: {
			int port = k[0] << 8 | k[1];
			if (c->dport >= 0 && c->dport != port)
				return false;
			if (c->dport < 0) {
				c->front = f;
				if (el->chain) /* kube-proxy names the chain after the service */
					c->comment = el->chain;
			}
			c->dport = port;
			break;
		}
		case PC_NFT_F_NUMGEN:
			if (f->numgen_mod) {
				c->weight /= f->numgen_mod;
				c->split = true;
			}
			break;
		default:
			break;
		}
		off += len;
	}
	return true;
}

/* A rule's set lookups, one after the other (each element a branch), then
 * its action. A membership we cannot read is no constraint; a verdict map
 * we cannot read ends the walk there. */
static void walk_lookups(struct walk *w, const struct frule *f, const struct ctx *c, size_t li,
                         int depth)
{
	if (li == f->n_lookups) {
		if (f->nat != PC_NFT_NAT_NONE)
			emit(w, c, f);
		else if (f->verdict == PC_NFT_V_JUMP || f->verdict == PC_NFT_V_GOTO)
			walk_chain(w, f->target_chain, c, depth + 1);
		return;
	}
	const struct flookup *lk = &f->lk[li];
	const struct fset *st = &w->rs->sets[lk->set];
	if (!st->loaded || lk->inverted) {
		if (!lk->vmap)
			walk_lookups(w, f, c, li + 1, depth);
		return;
	}
	for (size_t k = 0; k < st->n && !w->err; k++) {
		if (++w->steps > MAX_STEPS) {
			w->err = PC_ETOOBIG;
			return;
		}
		const struct felem *el = &st->el[k];
		struct ctx c2 = *c;
		if (!merge_key(&c2, lk, el, f))
			continue;
		if (!lk->vmap)
			walk_lookups(w, f, &c2, li + 1, depth);
		else if (el->verdict == PC_NFT_V_JUMP || el->verdict == PC_NFT_V_GOTO)
			walk_chain(w, el->chain_index, &c2, depth + 1);
	}
}

static int cmp_emit(const void *pa, const void *pb)
{
	const struct emit *a = pa, *b = pb;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	int c = pc_addr_compare(&a->addr, &b->addr);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	/* targets in the order the walk met them (the kernel's order) */
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool same_front(const struct emit *a, const struct emit *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       pc_addr_equal(&a->addr, &b->addr) && a->port == b->port;
}

static int cmp_target(const void *pa, const void *pb)
{
	const struct pc_fwd_target *a = pa, *b = pb;
	int c = pc_addr_compare(&a->addr, &b->addr);
	if (c)
		return c;
	return a->port < b->port ? -1 : a->port > b->port;
}

void pc_fwd_fronts_free(struct pc_fwd_front *fronts, size_t n)
{
	if (!fronts)
		return;
	for (size_t i = 0; i < n; i++)
		free(fronts[i].to);
	free(fronts);
}

static void label(struct pc_fwd_front *fr, const struct emit *e)
{
	if (e->front && e->comment)
		snprintf(fr->rule, sizeof(fr->rule), "%s/%s: %s", e->front->table, e->front->chain,
		         e->comment);
	else if (e->front)
		snprintf(fr->rule, sizeof(fr->rule), "%s/%s", e->front->table, e->front->chain);
}

int pc_fwd_analyse(const struct pc_fwd_rules *crs, struct pc_fwd_front **ret_fronts, size_t *ret_n)
{
	struct pc_fwd_rules *rs = (struct pc_fwd_rules *)crs; /* the index is a cache */
	int r = pc_fwd_rules_index(rs);
	if (r < 0)
		return r;
	struct walk w = {.rs = rs};
	for (size_t ci = 0; ci < rs->n_chains && !w.err; ci++) {
		if (rs->chains[ci].referenced)
			continue;
		struct ctx c = {.l4proto = -1, .dport = -1, .weight = 1.0};
		walk_chain(&w, (long)ci, &c, 0);
	}
	if (w.err) {
		free(w.e);
		return w.err;
	}
	if (w.n > 1)
		qsort(w.e, w.n, sizeof(*w.e), cmp_emit);
	struct pc_fwd_front *fronts = calloc(w.n ? w.n : 1, sizeof(*fronts));
	if (!fronts) {
		free(w.e);
		return PC_ENOMEM;
	}
	size_t nf = 0;
	for (size_t i = 0; i < w.n;) {
		size_t j = i;
		while (j < w.n && same_front(&w.e[i], &w.e[j]))
			j++;
		struct pc_fwd_front *fr = &fronts[nf++];
		fr->family = w.e[i].family;
		fr->proto = w.e[i].proto;
		fr->addr = w.e[i].addr;
		fr->port = w.e[i].port;
		fr->kind = PC_FORWARD_REDIRECT;
		fr->to = calloc(j - i, sizeof(*fr->to));
		if (!fr->to) {
			pc_fwd_fronts_free(fronts, nf);
			free(w.e);
			return PC_ENOMEM;
		}
		label(fr, &w.e[i]);
		for (size_t k = i; k < j; k++) {
			const struct emit *e = &w.e[k];
			if (e->local)
				fr->local_only = true;
			if (e->kind == PC_FORWARD_DNAT)
				fr->kind = PC_FORWARD_DNAT;
			bool dup = false;
			for (size_t m = 0; m < fr->n_to && !dup; m++)
				dup = fr->to[m].port == e->t.port &&
				      pc_addr_equal(&fr->to[m].addr, &e->t.addr);
			if (!dup)
				fr->to[fr->n_to++] = e->t;
		}
		/* by address: the same ruleset always reads the same, whatever
		 * order a hash set dumped its elements in */
		qsort(fr->to, fr->n_to, sizeof(*fr->to), cmp_target);
		i = j;
	}
	free(w.e);
	*ret_fronts = fronts;
	*ret_n = nf;
	return 0;
}
