/*
 * test_core.c - addresses, arena, capped buffers, JSON escaping of hostile
 * strings, terminal sanitising, atomic file writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/addr.h"
#include "core/atomicfile.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/json.h"
#include "core/model.h"
#include "core/text.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void addr_roundtrip(const char *in, const char *out)
{
	struct pc_addr a;
	char buf[PC_ADDR_STRLEN];
	assert_int_equal(pc_addr_parse(in, &a), 0);
	assert_string_equal(pc_addr_format(&a, buf, sizeof(buf)), out);
}

static void test_addr_format(void **state)
{
	(void)state;
	addr_roundtrip("198.18.0.1", "198.18.0.1");
	addr_roundtrip("0.0.0.0", "0.0.0.0");
	addr_roundtrip("::", "::");
	addr_roundtrip("fd00:198:18:0:0:0:0:1", "fd00:198:18::1");
	addr_roundtrip("::ffff:127.0.0.1", "::ffff:127.0.0.1");
	struct pc_addr a;
	assert_int_equal(pc_addr_parse("198.18.0.256", &a), PC_EINVAL);
	assert_int_equal(pc_addr_parse("", &a), PC_EINVAL);
	assert_int_equal(pc_addr_parse("1.2.3", &a), PC_EINVAL);
	assert_int_equal(pc_addr_parse(":::", &a), PC_EINVAL);
}

static enum pc_bind bind_of(const char *s)
{
	struct pc_addr a;
	assert_int_equal(pc_addr_parse(s, &a), 0);
	return pc_bind_of(&a);
}

static void test_addr_classes(void **state)
{
	(void)state;
	assert_int_equal(bind_of("0.0.0.0"), PC_BIND_ANY);
	assert_int_equal(bind_of("::"), PC_BIND_ANY);
	assert_int_equal(bind_of("127.0.0.53"), PC_BIND_LOOPBACK);
	assert_int_equal(bind_of("::1"), PC_BIND_LOOPBACK);
	assert_int_equal(bind_of("::ffff:127.0.0.1"), PC_BIND_LOOPBACK);
	assert_int_equal(bind_of("198.18.0.1"), PC_BIND_SPECIFIC);
	assert_int_equal(bind_of("fe80::1"), PC_BIND_SPECIFIC);

	const char *internal[] = {"10.1.2.3",    "172.16.0.1",  "172.31.255.255", "192.168.1.1",
				  "100.64.0.1",  "198.18.0.1",  "198.19.255.255", "169.254.1.1",
				  "127.0.0.1",   "fd00::1",     "fc00::1",        "fe80::1",
				  "::1",         "::ffff:10.0.0.1"};
	const char *external[] = {"8.8.8.8",    "172.32.0.1", "198.20.0.1", "100.128.0.1",
				  "11.0.0.1",   "2001:db8::1", "fec0::1",   "::ffff:8.8.8.8",
				  "192.169.0.1",
				  /* IPv6 forms that carry an IPv4 address: 6to4 and NAT64
				   * are refused whatever they embed (addr.c says why) */
				  "2002:808:808::1", "2002:c612:1::1", "2002:a00:1::1",
				  "64:ff9b::8.8.8.8", "64:ff9b::10.0.0.1", "64:ff9b:1::808:808",
				  "64:ff9b:1:a00::1", "::8.8.8.8", "::10.0.0.1", "2001:0:808:808::1"};
	struct pc_addr a;
	for (size_t i = 0; i < sizeof(internal) / sizeof(*internal); i++) {
		assert_int_equal(pc_addr_parse(internal[i], &a), 0);
		if (!pc_addr_is_internal(&a))
			fail_msg("%s should be internal", internal[i]);
	}
	for (size_t i = 0; i < sizeof(external) / sizeof(*external); i++) {
		assert_int_equal(pc_addr_parse(external[i], &a), 0);
		if (pc_addr_is_internal(&a))
			fail_msg("%s should not be internal", external[i]);
	}
	assert_int_equal(pc_addr_parse("224.0.0.251", &a), 0);
	assert_true(pc_addr_is_multicast(&a));
	assert_int_equal(pc_addr_parse("ff02::fb", &a), 0);
	assert_true(pc_addr_is_multicast(&a));
}

static void test_arena(void **state)
{
	(void)state;
	struct pc_arena ar;
	pc_arena_init(&ar);
	char *s = pc_arena_strdup(&ar, "hello");
	assert_string_equal(s, "hello");
	char *big = pc_arena_alloc(&ar, 1 << 20);
	assert_non_null(big);
	big[(1 << 20) - 1] = 1;
	char *t = pc_arena_printf(&ar, "%d-%s", 42, "x");
	assert_string_equal(t, "42-x");
	assert_string_equal(s, "hello");
	for (int i = 0; i < 10000; i++)
		assert_non_null(pc_arena_alloc(&ar, 100));
	assert_null(pc_arena_alloc(&ar, SIZE_MAX));
	assert_null(pc_arena_strdup(&ar, NULL));
	pc_arena_free(&ar);
	pc_arena_free(&ar); /* twice is fine */
}

static void test_buf_cap(void **state)
{
	(void)state;
	struct pc_buf b;
	pc_buf_init(&b, 10);
	assert_int_equal(pc_buf_addstr(&b, "0123456789"), 0);
	assert_int_equal(pc_buf_addch(&b, 'x'), PC_ETOOBIG);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	pc_buf_reset(&b);
	assert_int_equal(pc_buf_printf(&b, "%s", "too long for ten"), PC_ETOOBIG);
	assert_int_equal(pc_buf_printf(&b, "%d", 12345), 0);
	assert_string_equal(b.data, "12345");
	pc_buf_free(&b);
	pc_buf_free(&b);
}

static void esc(const char *in, size_t len, const char *want)
{
	struct pc_buf b;
	pc_buf_init(&b, 4096);
	assert_int_equal(pc_json_escape(&b, in, len), 0);
	assert_string_equal(b.data, want);
	pc_buf_free(&b);
}

static void test_json_escape_hostile(void **state)
{
	(void)state;
	esc("plain", 5, "\"plain\"");
	esc("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	esc("nul\0x", 5, "\"nul\\u0000x\"");
	esc("\x1b[31mred", 8, "\"\\u001b[31mred\"");
	esc("tab\tnl\ncr\r", 10, "\"tab\\tnl\\ncr\\r\"");
	esc("\x7f", 1, "\"\\u007f\"");
	/* invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate */
	esc("\x80", 1, "\"\\ufffd\"");
	esc("\xc3", 1, "\"\\ufffd\"");
	esc("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");
	esc("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
	esc("\xf5\x80\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* valid multi-byte passes through */
	esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

static void block_is(const char *in, const char *first, const char *last)
{
	struct pc_addr a, f, l;
	char b1[PC_ADDR_STRLEN], b2[PC_ADDR_STRLEN];
	assert_int_equal(pc_addr_parse(in, &a), 0);
	assert_true(pc_addr_internal_block(&a, &f, &l));
	assert_string_equal(pc_addr_format(&f, b1, sizeof(b1)), first);
	assert_string_equal(pc_addr_format(&l, b2, sizeof(b2)), last);
}

static void test_addr_internal_block(void **state)
{
	(void)state;
	block_is("10.1.2.3", "10.0.0.0", "10.255.255.255");
	block_is("100.100.0.1", "100.64.0.0", "100.127.255.255");
	block_is("172.20.1.1", "172.16.0.0", "172.31.255.255");
	block_is("198.19.3.4", "198.18.0.0", "198.19.255.255");
	block_is("::ffff:192.168.3.4", "::ffff:192.168.0.0", "::ffff:192.168.255.255");
	block_is("::1", "::1", "::1");
	block_is("fd00:198:18::7", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	block_is("fe80::1", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	struct pc_addr a, f, l;
	assert_int_equal(pc_addr_parse("8.8.8.8", &a), 0);
	assert_false(pc_addr_internal_block(&a, &f, &l));
	memset(&a, 0, sizeof(a));
	assert_false(pc_addr_internal_block(&a, &f, &l)); /* no family */
}

/* One sample of each class the sanitizer must replace, inside a name. */
static void test_text_sanitize_classes(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"a\x01" "b\tc\nd\re", "a?b?c?d?e"},          /* C0 */
		{"a\x7f" "b", "a?b"},                           /* DEL */
		{"a\xc2\x80" "b\xc2\x9b" "c\xc2\x9f" "d", "a?b?c?d"}, /* C1 U+0080..9F */
		{"a\xc2\xa0" "b", "a\xc2\xa0" "b"},             /* U+00A0 stays */
		{"x\xe2\x80\xaa" "1\xe2\x80\xab" "2\xe2\x80\xac" "3\xe2\x80\xad" "4\xe2\x80\xae" "5",
		 "x?1?2?3?4?5"},                                /* LRE RLE PDF LRO RLO */
		{"x\xe2\x81\xa6" "1\xe2\x81\xa7" "2\xe2\x81\xa8" "3\xe2\x81\xa9" "4", "x?1?2?3?4"},
		{"x\xe2\x80\x8e" "1\xe2\x80\x8f" "2\xd8\x9c" "3", "x?1?2?3"}, /* LRM RLM ALM */
		{"a\xe2\x80\xa8" "b\xe2\x80\xa9" "c", "a?b?c"},  /* U+2028, U+2029 */
		{"a\xe2\x80\xa9", "a?"},
		{"a\xe2\x80\xa7" "b", "a\xe2\x80\xa7" "b"},      /* U+2027 stays */
		{"a\xc0\xaf" "b", "a??b"},                      /* overlong '/' */
		{"a\xed\xa0\x80" "b", "a???b"},                /* surrogate */
		{"a\xe2\x80" "b", "a??b"},                      /* truncated sequence */
		{"a\xf4\x90\x80\x80", "a????"},               /* above U+10FFFF */
		{"\xf0\x9f\x98\x80 ok", "\xf0\x9f\x98\x80 ok"},   /* emoji stays */
	};
	char out[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(pc_text_sanitize(cases[i].in, out, sizeof(out)), cases[i].out);
}

static void test_text_sanitize(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(pc_text_sanitize("ok", out, sizeof(out)), "ok");
	assert_string_equal(pc_text_sanitize("\x1b]0;pwn\x07", out, sizeof(out)), "?]0;pwn?");
	assert_string_equal(pc_text_sanitize("\xc2\x9b" "31m", out, sizeof(out)), "?31m");
	assert_string_equal(pc_text_sanitize("\xff\xfe", out, sizeof(out)), "??");
	assert_string_equal(pc_text_sanitize("caf\xc3\xa9", out, sizeof(out)), "caf\xc3\xa9");
	char tiny[4];
	assert_string_equal(pc_text_sanitize("abcdef", tiny, sizeof(tiny)), "abc");
	assert_string_equal(pc_text_sanitize("ab\xc3\xa9", tiny, sizeof(tiny)), "ab?");
	char five[5];
	/* a character that does not fit ends the copy: nothing after it */
	assert_string_equal(pc_text_sanitize("a\xe2\x82\xac" "bc", five, sizeof(five)),
			    "a\xe2\x82\xac");
	assert_string_equal(pc_text_sanitize("ab\xe2\x82\xac" "c", five, sizeof(five)), "ab?");
	assert_string_equal(pc_text_sanitize(NULL, out, sizeof(out)), "");
}

/* ---- atomic files ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	static char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Entries of dir other than . and .. */
static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_atomicfile(void **state)
{
	(void)state;
	char dir[] = "/tmp/pc_test_atomic.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char target[256], victim[256], link[256];
	snprintf(target, sizeof(target), "%s/report.json", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link, sizeof(link), "%s/report.json.tmp", dir);
	struct pc_error err = {0};

	/* a whole write, then a replacement */
	assert_int_equal(pc_atomicfile_write(target, "one\n", 4, 0644, &err), 0);
	assert_string_equal(slurp(target), "one\n");
	assert_int_equal(pc_atomicfile_write(target, "two\n", 4, 0644, &err), 0);
	assert_string_equal(slurp(target), "two\n");
	assert_int_equal(entries(dir), 1);

	/* a planted link at the target's name is replaced, not followed; one
	 * at an old-style temporary name is never opened. Links are planted
	 * where others can write: a sticky, world-writable directory like /tmp */
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(pc_atomicfile_write(victim, "precious\n", 9, 0644, &err), 0);
	assert_int_equal(unlink(target), 0);
	assert_int_equal(symlink(victim, target), 0);
	assert_int_equal(symlink(victim, link), 0);
	struct pc_atomicfile af;
	assert_int_equal(pc_atomicfile_open(&af, target, 0600, &err), 0);
	FILE *f = pc_atomicfile_stream(&af, NULL, 0);
	assert_non_null(f);
	fputs("three\n", f);
	assert_int_equal(pc_atomicfile_commit(&af, &err), 0);
	struct stat st;
	assert_int_equal(lstat(target, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600 & ~0u);
	assert_string_equal(slurp(target), "three\n");
	assert_string_equal(slurp(victim), "precious\n");

	/* abort: the target stays as it was and no temporary is left */
	assert_int_equal(pc_atomicfile_open(&af, target, 0644, &err), 0);
	assert_int_equal(write(af.fd, "junk", 4), 4);
	assert_int_equal(entries(dir), 4);
	pc_atomicfile_abort(&af);
	pc_atomicfile_abort(&af); /* twice is harmless */
	assert_int_equal(entries(dir), 3);
	assert_string_equal(slurp(target), "three\n");

	/* a directory at the target's name is refused and leaves no temporary */
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/adir", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_true(pc_atomicfile_write(sub, "x", 1, 0644, &err) < 0);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(entries(dir), 4);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_true(pc_atomicfile_write(sub, "x", 1, 0644, &err) < 0);
	assert_int_equal(entries(dir), 4);

	/* in a directory only we can change, a link is the owner's and is
	 * followed; a device is written in place (a rename over /dev/null
	 * would make it a plain file) */
	char real[256], alink[256];
	snprintf(real, sizeof(real), "%s/real", dir);
	snprintf(alink, sizeof(alink), "%s/alink", dir);
	assert_int_equal(symlink(real, alink), 0);
	assert_int_equal(pc_atomicfile_write(real, "old\n", 4, 0644, &err), 0);
	assert_int_equal(pc_atomicfile_write(alink, "new\n", 4, 0644, &err), 0);
	assert_int_equal(lstat(alink, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(slurp(real), "new\n");
	unlink(alink);
	unlink(real);
	if (geteuid() == 0) {
		assert_int_equal(pc_atomicfile_write("/dev/null", "x", 1, 0644, &err), 0);
		assert_int_equal(lstat("/dev/null", &st), 0);
		assert_true(S_ISCHR(st.st_mode));
	}
	/* bad names and missing directories are errors, not crashes */
	assert_int_equal(pc_atomicfile_write("", "x", 1, 0644, &err), PC_EINVAL);
	assert_int_equal(pc_atomicfile_write("/tmp/", "x", 1, 0644, &err), PC_EINVAL);
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nope/file", dir);
	assert_int_equal(pc_atomicfile_write(missing, "x", 1, 0644, &err), -ENOENT);

	/* clean up */
	rmdir(sub);
	unlink(target);
	unlink(victim);
	unlink(link);
	assert_int_equal(rmdir(dir), 0);
}

static void test_error_format(void **state)
{
	(void)state;
	struct pc_error e;
	char out[256];
	pc_error_set_at(&e, PC_EPARSE, "policy.yaml", 3, 7, "unknown key '%s'", "bnid");
	pc_error_format(&e, out, sizeof(out));
	assert_string_equal(out, "policy.yaml:3:7: unknown key 'bnid'");
	assert_int_equal(pc_error_set(NULL, PC_EINVAL, "x"), PC_EINVAL);
	pc_error_set(&e, PC_EINVAL, "bad port '%s'", "70000");
	pc_error_format(&e, out, sizeof(out));
	assert_string_equal(out, "bad port '70000'");
	assert_string_equal(pc_strerror(-ENOENT), strerror(ENOENT));
}

static void test_snapshot(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	assert_non_null(s);
	for (int i = 0; i < 1000; i++) {
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		assert_non_null(e);
		pc_addr_from_v4(&e->addr, 0xc6120000u + (uint32_t)(999 - i));
		e->port = (uint16_t)(i % 7);
	}
	assert_int_equal(s->n_endpoints, 1000);
	assert_true(s->endpoints[0].rtt_ms < 0);
	pc_snapshot_sort(s);
	for (size_t i = 1; i < s->n_endpoints; i++)
		assert_true(pc_addr_compare(&s->endpoints[i - 1].addr, &s->endpoints[i].addr) <= 0);
	pc_snapshot_warn(s, "no access to %s", "/proc/1/fd");
	pc_snapshot_warn(s, "no access to %s", "/proc/1/fd");
	assert_int_equal(s->n_warnings, 1);
	char t[40];
	assert_string_equal(pc_format_time(1700000000123, t, sizeof(t)), "2023-11-14T22:13:20.123Z");
	pc_snapshot_free(s);
	pc_snapshot_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_format),   cmocka_unit_test(test_addr_classes),
		cmocka_unit_test(test_arena),         cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_json_escape_hostile), cmocka_unit_test(test_text_sanitize),
		cmocka_unit_test(test_text_sanitize_classes), cmocka_unit_test(test_addr_internal_block),
		cmocka_unit_test(test_atomicfile),
		cmocka_unit_test(test_error_format),  cmocka_unit_test(test_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
