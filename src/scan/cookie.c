/*
 * cookie.c - SipHash-2-4 (Aumasson and Bernstein, 2012), written from the
 * paper's description, and the SYN cookie built on it (see cookie.h).
 *
 * SipHash rather than a plain hash because the cookie must be unforgeable by
 * a host that sees many of our SYNs; it costs about 20 ns for the 40-byte
 * input here, small next to a send.
 */
#include "scan/cookie.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

static uint64_t rd64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t pc_siphash24(const struct pc_cookie_key *key, const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0;
	uint64_t v3 = 0x7465646279746573ULL ^ key->k1;
	size_t blocks = len / 8;

	for (size_t i = 0; i < blocks; i++) {
		uint64_t m = rd64le(in + i * 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	/* last block: remaining bytes, length in the top byte */
	uint64_t b = (uint64_t)(len & 0xff) << 56;
	const uint8_t *tail = in + blocks * 8;
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)tail[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int pc_cookie_key_random(struct pc_cookie_key *ret_key)
{
	uint8_t b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	ret_key->k0 = rd64le(b);
	ret_key->k1 = rd64le(b + 8);
	return 0;
}

uint32_t pc_cookie_make(const struct pc_cookie_key *key, const struct pc_addr *remote,
			uint16_t rport, const struct pc_addr *local, uint16_t lport)
{
	uint8_t in[40];
	memset(in, 0, sizeof(in));
	size_t alen = remote->family == AF_INET6 ? 16 : 4;
	memcpy(in, remote->bytes, alen);
	memcpy(in + 16, local->bytes, alen);
	in[32] = (uint8_t)(rport >> 8);
	in[33] = (uint8_t)rport;
	in[34] = (uint8_t)(lport >> 8);
	in[35] = (uint8_t)lport;
	in[36] = remote->family;
	uint64_t h = pc_siphash24(key, in, sizeof(in));
	return (uint32_t)(h ^ (h >> 32));
}

bool pc_cookie_check(const struct pc_cookie_key *key, const struct pc_addr *remote,
		     uint16_t rport, const struct pc_addr *local, uint16_t lport, uint32_t ack)
{
	if (remote->family != local->family)
		return false;
	return pc_cookie_make(key, remote, rport, local, lport) == ack - 1u;
}
