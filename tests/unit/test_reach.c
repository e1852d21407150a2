/*
 * test_reach.c - the live check's decisions that need no packet: which
 * endpoints it checks, and what it does with listeners it must not or
 * cannot check (another namespace without a namespace set, an unknown
 * namespace, IPv6 link-local binds). Nothing here makes a connection: every
 * listener below is one the check must skip. The connecting paths are
 * tested in the lab (tests/e2e/audit.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe/reach.h"

#include <string.h>
#include <sys/stat.h>

static uint64_t own_netns(void)
{
	struct stat st;
	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	return (uint64_t)st.st_ino;
}

static struct pc_endpoint *add(struct pc_snapshot *s, enum pc_proto proto, enum pc_state state,
			       const char *addr, uint16_t port, uint64_t ns)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	assert_non_null(e);
	e->proto = proto;
	e->state = state;
	assert_int_equal(pc_addr_parse(addr, &e->addr), 0);
	e->port = port;
	e->netns.inode = ns;
	return e;
}

static size_t warnings_with(const struct pc_snapshot *s, const char *needle)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_warnings; i++)
		n += strstr(s->warnings[i], needle) != NULL;
	return n;
}

/* Without a namespace set, a listener of another namespace is never checked
 * from ours (that would test the wrong socket): no verdict, one warning for
 * all of them. */
static void test_foreign_namespace(void **state)
{
	(void)state;
	uint64_t self = own_netns();
	struct pc_snapshot *s = pc_snapshot_new("test");
	add(s, PC_PROTO_TCP, PC_STATE_LISTEN, "0.0.0.0", 8001, self + 1);
	add(s, PC_PROTO_TCP, PC_STATE_LISTEN, "198.18.1.1", 8002, self + 2);
	add(s, PC_PROTO_TCP, PC_STATE_LISTEN, "198.18.1.1", 8003, 0); /* unknown */
	struct pc_reach_opts ro = {.timeout_ms = 100, .parallel = 2};
	struct pc_error err = {0};
	assert_int_equal(pc_reach_verify(s, NULL, &ro, &err), 0);
	for (size_t i = 0; i < s->n_endpoints; i++) {
		assert_false(s->endpoints[i].verified.done);
		assert_null(s->endpoints[i].verified.error);
	}
	assert_int_equal(s->n_warnings, 1);
	assert_int_equal(warnings_with(s, "skipped for 3 listeners"), 1);
	pc_snapshot_free(s);
}

/* fe80::/10 needs the interface as scope id, which the model lacks. */
static void test_link_local(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	add(s, PC_PROTO_TCP, PC_STATE_LISTEN, "fe80::1", 22, own_netns());
	struct pc_error err = {0};
	assert_int_equal(pc_reach_verify(s, NULL, NULL, &err), 0);
	assert_false(s->endpoints[0].verified.done);
	assert_int_equal(warnings_with(s, "link-local"), 1);
	pc_snapshot_free(s);
}

/* Only host TCP listeners are checked; the rest keep verified untouched. */
static void test_not_checked(void **state)
{
	(void)state;
	uint64_t self = own_netns();
	struct pc_snapshot *s = pc_snapshot_new("test");
	add(s, PC_PROTO_UDP, PC_STATE_LISTEN, "0.0.0.0", 53, self);
	struct pc_endpoint *e = add(s, PC_PROTO_TCP, PC_STATE_ESTABLISHED, "198.18.0.1", 40000, self);
	e->has_peer = true;
	pc_addr_parse("198.18.0.2", &e->peer_addr);
	e->peer_port = 80;
	e = add(s, PC_PROTO_TCP, PC_STATE_OPEN, "198.18.0.2", 80, 0);
	e->source = PC_SOURCE_SCAN;
	e->verified.rtt_ms = 12.5; /* must survive */
	struct pc_error err = {0};
	assert_int_equal(pc_reach_verify(s, NULL, NULL, &err), 0);
	for (size_t i = 0; i < s->n_endpoints; i++)
		assert_false(s->endpoints[i].verified.done);
	assert_true(s->endpoints[2].verified.rtt_ms == 12.5);
	assert_int_equal(s->n_warnings, 0);
	pc_snapshot_free(s);
}

static void test_empty(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	struct pc_reach_opts ro = {0}; /* defaults */
	assert_int_equal(pc_reach_verify(s, NULL, &ro, NULL), 0);
	assert_int_equal(s->n_warnings, 0);
	pc_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_foreign_namespace),
		cmocka_unit_test(test_link_local),
		cmocka_unit_test(test_not_checked),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
