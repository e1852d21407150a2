/*
 * test_sockdiag.c - the inet_diag reply parser, on replies captured from a
 * real kernel (the .bin files of tests/unit/data/sockdiag, made by capture.py in
 * a fresh namespace with a known set of sockets) and on hand-made
 * messages: truncated, too short, lying lengths, errors, interrupted dumps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "inventory/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECS 16

struct got {
	struct pc_sock_rec rec[MAX_RECS];
	size_t n;
	int stop_after; /* return an error after this many, 0: never */
};

static int collect(void *ctx, const struct pc_sock_rec *rec)
{
	struct got *g = ctx;
	if (g->n < MAX_RECS)
		g->rec[g->n] = *rec;
	g->n++;
	if (g->stop_after && (int)g->n >= g->stop_after)
		return PC_ENOMEM;
	return 0;
}

static void load(const char *name, struct pc_buf *b)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/sockdiag/%s", PC_TEST_DATA, name);
	pc_buf_init(b, 1 << 20);
	assert_int_equal(pc_buf_read_file(b, path), 0);
	assert_true(b->len > 0);
}

static const char *fmt(const struct pc_addr *a, char *buf)
{
	return inet_ntop(a->family, a->bytes, buf, 64);
}

static const struct pc_sock_rec *find(const struct got *g, uint8_t state, uint16_t lport,
				      uint16_t rport_nonzero)
{
	for (size_t i = 0; i < g->n && i < MAX_RECS; i++) {
		const struct pc_sock_rec *r = &g->rec[i];
		if (r->state == state && r->local_port == lport &&
		    (rport_nonzero ? r->remote_port != 0 : r->remote_port == 0))
			return r;
	}
	return NULL;
}

static void test_captured_tcp_both(void **state)
{
	(void)state;
	struct pc_buf b;
	load("tcp_both.bin", &b);
	struct got g = {0};
	struct pc_sockdiag_status st = {0};
	assert_int_equal(pc_sockdiag_parse(b.data, b.len, 1, IPPROTO_TCP, collect, &g, &st), 0);
	assert_true(st.done);
	assert_false(st.interrupted);
	/* listener 127.0.0.1:8080, both ends of one connection, [::]:8443 */
	assert_int_equal(g.n, 4);
	assert_int_equal(st.records, 4);
	char buf[64];
	const struct pc_sock_rec *l = find(&g, TCP_LISTEN, 8080, 0);
	assert_non_null(l);
	assert_int_equal(l->family, AF_INET);
	assert_int_equal(l->protocol, IPPROTO_TCP);
	assert_string_equal(fmt(&l->local, buf), "127.0.0.1");
	assert_true(l->inode != 0);
	assert_int_equal(l->uid, 0);
	const struct pc_sock_rec *s = find(&g, TCP_ESTABLISHED, 8080, 1);
	assert_non_null(s);
	assert_string_equal(fmt(&s->remote, buf), "127.0.0.1");
	/* the client end: its local port is the server end's peer port */
	const struct pc_sock_rec *c = find(&g, TCP_ESTABLISHED, s->remote_port, 1);
	assert_non_null(c);
	assert_int_equal(c->remote_port, 8080);
	assert_true(c->inode != s->inode && c->inode != l->inode);
	const struct pc_sock_rec *six = find(&g, TCP_LISTEN, 8443, 0);
	assert_non_null(six);
	assert_int_equal(six->family, AF_INET6);
	assert_string_equal(fmt(&six->local, buf), "::");
	pc_buf_free(&b);
}

static void test_captured_udp(void **state)
{
	(void)state;
	struct pc_buf b;
	char buf[64];
	load("udp4.bin", &b);
	struct got g = {0};
	struct pc_sockdiag_status st = {0};
	assert_int_equal(pc_sockdiag_parse(b.data, b.len, 1, IPPROTO_UDP, collect, &g, &st), 0);
	assert_true(st.done);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rec[0].state, TCP_CLOSE);
	assert_int_equal(g.rec[0].local_port, 5353);
	assert_int_equal(g.rec[0].protocol, IPPROTO_UDP);
	assert_string_equal(fmt(&g.rec[0].local, buf), "0.0.0.0");
	pc_buf_free(&b);

	load("udp6.bin", &b);
	memset(&g, 0, sizeof(g));
	memset(&st, 0, sizeof(st));
	assert_int_equal(pc_sockdiag_parse(b.data, b.len, 1, IPPROTO_UDP, collect, &g, &st), 0);
	assert_true(st.done);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rec[0].family, AF_INET6);
	assert_int_equal(g.rec[0].local_port, 5354);
	assert_string_equal(fmt(&g.rec[0].local, buf), "::1");
	pc_buf_free(&b);

	load("tcp6_listen.bin", &b);
	memset(&g, 0, sizeof(g));
	memset(&st, 0, sizeof(st));
	assert_int_equal(pc_sockdiag_parse(b.data, b.len, 1, IPPROTO_TCP, collect, &g, &st), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rec[0].local_port, 8443);
	pc_buf_free(&b);
}

/* Cut the captured reply at every byte: a cut on a message boundary parses
 * the whole messages before it; any other cut is PC_EPARSE. Never a crash,
 * never a record made from a partial message. */
static void test_truncated_everywhere(void **state)
{
	(void)state;
	struct pc_buf b;
	load("tcp_both.bin", &b);
	/* message boundaries */
	size_t bounds[32], nb = 0, off = 0;
	while (off < b.len && nb < 32) {
		struct nlmsghdr h;
		memcpy(&h, b.data + off, sizeof(h));
		off += NLMSG_ALIGN(h.nlmsg_len);
		bounds[nb++] = off;
	}
	for (size_t cut = 0; cut < b.len; cut++) {
		/* a copy of exactly cut bytes, so ASan sees any over-read */
		unsigned char *p = malloc(cut ? cut : 1);
		memcpy(p, b.data, cut);
		struct got g = {0};
		struct pc_sockdiag_status st = {0};
		int r = pc_sockdiag_parse(p, cut, 1, IPPROTO_TCP, collect, &g, &st);
		bool on_boundary = cut == 0;
		size_t whole = 0;
		for (size_t i = 0; i < nb; i++) {
			if (bounds[i] <= cut)
				whole = i + 1;
			/* the last message may lack its padding */
			if (bounds[i] == cut)
				on_boundary = true;
		}
		if (on_boundary)
			assert_int_equal(r, 0);
		else
			assert_int_equal(r, PC_EPARSE);
		assert_true(g.n <= whole);
		free(p);
	}
	pc_buf_free(&b);
}

/* Hand-made messages. */
struct msgbuf {
	unsigned char b[1024];
	size_t len;
};

static void put_msg(struct msgbuf *m, uint16_t type, uint16_t flags, uint32_t seq,
		    const void *payload, size_t plen, uint32_t lie_len)
{
	struct nlmsghdr h = {
		.nlmsg_len = lie_len ? lie_len : (uint32_t)(NLMSG_HDRLEN + plen),
		.nlmsg_type = type,
		.nlmsg_flags = flags,
		.nlmsg_seq = seq,
	};
	memcpy(m->b + m->len, &h, sizeof(h));
	if (plen)
		memcpy(m->b + m->len + NLMSG_HDRLEN, payload, plen);
	m->len += NLMSG_ALIGN(NLMSG_HDRLEN + plen);
}

static size_t diag_payload(unsigned char *out, uint8_t family, uint8_t st, uint16_t port,
			   const void *attrs, size_t alen)
{
	struct inet_diag_msg d = {
		.idiag_family = family,
		.idiag_state = st,
		.idiag_uid = 1000,
		.idiag_inode = 4242,
	};
	d.id.idiag_sport = htons(port);
	d.id.idiag_src[0] = htonl(0xc6120001); /* 198.18.0.1 */
	memcpy(out, &d, sizeof(d));
	if (alen)
		memcpy(out + NLMSG_ALIGN(sizeof(d)), attrs, alen);
	return NLMSG_ALIGN(sizeof(d)) + alen;
}

static int parse(const struct msgbuf *m, uint8_t proto, struct got *g,
		 struct pc_sockdiag_status *st)
{
	memset(g, 0, sizeof(*g));
	memset(st, 0, sizeof(*st));
	return pc_sockdiag_parse(m->b, m->len, 7, proto, collect, g, st);
}

static void test_handmade(void **state)
{
	(void)state;
	struct msgbuf m;
	struct got g;
	struct pc_sockdiag_status st;
	unsigned char p[256];
	char buf[64];

	/* one good record, then DONE */
	memset(&m, 0, sizeof(m));
	size_t n = diag_payload(p, AF_INET, TCP_LISTEN, 22, NULL, 0);
	put_msg(&m, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, 7, p, n, 0);
	int zero = 0;
	put_msg(&m, NLMSG_DONE, NLM_F_MULTI, 7, &zero, sizeof(zero), 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), 0);
	assert_true(st.done);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rec[0].local_port, 22);
	assert_int_equal(g.rec[0].uid, 1000);
	assert_int_equal(g.rec[0].inode, 4242);
	assert_string_equal(fmt(&g.rec[0].local, buf), "198.18.0.1");

	/* another request's messages (seq) are skipped */
	memset(&m, 0, sizeof(m));
	put_msg(&m, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, 6, p, n, 0);
	put_msg(&m, NLMSG_DONE, NLM_F_MULTI, 6, &zero, sizeof(zero), 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), 0);
	assert_int_equal(g.n, 0);
	assert_false(st.done);

	/* NLM_F_DUMP_INTR is reported */
	memset(&m, 0, sizeof(m));
	put_msg(&m, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI | NLM_F_DUMP_INTR, 7, p, n, 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), 0);
	assert_true(st.interrupted);

	/* NLMSG_ERROR carries the kernel's errno; an ack (0) is not an error */
	struct nlmsgerr e = {.error = -EPERM};
	memset(&m, 0, sizeof(m));
	put_msg(&m, NLMSG_ERROR, 0, 7, &e, sizeof(e), 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), -EPERM);
	e.error = 0;
	memset(&m, 0, sizeof(m));
	put_msg(&m, NLMSG_ERROR, 0, 7, &e, sizeof(e), 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), 0);
	/* an error code out of errno's range is malformed */
	e.error = -100000;
	memset(&m, 0, sizeof(m));
	put_msg(&m, NLMSG_ERROR, 0, 7, &e, sizeof(e), 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);
	/* an error message too short for its code */
	memset(&m, 0, sizeof(m));
	put_msg(&m, NLMSG_ERROR, 0, 7, &e, 2, 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);
	/* DONE with an error in it */
	int derr = -ENOBUFS;
	memset(&m, 0, sizeof(m));
	put_msg(&m, NLMSG_DONE, 0, 7, &derr, sizeof(derr), 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), -ENOBUFS);

	/* nlmsg_len shorter than a header, or longer than the buffer */
	memset(&m, 0, sizeof(m));
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 8);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);
	memset(&m, 0, sizeof(m));
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 4000);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);
	/* payload shorter than an inet_diag_msg */
	memset(&m, 0, sizeof(m));
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, sizeof(struct inet_diag_msg) - 1, 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);
	assert_int_equal(g.n, 0);
	/* a family that is not inet */
	memset(&m, 0, sizeof(m));
	n = diag_payload(p, AF_UNIX, TCP_LISTEN, 22, NULL, 0);
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);

	/* attributes: a valid one passes, a lying rta_len fails */
	unsigned char attrs[16];
	struct rtattr rta = {.rta_len = 5, .rta_type = INET_DIAG_SHUTDOWN};
	memset(attrs, 0, sizeof(attrs));
	memcpy(attrs, &rta, sizeof(rta));
	memset(&m, 0, sizeof(m));
	n = diag_payload(p, AF_INET, TCP_LISTEN, 22, attrs, 8);
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), 0);
	assert_int_equal(g.n, 1);
	rta.rta_len = 64;
	memcpy(attrs, &rta, sizeof(rta));
	memset(&m, 0, sizeof(m));
	n = diag_payload(p, AF_INET, TCP_LISTEN, 22, attrs, 8);
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);
	rta.rta_len = 2;
	memcpy(attrs, &rta, sizeof(rta));
	memset(&m, 0, sizeof(m));
	n = diag_payload(p, AF_INET, TCP_LISTEN, 22, attrs, 8);
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);

	/* INET_DIAG_PROTOCOL naming another protocol (UDP-Lite in a UDP
	 * dump): not ours, skipped */
	struct rtattr pa = {.rta_len = 5, .rta_type = INET_DIAG_PROTOCOL};
	memset(attrs, 0, sizeof(attrs));
	memcpy(attrs, &pa, sizeof(pa));
	attrs[4] = IPPROTO_UDPLITE;
	memset(&m, 0, sizeof(m));
	n = diag_payload(p, AF_INET, TCP_CLOSE, 53, attrs, 8);
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 0);
	assert_int_equal(parse(&m, IPPROTO_UDP, &g, &st), 0);
	assert_int_equal(g.n, 0);
	attrs[4] = IPPROTO_UDP;
	memset(&m, 0, sizeof(m));
	n = diag_payload(p, AF_INET, TCP_CLOSE, 53, attrs, 8);
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 0);
	assert_int_equal(parse(&m, IPPROTO_UDP, &g, &st), 0);
	assert_int_equal(g.n, 1);

	/* a few stray bytes after the last message: too short for a header */
	memset(&m, 0, sizeof(m));
	n = diag_payload(p, AF_INET, TCP_LISTEN, 22, NULL, 0);
	put_msg(&m, SOCK_DIAG_BY_FAMILY, 0, 7, p, n, 0);
	m.len += 7;
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EPARSE);

	/* NLMSG_OVERRUN */
	memset(&m, 0, sizeof(m));
	put_msg(&m, NLMSG_OVERRUN, 0, 7, NULL, 0, 0);
	assert_int_equal(parse(&m, IPPROTO_TCP, &g, &st), PC_EIO);
}

/* The callback's error stops the walk and comes back unchanged. */
static void test_callback_stops(void **state)
{
	(void)state;
	struct pc_buf b;
	load("tcp_both.bin", &b);
	struct got g = {.stop_after = 2};
	struct pc_sockdiag_status st = {0};
	assert_int_equal(pc_sockdiag_parse(b.data, b.len, 1, IPPROTO_TCP, collect, &g, &st),
			 PC_ENOMEM);
	assert_int_equal(g.n, 2);
	pc_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured_tcp_both),
		cmocka_unit_test(test_captured_udp),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_handmade),
		cmocka_unit_test(test_callback_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
