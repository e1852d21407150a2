/*
 * test_conntrack.c - the ctnetlink parser (src/inventory/conntrack.c) on a
 * conntrack dump captured from a real kernel (tests/unit/data/conntrack/
 * nat.bin: the table of the gateway of tests/e2e/connections_nat.sh,
 * translating IPv4 DNAT, DNAT with masquerade, REDIRECT, IPv6 DNAT and a
 * UDP DNAT, and routing one connection without NAT), replayed whole and
 * cut at every byte; then hand-built
 * messages for what a kernel should never send (lying lengths, an address
 * of the wrong size, a tuple without ports) and the snapshot's NAT list.
 *
 * Not only a test: `test_conntrack --capture FILE` dumps the conntrack
 * table of the namespace it runs in, with the project's own code, and
 * writes what the kernel sent as records of two host-order u32 (sequence
 * number, length) and one recv() buffer. tests/e2e/connections_nat.sh
 * runs it in its gateway when PC_CAPTURE_FILE is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/model.h"
#include "inventory/conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- capture mode ---- */

struct cap {
	FILE *f;
	uint32_t seq;
	int err;
};

static void save(void *ctx, const void *buf, size_t len)
{
	struct cap *c = ctx;
	uint32_t seq = 0;
	if (len >= 12)
		memcpy(&seq, (const unsigned char *)buf + 8, 4);
	uint32_t hdr[2] = {seq, (uint32_t)len};
	if (fwrite(hdr, sizeof(hdr), 1, c->f) != 1 || fwrite(buf, 1, len, c->f) != len)
		c->err = 1;
}

static int ignore(void *ctx, const struct pc_ct_entry *e)
{
	(void)e;
	(*(size_t *)ctx)++;
	return 0;
}

static int capture(const char *path)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		perror("netlink");
		return 1;
	}
	struct cap c = {.f = fopen(path, "wbe")};
	if (!c.f) {
		perror(path);
		close(fd);
		return 1;
	}
	size_t n = 0;
	int r = pc_ct_dump(fd, ignore, &n, save, &c);
	close(fd);
	if (fclose(c.f) != 0 || c.err || r != 0) {
		fprintf(stderr, "capture failed: %s\n", pc_strerror(r));
		return 1;
	}
	fprintf(stderr, "captured %zu entries\n", n);
	return 0;
}

/* ---- replay ---- */

struct rec {
	uint32_t seq;
	const unsigned char *data;
	size_t len;
};

struct capture {
	struct pc_buf buf;
	struct rec r[64];
	size_t n;
};

static void load(const char *name, struct capture *c)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/conntrack/%s", PC_TEST_DATA, name);
	pc_buf_init(&c->buf, 1 << 22);
	assert_int_equal(pc_buf_read_file(&c->buf, path), 0);
	const unsigned char *p = (const unsigned char *)c->buf.data;
	size_t len = c->buf.len;
	c->n = 0;
	while (len > 0) {
		uint32_t hdr[2];
		assert_true(len >= sizeof(hdr));
		memcpy(hdr, p, sizeof(hdr));
		assert_true(len - sizeof(hdr) >= hdr[1]);
		assert_true(c->n < 64);
		c->r[c->n++] = (struct rec){hdr[0], p + sizeof(hdr), hdr[1]};
		p += sizeof(hdr) + hdr[1];
		len -= sizeof(hdr) + hdr[1];
	}
	assert_true(c->n > 0);
}

struct entries {
	struct pc_ct_entry e[64];
	size_t n;
};

static int keep(void *ctx, const struct pc_ct_entry *e)
{
	struct entries *es = ctx;
	if (es->n < 64)
		es->e[es->n] = *e;
	es->n++;
	return 0;
}

static const struct pc_ct_entry *find_orig(const struct entries *es, uint8_t proto,
					   const char *dst, uint16_t dport)
{
	struct pc_addr a;
	assert_int_equal(pc_addr_parse(dst, &a), 0);
	for (size_t i = 0; i < es->n && i < 64; i++)
		if (es->e[i].l4proto == proto && pc_addr_equal(&es->e[i].orig_dst, &a) &&
		    es->e[i].orig_dport == dport)
			return &es->e[i];
	return NULL;
}

static void assert_addr(const struct pc_addr *a, const char *want)
{
	char buf[PC_ADDR_STRLEN];
	assert_string_equal(pc_addr_format(a, buf, sizeof(buf)), want);
}

static void replay(struct entries *es, struct pc_nl_status *st)
{
	struct capture c;
	load("nat.bin", &c);
	memset(es, 0, sizeof(*es));
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < c.n; i++)
		assert_int_equal(pc_ct_parse(c.r[i].data, c.r[i].len, c.r[i].seq, keep, es, st), 0);
	pc_buf_free(&c.buf);
}

/* The lab of conntrack_capture.sh, as the kernel recorded it. */
static void test_captured(void **state)
{
	(void)state;
	struct entries es;
	struct pc_nl_status st;
	replay(&es, &st);
	assert_true(st.done);
	assert_false(st.interrupted);
	assert_int_equal(st.rules, es.n);

	/* DNAT: 198.18.60.2 -> 198.18.60.1:8080 answered by 198.18.61.2:80 */
	const struct pc_ct_entry *e = find_orig(&es, IPPROTO_TCP, "198.18.60.1", 8080);
	assert_non_null(e);
	assert_int_equal(e->l3family, AF_INET);
	assert_addr(&e->orig_src, "198.18.60.2");
	assert_addr(&e->reply_src, "198.18.61.2");
	assert_int_equal(e->reply_sport, 80);
	assert_addr(&e->reply_dst, "198.18.60.2");
	assert_int_equal(e->reply_dport, e->orig_sport);
	assert_true(pc_ct_is_nat(e));
	assert_int_equal(e->status & IPS_DST_NAT, IPS_DST_NAT);
	assert_int_equal(e->tcp_state, 3); /* TCP_CONNTRACK_ESTABLISHED */

	/* DNAT and masquerade: the backend answers gw's address */
	e = find_orig(&es, IPPROTO_TCP, "198.18.60.1", 8081);
	assert_non_null(e);
	assert_addr(&e->reply_src, "198.18.61.2");
	assert_int_equal(e->reply_sport, 81);
	assert_addr(&e->reply_dst, "198.18.61.1");
	assert_int_equal(e->status & IPS_NAT_MASK, IPS_NAT_MASK);

	/* REDIRECT to gw's own port 9090 */
	e = find_orig(&es, IPPROTO_TCP, "198.18.60.1", 9000);
	assert_non_null(e);
	assert_addr(&e->reply_src, "198.18.60.1");
	assert_int_equal(e->reply_sport, 9090);

	/* IPv6 DNAT */
	e = find_orig(&es, IPPROTO_TCP, "fd00:198:18:60::1", 8080);
	assert_non_null(e);
	assert_int_equal(e->l3family, AF_INET6);
	assert_addr(&e->reply_src, "fd00:198:18:61::2");
	assert_true(pc_ct_is_nat(e));

	/* UDP DNAT: parsed, NAT, but not TCP */
	e = find_orig(&es, IPPROTO_UDP, "198.18.60.1", 5353);
	assert_non_null(e);
	assert_true(pc_ct_is_nat(e));
	assert_int_equal(e->reply_sport, 53);

	/* routed without NAT: the reply mirrors the original */
	e = find_orig(&es, IPPROTO_TCP, "198.18.61.2", 82);
	assert_non_null(e);
	assert_false(pc_ct_is_nat(e));
}

/* What the snapshot keeps: the TCP entries NAT changed, nothing else. */
static void test_snapshot_keeps_tcp_nat(void **state)
{
	(void)state;
	struct entries es;
	struct pc_nl_status st;
	replay(&es, &st);
	struct pc_snapshot *s = pc_snapshot_new("test");
	assert_non_null(s);
	struct pc_netns ns = {.inode = 4026532001u, .name = "gw"};
	size_t want = 0;
	for (size_t i = 0; i < es.n; i++) {
		bool nat_tcp = es.e[i].l4proto == IPPROTO_TCP && pc_ct_is_nat(&es.e[i]);
		want += nat_tcp;
		assert_int_equal(pc_conntrack_add(s, &ns, &es.e[i]), nat_tcp ? 1 : 0);
	}
	/* the lab's DNAT (3), DNAT + masquerade (2), REDIRECT, IPv6 DNAT, and
	 * d1's DNAT that the edges must not join (1 each) */
	assert_int_equal(want, 8);
	assert_int_equal(s->n_nat_conns, want);
	for (size_t i = 0; i < s->n_nat_conns; i++) {
		assert_int_equal(s->nat_conns[i].netns.inode, ns.inode);
		assert_true(s->nat_conns[i].orig_dport != 82);
	}
	pc_snapshot_free(s);
}

/* Every captured buffer cut at every byte: a clean error or fewer entries,
 * never a read past the cut (the copy is exactly that long). */
static void test_cut_everywhere(void **state)
{
	(void)state;
	struct capture c;
	load("nat.bin", &c);
	for (size_t i = 0; i < c.n; i++) {
		const struct rec *r = &c.r[i];
		struct entries full = {0};
		struct pc_nl_status st = {0};
		assert_int_equal(pc_ct_parse(r->data, r->len, r->seq, keep, &full, &st), 0);
		for (size_t cut = 0; cut < r->len; cut++) {
			unsigned char *copy = malloc(cut ? cut : 1);
			assert_non_null(copy);
			memcpy(copy, r->data, cut);
			struct entries got = {0};
			struct pc_nl_status st2 = {0};
			int e = pc_ct_parse(copy, cut, r->seq, keep, &got, &st2);
			assert_true(e == 0 || e == PC_EPARSE);
			assert_true(got.n <= full.n);
			/* what was parsed before the cut is what the whole gave */
			for (size_t k = 0; k < got.n && k < 64; k++)
				assert_memory_equal(&got.e[k], &full.e[k], sizeof(got.e[k]));
			free(copy);
		}
	}
	pc_buf_free(&c.buf);
}

/* ---- hand-built messages ---- */

struct msg {
	unsigned char b[512];
	size_t len;
	size_t nest[8];
	int depth;
};

static void put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void pad(struct msg *m)
{
	static const unsigned char zero[4];
	put(m, zero, NLA_ALIGN(m->len) - m->len);
}

static void attr(struct msg *m, uint16_t type, const void *p, size_t n)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type};
	put(m, &a, sizeof(a));
	put(m, p, n);
	pad(m);
}

static void open_nest(struct msg *m, uint16_t type)
{
	struct nlattr a = {.nla_len = 0, .nla_type = type | NLA_F_NESTED};
	m->nest[m->depth++] = m->len;
	put(m, &a, sizeof(a));
}

static void close_nest(struct msg *m)
{
	size_t at = m->nest[--m->depth];
	uint16_t len = (uint16_t)(m->len - at);
	memcpy(m->b + at, &len, sizeof(len));
}

static void begin(struct msg *m, uint32_t seq)
{
	memset(m, 0, sizeof(*m));
	struct nlmsghdr h = {
		.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW,
		.nlmsg_flags = NLM_F_MULTI,
		.nlmsg_seq = seq,
	};
	put(m, &h, sizeof(h));
	struct nfgenmsg g = {.nfgen_family = AF_INET, .version = NFNETLINK_V0};
	put(m, &g, sizeof(g));
}

static void end(struct msg *m)
{
	uint32_t len = (uint32_t)m->len;
	memcpy(m->b, &len, sizeof(len));
}

static void tuple(struct msg *m, uint16_t which, const char *src, const char *dst,
		  uint16_t sport, uint16_t dport, size_t addr_len)
{
	struct pc_addr s, d;
	assert_int_equal(pc_addr_parse(src, &s), 0);
	assert_int_equal(pc_addr_parse(dst, &d), 0);
	bool v6 = s.family == AF_INET6;
	open_nest(m, which);
	open_nest(m, CTA_TUPLE_IP);
	attr(m, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, s.bytes, addr_len);
	attr(m, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, d.bytes, addr_len);
	close_nest(m);
	open_nest(m, CTA_TUPLE_PROTO);
	uint8_t proto = IPPROTO_TCP;
	attr(m, CTA_PROTO_NUM, &proto, 1);
	uint16_t sp = htons(sport), dp = htons(dport);
	if (sport)
		attr(m, CTA_PROTO_SRC_PORT, &sp, 2);
	attr(m, CTA_PROTO_DST_PORT, &dp, 2);
	close_nest(m);
	close_nest(m);
}

/* A message with the usual DNAT tuples, the original's addresses
 * addr_len bytes long and its source port sport (0: left out). */
static void dnat_msg(struct msg *m, size_t addr_len, uint16_t sport)
{
	begin(m, 7);
	tuple(m, CTA_TUPLE_ORIG, "198.18.1.2", "198.18.1.1", sport, 8080, addr_len);
	tuple(m, CTA_TUPLE_REPLY, "198.18.2.2", "198.18.1.2", 80, 40000, 4);
}

static int parse_msg(const struct msg *m, uint32_t seq, struct entries *es)
{
	struct pc_nl_status st = {0};
	memset(es, 0, sizeof(*es));
	/* a copy of exactly its length: ASan sees a read past it */
	unsigned char *copy = malloc(m->len);
	assert_non_null(copy);
	memcpy(copy, m->b, m->len);
	int r = pc_ct_parse(copy, m->len, seq, keep, es, &st);
	free(copy);
	return r;
}

static void test_handmade(void **state)
{
	(void)state;
	struct msg m;
	struct entries es;

	/* a well-formed DNAT entry */
	dnat_msg(&m, 4, 40000);
	uint32_t status = htonl(IPS_DST_NAT);
	attr(&m, CTA_STATUS, &status, 4);
	end(&m);
	assert_int_equal(parse_msg(&m, 7, &es), 0);
	assert_int_equal(es.n, 1);
	assert_true(pc_ct_is_nat(&es.e[0]));
	assert_int_equal(es.e[0].status, IPS_DST_NAT);
	/* another dump's sequence number: skipped */
	assert_int_equal(parse_msg(&m, 8, &es), 0);
	assert_int_equal(es.n, 0);

	/* an IPv4 address of 5 bytes: malformed */
	dnat_msg(&m, 5, 40000);
	end(&m);
	assert_int_equal(parse_msg(&m, 7, &es), PC_EPARSE);

	/* no source port in a TCP tuple: incomplete, skipped, not an error */
	dnat_msg(&m, 4, 0);
	end(&m);
	assert_int_equal(parse_msg(&m, 7, &es), 0);
	assert_int_equal(es.n, 0);

	/* no reply tuple: skipped */
	begin(&m, 7);
	tuple(&m, CTA_TUPLE_ORIG, "198.18.1.2", "198.18.1.1", 40000, 8080, 4);
	end(&m);
	assert_int_equal(parse_msg(&m, 7, &es), 0);
	assert_int_equal(es.n, 0);

	/* families that disagree (an IPv4 original, an IPv6 reply): skipped */
	begin(&m, 7);
	tuple(&m, CTA_TUPLE_ORIG, "198.18.1.2", "198.18.1.1", 40000, 8080, 4);
	tuple(&m, CTA_TUPLE_REPLY, "fd00:198:18::2", "fd00:198:18::1", 80, 40000, 16);
	end(&m);
	assert_int_equal(parse_msg(&m, 7, &es), 0);
	assert_int_equal(es.n, 0);

	/* a nested length that runs past its parent: malformed */
	dnat_msg(&m, 4, 40000);
	end(&m);
	uint16_t lie = 200; /* the first nested attribute, CTA_TUPLE_ORIG */
	memcpy(m.b + NLMSG_HDRLEN + 4, &lie, 2);
	assert_int_equal(parse_msg(&m, 7, &es), PC_EPARSE);

	/* a status of 2 bytes: malformed */
	begin(&m, 7);
	uint16_t half = 1;
	attr(&m, CTA_STATUS, &half, 2);
	end(&m);
	assert_int_equal(parse_msg(&m, 7, &es), PC_EPARSE);

	/* a message shorter than its nfgenmsg */
	memset(&m, 0, sizeof(m));
	struct nlmsghdr h = {
		.nlmsg_len = NLMSG_HDRLEN + 2,
		.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW,
		.nlmsg_seq = 7,
	};
	put(&m, &h, sizeof(h));
	put(&m, "\0\0\0", 4);
	assert_int_equal(parse_msg(&m, 7, &es), PC_EPARSE);

	/* an error answer: its errno */
	memset(&m, 0, sizeof(m));
	struct nlmsghdr eh = {
		.nlmsg_len = NLMSG_HDRLEN + sizeof(struct nlmsgerr),
		.nlmsg_type = NLMSG_ERROR,
		.nlmsg_seq = 7,
	};
	struct nlmsgerr ne = {.error = -EPERM};
	put(&m, &eh, sizeof(eh));
	put(&m, &ne, sizeof(ne));
	assert_int_equal(parse_msg(&m, 7, &es), -EPERM);
}

/* A mirror is not NAT; any one field changed is. */
static void test_is_nat(void **state)
{
	(void)state;
	struct pc_ct_entry e = {.l3family = AF_INET, .l4proto = IPPROTO_TCP};
	pc_addr_parse("198.18.1.2", &e.orig_src);
	pc_addr_parse("198.18.1.1", &e.orig_dst);
	e.orig_sport = 40000;
	e.orig_dport = 80;
	e.reply_src = e.orig_dst;
	e.reply_dst = e.orig_src;
	e.reply_sport = 80;
	e.reply_dport = 40000;
	assert_false(pc_ct_is_nat(&e));
	struct pc_ct_entry f = e;
	f.reply_sport = 8080; /* REDIRECT to another port */
	assert_true(pc_ct_is_nat(&f));
	f = e;
	f.reply_dport = 1024; /* SNAT of the port only */
	assert_true(pc_ct_is_nat(&f));
	f = e;
	pc_addr_parse("198.18.9.9", &f.reply_dst); /* masquerade */
	assert_true(pc_ct_is_nat(&f));
	/* the snapshot keeps it, and only TCP */
	struct pc_snapshot *s = pc_snapshot_new("t");
	struct pc_netns ns = {.inode = 1};
	assert_int_equal(pc_conntrack_add(s, &ns, &e), 0);
	assert_int_equal(pc_conntrack_add(s, &ns, &f), 1);
	f.l4proto = IPPROTO_UDP;
	assert_int_equal(pc_conntrack_add(s, &ns, &f), 0);
	/* many: the vector grows in the arena and keeps what it held */
	f.l4proto = IPPROTO_TCP;
	for (uint16_t i = 0; i < 1000; i++) {
		f.orig_sport = i;
		assert_int_equal(pc_conntrack_add(s, &ns, &f), 1);
	}
	assert_int_equal(s->n_nat_conns, 1001);
	for (uint16_t i = 0; i < 1000; i++)
		assert_int_equal(s->nat_conns[1 + i].orig_sport, i);
	/* the cap: the entry after PC_CT_MAX_NAT is refused, nothing lost */
	while (s->n_nat_conns < PC_CT_MAX_NAT) {
		f.orig_sport = (uint16_t)s->n_nat_conns;
		assert_int_equal(pc_conntrack_add(s, &ns, &f), 1);
	}
	assert_int_equal(pc_conntrack_add(s, &ns, &f), PC_ETOOBIG);
	assert_int_equal(s->n_nat_conns, PC_CT_MAX_NAT);
	assert_int_equal(s->nat_conns[PC_CT_MAX_NAT - 1].orig_sport,
			 (uint16_t)(PC_CT_MAX_NAT - 1));
	/* a non-NAT entry is still just "not kept" */
	assert_int_equal(pc_conntrack_add(s, &ns, &e), 0);
	pc_snapshot_free(s);
}

/* The request is what the kernel expects: a dump of every family. */
static void test_request(void **state)
{
	(void)state;
	unsigned char buf[64];
	assert_int_equal(pc_ct_request(buf, 10, 1), 0);
	size_t n = pc_ct_request(buf, sizeof(buf), 42);
	assert_int_equal(n, NLMSG_HDRLEN + 4);
	struct nlmsghdr h;
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.nlmsg_len, n);
	assert_int_equal(h.nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
	assert_int_equal(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	assert_int_equal(h.nlmsg_seq, 42);
	struct nfgenmsg g;
	memcpy(&g, buf + NLMSG_HDRLEN, sizeof(g));
	assert_int_equal(g.nfgen_family, AF_UNSPEC);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--capture") == 0)
		return capture(argv[2]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured),
		cmocka_unit_test(test_snapshot_keeps_tcp_nat),
		cmocka_unit_test(test_cut_everywhere),
		cmocka_unit_test(test_handmade),
		cmocka_unit_test(test_is_nat),
		cmocka_unit_test(test_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
