/*
 * udp_payloads.h - what the UDP scanner sends to well-known ports.
 *
 * A UDP service only answers a datagram it understands, so an empty probe
 * finds almost nothing open: DNS, NTP, SNMP, memcached, mDNS and SSDP each
 * get a minimal, read-only request of their own protocol (a query, a time
 * request, a get, "version", a service listing, a discovery search). Every
 * other port gets an empty datagram, which still draws an ICMP
 * port-unreachable from a closed port.
 */
#ifndef PC_SCAN_UDP_PAYLOADS_H
#define PC_SCAN_UDP_PAYLOADS_H

#include <stddef.h>
#include <stdint.h>

struct pc_udp_payload {
	uint16_t port;
	const char *name; /* service, e.g. "dns" */
	const uint8_t *data;
	size_t len;
};

/* The payload for port, or NULL: send an empty datagram. */
const struct pc_udp_payload *pc_udp_payload_for(uint16_t port);

/* All payloads, for tests and documentation. */
size_t pc_udp_payload_count(void);
const struct pc_udp_payload *pc_udp_payload_at(size_t i);

#endif
