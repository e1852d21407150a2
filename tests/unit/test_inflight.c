/*
 * test_inflight.c - the in-flight ring and its index against a plain
 * reference model, through many pushes, requeues, pops and wraps, with
 * keys chosen to collide in the index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/addr.h"
#include "scan/inflight.h"

#include <stdlib.h>
#include <string.h>

static struct pc_addr addr_of(uint32_t i)
{
	struct pc_addr a;
	pc_addr_from_v4(&a, 0xc6120000u | (i & 0xffff));
	return a;
}

static void test_inflight_model(void **state)
{
	(void)state;
	struct pc_inflight *f;
	assert_int_equal(pc_inflight_new(1000, &f), 0);
	assert_int_equal(pc_inflight_capacity(f), 1024);
	/* reference: keys in ring order */
	enum { MAXK = 1024 };
	uint32_t model[MAXK * 64];
	size_t mh = 0, mt = 0;
	uint32_t next = 0;
	uint32_t x = 12345;
	for (int step = 0; step < 200000; step++) {
		x = x * 1103515245u + 12345u;
		unsigned op = (x >> 16) % 8;
		if (op < 4 && mt - mh < 1024) {
			uint32_t k = next++;
			struct pc_addr a = addr_of(k / 7);
			struct pc_inflight_entry *e = pc_inflight_push(f, &a, (uint16_t)(k % 7));
			assert_non_null(e);
			e->tries = 1;
			model[mt++ % (MAXK * 64)] = k;
		} else if (op < 6 && mt > mh) {
			assert_non_null(pc_inflight_requeue(f));
			model[mt++ % (MAXK * 64)] = model[mh++ % (MAXK * 64)];
		} else if (mt > mh) {
			pc_inflight_pop(f);
			mh++;
		}
		assert_int_equal(pc_inflight_count(f), mt - mh);
		if (step % 997 == 0) {
			/* everything in the model is found, in order */
			for (size_t i = mh; i < mt; i++) {
				uint32_t k = model[i % (MAXK * 64)];
				struct pc_addr a = addr_of(k / 7);
				struct pc_inflight_entry *e = pc_inflight_find(f, &a, (uint16_t)(k % 7));
				assert_non_null(e);
				assert_int_equal(e->tries, 1);
			}
			struct pc_inflight_entry *h = pc_inflight_head(f);
			if (mt > mh) {
				uint32_t k = model[mh % (MAXK * 64)];
				struct pc_addr a = addr_of(k / 7);
				assert_true(pc_addr_equal(&h->addr, &a));
				assert_int_equal(h->port, k % 7);
			} else {
				assert_null(h);
			}
			/* and something popped long ago is not */
			if (mh > 0) {
				uint32_t k = model[(mh - 1) % (MAXK * 64)];
				bool live = false;
				for (size_t i = mh; i < mt; i++)
					live |= model[i % (MAXK * 64)] == k;
				struct pc_addr a = addr_of(k / 7);
				if (!live)
					assert_null(pc_inflight_find(f, &a, (uint16_t)(k % 7)));
			}
		}
	}
	/* full ring refuses */
	while (pc_inflight_count(f) < pc_inflight_capacity(f)) {
		struct pc_addr a = addr_of(next);
		assert_non_null(pc_inflight_push(f, &a, 9));
		next++;
	}
	struct pc_addr a = addr_of(next);
	assert_null(pc_inflight_push(f, &a, 9));
	pc_inflight_free(f);
	pc_inflight_free(NULL);
}

static void test_hostcount_model(void **state)
{
	(void)state;
	struct pc_hostcount *hc;
	enum { HOSTS = 300 };
	unsigned model[HOSTS] = {0};
	size_t live = 0;
	assert_int_equal(pc_hostcount_new(HOSTS, &hc), 0);
	uint32_t x = 99;
	for (int step = 0; step < 300000; step++) {
		x = x * 1103515245u + 12345u;
		unsigned h = (x >> 8) % HOSTS;
		struct pc_addr a = addr_of(h * 977); /* spread, some collisions */
		if ((x >> 20) & 1) {
			assert_true(pc_hostcount_inc(hc, &a));
			if (model[h]++ == 0)
				live++;
		} else {
			pc_hostcount_dec(hc, &a);
			if (model[h] && --model[h] == 0)
				live--;
		}
		if (step % 101 == 0)
			for (unsigned k = 0; k < HOSTS; k++) {
				struct pc_addr b = addr_of(k * 977);
				assert_int_equal(pc_hostcount_get(hc, &b), model[k]);
			}
	}
	(void)live;
	pc_hostcount_free(hc);
	/* full: a new host is refused, a known one still counts */
	assert_int_equal(pc_hostcount_new(2, &hc), 0);
	struct pc_addr a1 = addr_of(1), a2 = addr_of(2), a3 = addr_of(3);
	assert_true(pc_hostcount_inc(hc, &a1));
	assert_true(pc_hostcount_inc(hc, &a2));
	assert_false(pc_hostcount_inc(hc, &a3));
	assert_true(pc_hostcount_inc(hc, &a1));
	assert_int_equal(pc_hostcount_get(hc, &a1), 2);
	pc_hostcount_dec(hc, &a2);
	assert_true(pc_hostcount_inc(hc, &a3));
	pc_hostcount_free(hc);
	pc_hostcount_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inflight_model),
		cmocka_unit_test(test_hostcount_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
