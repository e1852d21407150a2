/*
 * permute.c - FE2 Feistel permutation over [0, a*b) with cycle-walking down
 * to [0, n). See permute.h for why.
 *
 * A value x is split into L = x mod a and R = x / a. Each round replaces
 * (L, R) by (R, (L + F(R)) mod m) where m alternates between a and b, so
 * every round is a bijection of the pair space whatever F is; F only has to
 * mix well (a 64-bit finaliser keyed per round). With an even number of
 * rounds the pair ends in the same shape and recombines as a*R + L... see
 * encrypt() for the exact bookkeeping. Decryption runs the rounds backwards,
 * which lets scan.c map a reply back to its index.
 */
#include "scan/permute.h"

#include <math.h>

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finaliser: full avalanche, a few cycles */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t round_fn(const struct pc_permute *p, unsigned j, uint64_t r)
{
	return mix64(r ^ p->keys[j]);
}

void pc_permute_init(struct pc_permute *p, uint64_t n, uint64_t seed)
{
	p->n = n;
	if (n <= 1) {
		p->a = 1;
		p->b = 1;
	} else {
		uint64_t a = (uint64_t)sqrt((double)n);
		while (a > 1 && a * a > n) /* sqrt of a double may round up */
			a--;
		while ((a + 1) * (a + 1) <= n)
			a++;
		if (a < 1)
			a = 1;
		p->a = a;
		p->b = n / a + (n % a != 0); /* ceil: a*b >= n, a*b - n < a */
	}
	uint64_t s = seed;
	for (unsigned j = 0; j < PC_PERMUTE_ROUNDS; j++) {
		s += 0x9e3779b97f4a7c15ULL;
		p->keys[j] = mix64(s);
	}
}

static uint64_t encrypt(const struct pc_permute *p, uint64_t x)
{
	uint64_t a = p->a, b = p->b;
	uint64_t L = x % a, R = x / a; /* L in [0,a), R in [0,b) */
	for (unsigned j = 0; j < PC_PERMUTE_ROUNDS; j++) {
		/* round j (0-based): even rounds produce a value mod a, odd mod b */
		uint64_t m = (j & 1) ? b : a;
		uint64_t t = (L % m + round_fn(p, j, R) % m) % m;
		L = R;
		R = t;
	}
	/* an even number of rounds leaves L in [0,a), R in [0,b) */
	return a * R + L;
}

static uint64_t decrypt(const struct pc_permute *p, uint64_t y)
{
	uint64_t a = p->a, b = p->b;
	uint64_t L = y % a, R = y / a;
	for (unsigned j = PC_PERMUTE_ROUNDS; j-- > 0;) {
		/* undo: (L, R) = (R_prev, (L_prev + F(R_prev)) mod m) */
		uint64_t m = (j & 1) ? b : a;
		uint64_t prev_r = L;
		uint64_t f = round_fn(p, j, prev_r) % m;
		uint64_t prev_l = (R + m - f) % m;
		L = prev_l;
		R = prev_r;
	}
	return a * R + L;
}

uint64_t pc_permute_at(const struct pc_permute *p, uint64_t i)
{
	uint64_t x = encrypt(p, i);
	while (x >= p->n) /* cycle-walk: stays inside [0, n) as a bijection */
		x = encrypt(p, x);
	return x;
}

uint64_t pc_permute_position(const struct pc_permute *p, uint64_t v)
{
	uint64_t x = decrypt(p, v);
	while (x >= p->n)
		x = decrypt(p, x);
	return x;
}
