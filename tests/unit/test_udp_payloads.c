/*
 * test_udp_payloads.c - each UDP probe parsed back by an independent
 * reader of its protocol: DNS/mDNS header and question, SNMP's BER
 * nesting (every length adds up, the OID is sysDescr.0), NTP's mode and
 * size, memcached's UDP frame, SSDP's request line and header block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scan/udp_payloads.h"

#include <string.h>

static const struct pc_udp_payload *get(uint16_t port, const char *name)
{
	const struct pc_udp_payload *p = pc_udp_payload_for(port);
	assert_non_null(p);
	assert_string_equal(p->name, name);
	assert_int_equal(p->port, port);
	return p;
}

/* Walk one DNS question; returns the offset after it, checks the name. */
static size_t dns_question(const uint8_t *d, size_t len, const char *want_name, uint16_t qtype,
			   uint16_t qclass)
{
	assert_true(len >= 12);
	assert_int_equal(d[4] << 8 | d[5], 1);  /* QDCOUNT */
	assert_int_equal(d[6] << 8 | d[7], 0);  /* ANCOUNT */
	assert_int_equal(d[8] << 8 | d[9], 0);  /* NSCOUNT */
	assert_int_equal(d[10] << 8 | d[11], 0); /* ARCOUNT */
	assert_int_equal(d[2] & 0x80, 0);        /* a query, not a response */
	char name[256] = "";
	size_t off = 12, nl = 0;
	for (;;) {
		assert_true(off < len);
		uint8_t l = d[off++];
		if (l == 0)
			break;
		assert_true(l < 64);
		assert_true(off + l <= len);
		if (nl)
			name[nl++] = '.';
		memcpy(name + nl, d + off, l);
		nl += l;
		name[nl] = 0;
		off += l;
	}
	assert_string_equal(name, want_name);
	assert_true(off + 4 <= len);
	assert_int_equal(d[off] << 8 | d[off + 1], qtype);
	assert_int_equal(d[off + 2] << 8 | d[off + 3], qclass);
	return off + 4;
}

static void test_dns(void **state)
{
	(void)state;
	const struct pc_udp_payload *p = get(53, "dns");
	assert_int_equal(dns_question(p->data, p->len, "version.bind", 16, 3), p->len);
	p = get(5353, "mdns");
	assert_int_equal(dns_question(p->data, p->len, "_services._dns-sd._udp.local", 12, 0x8001),
			 p->len);
}

static void test_ntp(void **state)
{
	(void)state;
	const struct pc_udp_payload *p = get(123, "ntp");
	assert_int_equal(p->len, 48);
	assert_int_equal(p->data[0] & 7, 3);        /* mode: client */
	assert_int_equal((p->data[0] >> 3) & 7, 4); /* version 4 */
}

/* BER: read a tag and definite short/long length; returns content offset. */
static size_t ber(const uint8_t *d, size_t len, size_t off, uint8_t tag, size_t *ret_len)
{
	assert_true(off + 2 <= len);
	assert_int_equal(d[off], tag);
	size_t l = d[off + 1];
	off += 2;
	if (l & 0x80) {
		size_t n = l & 0x7f;
		assert_true(n >= 1 && n <= 2 && off + n <= len);
		l = 0;
		for (size_t i = 0; i < n; i++)
			l = l << 8 | d[off++];
	}
	assert_true(off + l <= len);
	*ret_len = l;
	return off;
}

static void test_snmp(void **state)
{
	(void)state;
	const struct pc_udp_payload *p = get(161, "snmp");
	const uint8_t *d = p->data;
	size_t l, off = ber(d, p->len, 0, 0x30, &l);
	assert_int_equal(off + l, p->len); /* the message fills the datagram */
	size_t end = off + l;
	off = ber(d, end, off, 0x02, &l); /* version */
	assert_int_equal(l, 1);
	assert_int_equal(d[off], 1); /* v2c */
	off += l;
	off = ber(d, end, off, 0x04, &l); /* community */
	assert_int_equal(l, 6);
	assert_memory_equal(d + off, "public", 6);
	off += l;
	off = ber(d, end, off, 0xa0, &l); /* GetRequest */
	assert_int_equal(off + l, end);
	off = ber(d, end, off, 0x02, &l); /* request-id */
	off += l;
	off = ber(d, end, off, 0x02, &l); /* error-status */
	assert_int_equal(d[off], 0);
	off += l;
	off = ber(d, end, off, 0x02, &l); /* error-index */
	off += l;
	off = ber(d, end, off, 0x30, &l); /* varbind list */
	assert_int_equal(off + l, end);
	off = ber(d, end, off, 0x30, &l); /* varbind */
	assert_int_equal(off + l, end);
	off = ber(d, end, off, 0x06, &l); /* name */
	static const uint8_t sysdescr0[] = {0x2b, 6, 1, 2, 1, 1, 1, 0};
	assert_int_equal(l, sizeof(sysdescr0));
	assert_memory_equal(d + off, sysdescr0, sizeof(sysdescr0));
	off += l;
	off = ber(d, end, off, 0x05, &l); /* NULL */
	assert_int_equal(l, 0);
	assert_int_equal(off, end);
}

static void test_memcached(void **state)
{
	(void)state;
	const struct pc_udp_payload *p = get(11211, "memcached");
	assert_int_equal(p->len, 8 + 9);
	assert_int_equal(p->data[2] << 8 | p->data[3], 0); /* sequence */
	assert_int_equal(p->data[4] << 8 | p->data[5], 1); /* datagrams */
	assert_int_equal(p->data[6] << 8 | p->data[7], 0); /* reserved */
	assert_memory_equal(p->data + 8, "version\r\n", 9);
}

static void test_ssdp(void **state)
{
	(void)state;
	const struct pc_udp_payload *p = get(1900, "ssdp");
	const char *s = (const char *)p->data;
	assert_int_equal(strncmp(s, "M-SEARCH * HTTP/1.1\r\n", 21), 0);
	assert_memory_equal(s + p->len - 4, "\r\n\r\n", 4);
	assert_non_null(memmem(s, p->len, "MAN: \"ssdp:discover\"\r\n", 22));
	/* one header block: no empty line before the end, no stray NUL */
	assert_null(memmem(s, p->len - 4, "\r\n\r\n", 4));
	assert_null(memchr(s, 0, p->len));
}

static void test_table(void **state)
{
	(void)state;
	assert_true(pc_udp_payload_count() >= 6);
	for (size_t i = 0; i < pc_udp_payload_count(); i++) {
		const struct pc_udp_payload *p = pc_udp_payload_at(i);
		assert_ptr_equal(pc_udp_payload_for(p->port), p);
		assert_true(p->len > 0 && p->len <= 512);
	}
	assert_null(pc_udp_payload_at(pc_udp_payload_count()));
	assert_null(pc_udp_payload_for(9));
	assert_null(pc_udp_payload_for(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns),    cmocka_unit_test(test_ntp),
		cmocka_unit_test(test_snmp),   cmocka_unit_test(test_memcached),
		cmocka_unit_test(test_ssdp),   cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
