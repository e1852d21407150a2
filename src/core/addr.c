/*
 * addr.c - address helpers over inet_pton/inet_ntop.
 */
#include "core/addr.h"
#include "core/error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int pc_addr_parse(const char *s, struct pc_addr *ret_addr)
{
	struct pc_addr a;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.bytes) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, a.bytes) == 1) {
		a.family = AF_INET6;
	} else {
		return PC_EINVAL;
	}
	*ret_addr = a;
	return 0;
}

void pc_addr_from_v4(struct pc_addr *a, uint32_t v)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->bytes[0] = (uint8_t)(v >> 24);
	a->bytes[1] = (uint8_t)(v >> 16);
	a->bytes[2] = (uint8_t)(v >> 8);
	a->bytes[3] = (uint8_t)v;
}

uint32_t pc_addr_v4(const struct pc_addr *a)
{
	return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
	       (uint32_t)a->bytes[2] << 8 | a->bytes[3];
}

const char *pc_addr_format(const struct pc_addr *a, char *buf, size_t len)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	if (a->family == AF_INET && len >= 16) {
		/* by hand: inet_ntop goes through sprintf, and a report of
		 * 50,000 endpoints formats 100,000 addresses */
		char *p = buf;
		for (int i = 0; i < 4; i++) {
			unsigned v = a->bytes[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i < 3 ? '.' : '\0';
		}
	} else if (a->family == AF_INET || a->family == AF_INET6) {
		if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
			buf[0] = '\0';
	}
	return buf;
}

static size_t addr_len(const struct pc_addr *a)
{
	return a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;
}

bool pc_addr_equal(const struct pc_addr *a, const struct pc_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, addr_len(a)) == 0;
}

int pc_addr_compare(const struct pc_addr *a, const struct pc_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, addr_len(a));
}

static bool is_v4_mapped(const struct pc_addr *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return a->family == AF_INET6 && memcmp(a->bytes, prefix, 12) == 0;
}

/* The IPv4 value of a v4 or v4-mapped v6 address; false when neither. */
static bool as_v4(const struct pc_addr *a, uint32_t *v)
{
	if (a->family == AF_INET) {
		*v = pc_addr_v4(a);
		return true;
	}
	if (is_v4_mapped(a)) {
		*v = (uint32_t)a->bytes[12] << 24 | (uint32_t)a->bytes[13] << 16 |
		     (uint32_t)a->bytes[14] << 8 | a->bytes[15];
		return true;
	}
	return false;
}

bool pc_addr_is_any(const struct pc_addr *a)
{
	static const uint8_t zero[16];
	size_t n = addr_len(a);
	return n && memcmp(a->bytes, zero, n) == 0;
}

bool pc_addr_is_loopback(const struct pc_addr *a)
{
	uint32_t v;
	if (as_v4(a, &v))
		return (v >> 24) == 127;
	if (a->family == AF_INET6) {
		static const uint8_t one[16] = {[15] = 1};
		return memcmp(a->bytes, one, 16) == 0;
	}
	return false;
}

bool pc_addr_is_multicast(const struct pc_addr *a)
{
	uint32_t v;
	if (as_v4(a, &v))
		return (v >> 28) == 0xe;
	return a->family == AF_INET6 && a->bytes[0] == 0xff;
}

/*
 * The internal ranges, the one definition that the scope guard
 * (scan/targets.c: scan, audit TARGET, verify) and the bind scope use.
 *
 * An IPv4-mapped address (::ffff:a.b.c.d) is its IPv4 address: a dual-stack
 * socket sends plain IPv4 to it. The 6to4 (2002::/16) and NAT64 (64:ff9b::/96,
 * 64:ff9b:1::/48) forms are not internal, whatever IPv4 address they embed:
 * a packet to them goes over IPv6 to a relay or translator that may sit
 * outside the site (RFC 6052 forbids the well-known prefix for non-global
 * IPv4 anyway, and the local-use prefix does not say where the IPv4 address
 * is). Every other IPv6 address that embeds IPv4 (IPv4-compatible ::a.b.c.d,
 * Teredo 2001::/32) is outside the table too, so it is refused as well.
 */
struct block {
	uint8_t bytes[16];
	int plen;
};

static const struct block internal_v4[] = {
	{{10}, 8},            /* RFC 1918 */
	{{100, 64}, 10},      /* RFC 6598 shared address space */
	{{127}, 8},           /* loopback */
	{{169, 254}, 16},     /* link-local */
	{{172, 16}, 12},      /* RFC 1918 */
	{{192, 168}, 16},     /* RFC 1918 */
	{{198, 18}, 15},      /* RFC 2544 benchmarking */
};

static const struct block internal_v6[] = {
	{{[15] = 1}, 128},    /* ::1 */
	{{0xfc}, 7},          /* ULA */
	{{0xfe, 0x80}, 10},   /* link-local */
};

/* Whether the first plen bits of a and b are equal. */
static bool same_prefix(const uint8_t *a, const uint8_t *b, int plen)
{
	int full = plen / 8, rest = plen % 8;
	if (memcmp(a, b, (size_t)full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* first/last of the block of plen bits that holds bytes[0..n). */
static void block_bounds(const uint8_t *bytes, size_t n, int plen, uint8_t *first, uint8_t *last)
{
	for (size_t i = 0; i < n; i++) {
		int keep = plen - (int)i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		first[i] = bytes[i] & mask;
		last[i] = (uint8_t)(bytes[i] | (uint8_t)~mask);
	}
}

bool pc_addr_internal_block(const struct pc_addr *a, struct pc_addr *ret_first,
			    struct pc_addr *ret_last)
{
	const struct block *table;
	size_t n_table, off, n;
	if (a->family == AF_INET || is_v4_mapped(a)) {
		table = internal_v4;
		n_table = sizeof(internal_v4) / sizeof(internal_v4[0]);
		off = a->family == AF_INET ? 0 : 12;
		n = 4;
	} else if (a->family == AF_INET6) {
		table = internal_v6;
		n_table = sizeof(internal_v6) / sizeof(internal_v6[0]);
		off = 0;
		n = 16;
	} else {
		return false;
	}
	for (size_t i = 0; i < n_table; i++) {
		if (!same_prefix(a->bytes + off, table[i].bytes, table[i].plen))
			continue;
		if (ret_first && ret_last) {
			*ret_first = *a;
			*ret_last = *a;
			block_bounds(a->bytes + off, n, table[i].plen, ret_first->bytes + off,
				     ret_last->bytes + off);
		}
		return true;
	}
	return false;
}

bool pc_addr_is_internal(const struct pc_addr *a)
{
	return pc_addr_internal_block(a, NULL, NULL);
}

size_t pc_addr_to_sockaddr(const struct pc_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->bytes, 4);
		return sizeof(*sin);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a->bytes, 16);
		return sizeof(*sin6);
	}
	return 0;
}

int pc_addr_from_sockaddr(const void *sa, struct pc_addr *ret_addr, uint16_t *ret_port)
{
	const struct sockaddr *s = sa;
	struct pc_addr a;
	memset(&a, 0, sizeof(a));
	uint16_t port;
	if (s->sa_family == AF_INET) {
		const struct sockaddr_in *sin = sa;
		a.family = AF_INET;
		memcpy(a.bytes, &sin->sin_addr, 4);
		port = ntohs(sin->sin_port);
	} else if (s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = sa;
		a.family = AF_INET6;
		memcpy(a.bytes, &sin6->sin6_addr, 16);
		port = ntohs(sin6->sin6_port);
	} else {
		return PC_EINVAL;
	}
	*ret_addr = a;
	if (ret_port)
		*ret_port = port;
	return 0;
}
