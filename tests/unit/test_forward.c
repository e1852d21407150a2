/*
 * test_forward.c - NAT rules to forwarded ports, on netlink dumps captured
 * from a real kernel (the .bin files of tests/unit/data/forward, made by
 * test_forward_capture in a fresh namespace holding the rulesets of
 * tests/e2e/forward/: kube-proxy's iptables mode, its nftables mode, and
 * Docker's and netavark's chains: the chain list, each chain's rules, the
 * sets' elements, the addresses), every buffer also cut at every byte; and
 * on hand-made rules: splits, jump loops, contradicting matches, and the
 * snapshot sort that must carry backend indexes along.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/model.h"
#include "inventory/forward.h"
#include "inventory/nft.h"
#include "report/report.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_ADDRS 0xffffffffu
#define TAG_CHAINS 0xfffffffeu

struct rec {
	uint32_t tag, seq;
	const unsigned char *data;
	size_t len;
};

struct capture {
	struct pc_buf buf;
	struct rec r[256];
	size_t n;
};

static void load(const char *name, struct capture *c)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/forward/%s", PC_TEST_DATA, name);
	pc_buf_init(&c->buf, 1 << 22);
	assert_int_equal(pc_buf_read_file(&c->buf, path), 0);
	const unsigned char *p = (const unsigned char *)c->buf.data;
	size_t len = c->buf.len;
	c->n = 0;
	while (len > 0) {
		uint32_t hdr[3];
		assert_true(len >= sizeof(hdr));
		memcpy(hdr, p, sizeof(hdr));
		assert_true(len - sizeof(hdr) >= hdr[2]);
		assert_true(c->n < 256);
		c->r[c->n++] = (struct rec){hdr[0], hdr[1], p + sizeof(hdr), hdr[2]};
		p += sizeof(hdr) + hdr[2];
		len -= sizeof(hdr) + hdr[2];
	}
	assert_true(c->n >= 2);
}

static int count_addr(void *ctx, const struct pc_addr *a)
{
	(void)a;
	(*(size_t *)ctx)++;
	return 0;
}

/* Replay a capture into a rule set; every buffer is handed over in a copy
 * of its exact size, so a read past its end is an ASan error. */
static struct pc_fwd_rules *replay(const struct capture *c)
{
	struct pc_fwd_rules *rs = pc_fwd_rules_new();
	assert_non_null(rs);
	for (size_t i = 0; i < c->n; i++) {
		const struct rec *r = &c->r[i];
		unsigned char *copy = malloc(r->len ? r->len : 1);
		assert_non_null(copy);
		memcpy(copy, r->data, r->len);
		struct pc_nl_status st = {0};
		if (r->tag == 0) {
			assert_int_equal(
			    pc_nft_parse(copy, r->len, r->seq, pc_fwd_rules_add, rs, &st), 0);
		} else if (r->tag != TAG_ADDRS && r->tag != TAG_CHAINS) {
			uint8_t family;
			const char *table, *name;
			assert_true(r->tag - 1 < pc_fwd_rules_n_sets(rs));
			pc_fwd_rules_set(rs, r->tag - 1, &family, &table, &name);
			assert_int_equal(pc_nft_parse_elems(copy, r->len, r->seq,
			                                    pc_fwd_rules_add_elem, rs, &st),
			                 0);
			pc_fwd_rules_set_loaded(rs, r->tag - 1, true);
		}
		free(copy);
	}
	return rs;
}

struct want_target {
	const char *addr; /* NULL: none (a redirect) */
	uint16_t port;
	double weight;
};

struct want_front {
	const char *addr;
	uint16_t port;
	enum pc_forward_kind kind;
	const char *rule;
	bool local_only;
	struct want_target to[3];
	size_t n_to;
};

static void check_fronts(const char *file, const struct want_front *want, size_t n_want)
{
	struct capture c;
	load(file, &c);
	struct pc_fwd_rules *rs = replay(&c);
	struct pc_fwd_front *fr = NULL;
	size_t n = 0;
	assert_int_equal(pc_fwd_analyse(rs, &fr, &n), 0);
	assert_int_equal(n, n_want);
	for (size_t i = 0; i < n; i++) {
		char a[64];
		inet_ntop(fr[i].addr.family, fr[i].addr.bytes, a, sizeof(a));
		assert_string_equal(a, want[i].addr);
		assert_int_equal(fr[i].port, want[i].port);
		assert_int_equal(fr[i].proto, PC_PROTO_TCP);
		assert_int_equal(fr[i].kind, want[i].kind);
		assert_string_equal(fr[i].rule, want[i].rule);
		assert_int_equal(fr[i].local_only, want[i].local_only);
		assert_int_equal(fr[i].n_to, want[i].n_to);
		for (size_t k = 0; k < fr[i].n_to; k++) {
			const struct pc_fwd_target *t = &fr[i].to[k];
			if (want[i].to[k].addr) {
				inet_ntop(t->addr.family, t->addr.bytes, a, sizeof(a));
				assert_string_equal(a, want[i].to[k].addr);
			} else {
				assert_int_equal(t->addr.family, 0);
			}
			assert_int_equal(t->port, want[i].to[k].port);
			assert_true(fabs(t->weight - want[i].to[k].weight) < 1e-6);
		}
	}
	pc_fwd_fronts_free(fr, n);
	pc_fwd_rules_free(rs);
	pc_buf_free(&c.buf);
}

static void test_kube_iptables(void **state)
{
	(void)state;
	const struct want_front want[] = {
	    {"0.0.0.0",
	     30080,
	     PC_FORWARD_DNAT,
	     "nat/KUBE-NODEPORTS: demo/web:http",
	     true,
	     {{"198.18.71.2", 8080, 0.5}, {"198.18.72.2", 8080, 0.5}},
	     2},
	    {"198.18.99.10",
	     80,
	     PC_FORWARD_DNAT,
	     "nat/KUBE-SERVICES: demo/web:http cluster IP",
	     false,
	     {{"198.18.71.2", 8080, 0.5}, {"198.18.72.2", 8080, 0.5}},
	     2},
	};
	check_fronts("kube-iptables.bin", want, 2);
}

static void test_kube_nft(void **state)
{
	(void)state;
	const struct want_front want[] = {
	    {"198.18.70.1",
	     30080,
	     PC_FORWARD_DNAT,
	     "kube-proxy/services: external-WEB4ZKD3-demo/web/tcp/http",
	     false,
	     {{"198.18.71.2", 8080, 0.5}, {"198.18.72.2", 8080, 0.5}},
	     2},
	    {"198.18.99.10",
	     80,
	     PC_FORWARD_DNAT,
	     "kube-proxy/services: service-WEB4ZKD3-demo/web/tcp/http",
	     false,
	     {{"198.18.71.2", 8080, 0.5}, {"198.18.72.2", 8080, 0.5}},
	     2},
	};
	check_fronts("kube-nft.bin", want, 2);
}

static void test_containers(void **state)
{
	(void)state;
	const struct want_front want[] = {
	    {"0.0.0.0", 8081, PC_FORWARD_DNAT, "nat/DOCKER", true, {{"198.18.62.2", 80, -1}}, 1},
	    {"0.0.0.0", 8082, PC_FORWARD_REDIRECT, "nat/DOCKER", true, {{NULL, 9090, -1}}, 1},
	    {"198.18.60.1",
	     8080,
	     PC_FORWARD_DNAT,
	     "nat/NETAVARK-HOSTPORT-DNAT: dnat name: podman id: 3a8b6f0c2d1e",
	     true,
	     {{"198.18.61.2", 80, -1}},
	     1},
	};
	check_fronts("containers.bin", want, 3);
}

static void test_addrs(void **state)
{
	(void)state;
	struct capture c;
	load("containers.bin", &c);
	size_t n = 0;
	bool done = false;
	for (size_t i = 0; i < c.n; i++)
		if (c.r[i].tag == TAG_ADDRS)
			assert_int_equal(pc_fwd_parse_addrs(c.r[i].data, c.r[i].len, c.r[i].seq,
			                                    count_addr, &n, &done),
			                 0);
	/* 127.0.0.1, ::1 and the lab's 198.18.60.1 (IFA_LOCAL and IFA_ADDRESS) */
	assert_true(done);
	assert_true(n >= 3);
	pc_buf_free(&c.buf);
}

static int count_rule(void *ctx, const struct pc_nft_rule *r)
{
	(void)r;
	(*(size_t *)ctx)++;
	return 0;
}

static int count_chain(void *ctx, const struct pc_nft_chain *ch)
{
	(void)ch;
	(*(size_t *)ctx)++;
	return 0;
}

static int count_elem(void *ctx, const struct pc_nft_elem *e)
{
	(void)e;
	(*(size_t *)ctx)++;
	return 0;
}

/* Every captured buffer cut at every byte: a clean error or fewer records,
 * never a read past the cut (the copy is exactly that long). */
static void cut_everywhere(const char *file)
{
	struct capture c;
	load(file, &c);
	for (size_t i = 0; i < c.n; i++) {
		const struct rec *r = &c.r[i];
		size_t full = 0;
		bool done = false;
		struct pc_nl_status st = {0};
		if (r->tag == 0)
			assert_int_equal(
			    pc_nft_parse(r->data, r->len, r->seq, count_rule, &full, &st), 0);
		else if (r->tag == TAG_ADDRS)
			assert_int_equal(
			    pc_fwd_parse_addrs(r->data, r->len, r->seq, count_addr, &full, &done),
			    0);
		else if (r->tag == TAG_CHAINS)
			assert_int_equal(
			    pc_nft_parse_chains(r->data, r->len, r->seq, count_chain, &full, &st),
			    0);
		else
			assert_int_equal(
			    pc_nft_parse_elems(r->data, r->len, r->seq, count_elem, &full, &st), 0);
		for (size_t cut = 0; cut < r->len; cut++) {
			unsigned char *copy = malloc(cut ? cut : 1);
			assert_non_null(copy);
			memcpy(copy, r->data, cut);
			size_t got = 0;
			int e;
			struct pc_nl_status st2 = {0};
			if (r->tag == 0)
				e = pc_nft_parse(copy, cut, r->seq, count_rule, &got, &st2);
			else if (r->tag == TAG_ADDRS)
				e = pc_fwd_parse_addrs(copy, cut, r->seq, count_addr, &got, &done);
			else if (r->tag == TAG_CHAINS)
				e = pc_nft_parse_chains(copy, cut, r->seq, count_chain, &got, &st2);
			else
				e = pc_nft_parse_elems(copy, cut, r->seq, count_elem, &got, &st2);
			assert_true(e == 0 || e == PC_EPARSE);
			assert_true(got <= full);
			free(copy);
		}
	}
	pc_buf_free(&c.buf);
}

static void test_cut_kube_iptables(void **state)
{
	(void)state;
	cut_everywhere("kube-iptables.bin");
}

static void test_cut_kube_nft(void **state)
{
	(void)state;
	cut_everywhere("kube-nft.bin");
}

static void test_cut_containers(void **state)
{
	(void)state;
	cut_everywhere("containers.bin");
}

/* ---- hand-made rules ---- */

static struct pc_nft_rule *rule(const char *chain)
{
	static struct pc_nft_rule r;
	memset(&r, 0, sizeof(r));
	r.family = 2; /* NFPROTO_IPV4 */
	snprintf(r.table, sizeof(r.table), "nat");
	snprintf(r.chain, sizeof(r.chain), "%s", chain);
	r.l4proto = -1;
	r.dport = -1;
	r.nat_port = -1;
	r.probability = -1;
	return &r;
}

static void jump(struct pc_nft_rule *r, const char *to)
{
	r->verdict = PC_NFT_V_JUMP;
	snprintf(r->target, sizeof(r->target), "%s", to);
}

static void dnat(struct pc_nft_rule *r, const char *addr, int port)
{
	r->nat = PC_NFT_NAT_DNAT;
	r->has_nat_addr = true;
	assert_int_equal(pc_addr_parse(addr, &r->nat_addr), 0);
	r->nat_port = port;
}

/* Three endpoints the way kube-proxy splits them: 1/3, then 1/2 of the
 * rest, then the rest: a third each. */
static void test_three_way_split(void **state)
{
	(void)state;
	struct pc_fwd_rules *rs = pc_fwd_rules_new();
	struct pc_nft_rule *r = rule("PREROUTING");
	r->l4proto = IPPROTO_TCP;
	r->dport = 443;
	jump(r, "SVC");
	assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	const double p[3] = {0.33333333349, 0.5, -1};
	const char *ep[3] = {"198.18.1.1", "198.18.1.2", "198.18.1.3"};
	for (int i = 0; i < 3; i++) {
		char sep[16];
		snprintf(sep, sizeof(sep), "SEP%d", i);
		r = rule("SVC");
		r->probability = p[i];
		jump(r, sep);
		assert_int_equal(pc_fwd_rules_add(rs, r), 0);
		r = rule(sep);
		dnat(r, ep[i], 8443);
		assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	}
	struct pc_fwd_front *fr;
	size_t n;
	assert_int_equal(pc_fwd_analyse(rs, &fr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fr[0].port, 443);
	assert_int_equal(fr[0].n_to, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fr[0].to[i].port, 8443);
		assert_true(fabs(fr[0].to[i].weight - 1.0 / 3) < 1e-6);
	}
	pc_fwd_fronts_free(fr, n);
	pc_fwd_rules_free(rs);
}

/* A port rule that jumps into a chain whose DNAT wants another port never
 * matches; a loop of jumps ends; a DNAT with no port match is no front. */
static void test_contradiction_and_loop(void **state)
{
	(void)state;
	struct pc_fwd_rules *rs = pc_fwd_rules_new();
	struct pc_nft_rule *r = rule("PREROUTING");
	r->l4proto = IPPROTO_TCP;
	r->dport = 80;
	jump(r, "A");
	assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	r = rule("A");
	r->dport = 81; /* contradicts 80 */
	dnat(r, "198.18.2.1", 8080);
	assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	r = rule("A");
	jump(r, "B");
	assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	r = rule("B");
	jump(r, "A"); /* a loop */
	assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	r = rule("B");
	dnat(r, "198.18.2.2", 8081);
	assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	r = rule("OUTPUT");
	dnat(r, "198.18.2.3", 1); /* every port: not a forwarded port */
	assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	struct pc_fwd_front *fr;
	size_t n;
	assert_int_equal(pc_fwd_analyse(rs, &fr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fr[0].port, 80);
	assert_int_equal(fr[0].n_to, 1);
	assert_int_equal(fr[0].to[0].port, 8081);
	assert_true(fr[0].to[0].weight < 0);
	pc_fwd_fronts_free(fr, n);
	pc_fwd_rules_free(rs);
}

/* A web of jumps (each chain jumping twice into the next) would take
 * 2^depth steps: the walk stops at its caps instead. */
static void test_jump_web_is_bounded(void **state)
{
	(void)state;
	struct pc_fwd_rules *rs = pc_fwd_rules_new();
	for (int i = 0; i < 40; i++) {
		char from[16], to[16];
		snprintf(from, sizeof(from), "C%d", i);
		snprintf(to, sizeof(to), "C%d", i + 1);
		for (int k = 0; k < 2; k++) {
			struct pc_nft_rule *r = rule(from);
			if (i == 0) {
				r->l4proto = IPPROTO_TCP;
				r->dport = 22;
			}
			jump(r, to);
			assert_int_equal(pc_fwd_rules_add(rs, r), 0);
		}
	}
	struct pc_nft_rule *r = rule("C40");
	dnat(r, "198.18.3.1", 2222);
	assert_int_equal(pc_fwd_rules_add(rs, r), 0);
	struct pc_fwd_front *fr = NULL;
	size_t n = 0;
	int e = pc_fwd_analyse(rs, &fr, &n);
	/* the depth cap (32) cuts the path before C40: nothing, quickly */
	assert_true(e == 0 || e == PC_ETOOBIG);
	if (e == 0)
		pc_fwd_fronts_free(fr, n);
	pc_fwd_rules_free(rs);
}

/* pc_snapshot_sort() moves endpoints: backend_index must follow them. */
static void test_sort_keeps_backends(void **state)
{
	(void)state;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	assert_non_null(snap);
	const uint16_t ports[4] = {9000, 30080, 8080, 80};
	for (int i = 0; i < 4; i++) {
		struct pc_endpoint *ep = pc_snapshot_add_endpoint(snap);
		assert_non_null(ep);
		assert_int_equal(pc_addr_parse("198.18.0.1", &ep->addr), 0);
		ep->port = ports[i];
		ep->state = i == 1 ? PC_STATE_FORWARDED : PC_STATE_LISTEN;
	}
	struct pc_forward *f = pc_arena_alloc(&snap->arena, sizeof(*f));
	struct pc_forward_target *t = pc_arena_alloc(&snap->arena, 2 * sizeof(*t));
	memset(f, 0, sizeof(*f));
	memset(t, 0, 2 * sizeof(*t));
	t[0].port = 8080;
	t[0].backend_index = 2;
	t[1].port = 80;
	t[1].backend_index = 3;
	f->to = t;
	f->n_to = 2;
	snap->endpoints[1].forward = f;
	pc_snapshot_sort(snap);
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (!ep->forward)
			continue;
		assert_int_equal(ep->port, 30080);
		assert_int_equal(snap->endpoints[ep->forward->to[0].backend_index].port, 8080);
		assert_int_equal(snap->endpoints[ep->forward->to[1].backend_index].port, 80);
	}
	pc_snapshot_free(snap);
}

/* The JSON of a forwarded port: kind, rule, targets with weights, and each
 * backend written as the listener it resolved to (or null). */
static void test_json_forward(void **state)
{
	(void)state;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	assert_non_null(snap);
	struct pc_endpoint *be = pc_snapshot_add_endpoint(snap);
	assert_int_equal(pc_addr_parse("0.0.0.0", &be->addr), 0);
	be->port = 8080;
	be->netns.inode = 4026532999;
	be->netns.name = "pod1";
	be->owners = pc_snapshot_owners(snap, 1);
	be->n_owners = 1;
	be->owners[0].pid = 4242;
	be->owners[0].comm = "httpd";
	struct pc_endpoint *fe = pc_snapshot_add_endpoint(snap);
	assert_int_equal(pc_addr_parse("0.0.0.0", &fe->addr), 0);
	fe->port = 30080;
	fe->state = PC_STATE_FORWARDED;
	struct pc_forward *f = pc_arena_alloc(&snap->arena, sizeof(*f));
	struct pc_forward_target *t = pc_arena_alloc(&snap->arena, 2 * sizeof(*t));
	memset(f, 0, sizeof(*f));
	memset(t, 0, 2 * sizeof(*t));
	f->kind = PC_FORWARD_DNAT;
	f->rule = "nat/KUBE-NODEPORTS: demo/web:http";
	assert_int_equal(pc_addr_parse("198.18.71.2", &t[0].addr), 0);
	t[0].port = 8080;
	t[0].weight = 0.5;
	t[0].backend_index = 0;
	assert_int_equal(pc_addr_parse("203.0.113.9", &t[1].addr), 0);
	t[1].port = 8080;
	t[1].weight = 0.5;
	t[1].backend_index = -1;
	f->to = t;
	f->n_to = 2;
	fe->forward = f;
	char *out = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&out, &len);
	assert_non_null(mf);
	struct pc_json j;
	pc_json_init(&j, mf, false);
	pc_report_json_endpoint_of(&j, snap, &snap->endpoints[1]);
	fclose(mf);
	assert_non_null(strstr(out, "\"state\":\"forwarded\""));
	assert_non_null(strstr(out, "\"forward\":{\"kind\":\"dnat\",\"rule\":\"nat/"
	                            "KUBE-NODEPORTS: demo/web:http\",\"to\":[{\"address\":\"198.18."
	                            "71.2\",\"port\":8080,\"weight\":0.5"));
	assert_non_null(strstr(out, "\"backends\":[{\"netns\":{\"inode\":4026532999,\"name\":"
	                            "\"pod1\"},\"address\":\"0.0.0.0\",\"port\":8080,\"owners\":[{"
	                            "\"pid\":4242,\"comm\":\"httpd\""));
	assert_non_null(strstr(out, "}]},null]}"));
	char brief[128];
	pc_report_forward_brief(&snap->endpoints[1], brief, sizeof(brief));
	assert_string_equal(brief, "dnat -> 198.18.71.2:8080 (+1)");
	pc_report_forward_brief(&snap->endpoints[0], brief, sizeof(brief));
	assert_string_equal(brief, "-");
	free(out);
	pc_snapshot_free(snap);
}

/* Hand-made netlink: lengths that lie are errors, never reads. */
static void test_lying_lengths(void **state)
{
	(void)state;
	unsigned char buf[64];
	memset(buf, 0, sizeof(buf));
	struct nlmsghdr h = {.nlmsg_len = 200, .nlmsg_type = (10 << 8) | 6, .nlmsg_seq = 7};
	memcpy(buf, &h, sizeof(h));
	size_t n = 0;
	struct pc_nl_status st = {0};
	assert_int_equal(pc_nft_parse(buf, sizeof(buf), 7, count_rule, &n, &st), PC_EPARSE);
	/* a rule whose attribute claims more than the message holds */
	h.nlmsg_len = 32;
	memcpy(buf, &h, sizeof(h));
	uint16_t attr[2] = {60, 1};
	memcpy(buf + 20, attr, sizeof(attr));
	assert_int_equal(pc_nft_parse(buf, 32, 7, count_rule, &n, &st), PC_EPARSE);
	assert_int_equal(n, 0);
	/* a message for another dump is skipped */
	assert_int_equal(pc_nft_parse(buf, 32, 8, count_rule, &n, &st), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kube_iptables),
	    cmocka_unit_test(test_kube_nft),
	    cmocka_unit_test(test_containers),
	    cmocka_unit_test(test_addrs),
	    cmocka_unit_test(test_cut_kube_iptables),
	    cmocka_unit_test(test_cut_kube_nft),
	    cmocka_unit_test(test_cut_containers),
	    cmocka_unit_test(test_three_way_split),
	    cmocka_unit_test(test_contradiction_and_loop),
	    cmocka_unit_test(test_jump_web_is_bounded),
	    cmocka_unit_test(test_sort_keeps_backends),
	    cmocka_unit_test(test_json_forward),
	    cmocka_unit_test(test_lying_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
