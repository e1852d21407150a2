/*
 * packet.h - the SYN scanner's wire format: build IPv4/IPv6 TCP SYN packets
 * (optionally behind an Ethernet header) with correct checksums, and parse
 * the replies that decide a probe's state (SYN-ACK, RST, ICMP/ICMPv6
 * destination unreachable quoting one of our probes).
 *
 * Every byte the parser reads comes from the network: each header length is
 * checked against what was captured before it is used, and anything odd is
 * rejected (PC_EPARSE) rather than guessed at. The parser allocates nothing
 * and keeps no state, so it can run on a capture ring directly and is fuzzed
 * by tests/fuzz/fuzz_packet.c.
 */
#ifndef PC_SCAN_PACKET_H
#define PC_SCAN_PACKET_H

#include "core/addr.h"

#include <stddef.h>
#include <stdint.h>

/* Largest packet pc_packet_build_syn() writes: IPv6 + TCP with MSS option. */
#define PC_PACKET_SYN_MAX (40 + 24)
#define PC_PACKET_ETH_LEN 14

/* TCP flags */
#define PC_TCP_FIN 0x01
#define PC_TCP_SYN 0x02
#define PC_TCP_RST 0x04
#define PC_TCP_PSH 0x08
#define PC_TCP_ACK 0x10

struct pc_syn_spec {
	struct pc_addr src, dst; /* same family */
	uint16_t sport, dport;
	uint32_t seq;    /* the cookie */
	uint16_t ip_id;  /* IPv4 identification; ignored for IPv6 */
	uint8_t ttl;     /* hop limit; 0 means 64 */
};

/* Write an IP packet (IPv4 or IPv6 header, TCP SYN with an MSS option) into
 * buf. Returns its length, or 0 when cap is too small or the addresses are
 * not of one family. */
size_t pc_packet_build_syn(uint8_t *buf, size_t cap, const struct pc_syn_spec *spec);

/* Same, behind an Ethernet II header (dst MAC, src MAC, EtherType). */
size_t pc_packet_build_syn_frame(uint8_t *buf, size_t cap, const uint8_t dst_mac[6],
				 const uint8_t src_mac[6], const struct pc_syn_spec *spec);

/* The Internet checksum (RFC 1071) of data, starting from sum (a partial
 * sum, e.g. of a pseudo header), folded and complemented. */
uint16_t pc_packet_checksum(const void *data, size_t len, uint32_t sum);
/* Partial sum of an IPv4/IPv6 pseudo header for a transport of proto and
 * length len. */
uint32_t pc_packet_pseudo_sum(const struct pc_addr *src, const struct pc_addr *dst,
			      uint8_t proto, uint32_t len);

enum pc_reply_kind {
	PC_REPLY_SYNACK = 1, /* open */
	PC_REPLY_RST,        /* closed */
	PC_REPLY_UNREACH,    /* ICMP/ICMPv6 destination unreachable quoting a probe */
};

/* A reply, seen from the scanner: "remote" is the probe's destination (the
 * host that answers or the host an ICMP error is about), "local" its source. */
struct pc_reply {
	enum pc_reply_kind kind;
	uint8_t proto;             /* IPPROTO_TCP or IPPROTO_UDP (quoted probe) */
	struct pc_addr remote, local;
	uint16_t remote_port, local_port;
	/* TCP replies: the acknowledgment number; ICMP errors quoting a TCP
	 * probe: the quoted sequence number + 1, so that one check
	 * (ack - 1 == cookie) validates both. */
	uint32_t ack;
	uint8_t icmp_type, icmp_code; /* PC_REPLY_UNREACH */
	struct pc_addr icmp_from;     /* PC_REPLY_UNREACH: who sent the error */
};

/* Parse one IP packet (starting at the IPv4 or IPv6 header). Returns 0 and
 * fills ret_reply for a SYN-ACK, an RST (with or without ACK) or a
 * destination-unreachable error quoting a TCP or UDP packet; PC_EPARSE for
 * anything else (truncated, malformed, fragments, other protocols, other
 * flags, other ICMP types). */
int pc_packet_parse_reply(const uint8_t *pkt, size_t len, struct pc_reply *ret_reply);
/* Same, for a frame that starts with an Ethernet II header (one 802.1Q tag
 * allowed). */
int pc_packet_parse_frame(const uint8_t *frame, size_t len, struct pc_reply *ret_reply);

/* ---- ARP (RFC 826), for on-link IPv4 targets ---- */

#define PC_PACKET_ARP_LEN 28

/* An ARP request (Ethernet/IPv4) asking who has target, from (our_mac,
 * our_ip); the ARP payload only (a SOCK_DGRAM packet socket adds the
 * Ethernet header). Returns its length, 0 when cap is too small or the
 * addresses are not IPv4. */
size_t pc_packet_build_arp_request(uint8_t *buf, size_t cap, const uint8_t our_mac[6],
				   const struct pc_addr *our_ip, const struct pc_addr *target);

/* Parse an ARP reply (Ethernet/IPv4, operation 2): who answered and its
 * MAC. 0, or PC_EPARSE for anything else. */
int pc_packet_parse_arp_reply(const uint8_t *pkt, size_t len, struct pc_addr *ret_ip,
			      uint8_t ret_mac[6]);

#endif
