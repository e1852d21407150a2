/*
 * test_targets.c - target specs (IPv4, IPv6, CIDR, ranges, names), merging
 * of overlaps, exclusions (they always win), files with comments and
 * file:line:col errors, multicast, and the scope guard. Host names go to a
 * fake resolver: unit tests never touch DNS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scan/targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fake_resolve(void *ctx, const char *name, struct pc_addr *ret)
{
	(void)ctx;
	if (strcmp(name, "db1.lab") == 0)
		return pc_addr_parse("198.18.0.10", ret);
	if (strcmp(name, "v6.lab") == 0)
		return pc_addr_parse("fd00:198:18::10", ret);
	if (strcmp(name, "public.example") == 0)
		return pc_addr_parse("203.0.113.5", ret);
	return PC_EINVAL;
}

static struct pc_targets *make(void)
{
	struct pc_targets *t = pc_targets_new();
	assert_non_null(t);
	pc_targets_set_resolver(t, fake_resolve, NULL);
	return t;
}

static void add(struct pc_targets *t, const char *spec)
{
	struct pc_error err = {0};
	if (pc_targets_add(t, spec, &err) != 0)
		fail_msg("'%s': %s", spec, err.msg);
}

static void finish(struct pc_targets *t, bool allow_public)
{
	struct pc_error err = {0};
	if (pc_targets_finish(t, allow_public, &err) != 0)
		fail_msg("finish: %s", err.msg);
}

static const char *at(const struct pc_targets *t, uint64_t i)
{
	static char buf[PC_ADDR_STRLEN];
	struct pc_addr a;
	pc_targets_at(t, i, &a);
	return pc_addr_format(&a, buf, sizeof(buf));
}

/* One spec alone: count, first and last address. */
static void one(const char *spec, uint64_t count, const char *first, const char *last)
{
	struct pc_targets *t = make();
	add(t, spec);
	finish(t, false);
	assert_int_equal(pc_targets_count(t), count);
	assert_string_equal(at(t, 0), first);
	assert_string_equal(at(t, count - 1), last);
	pc_targets_free(t);
}

static void bad(const char *spec, int code, const char *needle)
{
	struct pc_targets *t = make();
	struct pc_error err = {0};
	int r = pc_targets_add(t, spec, &err);
	if (r == 0)
		r = pc_targets_finish(t, false, &err);
	assert_int_equal(r, code);
	if (!strstr(err.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", spec, err.msg, needle);
	pc_targets_free(t);
}

static void test_specs(void **state)
{
	(void)state;
	one("198.18.0.7", 1, "198.18.0.7", "198.18.0.7");
	one("198.18.0.0/24", 256, "198.18.0.0", "198.18.0.255");
	one("198.18.5.77/24", 256, "198.18.5.0", "198.18.5.255"); /* host bits ignored */
	one("198.18.0.0/16", 65536, "198.18.0.0", "198.18.255.255");
	one("198.18.0.1-198.18.1.0", 256, "198.18.0.1", "198.18.1.0");
	one("198.18.0.1-20", 20, "198.18.0.1", "198.18.0.20");
	one("10.0.0.0/8", 1 << 24, "10.0.0.0", "10.255.255.255");
	one("fd00:198:18::7", 1, "fd00:198:18::7", "fd00:198:18::7");
	one("[fd00:198:18::7]", 1, "fd00:198:18::7", "fd00:198:18::7");
	one("fd00:198:18::/120", 256, "fd00:198:18::", "fd00:198:18::ff");
	one("fd00:198:18::1-fd00:198:18::1:0", 65536, "fd00:198:18::1", "fd00:198:18::1:0");
	one("fe80::1", 1, "fe80::1", "fe80::1");
	one("127.0.0.1", 1, "127.0.0.1", "127.0.0.1");
	one("db1.lab", 1, "198.18.0.10", "198.18.0.10");
}

static void test_bad_specs(void **state)
{
	(void)state;
	bad("", PC_EINVAL, "empty");
	bad("198.18.0.0/33", PC_EINVAL, "prefix length must be 0-32");
	bad("198.18.0.0/", PC_EINVAL, "prefix length");
	bad("198.18.0.0/-1", PC_EINVAL, "prefix length");
	bad("fd00::/129", PC_EINVAL, "0-128");
	bad("198.18.0.256", PC_EINVAL, "not an address");
	bad("198.18.0.9-198.18.0.1", PC_EINVAL, "backwards");
	bad("198.18.0.9-3", PC_EINVAL, "backwards");
	bad("198.18.0.1-256", PC_EINVAL, "range");
	bad("198.18.0.1-fd00::1", PC_EINVAL, "one family");
	bad("1.2.3", PC_EINVAL, "not an address");
	bad("no-such.lab", PC_EINVAL, "cannot resolve");
	bad("bad name!", PC_EINVAL, "not an address");
	bad("foo/24", PC_EINVAL, "not an IPv4 or IPv6 address");
	bad("fd00::/64", PC_ETOOBIG, "more than");
	/* scope guard: names the address and the way out */
	bad("8.8.8.8", PC_ESCOPE, "8.8.8.8 is not in an internal range");
	bad("8.8.8.8", PC_ESCOPE, "--allow-public");
	bad("198.18.0.0/14", PC_ESCOPE, "198.16.0.0");
	bad("198.19.255.250-198.20.0.5", PC_ESCOPE, "198.20.0.0");
	bad("2001:db8::1", PC_ESCOPE, "2001:db8::1");
	bad("public.example", PC_ESCOPE, "203.0.113.5");
	bad("0.0.0.0", PC_ESCOPE, "0.0.0.0");
}

static void test_scope(void **state)
{
	(void)state;
	/* every internal range passes the guard */
	const char *ok[] = {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
			    "100.64.0.1", "100.127.255.255", "198.18.0.1", "198.19.255.255",
			    "169.254.1.1", "127.0.0.1", "::1", "fd12::1", "fc00::1",
			    "fe80::1", "::ffff:10.0.0.1"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct pc_targets *t = make();
		add(t, ok[i]);
		finish(t, false);
		pc_targets_free(t);
	}
	const char *no[] = {"172.32.0.0", "100.128.0.0", "198.20.0.0", "11.0.0.0",
			    "192.169.0.1", "2001:db8::1", "fec0::1", "::"};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct pc_targets *t = make();
		struct pc_error err = {0};
		add(t, no[i]);
		assert_int_equal(pc_targets_finish(t, false, &err), PC_ESCOPE);
		pc_targets_free(t);
		/* allowed with allow_public */
		t = make();
		add(t, no[i]);
		finish(t, true);
		assert_int_equal(pc_targets_count(t), 1);
		pc_targets_free(t);
	}
	/* an exclusion can carve the public part out of a spec */
	struct pc_targets *t = make();
	struct pc_error err = {0};
	add(t, "198.18.0.0/14");
	assert_int_equal(pc_targets_exclude(t, "198.16.0.0/15", &err), 0);
	finish(t, false);
	assert_int_equal(pc_targets_count(t), 1 << 17);
	pc_targets_free(t);
}

static void test_merge_exclude(void **state)
{
	(void)state;
	struct pc_targets *t = make();
	struct pc_error err = {0};
	add(t, "198.18.0.0/24");
	add(t, "198.18.0.128/25"); /* inside the /24 */
	add(t, "198.18.0.250-198.18.1.9"); /* overlaps and extends */
	add(t, "198.18.1.10");             /* adjacent */
	add(t, "fd00:198:18::1");
	add(t, "fd00:198:18::1");
	assert_int_equal(pc_targets_exclude_list(t, "198.18.0.5, 198.18.0.16/28,fd00:198:18::1", &err), 0);
	finish(t, false);
	assert_int_equal(pc_targets_count(t), 256 + 11 - 1 - 16);
	assert_int_equal(pc_targets_ranges(t), 3);
	/* every address once, ascending, none excluded */
	struct pc_addr prev = {0};
	for (uint64_t i = 0; i < pc_targets_count(t); i++) {
		struct pc_addr a;
		pc_targets_at(t, i, &a);
		if (i)
			assert_true(pc_addr_compare(&prev, &a) < 0);
		uint64_t back;
		assert_true(pc_targets_index(t, &a, &back));
		assert_int_equal(back, i);
		prev = a;
	}
	struct pc_addr x;
	uint64_t idx;
	pc_addr_parse("198.18.0.5", &x);
	assert_false(pc_targets_index(t, &x, &idx));
	pc_addr_parse("198.18.0.20", &x);
	assert_false(pc_targets_index(t, &x, &idx));
	pc_addr_parse("198.18.1.11", &x);
	assert_false(pc_targets_index(t, &x, &idx));
	pc_addr_parse("fd00:198:18::1", &x);
	assert_false(pc_targets_index(t, &x, &idx));
	pc_targets_free(t);

	/* excluding everything is an error, not an empty scan */
	t = make();
	add(t, "198.18.0.0/30");
	assert_int_equal(pc_targets_exclude(t, "198.18.0.0/16", &err), 0);
	assert_int_equal(pc_targets_finish(t, false, &err), PC_EINVAL);
	assert_non_null(strstr(err.msg, "exclusions"));
	pc_targets_free(t);

	/* exclusions win over names too */
	t = make();
	add(t, "db1.lab");
	add(t, "198.18.0.11");
	assert_int_equal(pc_targets_exclude(t, "198.18.0.10", &err), 0);
	finish(t, false);
	assert_int_equal(pc_targets_count(t), 1);
	assert_string_equal(at(t, 0), "198.18.0.11");
	pc_targets_free(t);
}

static void test_names(void **state)
{
	(void)state;
	struct pc_targets *t = make();
	add(t, "198.18.0.0/24");
	add(t, "db1.lab");
	add(t, "v6.lab");
	finish(t, false);
	assert_int_equal(pc_targets_count(t), 257);
	struct pc_addr a;
	pc_addr_parse("198.18.0.10", &a);
	assert_string_equal(pc_targets_hostname(t, &a), "db1.lab");
	pc_addr_parse("fd00:198:18::10", &a);
	assert_string_equal(pc_targets_hostname(t, &a), "v6.lab");
	pc_addr_parse("198.18.0.11", &a);
	assert_null(pc_targets_hostname(t, &a));
	pc_targets_free(t);
}

static void test_multicast(void **state)
{
	(void)state;
	struct pc_targets *t = make();
	/* a range over multicast: never probed; listed alone: probed */
	add(t, "224.0.0.0-224.0.0.255");
	add(t, "198.18.0.1");
	finish(t, true);
	assert_int_equal(pc_targets_count(t), 1);
	pc_targets_free(t);
	t = make();
	add(t, "224.0.0.251");
	add(t, "255.255.255.255");
	add(t, "ff02::1");
	finish(t, true);
	assert_int_equal(pc_targets_count(t), 3);
	pc_targets_free(t);
	t = make();
	add(t, "0.0.0.0/0");
	finish(t, true);
	assert_int_equal(pc_targets_count(t), (UINT64_C(1) << 32) - (1 << 28) - 1);
	pc_targets_free(t);
}

static void test_file(void **state)
{
	(void)state;
	const char text[] = "# lab hosts\n"
			    "198.18.0.1 198.18.0.2\t198.18.0.3 # three on a line\n"
			    "\n"
			    "   fd00:198:18::1\r\n"
			    "db1.lab\n";
	struct pc_targets *t = make();
	struct pc_error err = {0};
	assert_int_equal(pc_targets_add_text(t, "hosts.txt", text, sizeof(text) - 1, false, &err), 0);
	finish(t, false);
	assert_int_equal(pc_targets_count(t), 5);
	pc_targets_free(t);

	const char badtext[] = "198.18.0.1\n# ok\n  198.18.0.2 198.18.0.0/40\n";
	t = make();
	assert_int_equal(pc_targets_add_text(t, "hosts.txt", badtext, sizeof(badtext) - 1, false,
					     &err),
			 PC_EINVAL);
	assert_string_equal(err.file, "hosts.txt");
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 14);
	pc_targets_free(t);

	/* a NUL byte inside a spec is an error, not a truncation */
	const char nul[] = "198.18.0.1\0junk\n";
	t = make();
	assert_int_equal(pc_targets_add_text(t, "x", nul, sizeof(nul) - 1, false, &err), PC_EINVAL);
	pc_targets_free(t);

	/* exclude file from disk */
	char path[] = "/tmp/pc-test-exclude.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char ex[] = "198.18.0.0/25 # first half\n198.18.0.200\n";
	assert_int_equal(write(fd, ex, sizeof(ex) - 1), (ssize_t)(sizeof(ex) - 1));
	close(fd);
	t = make();
	add(t, "198.18.0.0/24");
	assert_int_equal(pc_targets_add_file(t, path, true, &err), 0);
	finish(t, false);
	assert_int_equal(pc_targets_count(t), 127);
	pc_targets_free(t);
	unlink(path);

	t = make();
	assert_int_equal(pc_targets_add_file(t, "/nonexistent/pc-targets", false, &err), PC_EINVAL);
	assert_string_equal(err.file, "/nonexistent/pc-targets");
	pc_targets_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specs),     cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_scope),     cmocka_unit_test(test_merge_exclude),
		cmocka_unit_test(test_names),     cmocka_unit_test(test_multicast),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
