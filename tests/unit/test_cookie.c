/*
 * test_cookie.c - SipHash-2-4 against the reference vectors of its paper,
 * and the SYN cookie: the right ack validates, any other ack, port,
 * address or key does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/addr.h"
#include "scan/cookie.h"

#include <string.h>

static const struct pc_cookie_key ref_key = {
	/* key bytes 00 01 .. 0f, read little-endian */
	.k0 = 0x0706050403020100ULL,
	.k1 = 0x0f0e0d0c0b0a0908ULL,
};

static void test_siphash_vectors(void **state)
{
	(void)state;
	uint8_t msg[64];
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* Aumasson & Bernstein, "SipHash: a fast short-input PRF", appendix A */
	assert_true(pc_siphash24(&ref_key, msg, 15) == 0xa129ca6149be45e5ULL);
	/* reference implementation's vectors.h: lengths 0, 1, 8 and 63 */
	assert_true(pc_siphash24(&ref_key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(pc_siphash24(&ref_key, msg, 1) == 0x74f839c593dc67fdULL);
	assert_true(pc_siphash24(&ref_key, msg, 8) == 0x93f5f5799a932462ULL);
	assert_true(pc_siphash24(&ref_key, msg, 63) == 0x958a324ceb064572ULL);
}

static struct pc_addr A(const char *s)
{
	struct pc_addr a;
	assert_int_equal(pc_addr_parse(s, &a), 0);
	return a;
}

static void check_family(const char *them, const char *us, const char *other)
{
	struct pc_cookie_key k;
	assert_int_equal(pc_cookie_key_random(&k), 0);
	struct pc_addr r = A(them), l = A(us), o = A(other);
	uint32_t c = pc_cookie_make(&k, &r, 443, &l, 40001);
	assert_true(pc_cookie_check(&k, &r, 443, &l, 40001, c + 1));
	/* wrong ack: off by one either way, the cookie itself, zero */
	assert_false(pc_cookie_check(&k, &r, 443, &l, 40001, c));
	assert_false(pc_cookie_check(&k, &r, 443, &l, 40001, c + 2));
	assert_false(pc_cookie_check(&k, &r, 443, &l, 40001, 0) && c + 1 != 0);
	/* any other part of the 4-tuple */
	assert_false(pc_cookie_check(&k, &r, 444, &l, 40001, c + 1));
	assert_false(pc_cookie_check(&k, &r, 443, &l, 40002, c + 1));
	assert_false(pc_cookie_check(&k, &o, 443, &l, 40001, c + 1));
	assert_false(pc_cookie_check(&k, &r, 443, &o, 40001, c + 1));
	/* another key */
	struct pc_cookie_key k2 = k;
	k2.k1 ^= 1;
	assert_false(pc_cookie_check(&k2, &r, 443, &l, 40001, c + 1));
	/* deterministic for one key */
	assert_int_equal(pc_cookie_make(&k, &r, 443, &l, 40001), c);
}

static void test_cookie_v4(void **state)
{
	(void)state;
	check_family("198.18.3.4", "198.18.0.1", "198.18.3.5");
}

static void test_cookie_v6(void **state)
{
	(void)state;
	check_family("fd00:198:18::2", "fd00:198:18::1", "fd00:198:18::3");
	/* families do not mix */
	struct pc_cookie_key k = ref_key;
	struct pc_addr r4 = A("198.18.0.2"), l6 = A("fd00:198:18::1");
	assert_false(pc_cookie_check(&k, &r4, 1, &l6, 1, 1));
}

/* Forged acks hit with probability 2^-32: of a million random ones, none
 * should validate. */
static void test_cookie_forgery(void **state)
{
	(void)state;
	struct pc_cookie_key k;
	assert_int_equal(pc_cookie_key_random(&k), 0);
	struct pc_addr r = A("198.18.0.2"), l = A("198.18.0.1");
	uint32_t c = pc_cookie_make(&k, &r, 80, &l, 50000);
	unsigned hits = 0;
	uint32_t x = 0x9e3779b9u;
	for (int i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (x != c + 1 && pc_cookie_check(&k, &r, 80, &l, 50000, x))
			hits++;
	}
	assert_int_equal(hits, 0);
	/* different tuples spread over the 32-bit space: no two of 4096
	 * ports share a cookie in practice, and the values are not sequential */
	uint32_t prev = pc_cookie_make(&k, &r, 0, &l, 50000);
	unsigned same = 0;
	for (uint16_t p = 1; p < 4096; p++) {
		uint32_t v = pc_cookie_make(&k, &r, p, &l, 50000);
		if (v == prev || v == prev + 1)
			same++;
		prev = v;
	}
	assert_int_equal(same, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_cookie_v4),
		cmocka_unit_test(test_cookie_v6),
		cmocka_unit_test(test_cookie_forgery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
