/*
 * forward_int.h - what the three files of the NAT analysis share
 * (forward_rules.c: the rule model; forward_walk.c: the chain walk;
 * forward.c: reading the rules and building endpoints); not part of
 * forward.h.
 *
 * A kube-proxy host has ~40,000 rules, so a rule is kept compactly (names
 * on the heap, lookups and verdicts as small integers), and the rules are
 * grouped by chain with one sort (order[], chains[]) before a walk.
 */
#ifndef PC_INVENTORY_FORWARD_INT_H
#define PC_INVENTORY_FORWARD_INT_H

#include "inventory/forward.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of a walk (depth of jumps, total steps) and of the ruleset: a
 * ruleset can be written as a web of jumps that would take exponential
 * time to enumerate. */
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

/* Group rules by chain and link every jump/goto to its chain (again after
 * rules were added). 0 or PC_ENOMEM. */
int pc_fwd_rules_index(struct pc_fwd_rules *rs);

#endif
