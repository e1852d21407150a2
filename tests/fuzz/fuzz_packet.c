/*
 * fuzz_packet.c - the SYN scanner's reply parser on hostile bytes: as an IP
 * packet and as an Ethernet frame. Whatever parses must describe a reply
 * that fits inside the input (ports and addresses of a known family); and
 * the ARP reply parser on the same bytes.
 */
#include "scan/packet.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct pc_reply *r)
{
	if (r->remote.family != AF_INET && r->remote.family != AF_INET6)
		abort();
	if (r->local.family != r->remote.family)
		abort();
	if (r->kind < PC_REPLY_SYNACK || r->kind > PC_REPLY_UNREACH)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_reply r;
	if (pc_packet_parse_reply(data, size, &r) == 0)
		check(&r);
	if (pc_packet_parse_frame(data, size, &r) == 0)
		check(&r);
	struct pc_addr ip;
	uint8_t mac[6];
	if (pc_packet_parse_arp_reply(data, size, &ip, mac) == 0 &&
	    (ip.family != AF_INET || (mac[0] & 1)))
		abort();
	return 0;
}
