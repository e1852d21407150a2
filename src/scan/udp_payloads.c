/*
 * udp_payloads.c - the protocol requests of udp_payloads.h, written out
 * byte by byte from the protocols' RFCs so each field can be checked
 * (tests/unit/test_udp_payloads.c parses every one back).
 *
 * All of them only read: a DNS query for the server's version (CHAOS TXT
 * version.bind, answered or refused by every common server), an NTP mode 3
 * client request, an SNMP v2c GetRequest for sysDescr.0 with the community
 * "public", memcached's "version" in a UDP frame, an mDNS service listing
 * asked from a non-5353 port (so the answer comes back to us by unicast,
 * RFC 6762 section 6.7), and an SSDP M-SEARCH.
 */
#include "scan/udp_payloads.h"

/* RFC 1035 query, id 0x7063 ("pc"), no recursion: version.bind CH TXT */
static const uint8_t dns[] = {
	0x70, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 4, 'b', 'i', 'n', 'd', 0,
	0x00, 0x10, /* TXT */
	0x00, 0x03, /* CH */
};

/* RFC 5905: LI 3 (unsynchronised), version 4, mode 3 (client); the rest
 * zero. 48 bytes. */
static const uint8_t ntp[48] = {0xe3};

/* RFC 3416 GetRequest in BER, SNMPv2c (version 1), community "public",
 * request-id 0x70630001, one varbind: sysDescr.0 = NULL */
static const uint8_t snmp[] = {
	0x30, 0x29,                                     /* SEQUENCE, 41 */
	0x02, 0x01, 0x01,                               /* version: v2c */
	0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c',       /* community */
	0xa0, 0x1c,                                     /* GetRequest, 28 */
	0x02, 0x04, 0x70, 0x63, 0x00, 0x01,             /* request-id */
	0x02, 0x01, 0x00,                               /* error-status */
	0x02, 0x01, 0x00,                               /* error-index */
	0x30, 0x0e,                                     /* varbind list, 14 */
	0x30, 0x0c,                                     /* varbind, 12 */
	0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, /* 1.3.6.1.2.1.1.1.0 */
	0x05, 0x00,                                     /* NULL */
};

/* memcached UDP frame header (request id, sequence 0, 1 datagram,
 * reserved), then the text protocol's read-only "version" */
static const uint8_t memcached[] = {
	0x70, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	'v', 'e', 'r', 's', 'i', 'o', 'n', '\r', '\n',
};

/* RFC 6762/6763: PTR _services._dns-sd._udp.local, class IN with the
 * unicast-response bit */
static const uint8_t mdns[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	9, '_', 's', 'e', 'r', 'v', 'i', 'c', 'e', 's',
	7, '_', 'd', 'n', 's', '-', 's', 'd',
	4, '_', 'u', 'd', 'p',
	5, 'l', 'o', 'c', 'a', 'l', 0,
	0x00, 0x0c, /* PTR */
	0x80, 0x01, /* QU, IN */
};

/* UPnP device architecture: discovery of every root device and service */
static const char ssdp[] = "M-SEARCH * HTTP/1.1\r\n"
			   "HOST: 239.255.255.250:1900\r\n"
			   "MAN: \"ssdp:discover\"\r\n"
			   "MX: 1\r\n"
			   "ST: ssdp:all\r\n"
			   "\r\n";

static const struct pc_udp_payload payloads[] = {
	{53, "dns", dns, sizeof(dns)},
	{123, "ntp", ntp, sizeof(ntp)},
	{161, "snmp", snmp, sizeof(snmp)},
	{1900, "ssdp", (const uint8_t *)ssdp, sizeof(ssdp) - 1},
	{5353, "mdns", mdns, sizeof(mdns)},
	{11211, "memcached", memcached, sizeof(memcached)},
};

const struct pc_udp_payload *pc_udp_payload_for(uint16_t port)
{
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
		if (payloads[i].port == port)
			return &payloads[i];
	return NULL;
}

size_t pc_udp_payload_count(void)
{
	return sizeof(payloads) / sizeof(payloads[0]);
}

const struct pc_udp_payload *pc_udp_payload_at(size_t i)
{
	return i < pc_udp_payload_count() ? &payloads[i] : 0;
}
