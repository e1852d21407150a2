/*
 * test_packet.c - SYN packet builder and reply parser: checksums against
 * values computed independently (RFC 1071's example, a textbook IPv4
 * header, and a Python reference for our own SYNs), build/parse round
 * trips for IPv4 and IPv6, and rejection of every truncation and of
 * malformed headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/addr.h"
#include "core/error.h"
#include "scan/packet.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static struct pc_addr A(const char *s)
{
	struct pc_addr a;
	assert_int_equal(pc_addr_parse(s, &a), 0);
	return a;
}

static void test_checksum_known(void **state)
{
	(void)state;
	/* RFC 1071 section 3: the sum of these words is 0xddf2 */
	static const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(pc_packet_checksum(rfc, sizeof(rfc), 0), (uint16_t)~0xddf2);
	/* a well-known IPv4 header; its checksum is 0xb861 */
	static const uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	assert_int_equal(pc_packet_checksum(ip, sizeof(ip), 0), 0xb861);
	/* odd length pads with a zero byte */
	static const uint8_t odd[] = {0x01};
	assert_int_equal(pc_packet_checksum(odd, 1, 0), (uint16_t)~0x0100);
}

static struct pc_syn_spec spec4(void)
{
	struct pc_syn_spec s;
	memset(&s, 0, sizeof(s));
	s.src = A("198.18.0.1");
	s.dst = A("198.18.0.2");
	s.sport = 40000;
	s.dport = 80;
	s.seq = 0x01020304;
	s.ip_id = 0x1234;
	return s;
}

static struct pc_syn_spec spec6(void)
{
	struct pc_syn_spec s = spec4();
	s.src = A("fd00:198:18::1");
	s.dst = A("fd00:198:18::2");
	return s;
}

static void test_build_syn_v4(void **state)
{
	(void)state;
	uint8_t b[PC_PACKET_SYN_MAX];
	struct pc_syn_spec s = spec4();
	size_t n = pc_packet_build_syn(b, sizeof(b), &s);
	assert_int_equal(n, 44);
	assert_int_equal(b[0], 0x45);
	assert_int_equal(b[2] << 8 | b[3], 44);
	assert_int_equal(b[9], IPPROTO_TCP);
	/* checksums computed by an independent reference (Python) */
	assert_int_equal(b[10] << 8 | b[11], 0x9c70);
	assert_int_equal(b[36] << 8 | b[37], 0x6768);
	/* and both verify to zero */
	assert_int_equal(pc_packet_checksum(b, 20, 0), 0);
	uint32_t ps = pc_packet_pseudo_sum(&s.src, &s.dst, IPPROTO_TCP, 24);
	assert_int_equal(pc_packet_checksum(b + 20, 24, ps), 0);
	assert_int_equal(b[33], PC_TCP_SYN);
	/* too small a buffer: nothing */
	assert_int_equal(pc_packet_build_syn(b, 43, &s), 0);
	/* mixed families: nothing */
	s.dst = A("fd00:198:18::2");
	assert_int_equal(pc_packet_build_syn(b, sizeof(b), &s), 0);
}

static void test_build_syn_v6(void **state)
{
	(void)state;
	uint8_t b[PC_PACKET_SYN_MAX];
	struct pc_syn_spec s = spec6();
	size_t n = pc_packet_build_syn(b, sizeof(b), &s);
	assert_int_equal(n, 64);
	assert_int_equal(b[0] >> 4, 6);
	assert_int_equal(b[4] << 8 | b[5], 24);
	assert_int_equal(b[6], IPPROTO_TCP);
	assert_int_equal(b[7], 64);
	assert_int_equal(b[56] << 8 | b[57], 0xf62b);
	uint32_t ps = pc_packet_pseudo_sum(&s.src, &s.dst, IPPROTO_TCP, 24);
	assert_int_equal(pc_packet_checksum(b + 40, 24, ps), 0);
}

static void test_build_frame(void **state)
{
	(void)state;
	uint8_t b[PC_PACKET_ETH_LEN + PC_PACKET_SYN_MAX];
	static const uint8_t dm[6] = {2, 0, 0, 0, 0, 2}, sm[6] = {2, 0, 0, 0, 0, 1};
	struct pc_syn_spec s = spec6();
	size_t n = pc_packet_build_syn_frame(b, sizeof(b), dm, sm, &s);
	assert_int_equal(n, 78);
	assert_memory_equal(b, dm, 6);
	assert_memory_equal(b + 6, sm, 6);
	assert_int_equal(b[12] << 8 | b[13], 0x86dd);
	s = spec4();
	n = pc_packet_build_syn_frame(b, sizeof(b), dm, sm, &s);
	assert_int_equal(n, 58);
	assert_int_equal(b[12] << 8 | b[13], 0x0800);
}

/* A reply from the target: build a SYN the other way and turn it into a
 * SYN-ACK or RST acknowledging ack. */
static size_t make_tcp_reply(uint8_t *b, size_t cap, bool v6, uint8_t flags, uint32_t ack)
{
	struct pc_syn_spec s = v6 ? spec6() : spec4();
	struct pc_syn_spec r = s;
	r.src = s.dst;
	r.dst = s.src;
	r.sport = s.dport;
	r.dport = s.sport;
	r.seq = 777;
	size_t n = pc_packet_build_syn(b, cap, &r);
	size_t l4 = v6 ? 40 : 20;
	b[l4 + 8] = (uint8_t)(ack >> 24);
	b[l4 + 9] = (uint8_t)(ack >> 16);
	b[l4 + 10] = (uint8_t)(ack >> 8);
	b[l4 + 11] = (uint8_t)ack;
	b[l4 + 13] = flags;
	return n;
}

static void check_tcp_reply(bool v6)
{
	uint8_t b[128];
	struct pc_reply r;
	struct pc_syn_spec s = v6 ? spec6() : spec4();

	size_t n = make_tcp_reply(b, sizeof(b), v6, PC_TCP_SYN | PC_TCP_ACK, s.seq + 1);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), 0);
	assert_int_equal(r.kind, PC_REPLY_SYNACK);
	assert_int_equal(r.proto, IPPROTO_TCP);
	assert_true(pc_addr_equal(&r.remote, &s.dst));
	assert_true(pc_addr_equal(&r.local, &s.src));
	assert_int_equal(r.remote_port, 80);
	assert_int_equal(r.local_port, 40000);
	assert_int_equal(r.ack, s.seq + 1);

	/* every truncation is rejected */
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(pc_packet_parse_reply(b, cut, &r), PC_EPARSE);
	/* trailing link padding is fine */
	memset(b + n, 0, 6);
	assert_int_equal(pc_packet_parse_reply(b, n + 6, &r), 0);

	n = make_tcp_reply(b, sizeof(b), v6, PC_TCP_RST | PC_TCP_ACK, s.seq + 1);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), 0);
	assert_int_equal(r.kind, PC_REPLY_RST);
	/* a bare RST (no ACK) carries nothing we can check */
	n = make_tcp_reply(b, sizeof(b), v6, PC_TCP_RST, s.seq + 1);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	/* a SYN, a plain ACK, SYN+RST: not replies */
	n = make_tcp_reply(b, sizeof(b), v6, PC_TCP_SYN, 0);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	n = make_tcp_reply(b, sizeof(b), v6, PC_TCP_ACK, 1);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	n = make_tcp_reply(b, sizeof(b), v6, PC_TCP_SYN | PC_TCP_RST | PC_TCP_ACK, 1);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);

	/* a data offset past the end */
	n = make_tcp_reply(b, sizeof(b), v6, PC_TCP_SYN | PC_TCP_ACK, 1);
	b[(v6 ? 40 : 20) + 12] = 0xf0;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	/* a data offset below the minimum */
	b[(v6 ? 40 : 20) + 12] = 0x40;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
}

static void test_parse_tcp_v4(void **state)
{
	(void)state;
	check_tcp_reply(false);
	uint8_t b[128];
	struct pc_reply r;
	size_t n = make_tcp_reply(b, sizeof(b), false, PC_TCP_SYN | PC_TCP_ACK, 5);
	/* bad IPv4 header checksum */
	b[10] ^= 1;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	b[10] ^= 1;
	/* total length longer than captured */
	b[3] += 1;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	b[3] -= 1;
	/* IHL below 5 */
	n = make_tcp_reply(b, sizeof(b), false, PC_TCP_SYN | PC_TCP_ACK, 5);
	b[0] = 0x44;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	/* a fragment (offset) */
	n = make_tcp_reply(b, sizeof(b), false, PC_TCP_SYN | PC_TCP_ACK, 5);
	b[6] = 0x00;
	b[7] = 0x10;
	b[10] = b[11] = 0;
	uint16_t c = pc_packet_checksum(b, 20, 0);
	b[10] = (uint8_t)(c >> 8);
	b[11] = (uint8_t)c;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	/* version 5 */
	b[0] = 0x55;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
}

static void test_parse_tcp_v6(void **state)
{
	(void)state;
	check_tcp_reply(true);
	uint8_t b[256];
	struct pc_reply r;
	size_t n = make_tcp_reply(b, sizeof(b), true, PC_TCP_SYN | PC_TCP_ACK, 9);
	/* payload length longer than captured */
	b[5] += 1;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	b[5] -= 1;
	/* a hop-by-hop header in front of TCP is walked */
	uint8_t e[256];
	memcpy(e, b, 40);
	e[6] = 0; /* next: hop-by-hop */
	e[40] = IPPROTO_TCP;
	e[41] = 0; /* 8 bytes */
	memset(e + 42, 0, 6);
	e[42] = 1; /* PadN */
	e[43] = 4;
	memcpy(e + 48, b + 40, n - 40);
	e[4] = 0;
	e[5] = (uint8_t)(n - 40 + 8);
	assert_int_equal(pc_packet_parse_reply(e, n + 8, &r), 0);
	assert_int_equal(r.kind, PC_REPLY_SYNACK);
	assert_int_equal(r.ack, 9);
	/* an extension header running past the end */
	e[41] = 200;
	assert_int_equal(pc_packet_parse_reply(e, n + 8, &r), PC_EPARSE);
	/* a fragment header */
	e[41] = 0;
	e[6] = 44;
	assert_int_equal(pc_packet_parse_reply(e, n + 8, &r), PC_EPARSE);
}

/* ICMP error from `from` quoting our SYN (IP header + 8 bytes, as
 * RFC 792 asks, or the whole packet). */
static size_t make_unreach(uint8_t *b, bool v6, uint8_t code, size_t quote)
{
	struct pc_syn_spec s = v6 ? spec6() : spec4();
	uint8_t syn[PC_PACKET_SYN_MAX];
	size_t sn = pc_packet_build_syn(syn, sizeof(syn), &s);
	if (quote > sn)
		quote = sn;
	size_t ih = v6 ? 40 : 20;
	size_t total = ih + 8 + quote;
	memset(b, 0, total);
	if (!v6) {
		b[0] = 0x45;
		b[2] = (uint8_t)(total >> 8);
		b[3] = (uint8_t)total;
		b[8] = 64;
		b[9] = IPPROTO_ICMP;
		memcpy(b + 12, s.dst.bytes, 4); /* from the target */
		memcpy(b + 16, s.src.bytes, 4);
		uint16_t c = pc_packet_checksum(b, 20, 0);
		b[10] = (uint8_t)(c >> 8);
		b[11] = (uint8_t)c;
		b[20] = 3;
	} else {
		b[0] = 0x60;
		b[4] = (uint8_t)((total - 40) >> 8);
		b[5] = (uint8_t)(total - 40);
		b[6] = IPPROTO_ICMPV6;
		b[7] = 64;
		memcpy(b + 8, s.dst.bytes, 16);
		memcpy(b + 24, s.src.bytes, 16);
		b[40] = 1;
	}
	b[ih + 1] = code;
	memcpy(b + ih + 8, syn, quote);
	return total;
}

static void check_unreach(bool v6)
{
	uint8_t b[256];
	struct pc_reply r;
	struct pc_syn_spec s = v6 ? spec6() : spec4();
	size_t ih = v6 ? 40 : 20;
	size_t n = make_unreach(b, v6, v6 ? 4 : 3, ih + 8);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), 0);
	assert_int_equal(r.kind, PC_REPLY_UNREACH);
	assert_int_equal(r.icmp_type, v6 ? 1 : 3);
	assert_int_equal(r.icmp_code, v6 ? 4 : 3);
	assert_int_equal(r.proto, IPPROTO_TCP);
	assert_true(pc_addr_equal(&r.remote, &s.dst));
	assert_true(pc_addr_equal(&r.local, &s.src));
	assert_true(pc_addr_equal(&r.icmp_from, &s.dst));
	assert_int_equal(r.remote_port, 80);
	assert_int_equal(r.local_port, 40000);
	assert_int_equal(r.ack, s.seq + 1);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(pc_packet_parse_reply(b, cut, &r), PC_EPARSE);
	/* the whole probe quoted (as Linux does) parses the same */
	n = make_unreach(b, v6, 1, 1000);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), 0);
	assert_int_equal(r.ack, s.seq + 1);
	/* quoting fewer than 8 bytes of TCP */
	n = make_unreach(b, v6, 1, ih + 7);
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	/* other ICMP types (echo reply / echo request) */
	n = make_unreach(b, v6, 0, ih + 8);
	b[ih] = v6 ? 129 : 0;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	/* an error about a packet someone else sent */
	n = make_unreach(b, v6, 3, ih + 8);
	b[ih + 8 + (v6 ? 8 : 12)] ^= 0x40;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
	/* a quoted packet of the other family */
	n = make_unreach(b, v6, 3, ih + 8);
	b[ih + 8] = v6 ? 0x45 : 0x60;
	assert_int_equal(pc_packet_parse_reply(b, n, &r), PC_EPARSE);
}

static void test_parse_unreach_v4(void **state)
{
	(void)state;
	check_unreach(false);
}

static void test_parse_unreach_v6(void **state)
{
	(void)state;
	check_unreach(true);
}

static void test_parse_frame(void **state)
{
	(void)state;
	uint8_t f[256];
	struct pc_reply r;
	memset(f, 0, 18);
	size_t n = make_tcp_reply(f + 14, sizeof(f) - 14, false, PC_TCP_SYN | PC_TCP_ACK, 3);
	f[12] = 0x08;
	f[13] = 0x00;
	assert_int_equal(pc_packet_parse_frame(f, n + 14, &r), 0);
	assert_int_equal(r.kind, PC_REPLY_SYNACK);
	/* EtherType says IPv6, the packet is IPv4 */
	f[12] = 0x86;
	f[13] = 0xdd;
	assert_int_equal(pc_packet_parse_frame(f, n + 14, &r), PC_EPARSE);
	/* ARP */
	f[12] = 0x08;
	f[13] = 0x06;
	assert_int_equal(pc_packet_parse_frame(f, n + 14, &r), PC_EPARSE);
	/* one VLAN tag */
	memmove(f + 18, f + 14, n);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = 0;
	f[15] = 5;
	f[16] = 0x08;
	f[17] = 0x00;
	assert_int_equal(pc_packet_parse_frame(f, n + 18, &r), 0);
	for (size_t cut = 0; cut < n + 18; cut++)
		assert_int_equal(pc_packet_parse_frame(f, cut, &r), PC_EPARSE);
}

static void test_arp(void **state)
{
	(void)state;
	uint8_t b[64];
	static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	struct pc_addr us = A("198.18.0.1"), them = A("198.18.0.2"), six = A("fd00:198:18::1");
	assert_int_equal(pc_packet_build_arp_request(b, 27, mac, &us, &them), 0);
	assert_int_equal(pc_packet_build_arp_request(b, sizeof(b), mac, &six, &them), 0);
	size_t n = pc_packet_build_arp_request(b, sizeof(b), mac, &us, &them);
	/* RFC 826 layout, byte for byte */
	static const uint8_t want[28] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
					 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 198, 18, 0, 1,
					 0, 0, 0, 0, 0, 0, 198, 18, 0, 2};
	assert_int_equal(n, 28);
	assert_memory_equal(b, want, 28);
	/* a request is not a reply */
	struct pc_addr ip;
	uint8_t got[6];
	assert_int_equal(pc_packet_parse_arp_reply(b, n, &ip, got), PC_EPARSE);
	/* the target's answer: sender = them, with their MAC */
	static const uint8_t theirs[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
	b[7] = 2;
	memcpy(b + 8, theirs, 6);
	memcpy(b + 14, them.bytes, 4);
	memcpy(b + 18, mac, 6);
	memcpy(b + 24, us.bytes, 4);
	assert_int_equal(pc_packet_parse_arp_reply(b, n, &ip, got), 0);
	assert_true(pc_addr_equal(&ip, &them));
	assert_memory_equal(got, theirs, 6);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(pc_packet_parse_arp_reply(b, cut, &ip, got), PC_EPARSE);
	/* a multicast or null sender MAC, other hardware, other protocol */
	b[8] = 0x01;
	assert_int_equal(pc_packet_parse_arp_reply(b, n, &ip, got), PC_EPARSE);
	memset(b + 8, 0, 6);
	assert_int_equal(pc_packet_parse_arp_reply(b, n, &ip, got), PC_EPARSE);
	memcpy(b + 8, theirs, 6);
	b[1] = 6;
	assert_int_equal(pc_packet_parse_arp_reply(b, n, &ip, got), PC_EPARSE);
	b[1] = 1;
	b[2] = 0x86;
	assert_int_equal(pc_packet_parse_arp_reply(b, n, &ip, got), PC_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_known),
		cmocka_unit_test(test_build_syn_v4),
		cmocka_unit_test(test_build_syn_v6),
		cmocka_unit_test(test_build_frame),
		cmocka_unit_test(test_parse_tcp_v4),
		cmocka_unit_test(test_parse_tcp_v6),
		cmocka_unit_test(test_parse_unreach_v4),
		cmocka_unit_test(test_parse_unreach_v6),
		cmocka_unit_test(test_parse_frame),
		cmocka_unit_test(test_arp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
