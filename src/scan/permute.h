/*
 * permute.h - a stateless pseudo-random permutation of [0, n), the order in
 * which the scanner visits address x port.
 *
 * Why a cipher and not a shuffled array: the index space of 10.0.0.0/8 x
 * all ports is 2^40; only a bijection computed on the fly keeps memory O(1)
 * whatever the size. Why a Feistel network over a x b (Black and Rogaway's
 * FE2, the construction behind masscan's BlackRock) and not zmap's cyclic
 * group: it needs no prime search and no generator, works for every n >= 1,
 * and a x b exceeds n by less than a, so cycle-walking (re-encrypting while
 * the value is >= n) almost never loops.
 *
 * The same (n, seed) always gives the same order. Shards are taken on the
 * permuted positions: shard i of k visits positions i-1, i-1+k, i-1+2k, ...
 * so the shards are disjoint and their union is [0, n) by construction.
 */
#ifndef PC_SCAN_PERMUTE_H
#define PC_SCAN_PERMUTE_H

#include <stdint.h>

#define PC_PERMUTE_ROUNDS 6

struct pc_permute {
	uint64_t n;    /* domain size */
	uint64_t a, b; /* a * b >= n, a ~ sqrt(n) */
	uint64_t keys[PC_PERMUTE_ROUNDS];
};

/* Set up a permutation of [0, n) keyed by seed. n may be 0 (empty). */
void pc_permute_init(struct pc_permute *p, uint64_t n, uint64_t seed);
/* The value at position i (i < n). */
uint64_t pc_permute_at(const struct pc_permute *p, uint64_t i);
/* The position of value v (v < n): the inverse of pc_permute_at. */
uint64_t pc_permute_position(const struct pc_permute *p, uint64_t v);

#endif
