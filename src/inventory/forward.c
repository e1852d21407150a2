/*
 * forward.c - NAT rules to forwarded endpoints (see forward.h).
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
 * (depth and total steps) because a ruleset can be written as a web of
 * jumps that would take exponential time to enumerate.
 *
 * Rules are kept compactly (a kube-proxy host has ~40,000), grouped by chain
 * with one sort, and chains found by binary search.
 */
#include "inventory/forward.h"
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

#define MAX_DEPTH 32
#define MAX_STEPS ((size_t)1 << 22)
#define MAX_RULES ((size_t)1 << 20)

struct flookup {
	long set; /* index into sets */
	uint8_t n_fields;
	uint8_t field[PC_NFT_LOOKUP_FIELDS];
	bool vmap, inverted;
};

struct felem {
	uint8_t key[64];
	uint8_t key_len;
	uint8_t verdict;
	char *chain;
	long chain_index;
};

struct fset {
	uint8_t family;
	char *table, *name;
	struct felem *el;
	size_t n, cap;
	bool loaded;
};

struct frule {
	char *table, *chain, *target, *comment;
	struct flookup lk[PC_NFT_RULE_LOOKUPS];
	uint8_t n_lookups;
	uint32_t numgen_mod;
	uint8_t family;
	int8_t l4proto;
	bool has_daddr, dst_local, has_nat_addr;
	uint8_t verdict, nat;
	int32_t dport, nat_port;
	double probability;
	struct pc_addr daddr, nat_addr;
	size_t seq;        /* order in the dump: rule order within a chain */
	long target_chain; /* index into chains, or -1 */
};

struct chain {
	size_t first, n; /* into order[] */
	bool referenced;
};

struct pc_fwd_rules {
	struct frule *r;
	size_t n, cap;
	struct fset *sets;
	size_t n_sets, cap_sets, n_elems;
	long cur_set;  /* where pc_fwd_rules_add_elem() adds */
	size_t *order; /* rules sorted by (family, table, chain, seq) */
	struct chain *chains;
	size_t n_chains;
};

struct pc_fwd_rules *pc_fwd_rules_new(void)
{
	struct pc_fwd_rules *rs = calloc(1, sizeof(struct pc_fwd_rules));
	if (rs)
		rs->cur_set = -1;
	return rs;
}

void pc_fwd_rules_free(struct pc_fwd_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].table);
		free(rs->r[i].chain);
		free(rs->r[i].target);
		free(rs->r[i].comment);
	}
	for (size_t i = 0; i < rs->n_sets; i++) {
		for (size_t k = 0; k < rs->sets[i].n; k++)
			free(rs->sets[i].el[k].chain);
		free(rs->sets[i].el);
		free(rs->sets[i].table);
		free(rs->sets[i].name);
	}
	free(rs->sets);
	free(rs->r);
	free(rs->order);
	free(rs->chains);
	free(rs);
}

size_t pc_fwd_rules_count(const struct pc_fwd_rules *rs)
{
	return rs->n;
}

#define MAX_SETS 65536
#define MAX_ELEMS ((size_t)1 << 21)

/* Index of the set (family, table, name), added when new; -1 on ENOMEM or
 * past the cap. */
static long set_index(struct pc_fwd_rules *rs, uint8_t family, const char *table, const char *name)
{
	for (size_t i = rs->n_sets; i-- > 0;) /* lookups cluster: search backwards */
		if (rs->sets[i].family == family && strcmp(rs->sets[i].name, name) == 0 &&
		    strcmp(rs->sets[i].table, table) == 0)
			return (long)i;
	if (rs->n_sets == rs->cap_sets) {
		if (rs->n_sets >= MAX_SETS)
			return -1;
		size_t cap = rs->cap_sets ? rs->cap_sets * 2 : 16;
		struct fset *n = realloc(rs->sets, cap * sizeof(*n));
		if (!n)
			return -1;
		rs->sets = n;
		rs->cap_sets = cap;
	}
	struct fset *st = &rs->sets[rs->n_sets];
	memset(st, 0, sizeof(*st));
	st->family = family;
	st->table = strdup(table);
	st->name = strdup(name);
	if (!st->table || !st->name) {
		free(st->table);
		free(st->name);
		return -1;
	}
	return (long)rs->n_sets++;
}

size_t pc_fwd_rules_n_sets(const struct pc_fwd_rules *rs)
{
	return rs->n_sets;
}

void pc_fwd_rules_set(struct pc_fwd_rules *rs, size_t i, uint8_t *ret_family,
                      const char **ret_table, const char **ret_name)
{
	*ret_family = rs->sets[i].family;
	*ret_table = rs->sets[i].table;
	*ret_name = rs->sets[i].name;
	rs->cur_set = (long)i;
}

void pc_fwd_rules_set_loaded(struct pc_fwd_rules *rs, size_t i, bool loaded)
{
	rs->sets[i].loaded = loaded;
}

int pc_fwd_rules_add_elem(void *ctx, const struct pc_nft_elem *e)
{
	struct pc_fwd_rules *rs = ctx;
	if (rs->cur_set < 0 || (size_t)rs->cur_set >= rs->n_sets || e->interval_end)
		return 0;
	struct fset *st = &rs->sets[rs->cur_set];
	if (rs->n_elems >= MAX_ELEMS)
		return PC_ETOOBIG;
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 8;
		struct felem *n = realloc(st->el, cap * sizeof(*n));
		if (!n)
			return PC_ENOMEM;
		st->el = n;
		st->cap = cap;
	}
	struct felem *el = &st->el[st->n];
	memset(el, 0, sizeof(*el));
	el->key_len = (uint8_t)(e->key_len < sizeof(el->key) ? e->key_len : sizeof(el->key));
	memcpy(el->key, e->key, el->key_len);
	el->verdict = (uint8_t)e->verdict;
	el->chain_index = -1;
	if (e->chain[0] && !(el->chain = strdup(e->chain)))
		return PC_ENOMEM;
	st->n++;
	rs->n_elems++;
	return 0;
}

int pc_fwd_rules_add(void *ctx, const struct pc_nft_rule *in)
{
	struct pc_fwd_rules *rs = ctx;
	if (rs->n == rs->cap) {
		if (rs->n >= MAX_RULES)
			return PC_ETOOBIG;
		size_t cap = rs->cap ? rs->cap * 2 : 256;
		struct frule *r = realloc(rs->r, cap * sizeof(*r));
		if (!r)
			return PC_ENOMEM;
		rs->r = r;
		rs->cap = cap;
	}
	struct frule *f = &rs->r[rs->n];
	memset(f, 0, sizeof(*f));
	f->table = strdup(in->table);
	f->chain = strdup(in->chain);
	f->target = in->target[0] ? strdup(in->target) : NULL;
	f->comment = in->comment[0] ? strdup(in->comment) : NULL;
	if (!f->table || !f->chain || (in->target[0] && !f->target) ||
	    (in->comment[0] && !f->comment)) {
		free(f->table);
		free(f->chain);
		free(f->target);
		free(f->comment);
		return PC_ENOMEM;
	}
	f->family = in->family;
	f->l4proto = (int8_t)(in->l4proto == IPPROTO_TCP || in->l4proto == IPPROTO_UDP ? in->l4proto
	                      : in->l4proto < 0                                        ? -1
	                                                                               : 0);
	f->has_daddr = in->has_daddr;
	f->daddr = in->daddr;
	f->dport = in->dport;
	f->dst_local = in->dst_local;
	f->probability = in->probability;
	f->verdict = (uint8_t)in->verdict;
	f->nat = (uint8_t)in->nat;
	f->has_nat_addr = in->has_nat_addr;
	f->nat_addr = in->nat_addr;
	f->nat_port = in->nat_port;
	f->seq = rs->n;
	f->target_chain = -1;
	f->numgen_mod = in->numgen_mod;
	for (size_t i = 0; i < in->n_lookups && i < PC_NFT_RULE_LOOKUPS; i++) {
		const struct pc_nft_lookup *l = &in->lookup[i];
		struct flookup *k = &f->lk[f->n_lookups];
		k->set = set_index(rs, in->family, in->table, l->set);
		if (k->set < 0)
			continue; /* unknown set: the walk will not follow it */
		k->n_fields = l->n_fields;
		memcpy(k->field, l->field, sizeof(k->field));
		k->vmap = l->vmap;
		k->inverted = l->inverted;
		f->n_lookups++;
	}
	rs->n++;
	return 0;
}

static int cmp_key(const struct frule *a, uint8_t family, const char *table, const char *chain)
{
	if (a->family != family)
		return a->family < family ? -1 : 1;
	int c = strcmp(a->table, table);
	return c ? c : strcmp(a->chain, chain);
}

static int cmp_order(const void *pa, const void *pb, void *arg)
{
	const struct pc_fwd_rules *rs = arg;
	const struct frule *a = &rs->r[*(const size_t *)pa];
	const struct frule *b = &rs->r[*(const size_t *)pb];
	int c = cmp_key(a, b->family, b->table, b->chain);
	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static long find_chain(const struct pc_fwd_rules *rs, uint8_t family, const char *table,
                       const char *chain)
{
	size_t lo = 0, hi = rs->n_chains;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct frule *f = &rs->r[rs->order[rs->chains[mid].first]];
		int c = cmp_key(f, family, table, chain);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Group rules by chain and link every jump/goto to its chain. */
static int index_rules(struct pc_fwd_rules *rs)
{
	free(rs->order);
	free(rs->chains);
	rs->chains = NULL;
	rs->n_chains = 0;
	rs->order = malloc((rs->n ? rs->n : 1) * sizeof(*rs->order));
	rs->chains = malloc((rs->n ? rs->n : 1) * sizeof(*rs->chains));
	if (!rs->order || !rs->chains)
		return PC_ENOMEM;
	for (size_t i = 0; i < rs->n; i++)
		rs->order[i] = i;
	qsort_r(rs->order, rs->n, sizeof(*rs->order), cmp_order, rs);
	for (size_t i = 0; i < rs->n; i++) {
		const struct frule *f = &rs->r[rs->order[i]];
		if (i == 0 || cmp_key(&rs->r[rs->order[i - 1]], f->family, f->table, f->chain)) {
			rs->chains[rs->n_chains++] = (struct chain){.first = i};
		}
		rs->chains[rs->n_chains - 1].n++;
	}
	for (size_t i = 0; i < rs->n; i++) {
		struct frule *f = &rs->r[i];
		if ((f->verdict == PC_NFT_V_JUMP || f->verdict == PC_NFT_V_GOTO) && f->target) {
			f->target_chain = find_chain(rs, f->family, f->table, f->target);
			if (f->target_chain >= 0)
				rs->chains[f->target_chain].referenced = true;
		}
	}
	for (size_t i = 0; i < rs->n_sets; i++) {
		struct fset *st = &rs->sets[i];
		for (size_t k = 0; k < st->n; k++) {
			struct felem *el = &st->el[k];
			if (!el->chain)
				continue;
			el->chain_index = find_chain(rs, st->family, st->table, el->chain);
			if (el->chain_index >= 0)
				rs->chains[el->chain_index].referenced = true;
		}
	}
	return 0;
}

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
	int r = index_rules(rs);
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
