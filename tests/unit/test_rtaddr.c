/*
 * test_rtaddr.c - the RTM_GETADDR parser (src/inventory/rtaddr.c) on a
 * hand-built dump reply: a point-to-point IPv4 address (IFA_ADDRESS is the
 * peer, IFA_LOCAL ours), an IPv6 one, a family we do not read, a message of
 * another dump, then NLMSG_DONE; the same reply cut at every byte (a prefix
 * of the records or an error, never a record that was not there); lying
 * lengths; an NLMSG_ERROR; and the scan coverage ranges the ledger stores
 * beside the addresses (src/scan/cover.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "core/model.h"
#include "inventory/rtaddr.h"
#include "scan/cover.h"
#include "scan/ports.h"
#include "scan/targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SEQ 0x6e660042u

struct reply {
	unsigned char b[1024];
	size_t len;
};

static void put_attr(struct reply *r, uint16_t type, const void *v, size_t n)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type};
	memcpy(r->b + r->len, &a, sizeof(a));
	memcpy(r->b + r->len + NLA_HDRLEN, v, n);
	r->len += NLA_ALIGN(NLA_HDRLEN + n);
}

/* Start a message; returns its offset, finished by end_msg. */
static size_t begin_msg(struct reply *r, uint16_t type, uint32_t seq, uint8_t family,
			uint8_t prefix, uint32_t ifindex)
{
	size_t at = r->len;
	struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_seq = seq, .nlmsg_flags = NLM_F_MULTI};
	memcpy(r->b + at, &h, sizeof(h));
	r->len += NLMSG_HDRLEN;
	struct ifaddrmsg ifa = {.ifa_family = family, .ifa_prefixlen = prefix, .ifa_index = ifindex};
	memcpy(r->b + r->len, &ifa, sizeof(ifa));
	r->len += NLMSG_ALIGN(sizeof(ifa));
	return at;
}

static void end_msg(struct reply *r, size_t at)
{
	uint32_t len = (uint32_t)(r->len - at);
	memcpy(r->b + at, &len, sizeof(len));
}

static void build(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	unsigned char v4peer[4] = {198, 18, 9, 1}, v4own[4] = {198, 18, 9, 2};
	unsigned char v6[16];
	inet_pton(AF_INET6, "fd00:198:18::9", v6);
	size_t m = begin_msg(r, RTM_NEWADDR, SEQ, AF_INET, 32, 3);
	put_attr(r, IFA_ADDRESS, v4peer, 4);
	put_attr(r, IFA_LOCAL, v4own, 4);
	put_attr(r, IFA_LABEL, "ptp0", 5);
	end_msg(r, m);
	m = begin_msg(r, RTM_NEWADDR, SEQ, AF_INET6, 64, 4);
	put_attr(r, IFA_ADDRESS, v6, 16);
	put_attr(r, IFA_LOCAL, v4own, 4); /* wrong length for the family: ignored */
	end_msg(r, m);
	m = begin_msg(r, RTM_NEWADDR, SEQ, AF_PACKET, 0, 5); /* not an IP family */
	put_attr(r, IFA_ADDRESS, v4own, 4);
	end_msg(r, m);
	m = begin_msg(r, RTM_NEWADDR, SEQ + 1, AF_INET, 24, 6); /* another dump */
	put_attr(r, IFA_ADDRESS, v4own, 4);
	end_msg(r, m);
	struct nlmsghdr done = {.nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = NLMSG_DONE,
				.nlmsg_seq = SEQ};
	memcpy(r->b + r->len, &done, sizeof(done));
	r->len += NLMSG_HDRLEN + 4;
}

struct got {
	struct pc_rtaddr r[8];
	size_t n;
};

static int collect(void *ctx, const struct pc_rtaddr *a)
{
	struct got *g = ctx;
	if (g->n < 8)
		g->r[g->n] = *a;
	g->n++;
	return 0;
}

static const char *fmt(const struct pc_addr *a, char *buf)
{
	return inet_ntop(a->family, a->bytes, buf, INET6_ADDRSTRLEN);
}

static void test_parse(void **state)
{
	(void)state;
	struct reply r;
	build(&r);
	struct got g = {0};
	bool done = false;
	assert_int_equal(pc_rtaddr_parse(r.b, r.len, SEQ, collect, &g, &done), 0);
	assert_true(done);
	assert_int_equal(g.n, 2);
	char a[INET6_ADDRSTRLEN];
	assert_string_equal(fmt(pc_rtaddr_own(&g.r[0]), a), "198.18.9.2");
	assert_string_equal(fmt(&g.r[0].address, a), "198.18.9.1");
	assert_int_equal(g.r[0].prefix_len, 32);
	assert_int_equal(g.r[0].ifindex, 3);
	assert_string_equal(fmt(pc_rtaddr_own(&g.r[1]), a), "fd00:198:18::9");
	assert_int_equal(g.r[1].local.family, 0);
	assert_int_equal(g.r[1].prefix_len, 64);
}

/* Every cut: 0 with a prefix of the records, or PC_EPARSE; read by a copy
 * of exactly cut bytes, so ASan sees a read past it. */
static void test_cut_at_every_byte(void **state)
{
	(void)state;
	struct reply r;
	build(&r);
	struct got full = {0};
	bool done = false;
	assert_int_equal(pc_rtaddr_parse(r.b, r.len, SEQ, collect, &full, &done), 0);
	for (size_t cut = 0; cut < r.len; cut++) {
		unsigned char *copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, r.b, cut);
		struct got g = {0};
		done = false;
		int e = pc_rtaddr_parse(copy, cut, SEQ, collect, &g, &done);
		assert_true(e == 0 || e == PC_EPARSE);
		assert_false(done); /* the DONE message is the last: never whole */
		assert_true(g.n <= full.n);
		for (size_t i = 0; i < g.n; i++)
			assert_memory_equal(&g.r[i], &full.r[i], sizeof(g.r[i]));
		free(copy);
	}
}

static void test_lying_lengths_and_errors(void **state)
{
	(void)state;
	struct reply r;
	build(&r);
	struct got g = {0};
	bool done = false;
	/* the first attribute claims more than its message holds */
	uint16_t big = 200;
	memcpy(r.b + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifaddrmsg)), &big, sizeof(big));
	assert_int_equal(pc_rtaddr_parse(r.b, r.len, SEQ, collect, &g, &done), PC_EPARSE);
	assert_int_equal(g.n, 0);
	/* a message shorter than its ifaddrmsg */
	memset(&r, 0, sizeof(r));
	struct nlmsghdr h = {.nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = RTM_NEWADDR,
			     .nlmsg_seq = SEQ};
	memcpy(r.b, &h, sizeof(h));
	assert_int_equal(pc_rtaddr_parse(r.b, NLMSG_HDRLEN + 4, SEQ, collect, &g, &done),
			 PC_EPARSE);
	/* the kernel's refusal is its errno */
	h.nlmsg_type = NLMSG_ERROR;
	h.nlmsg_len = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
	memcpy(r.b, &h, sizeof(h));
	int e = -EPERM;
	memcpy(r.b + NLMSG_HDRLEN, &e, sizeof(e));
	assert_int_equal(pc_rtaddr_parse(r.b, h.nlmsg_len, SEQ, collect, &g, &done), -EPERM);
	assert_int_equal(g.n, 0);
}

/* 198.18.1.0/24 minus .7, plus 198.18.3.1, ports 22,80-82,U:53: four
 * address ranges (.0-.6, .8-.255, 3.1), then TCP 22, 80-82, UDP 53. */
static void test_cover(void **state)
{
	(void)state;
	struct pc_targets *t = pc_targets_new();
	struct pc_ports *p = pc_ports_new();
	struct pc_error err = {0};
	assert_int_equal(pc_targets_add(t, "198.18.1.0/24", &err), 0);
	assert_int_equal(pc_targets_add(t, "198.18.3.1", &err), 0);
	assert_int_equal(pc_targets_exclude(t, "198.18.1.7", &err), 0);
	assert_int_equal(pc_targets_finish(t, false, &err), 0);
	assert_int_equal(pc_ports_add_spec(p, "22,80-82,U:53", &err), 0);
	assert_int_equal(pc_ports_seal(p), 0);
	struct pc_snapshot *snap = pc_snapshot_new("test");
	assert_non_null(snap);
	assert_int_equal(pc_scan_cover_record(snap, t, p, 2, 4), 0);
	const struct pc_scan_stats *st = &snap->scan;
	assert_int_equal(st->n_cover, 6);
	assert_int_equal(st->shard_index, 2);
	assert_int_equal(st->shard_count, 4);
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	assert_string_equal(fmt(&st->cover[0].first, a), "198.18.1.0");
	assert_string_equal(fmt(&st->cover[0].last, b), "198.18.1.6");
	assert_string_equal(fmt(&st->cover[1].first, a), "198.18.1.8");
	assert_string_equal(fmt(&st->cover[1].last, b), "198.18.1.255");
	assert_string_equal(fmt(&st->cover[2].first, a), "198.18.3.1");
	assert_string_equal(fmt(&st->cover[2].last, b), "198.18.3.1");
	assert_int_equal(st->cover[3].kind, PC_COVER_TCP);
	assert_int_equal(st->cover[3].port_first, 22);
	assert_int_equal(st->cover[4].port_first, 80);
	assert_int_equal(st->cover[4].port_last, 82);
	assert_int_equal(st->cover[5].kind, PC_COVER_UDP);
	struct pc_addr x;
	pc_addr_parse("198.18.1.9", &x);
	assert_true(pc_scan_cover_has(st->cover, st->n_cover, &x, PC_PROTO_TCP, 81));
	assert_false(pc_scan_cover_has(st->cover, st->n_cover, &x, PC_PROTO_TCP, 83));
	assert_true(pc_scan_cover_has(st->cover, st->n_cover, &x, PC_PROTO_UDP, 53));
	assert_false(pc_scan_cover_has(st->cover, st->n_cover, &x, PC_PROTO_UDP, 22));
	pc_addr_parse("198.18.1.7", &x);
	assert_false(pc_scan_cover_has(st->cover, st->n_cover, &x, PC_PROTO_TCP, 22));
	pc_addr_parse("198.18.2.1", &x);
	assert_false(pc_scan_cover_has(st->cover, st->n_cover, &x, PC_PROTO_TCP, 22));
	pc_snapshot_free(snap);
	pc_targets_free(t);
	pc_ports_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_cut_at_every_byte),
	    cmocka_unit_test(test_lying_lengths_and_errors),
	    cmocka_unit_test(test_cover),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
