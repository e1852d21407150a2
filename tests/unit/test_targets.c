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

#include "import/import.h"
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

/*
 * One scope guard for every command that sends packets. scan and audit
 * TARGET both build their set with pc_targets_add + pc_targets_finish
 * (cli/scan_opts.c: pc_cli_scan_target, pc_cli_scan_finish); verify reads
 * its file with pc_import_buffer (cli/verify.c via pc_import_file). Each
 * address of one list goes through each of those entry points, and each
 * must refuse it, with the reader naming the file's line; with
 * --allow-public all accept it. Internal addresses are accepted by all.
 */
static const char *const refused[] = {
	/* (not 0.0.0.0 or ::: our JSON's listeners on "any" are re-checked on
	 * loopback, see ourjson.c, and scan refuses them in test_scope) */
	"8.8.8.8", "203.0.113.5", "192.169.0.1", "11.0.0.1",                  /* public v4 */
	"2001:4860:4860::8888", "2001:db8::1", "fec0::1",                     /* public v6 */
	"::ffff:8.8.8.8", "::ffff:203.0.113.5",                               /* v4-mapped */
	"2002:808:808::1", "2002:808:808:1::5", "2002:a00:1::1",              /* 6to4 */
	"64:ff9b::8.8.8.8", "64:ff9b::808:808", "64:ff9b::10.0.0.1",          /* NAT64 */
	"64:ff9b:1::808:808", "64:ff9b:1:808:808::", "64:ff9b:1:a00::1",     /* local NAT64 */
	"::8.8.8.8", "2001:0:4136:e378:8000:63bf:f7f7:f7f7",                 /* v4-compat, Teredo */
};
static const char *const accepted[] = {
	"10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "198.18.0.1", "169.254.1.1",
	"127.0.0.1", "fd00:198:18::1", "fe80::1", "::1", "::ffff:10.0.0.1", "::ffff:198.18.0.7",
};

/* scan and audit TARGET: one spec, finished. */
static int through_targets(const char *spec, bool allow_public, struct pc_error *err)
{
	struct pc_targets *t = make();
	int r = pc_targets_add(t, spec, err);
	if (r == 0)
		r = pc_targets_finish(t, allow_public, err);
	pc_targets_free(t);
	return r;
}

/* verify: the address on line 3 of a file in each format it reads. */
static int through_import(int format, const char *addr, bool allow_public, struct pc_error *err)
{
	char text[1024];
	bool v6 = strchr(addr, ':') != NULL;
	switch (format) {
	case 0: /* masscan -oL */
		snprintf(text, sizeof(text),
			 "#masscan\nopen tcp 22 198.18.0.1 1700000000\nopen tcp 80 %s 1700000000\n",
			 addr);
		break;
	case 1: /* nmap -oX: the <port> is on line 3 */
		snprintf(text, sizeof(text),
			 "<?xml version=\"1.0\"?>\n<nmaprun><host><address addr=\"%s\" "
			 "addrtype=\"%s\"/><ports>\n<port protocol=\"tcp\" portid=\"80\"><state "
			 "state=\"open\"/></port></ports></host></nmaprun>\n",
			 addr, v6 ? "ipv6" : "ipv4");
		break;
	default: /* our JSON Lines */
		snprintf(text, sizeof(text),
			 "{\"proto\":\"tcp\",\"address\":\"198.18.0.1\",\"port\":22,\"state\":"
			 "\"open\"}\n\n{\"proto\":\"tcp\",\"address\":\"%s\",\"port\":80,"
			 "\"state\":\"open\"}\n",
			 addr);
		break;
	}
	struct pc_snapshot *snap = pc_snapshot_new("verify");
	struct pc_import_opts o = {.name = "claims", .allow_public = allow_public};
	struct pc_import_stats st = {0};
	int r = pc_import_buffer(snap, text, strlen(text), &o, &st, err);
	pc_import_stats_free(&st);
	pc_snapshot_free(snap);
	return r;
}

static void test_scope_every_command(void **state)
{
	(void)state;
	struct pc_error err;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *a = refused[i];
		struct pc_addr pa;
		assert_int_equal(pc_addr_parse(a, &pa), 0);
		memset(&err, 0, sizeof(err));
		if (through_targets(a, false, &err) != PC_ESCOPE)
			fail_msg("scan/audit accepted %s", a);
		/* inside a range too */
		char cidr[80];
		snprintf(cidr, sizeof(cidr), "%s/%d", a, pa.family == AF_INET ? 31 : 127);
		if (through_targets(cidr, false, &err) != PC_ESCOPE)
			fail_msg("scan/audit accepted %s", cidr);
		assert_int_equal(through_targets(a, true, &err), 0);
		for (int fmt = 0; fmt < 3; fmt++) {
			memset(&err, 0, sizeof(err));
			if (through_import(fmt, a, false, &err) != PC_ESCOPE)
				fail_msg("verify (format %d) accepted %s: %s", fmt, a, err.msg);
			assert_string_equal(err.file, "claims");
			assert_int_equal(err.line, 3);
			assert_non_null(strstr(err.msg, "not in an internal range"));
			assert_non_null(strstr(err.msg, "--allow-public"));
			if (through_import(fmt, a, true, &err) != 0)
				fail_msg("verify --allow-public (format %d) refused %s: %s", fmt, a,
					 err.msg);
		}
		struct pc_addr out;
		assert_int_equal(pc_targets_guard(&pa, &pa, &out), PC_ESCOPE);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		const char *a = accepted[i];
		if (through_targets(a, false, &err) != 0)
			fail_msg("scan/audit refused %s: %s", a, err.msg);
		for (int fmt = 0; fmt < 3; fmt++)
			if (through_import(fmt, a, false, &err) != 0)
				fail_msg("verify (format %d) refused %s: %s", fmt, a, err.msg);
	}
}

/* The guard walks a range block by block and names the first address out. */
static void test_guard_ranges(void **state)
{
	(void)state;
	struct pc_addr lo, hi, out;
	char buf[PC_ADDR_STRLEN];
	static const struct {
		const char *lo, *hi, *outside; /* NULL: all internal */
	} cases[] = {
		{"10.0.0.0", "10.255.255.255", NULL},
		{"10.255.255.255", "11.0.0.0", "11.0.0.0"},
		{"172.15.255.255", "172.16.0.1", "172.15.255.255"},
		{"198.18.0.0", "198.19.255.255", NULL},
		{"::ffff:10.0.0.0", "::ffff:10.255.255.255", NULL},
		{"::ffff:10.255.255.0", "::ffff:11.0.0.0", "::ffff:11.0.0.0"},
		{"fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
		{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::", "fe00::"},
		{"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
		{"2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2002::"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pc_addr_parse(cases[i].lo, &lo), 0);
		assert_int_equal(pc_addr_parse(cases[i].hi, &hi), 0);
		int r = pc_targets_guard(&lo, &hi, &out);
		if (!cases[i].outside) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, PC_ESCOPE);
			assert_string_equal(pc_addr_format(&out, buf, sizeof(buf)), cases[i].outside);
		}
	}
	/* mixed families, backwards */
	assert_int_equal(pc_addr_parse("10.0.0.1", &lo), 0);
	assert_int_equal(pc_addr_parse("fd00::1", &hi), 0);
	assert_int_equal(pc_targets_guard(&lo, &hi, &out), PC_EINVAL);
	assert_int_equal(pc_targets_guard(&hi, &hi, NULL), 0);
	assert_int_equal(pc_addr_parse("10.0.0.0", &hi), 0);
	assert_int_equal(pc_targets_guard(&lo, &hi, &out), PC_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specs),     cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_scope),     cmocka_unit_test(test_merge_exclude),
		cmocka_unit_test(test_names),     cmocka_unit_test(test_multicast),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_scope_every_command), cmocka_unit_test(test_guard_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
