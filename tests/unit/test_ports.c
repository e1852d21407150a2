/*
 * test_ports.c - the -p syntax: good and bad specs, protocol prefixes,
 * overlaps counted once, and our ranked top-ports list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scan/ports.h"

#include <string.h>

static struct pc_ports *parse_ok(const char *spec)
{
	struct pc_ports *p = pc_ports_new();
	struct pc_error err = {0};
	assert_non_null(p);
	int r = pc_ports_add_spec(p, spec, &err);
	if (r != 0)
		fail_msg("'%s': %s", spec, err.msg);
	return p;
}

static void bad(const char *spec, const char *needle)
{
	struct pc_ports *p = pc_ports_new();
	struct pc_error err = {0};
	assert_int_equal(pc_ports_add_spec(p, spec, &err), PC_EINVAL);
	if (!strstr(err.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", spec, err.msg, needle);
	/* a failed spec leaves the list unchanged */
	assert_int_equal(pc_ports_count(p, PC_PROTO_TCP) + pc_ports_count(p, PC_PROTO_UDP), 0);
	pc_ports_free(p);
}

static void test_good(void **state)
{
	(void)state;
	struct pc_ports *p = parse_ok("22,80,8000-8100,U:53,T:443");
	assert_int_equal(pc_ports_count(p, PC_PROTO_TCP), 2 + 101 + 1);
	assert_int_equal(pc_ports_count(p, PC_PROTO_UDP), 1);
	assert_true(pc_ports_has(p, PC_PROTO_UDP, 53));
	assert_false(pc_ports_has(p, PC_PROTO_TCP, 53));
	assert_true(pc_ports_has(p, PC_PROTO_TCP, 443));
	assert_int_equal(pc_ports_at(p, PC_PROTO_TCP, 0), 22);
	assert_int_equal(pc_ports_at(p, PC_PROTO_TCP, 1), 80);
	assert_int_equal(pc_ports_at(p, PC_PROTO_TCP, 103), 8100);
	size_t i;
	assert_true(pc_ports_index(p, PC_PROTO_TCP, 8000, &i));
	assert_int_equal(i, 3);
	assert_false(pc_ports_index(p, PC_PROTO_TCP, 8101, &i));
	pc_ports_free(p);

	p = parse_ok("-");
	assert_int_equal(pc_ports_count(p, PC_PROTO_TCP), 65535);
	assert_int_equal(pc_ports_at(p, PC_PROTO_TCP, 0), 1);
	assert_int_equal(pc_ports_at(p, PC_PROTO_TCP, 65534), 65535);
	pc_ports_free(p);

	/* overlaps and repeats count once */
	p = parse_ok("80,80,1-100,90-110, 443");
	assert_int_equal(pc_ports_count(p, PC_PROTO_TCP), 111);
	pc_ports_free(p);

	p = parse_ok("-10,65530-,u:1-3,t:20");
	assert_int_equal(pc_ports_count(p, PC_PROTO_TCP), 10 + 6 + 1);
	assert_int_equal(pc_ports_count(p, PC_PROTO_UDP), 3);
	pc_ports_free(p);

	/* a prefix sticks to the items after it, as in nmap */
	p = parse_ok("U:53,161,T:22");
	assert_int_equal(pc_ports_count(p, PC_PROTO_UDP), 2);
	assert_int_equal(pc_ports_count(p, PC_PROTO_TCP), 1);
	pc_ports_free(p);
}

static void test_bad(void **state)
{
	(void)state;
	bad("", "empty");
	bad("0", "port 0");
	bad("65536", "1-65535");
	bad("80,", "empty item");
	bad(",80", "empty item");
	bad("100-90", "backwards");
	bad("X:80", "T: or U:");
	bad("80x", "1-65535");
	bad("1-2-3", "1-65535");
	bad("http", "1-65535");
	bad("U:", "empty item");
	bad("99999999999999999999", "1-65535");
	bad("22,80,foo", "'foo'");
}

static void test_top(void **state)
{
	(void)state;
	struct pc_error err = {0};
	assert_true(pc_top_tcp_ports_count >= 300);
	assert_true(pc_top_udp_ports_count >= 20);
	/* no repeats in the ranked lists */
	for (size_t i = 0; i < pc_top_tcp_ports_count; i++)
		for (size_t k = i + 1; k < pc_top_tcp_ports_count; k++)
			assert_int_not_equal(pc_top_tcp_ports[i], pc_top_tcp_ports[k]);
	assert_int_equal(pc_top_tcp_ports[0], 22);
	struct pc_ports *p = pc_ports_new();
	assert_int_equal(pc_ports_add_top(p, 100, &err), 0);
	assert_int_equal(pc_ports_count(p, PC_PROTO_TCP), 100);
	for (int port = 0; port < 4; port++)
		assert_true(pc_ports_has(p, PC_PROTO_TCP, (uint16_t[]){22, 80, 443, 6379}[port]));
	assert_int_equal(pc_ports_add_top(p, 0, &err), PC_EINVAL);
	assert_int_equal(pc_ports_add_top(p, 60000, &err), PC_EINVAL);
	assert_non_null(strstr(err.msg, "--top-ports"));
	pc_ports_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_top),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
