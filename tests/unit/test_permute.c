/*
 * test_permute.c - the scan order is a permutation: every index of [0, n)
 * exactly once, for many sizes (1, 2, 3, primes, powers of two and their
 * neighbours, 65536 x 5, ...) and seeds; the inverse really inverts; the
 * same seed gives the same order and another seed another one; shards are
 * disjoint and their union is the whole space.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scan/permute.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *bitmap(uint64_t n)
{
	uint8_t *b = calloc((size_t)(n / 8 + 1), 1);
	assert_non_null(b);
	return b;
}

/* Visit all positions; every value must come exactly once, and the
 * inverse must give the position back. */
static void check_bijection(uint64_t n, uint64_t seed)
{
	struct pc_permute p;
	pc_permute_init(&p, n, seed);
	uint8_t *seen = bitmap(n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = pc_permute_at(&p, i);
		assert_true(v < n);
		assert_false(seen[v / 8] >> (v % 8) & 1);
		seen[v / 8] |= (uint8_t)(1u << (v % 8));
		if (i % 97 == 0 || n < 5000)
			assert_int_equal(pc_permute_position(&p, v), i);
	}
	free(seen);
}

static void test_sizes(void **state)
{
	(void)state;
	static const uint64_t sizes[] = {
		1,    2,    3,    4,    5,     6,     7,     8,     9,     10,    11,   13,
		16,   17,   31,   32,   33,    63,    64,    65,    97,    100,   127,  128,
		129,  255,  256,  257,  1000,  1009,  1023,  1024,  1025,  4093,  4096, 4099,
		9973, 65535, 65536, 65537, 99991, 131071, 262144, 65536 * 5, 1000003,
	};
	static const uint64_t seeds[] = {0, 1, 42, 0xdeadbeefcafebabeULL};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++)
			check_bijection(sizes[i], seeds[k]);
}

static void test_random_sizes(void **state)
{
	(void)state;
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 200; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_bijection(1 + x % 20000, x);
	}
}

static void test_seed(void **state)
{
	(void)state;
	struct pc_permute a, b, c;
	pc_permute_init(&a, 100000, 7);
	pc_permute_init(&b, 100000, 7);
	pc_permute_init(&c, 100000, 8);
	int same = 0;
	for (uint64_t i = 0; i < 100000; i++) {
		assert_int_equal(pc_permute_at(&a, i), pc_permute_at(&b, i));
		same += pc_permute_at(&a, i) == pc_permute_at(&c, i);
	}
	assert_true(same < 100); /* another seed, another order */
	/* and not the identity: a scan must not walk addresses in order */
	int fixed = 0;
	for (uint64_t i = 0; i < 100000; i++)
		fixed += pc_permute_at(&a, i) == i;
	assert_true(fixed < 100);
}

static void test_shards(void **state)
{
	(void)state;
	static const uint64_t sizes[] = {1, 2, 7, 1000, 65536, 65537 * 3};
	static const uint64_t counts[] = {1, 2, 3, 4, 7, 16};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			uint64_t n = sizes[s], k = counts[c];
			struct pc_permute p;
			pc_permute_init(&p, n, 1234 + s);
			uint8_t *seen = bitmap(n);
			uint64_t total = 0;
			for (uint64_t shard = 0; shard < k; shard++) {
				/* shard i of k: positions i-1, i-1+k, ... (scan.c) */
				for (uint64_t pos = shard; pos < n; pos += k) {
					uint64_t v = pc_permute_at(&p, pos);
					assert_false(seen[v / 8] >> (v % 8) & 1); /* disjoint */
					seen[v / 8] |= (uint8_t)(1u << (v % 8));
					total++;
				}
			}
			assert_int_equal(total, n); /* complete */
			free(seen);
		}
	}
}

static void test_large(void **state)
{
	(void)state;
	/* 10.0.0.0/8 x 65535 ports: no memory, values in range, inverse holds */
	uint64_t n = (UINT64_C(1) << 24) * 65535;
	struct pc_permute p;
	pc_permute_init(&p, n, 99);
	for (uint64_t i = 0; i < n; i += n / 10007) {
		uint64_t v = pc_permute_at(&p, i);
		assert_true(v < n);
		assert_int_equal(pc_permute_position(&p, v), i);
	}
	/* a whole IPv4 space x all ports: still in range */
	n = (UINT64_C(1) << 32) * 65535;
	pc_permute_init(&p, n, 5);
	for (uint64_t i = 0; i < n; i += n / 1009)
		assert_true(pc_permute_at(&p, i) < n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),   cmocka_unit_test(test_random_sizes),
		cmocka_unit_test(test_seed),    cmocka_unit_test(test_shards),
		cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
