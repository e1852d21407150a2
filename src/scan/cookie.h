/*
 * cookie.h - stateless validation of SYN scan replies.
 *
 * The sequence number of each SYN is a keyed hash (SipHash-2-4, 128-bit
 * random key per scan) of (their address, their port, our address, our
 * port). A SYN-ACK or RST acknowledges seq + 1, and an ICMP error quotes
 * seq itself, so a reply is ours exactly when ack - 1 equals the hash of
 * its own 4-tuple: no per-probe state is needed to tell our replies from
 * other traffic or from forgeries by anyone who does not know the key.
 */
#ifndef PC_SCAN_COOKIE_H
#define PC_SCAN_COOKIE_H

#include "core/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_cookie_key {
	uint64_t k0, k1;
};

/* A fresh random key (getrandom). 0 or -errno. */
int pc_cookie_key_random(struct pc_cookie_key *ret_key);

/* SipHash-2-4 of data under key (exposed for the test vectors). */
uint64_t pc_siphash24(const struct pc_cookie_key *key, const void *data, size_t len);

/* The sequence number for a probe from (local, lport) to (remote, rport). */
uint32_t pc_cookie_make(const struct pc_cookie_key *key, const struct pc_addr *remote,
			uint16_t rport, const struct pc_addr *local, uint16_t lport);

/* True when ack acknowledges the cookie of this 4-tuple (ack - 1 == cookie). */
bool pc_cookie_check(const struct pc_cookie_key *key, const struct pc_addr *remote,
		     uint16_t rport, const struct pc_addr *local, uint16_t lport, uint32_t ack);

#endif
