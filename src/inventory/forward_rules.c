/*
 * forward_rules.c - the rule model of the NAT analysis: the rules and set
 * elements the nftables dumps deliver (pc_fwd_rules_add,
 * pc_fwd_rules_add_elem), kept compactly, and the index the walk reads.
 *
 * Split from forward.c: the model is what the fuzzer and the unit tests
 * fill by hand, apart from the walk over it and from the snapshot. Rules
 * are grouped by (family, table, chain) with one sort, in dump order
 * within a chain (the kernel evaluates a chain top-down), and chains are
 * found by binary search; a jump's target is resolved once, here. Every
 * count has a cap (rules, sets, elements): the dumps come from the kernel,
 * but a ruleset can be as large as its writer made it.
 */
#include "inventory/forward_int.h"

#include <netinet/in.h> /* before the linux/ headers, which defer to it */
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>

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
int pc_fwd_rules_index(struct pc_fwd_rules *rs)
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
