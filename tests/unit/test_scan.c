/*
 * test_scan.c - the scan core's order, without sending anything: the dry
 * run (pc_scan_list_targets) yields every (address, proto, port) of a
 * target set exactly once, TCP before UDP; shards are disjoint and their
 * union is the whole; a seed fixes the order; index <-> probe agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scan/ports.h"
#include "scan/scan.h"
#include "scan/targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct pc_targets *t;
	struct pc_ports *p;
	struct pc_scan_opts o;
};

static void setup_fixture(struct fixture *f, const char *targets, const char *ports)
{
	struct pc_error err = {0};
	memset(f, 0, sizeof(*f));
	f->t = pc_targets_new();
	f->p = pc_ports_new();
	assert_int_equal(pc_targets_add(f->t, targets, &err), 0);
	assert_int_equal(pc_targets_finish(f->t, false, &err), 0);
	assert_int_equal(pc_ports_add_spec(f->p, ports, &err), 0);
	f->o.targets = f->t;
	f->o.ports = f->p;
	f->o.seed = 77;
	f->o.seed_set = true;
}

static void free_fixture(struct fixture *f)
{
	pc_targets_free(f->t);
	pc_ports_free(f->p);
}

/* The dry run's lines, in order, as one string. */
static char *list(const struct pc_scan_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);
	assert_non_null(mf);
	struct pc_error err = {0};
	assert_int_equal(pc_scan_list_targets(o, mf, &err), 0);
	fclose(mf);
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split into sorted lines; returns the count. */
static size_t lines(char *text, char ***ret)
{
	size_t n = 0, cap = 1024;
	char **v = malloc(cap * sizeof(*v));
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof(*v));
		v[n++] = l;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	return n;
}

static void test_every_probe_once(void **state)
{
	(void)state;
	struct fixture f;
	setup_fixture(&f, "198.18.0.0/26", "22,80,443,U:53,161");
	char *text = list(&f.o);
	/* TCP first: the first UDP line comes after the last TCP line */
	char *first_udp = strstr(text, " udp ");
	char *last_tcp = NULL;
	for (char *p = strstr(text, " tcp "); p; p = strstr(p + 1, " tcp "))
		last_tcp = p;
	assert_non_null(first_udp);
	assert_true(last_tcp < first_udp);
	char **v;
	size_t n = lines(text, &v);
	assert_int_equal(n, 64 * 5);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(v[i - 1], v[i]) < 0); /* distinct */
	/* and exactly the expected ones */
	size_t k = 0;
	for (unsigned a = 0; a < 64; a++) {
		const char *pp[] = {"tcp 22", "tcp 80", "tcp 443", "udp 53", "udp 161"};
		for (size_t j = 0; j < 5; j++) {
			char want[64];
			snprintf(want, sizeof(want), "198.18.0.%u %s", a, pp[j]);
			char **hit = bsearch(&(const char *){want}, v, n, sizeof(*v), cmp_str);
			assert_non_null(hit);
			k++;
		}
	}
	assert_int_equal(k, n);
	free(v);
	free(text);
	free_fixture(&f);
}

static void test_shards(void **state)
{
	(void)state;
	struct fixture f;
	setup_fixture(&f, "198.18.0.0/27", "1-37,U:53");
	char *whole = list(&f.o);
	char **wv;
	size_t wn = lines(whole, &wv);
	for (unsigned k = 1; k <= 7; k++) {
		size_t total = 0;
		char *all = calloc(1, 1);
		for (unsigned i = 1; i <= k; i++) {
			f.o.shard_index = i;
			f.o.shard_count = k;
			char *part = list(&f.o);
			size_t al = strlen(all), pl = strlen(part);
			all = realloc(all, al + pl + 1);
			memcpy(all + al, part, pl + 1);
			free(part);
		}
		char **v;
		size_t n = lines(all, &v);
		total = n;
		assert_int_equal(total, wn); /* complete, and with the check below disjoint */
		for (size_t j = 0; j < n; j++)
			assert_string_equal(v[j], wv[j]);
		free(v);
		free(all);
	}
	free(wv);
	free(whole);
	free_fixture(&f);
}

static void test_seed(void **state)
{
	(void)state;
	struct fixture f;
	setup_fixture(&f, "198.18.0.0/24", "22,80");
	char *a = list(&f.o);
	char *b = list(&f.o);
	assert_string_equal(a, b);
	f.o.seed = 78;
	char *c = list(&f.o);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), strlen(c)); /* same lines, other order */
	free(a);
	free(b);
	free(c);
	free_fixture(&f);
}

static void test_bad_shard(void **state)
{
	(void)state;
	struct fixture f;
	setup_fixture(&f, "198.18.0.1", "22");
	f.o.shard_index = 5;
	f.o.shard_count = 4;
	struct pc_error err = {0};
	FILE *null = fopen("/dev/null", "we");
	assert_int_equal(pc_scan_list_targets(&f.o, null, &err), PC_EINVAL);
	assert_non_null(strstr(err.msg, "shard"));
	fclose(null);
	free_fixture(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_probe_once),
		cmocka_unit_test(test_shards),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_bad_shard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
