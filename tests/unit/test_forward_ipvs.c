/*
 * test_forward_ipvs.c - the IPVS generic netlink parsers (ipvs.c) on
 * hand-built replies laid out as the kernel's ip_vs_ctl.c writes them
 * (this machine's kernel has no IPVS, so no capture could be made): a
 * family lookup, its ENOENT, a service dump with an address service and a
 * firewall-mark service, a real-server dump; each cut at every byte, and
 * lengths that lie.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "inventory/ipvs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define FAMILY 0x1d
#define SEQ 42

struct msg {
	unsigned char b[1024];
	size_t len;   /* of the whole buffer */
	size_t start; /* of the current message */
	size_t nest[4];
	int depth;
};

static void put(struct msg *m, uint16_t type, const void *data, size_t n)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type};
	assert_true(m->len + NLA_ALIGN(a.nla_len) <= sizeof(m->b));
	memcpy(m->b + m->len, &a, sizeof(a));
	memcpy(m->b + m->len + NLA_HDRLEN, data, n);
	m->len += NLA_ALIGN(a.nla_len);
}

static void nest(struct msg *m, uint16_t type)
{
	m->nest[m->depth++] = m->len;
	struct nlattr a = {.nla_len = NLA_HDRLEN, .nla_type = type | NLA_F_NESTED};
	memcpy(m->b + m->len, &a, sizeof(a));
	m->len += NLA_HDRLEN;
}

static void unnest(struct msg *m)
{
	size_t at = m->nest[--m->depth];
	uint16_t len = (uint16_t)(m->len - at);
	memcpy(m->b + at, &len, 2);
}

static void begin(struct msg *m, uint16_t type, uint8_t cmd)
{
	m->start = m->len;
	struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_seq = SEQ, .nlmsg_flags = NLM_F_MULTI};
	memcpy(m->b + m->len, &h, sizeof(h));
	m->len += NLMSG_HDRLEN;
	struct genlmsghdr g = {.cmd = cmd, .version = 1};
	memcpy(m->b + m->len, &g, sizeof(g));
	m->len += NLMSG_ALIGN(sizeof(g));
}

static void end(struct msg *m)
{
	uint32_t len = (uint32_t)(m->len - m->start);
	memcpy(m->b + m->start, &len, 4);
}

static void done(struct msg *m)
{
	struct nlmsghdr h = {
	    .nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = NLMSG_DONE, .nlmsg_seq = SEQ};
	memcpy(m->b + m->len, &h, sizeof(h));
	memset(m->b + m->len + NLMSG_HDRLEN, 0, 4);
	m->len += NLMSG_HDRLEN + 4;
}

static void service(struct msg *m, uint16_t af, uint16_t proto, const char *addr, uint16_t port,
                    uint32_t fwmark, const char *sched)
{
	begin(m, FAMILY, IPVS_CMD_NEW_SERVICE);
	nest(m, IPVS_CMD_ATTR_SERVICE);
	put(m, IPVS_SVC_ATTR_AF, &af, 2);
	if (fwmark) {
		put(m, IPVS_SVC_ATTR_FWMARK, &fwmark, 4);
	} else {
		unsigned char a[16] = {0};
		assert_int_equal(inet_pton(af, addr, a), 1);
		uint16_t p = htons(port);
		put(m, IPVS_SVC_ATTR_PROTOCOL, &proto, 2);
		put(m, IPVS_SVC_ATTR_ADDR, a, 16);
		put(m, IPVS_SVC_ATTR_PORT, &p, 2);
	}
	put(m, IPVS_SVC_ATTR_SCHED_NAME, sched, strlen(sched) + 1);
	unnest(m);
	end(m);
}

static void dest(struct msg *m, const char *addr, uint16_t port, uint32_t weight)
{
	begin(m, FAMILY, IPVS_CMD_NEW_DEST);
	nest(m, IPVS_CMD_ATTR_DEST);
	unsigned char a[16] = {0};
	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	uint16_t p = htons(port), af = AF_INET;
	uint32_t fwd = IP_VS_CONN_F_MASQ;
	put(m, IPVS_DEST_ATTR_ADDR, a, 16);
	put(m, IPVS_DEST_ATTR_PORT, &p, 2);
	put(m, IPVS_DEST_ATTR_FWD_METHOD, &fwd, 4);
	put(m, IPVS_DEST_ATTR_WEIGHT, &weight, 4);
	put(m, IPVS_DEST_ATTR_ADDR_FAMILY, &af, 2);
	unnest(m);
	end(m);
}

struct got {
	struct pc_ipvs_service s[4];
	struct pc_ipvs_dest d[4];
	size_t ns, nd;
};

static int on_svc(void *ctx, const struct pc_ipvs_service *s)
{
	struct got *g = ctx;
	if (g->ns < 4)
		g->s[g->ns] = *s;
	g->ns++;
	return 0;
}

static int on_dest(void *ctx, const struct pc_ipvs_dest *d)
{
	struct got *g = ctx;
	if (g->nd < 4)
		g->d[g->nd] = *d;
	g->nd++;
	return 0;
}

static void test_family(void **state)
{
	(void)state;
	struct msg m = {0};
	begin(&m, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY);
	put(&m, CTRL_ATTR_FAMILY_NAME, "IPVS", 5);
	uint16_t id = FAMILY;
	put(&m, CTRL_ATTR_FAMILY_ID, &id, 2);
	end(&m);
	uint16_t got = 0;
	assert_int_equal(pc_ipvs_parse_family(m.b, m.len, SEQ, &got), 0);
	assert_int_equal(got, FAMILY);
	/* the kernel without IPVS: NLMSG_ERROR -ENOENT */
	struct {
		struct nlmsghdr h;
		int err;
	} e = {{.nlmsg_len = sizeof(e), .nlmsg_type = NLMSG_ERROR, .nlmsg_seq = SEQ}, -ENOENT};
	assert_int_equal(pc_ipvs_parse_family(&e, sizeof(e), SEQ, &got), -ENOENT);
}

static void build_services(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	service(m, AF_INET, IPPROTO_TCP, "198.18.80.1", 80, 0, "wrr");
	service(m, AF_INET, 0, NULL, 0, 7, "rr");
	done(m);
}

static void build_dests(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	dest(m, "198.18.81.2", 8080, 1);
	dest(m, "198.18.82.2", 8080, 3);
	done(m);
}

static void test_services_and_dests(void **state)
{
	(void)state;
	struct msg m;
	build_services(&m);
	struct got g = {0};
	struct pc_nl_status st = {0};
	assert_int_equal(pc_ipvs_parse_services(m.b, m.len, SEQ, FAMILY, on_svc, &g, &st), 0);
	assert_true(st.done);
	assert_int_equal(g.ns, 2);
	char a[64];
	assert_int_equal(g.s[0].af, AF_INET);
	assert_int_equal(g.s[0].protocol, IPPROTO_TCP);
	assert_string_equal(inet_ntop(AF_INET, g.s[0].addr.bytes, a, sizeof(a)), "198.18.80.1");
	assert_int_equal(g.s[0].port, 80);
	assert_string_equal(g.s[0].sched, "wrr");
	assert_int_equal(g.s[1].fwmark, 7);
	build_dests(&m);
	struct pc_nl_status st2 = {0};
	assert_int_equal(pc_ipvs_parse_dests(m.b, m.len, SEQ, FAMILY, on_dest, &g, &st2), 0);
	assert_int_equal(g.nd, 2);
	assert_string_equal(inet_ntop(AF_INET, g.d[1].addr.bytes, a, sizeof(a)), "198.18.82.2");
	assert_int_equal(g.d[1].addr.family, AF_INET);
	assert_int_equal(g.d[1].port, 8080);
	assert_int_equal(g.d[1].weight, 3);
	/* another family's messages, or another dump's, are not ours */
	struct got g2 = {0};
	struct pc_nl_status st3 = {0};
	assert_int_equal(pc_ipvs_parse_dests(m.b, m.len, SEQ, FAMILY + 1, on_dest, &g2, &st3), 0);
	assert_int_equal(pc_ipvs_parse_dests(m.b, m.len, SEQ + 1, FAMILY, on_dest, &g2, &st3), 0);
	assert_int_equal(g2.nd, 0);
}

static void cut_everywhere(const struct msg *m, bool dests)
{
	struct got full = {0};
	struct pc_nl_status st = {0};
	if (dests)
		pc_ipvs_parse_dests(m->b, m->len, SEQ, FAMILY, on_dest, &full, &st);
	else
		pc_ipvs_parse_services(m->b, m->len, SEQ, FAMILY, on_svc, &full, &st);
	for (size_t cut = 0; cut < m->len; cut++) {
		unsigned char *copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, m->b, cut);
		struct got g = {0};
		struct pc_nl_status st2 = {0};
		int e = dests ? pc_ipvs_parse_dests(copy, cut, SEQ, FAMILY, on_dest, &g, &st2)
		              : pc_ipvs_parse_services(copy, cut, SEQ, FAMILY, on_svc, &g, &st2);
		assert_true(e == 0 || e == PC_EPARSE);
		assert_true(g.ns <= full.ns && g.nd <= full.nd);
		free(copy);
	}
}

static void test_cut(void **state)
{
	(void)state;
	struct msg m;
	build_services(&m);
	cut_everywhere(&m, false);
	build_dests(&m);
	cut_everywhere(&m, true);
}

static void test_lying_lengths(void **state)
{
	(void)state;
	struct msg m;
	build_services(&m);
	/* the nested service attribute claims more than its message holds */
	uint16_t big = 900;
	memcpy(m.b + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct genlmsghdr)), &big, 2);
	struct got g = {0};
	struct pc_nl_status st = {0};
	assert_int_equal(pc_ipvs_parse_services(m.b, m.len, SEQ, FAMILY, on_svc, &g, &st),
	                 PC_EPARSE);
	assert_int_equal(g.ns, 0);
	/* a service without a family is malformed, not a guess */
	struct msg n = {0};
	begin(&n, FAMILY, IPVS_CMD_NEW_SERVICE);
	nest(&n, IPVS_CMD_ATTR_SERVICE);
	uint16_t port = htons(80);
	put(&n, IPVS_SVC_ATTR_PORT, &port, 2);
	unnest(&n);
	end(&n);
	assert_int_equal(pc_ipvs_parse_services(n.b, n.len, SEQ, FAMILY, on_svc, &g, &st),
	                 PC_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family),
	    cmocka_unit_test(test_services_and_dests),
	    cmocka_unit_test(test_cut),
	    cmocka_unit_test(test_lying_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
