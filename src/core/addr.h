/*
 * addr.h - IPv4/IPv6 addresses as plain values, their text form, and the
 * classification that the bind scope and the scanner's scope guard need.
 */
#ifndef PC_CORE_ADDR_H
#define PC_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_addr {
	uint8_t family;    /* AF_INET, AF_INET6, or 0 (none) */
	uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
};

/* Long enough for any IPv6 text form, with scope and brackets. */
#define PC_ADDR_STRLEN 64

/* Parse IPv4 dotted quad or IPv6 text. 0 or PC_EINVAL. */
int pc_addr_parse(const char *s, struct pc_addr *ret_addr);
void pc_addr_from_v4(struct pc_addr *a, uint32_t host_order);
uint32_t pc_addr_v4(const struct pc_addr *a); /* host order */
/* Text form (inet_ntop; IPv4-mapped IPv6 stays IPv6 text). */
const char *pc_addr_format(const struct pc_addr *a, char *buf, size_t len);
bool pc_addr_equal(const struct pc_addr *a, const struct pc_addr *b);
int pc_addr_compare(const struct pc_addr *a, const struct pc_addr *b);

bool pc_addr_is_any(const struct pc_addr *a);      /* 0.0.0.0, :: */
bool pc_addr_is_loopback(const struct pc_addr *a); /* 127/8, ::1, ::ffff:127/104 */
bool pc_addr_is_multicast(const struct pc_addr *a);
/* Internal ranges for the scope guard: loopback, RFC 1918, RFC 6598,
 * RFC 2544, link-local (v4 and v6), IPv6 ULA (fc00::/7); an IPv4-mapped
 * address counts as its IPv4 address. 6to4 and NAT64 forms are never
 * internal (addr.c says why). */
bool pc_addr_is_internal(const struct pc_addr *a);
/* The same, and the first and last address of the internal block that holds
 * a (in a's family and form), so a range can be checked block by block.
 * ret_first and ret_last may both be NULL. */
bool pc_addr_internal_block(const struct pc_addr *a, struct pc_addr *ret_first,
			    struct pc_addr *ret_last);

/* Fill a sockaddr for connect()/bind(); returns its length, 0 on bad family. */
struct sockaddr_storage;
size_t pc_addr_to_sockaddr(const struct pc_addr *a, uint16_t port, struct sockaddr_storage *ss);
int pc_addr_from_sockaddr(const void *sa, struct pc_addr *ret_addr, uint16_t *ret_port);

#endif
