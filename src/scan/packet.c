/*
 * packet.c - SYN packet builder and reply parser (see packet.h).
 *
 * Built by hand with byte stores rather than struct overlays, so there is no
 * alignment or endianness trap and the parser can take any byte pointer.
 * Checksums: the IPv4 header checksum is verified on receive (every stack
 * computes it in software); TCP checksums are not, because replies over veth
 * or with offload are captured before the checksum is filled in - the cookie
 * is what proves a reply is ours.
 */
#include "scan/packet.h"
#include "core/error.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define ETHERTYPE_IP4 0x0800
#define ETHERTYPE_IP6 0x86dd
#define ETHERTYPE_VLAN 0x8100

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t sum_bytes(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;
	while (len >= 2) {
		s += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t pc_packet_checksum(const void *data, size_t len, uint32_t sum)
{
	uint32_t s = sum_bytes(data, len, sum);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

uint32_t pc_packet_pseudo_sum(const struct pc_addr *src, const struct pc_addr *dst,
			      uint8_t proto, uint32_t len)
{
	size_t alen = src->family == AF_INET6 ? 16 : 4;
	uint32_t s = sum_bytes(src->bytes, alen, 0);
	s = sum_bytes(dst->bytes, alen, s);
	s += proto;
	s += len >> 16;
	s += len & 0xffff;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

#define TCP_SYN_LEN 24 /* 20-byte header + MSS option */

static void build_tcp(uint8_t *tcp, const struct pc_syn_spec *spec)
{
	wr16(tcp, spec->sport);
	wr16(tcp + 2, spec->dport);
	wr32(tcp + 4, spec->seq);
	wr32(tcp + 8, 0);
	tcp[12] = (TCP_SYN_LEN / 4) << 4;
	tcp[13] = PC_TCP_SYN;
	wr16(tcp + 14, 1024); /* window */
	wr16(tcp + 16, 0);    /* checksum, below */
	wr16(tcp + 18, 0);    /* urgent */
	tcp[20] = 2;          /* MSS */
	tcp[21] = 4;
	wr16(tcp + 22, 1460);
	uint32_t ps = pc_packet_pseudo_sum(&spec->src, &spec->dst, IPPROTO_TCP, TCP_SYN_LEN);
	wr16(tcp + 16, pc_packet_checksum(tcp, TCP_SYN_LEN, ps));
}

size_t pc_packet_build_syn(uint8_t *buf, size_t cap, const struct pc_syn_spec *spec)
{
	uint8_t ttl = spec->ttl ? spec->ttl : 64;
	if (spec->src.family != spec->dst.family)
		return 0;
	if (spec->src.family == AF_INET) {
		size_t len = 20 + TCP_SYN_LEN;
		if (cap < len)
			return 0;
		buf[0] = 0x45;
		buf[1] = 0;
		wr16(buf + 2, (uint16_t)len);
		wr16(buf + 4, spec->ip_id);
		wr16(buf + 6, 0x4000); /* DF */
		buf[8] = ttl;
		buf[9] = IPPROTO_TCP;
		wr16(buf + 10, 0);
		memcpy(buf + 12, spec->src.bytes, 4);
		memcpy(buf + 16, spec->dst.bytes, 4);
		wr16(buf + 10, pc_packet_checksum(buf, 20, 0));
		build_tcp(buf + 20, spec);
		return len;
	}
	if (spec->src.family == AF_INET6) {
		size_t len = 40 + TCP_SYN_LEN;
		if (cap < len)
			return 0;
		wr32(buf, 6u << 28);
		wr16(buf + 4, TCP_SYN_LEN);
		buf[6] = IPPROTO_TCP;
		buf[7] = ttl;
		memcpy(buf + 8, spec->src.bytes, 16);
		memcpy(buf + 24, spec->dst.bytes, 16);
		build_tcp(buf + 40, spec);
		return len;
	}
	return 0;
}

size_t pc_packet_build_syn_frame(uint8_t *buf, size_t cap, const uint8_t dst_mac[6],
				 const uint8_t src_mac[6], const struct pc_syn_spec *spec)
{
	if (cap < PC_PACKET_ETH_LEN)
		return 0;
	size_t n = pc_packet_build_syn(buf + PC_PACKET_ETH_LEN, cap - PC_PACKET_ETH_LEN, spec);
	if (!n)
		return 0;
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	wr16(buf + 12, spec->src.family == AF_INET ? ETHERTYPE_IP4 : ETHERTYPE_IP6);
	return n + PC_PACKET_ETH_LEN;
}

/* ---- parsing ---- */

struct ip_view {
	uint8_t family;
	const uint8_t *src, *dst; /* address bytes */
	uint8_t proto;            /* transport protocol after extension headers */
	const uint8_t *l4;
	size_t l4_len;            /* bytes of transport available (captured) */
};

/* Parse an IP header at p. quoted: inside an ICMP error, where the packet
 * is cut short, so the total length may exceed what is present and the
 * IPv4 checksum is not checked (routers may quote it as sent). */
static int parse_ip(const uint8_t *p, size_t len, bool quoted, struct ip_view *v)
{
	if (len < 1)
		return PC_EPARSE;
	unsigned version = p[0] >> 4;
	if (version == 4) {
		if (len < 20)
			return PC_EPARSE;
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		size_t total = rd16(p + 2);
		if (ihl < 20 || ihl > len || total < ihl)
			return PC_EPARSE;
		if (!quoted) {
			if (total > len)
				return PC_EPARSE;
			len = total; /* ignore link-layer padding */
			if (pc_packet_checksum(p, ihl, 0) != 0)
				return PC_EPARSE;
		} else if (total < len) {
			len = total;
		}
		/* fragments: only a first fragment carries the ports */
		uint16_t frag = rd16(p + 6);
		if (frag & 0x1fff)
			return PC_EPARSE;
		if (!quoted && (frag & 0x2000))
			return PC_EPARSE;
		v->family = AF_INET;
		v->src = p + 12;
		v->dst = p + 16;
		v->proto = p[9];
		v->l4 = p + ihl;
		v->l4_len = len - ihl;
		return 0;
	}
	if (version == 6) {
		if (len < 40)
			return PC_EPARSE;
		size_t payload = rd16(p + 4);
		if (!quoted) {
			if (40 + payload > len)
				return PC_EPARSE;
			len = 40 + payload;
		} else if (40 + payload < len) {
			len = 40 + payload;
		}
		uint8_t next = p[6];
		size_t off = 40;
		/* walk at most a few extension headers; fragments are rejected */
		for (int i = 0; i < 8; i++) {
			if (next != 0 && next != 43 && next != 60)
				break;
			if (off + 8 > len)
				return PC_EPARSE;
			size_t hl = ((size_t)p[off + 1] + 1) * 8;
			if (off + hl > len)
				return PC_EPARSE;
			next = p[off];
			off += hl;
		}
		if (next == 0 || next == 43 || next == 60 || next == 44)
			return PC_EPARSE;
		v->family = AF_INET6;
		v->src = p + 8;
		v->dst = p + 24;
		v->proto = next;
		v->l4 = p + off;
		v->l4_len = len - off;
		return 0;
	}
	return PC_EPARSE;
}

static void set_addr(struct pc_addr *a, uint8_t family, const uint8_t *bytes)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->bytes, bytes, family == AF_INET ? 4 : 16);
}

/* The probe quoted in an ICMP error: our packet, so src is local. */
static int parse_quoted(const uint8_t *p, size_t len, uint8_t outer_family,
			struct pc_reply *r)
{
	struct ip_view q;
	int ret = parse_ip(p, len, true, &q);
	if (ret < 0)
		return ret;
	if (q.family != outer_family)
		return PC_EPARSE;
	if (q.proto != IPPROTO_TCP && q.proto != IPPROTO_UDP)
		return PC_EPARSE;
	if (q.l4_len < 8) /* RFC 792: at least 8 bytes of the datagram */
		return PC_EPARSE;
	r->proto = q.proto;
	set_addr(&r->local, q.family, q.src);
	set_addr(&r->remote, q.family, q.dst);
	r->local_port = rd16(q.l4);
	r->remote_port = rd16(q.l4 + 2);
	r->ack = q.proto == IPPROTO_TCP ? rd32(q.l4 + 4) + 1 : 0;
	return 0;
}

int pc_packet_parse_reply(const uint8_t *pkt, size_t len, struct pc_reply *ret_reply)
{
	struct ip_view v;
	struct pc_reply r;
	int ret = parse_ip(pkt, len, false, &v);
	if (ret < 0)
		return ret;
	memset(&r, 0, sizeof(r));
	if (v.proto == IPPROTO_TCP) {
		if (v.l4_len < 20)
			return PC_EPARSE;
		size_t doff = (size_t)(v.l4[12] >> 4) * 4;
		if (doff < 20 || doff > v.l4_len)
			return PC_EPARSE;
		uint8_t flags = v.l4[13];
		if ((flags & (PC_TCP_SYN | PC_TCP_ACK | PC_TCP_RST)) == (PC_TCP_SYN | PC_TCP_ACK))
			r.kind = PC_REPLY_SYNACK;
		else if ((flags & PC_TCP_RST) && !(flags & PC_TCP_SYN))
			r.kind = PC_REPLY_RST;
		else
			return PC_EPARSE;
		r.proto = IPPROTO_TCP;
		set_addr(&r.remote, v.family, v.src);
		set_addr(&r.local, v.family, v.dst);
		r.remote_port = rd16(v.l4);
		r.local_port = rd16(v.l4 + 2);
		r.ack = rd32(v.l4 + 8);
		/* an RST without ACK does not echo our sequence (RFC 9293
		 * answers a SYN with RST+ACK); its seq field is then the
		 * only number it carries, and it is not ours to check */
		if (r.kind == PC_REPLY_RST && !(flags & PC_TCP_ACK))
			return PC_EPARSE;
		*ret_reply = r;
		return 0;
	}
	if (v.family == AF_INET && v.proto == IPPROTO_ICMP) {
		if (v.l4_len < 8)
			return PC_EPARSE;
		if (v.l4[0] != 3) /* destination unreachable */
			return PC_EPARSE;
		r.icmp_type = v.l4[0];
		r.icmp_code = v.l4[1];
	} else if (v.family == AF_INET6 && v.proto == IPPROTO_ICMPV6) {
		if (v.l4_len < 8)
			return PC_EPARSE;
		if (v.l4[0] != 1) /* destination unreachable */
			return PC_EPARSE;
		r.icmp_type = v.l4[0];
		r.icmp_code = v.l4[1];
	} else {
		return PC_EPARSE;
	}
	ret = parse_quoted(v.l4 + 8, v.l4_len - 8, v.family, &r);
	if (ret < 0)
		return ret;
	/* the error must be addressed to the quoted probe's sender (us) */
	if (memcmp(r.local.bytes, v.dst, v.family == AF_INET ? 4 : 16) != 0)
		return PC_EPARSE;
	r.kind = PC_REPLY_UNREACH;
	set_addr(&r.icmp_from, v.family, v.src);
	*ret_reply = r;
	return 0;
}

int pc_packet_parse_frame(const uint8_t *frame, size_t len, struct pc_reply *ret_reply)
{
	if (len < PC_PACKET_ETH_LEN)
		return PC_EPARSE;
	uint16_t type = rd16(frame + 12);
	size_t off = PC_PACKET_ETH_LEN;
	if (type == ETHERTYPE_VLAN) {
		if (len < off + 4)
			return PC_EPARSE;
		type = rd16(frame + off + 2);
		off += 4;
	}
	if (type != ETHERTYPE_IP4 && type != ETHERTYPE_IP6)
		return PC_EPARSE;
	struct ip_view v;
	if (parse_ip(frame + off, len - off, true, &v) < 0)
		return PC_EPARSE;
	if ((type == ETHERTYPE_IP4) != (v.family == AF_INET))
		return PC_EPARSE;
	return pc_packet_parse_reply(frame + off, len - off, ret_reply);
}

/* ---- ARP ---- */

size_t pc_packet_build_arp_request(uint8_t *buf, size_t cap, const uint8_t our_mac[6],
				   const struct pc_addr *our_ip, const struct pc_addr *target)
{
	if (cap < PC_PACKET_ARP_LEN || our_ip->family != AF_INET || target->family != AF_INET)
		return 0;
	wr16(buf, 1);                 /* hardware: Ethernet */
	wr16(buf + 2, ETHERTYPE_IP4); /* protocol: IPv4 */
	buf[4] = 6;
	buf[5] = 4;
	wr16(buf + 6, 1); /* request */
	memcpy(buf + 8, our_mac, 6);
	memcpy(buf + 14, our_ip->bytes, 4);
	memset(buf + 18, 0, 6);
	memcpy(buf + 24, target->bytes, 4);
	return PC_PACKET_ARP_LEN;
}

int pc_packet_parse_arp_reply(const uint8_t *pkt, size_t len, struct pc_addr *ret_ip,
			      uint8_t ret_mac[6])
{
	if (len < PC_PACKET_ARP_LEN)
		return PC_EPARSE;
	if (rd16(pkt) != 1 || rd16(pkt + 2) != ETHERTYPE_IP4 || pkt[4] != 6 || pkt[5] != 4 ||
	    rd16(pkt + 6) != 2)
		return PC_EPARSE;
	static const uint8_t zero[6];
	if (memcmp(pkt + 8, zero, 6) == 0 || (pkt[8] & 1)) /* no null or multicast MAC */
		return PC_EPARSE;
	memset(ret_ip, 0, sizeof(*ret_ip));
	ret_ip->family = AF_INET;
	memcpy(ret_ip->bytes, pkt + 14, 4);
	memcpy(ret_mac, pkt + 8, 6);
	return 0;
}
