/*
 * dns.c - DNS over UDP and TCP: a CHAOS-class TXT query for version.bind.
 *
 * The query (id 0x5043, no recursion wanted, one question version.bind
 * CH TXT) is a read that many servers answer with their software version
 * ("9.18.28-1~deb12u2-Debian", "dnsmasq-2.89", "unbound 1.17.1"). Any
 * well-formed response to our id - even REFUSED - proves DNS. Over TCP the
 * message carries a 2-byte length prefix (RFC 1035 4.2.2). Names are
 * skipped label by label with every length checked (compression pointers
 * end a name), and the TXT value is read only inside its RDLENGTH.
 * DNS has no authentication: the verdict stays unknown.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

#define KEEP 1024

struct dns_state {
	bool tcp;
	uint8_t m[KEEP];
	size_t got;
	size_t total; /* TCP: message length from the prefix */
	uint8_t prefix[2];
	size_t prefix_got;
};

static const uint16_t dns_ports[] = { 53, 5353, 5300, 8053, 0 };

static const uint8_t query[] = {
	0x50, 0x43, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 4, 'b', 'i', 'n', 'd', 0,
	0x00, 0x10, /* TXT */
	0x00, 0x03, /* CH */
};

static int dns_tcp_start(void *state, struct pc_probe_ctx *ctx)
{
	struct dns_state *s = state;
	uint8_t len[2] = { 0, sizeof(query) };
	s->tcp = true;
	if (pc_probe_send(ctx, len, 2) < 0)
		return -1;
	return pc_probe_send(ctx, query, sizeof(query));
}

static int dns_udp_start(void *state, struct pc_probe_ctx *ctx)
{
	(void)state;
	return pc_probe_send(ctx, query, sizeof(query));
}

/* Skip a name at m[*i]; false when malformed. */
static bool skip_name(const uint8_t *m, size_t n, size_t *i)
{
	for (int labels = 0; labels < 128; labels++) {
		if (*i >= n)
			return false;
		uint8_t l = m[*i];
		if (l == 0) {
			(*i)++;
			return true;
		}
		if ((l & 0xc0) == 0xc0) {
			if (*i + 2 > n)
				return false;
			*i += 2;
			return true;
		}
		if (l & 0xc0)
			return false;
		*i += 1 + (size_t)l;
	}
	return false;
}

static enum pc_probe_verdict parse(struct dns_state *s, struct pc_probe_ctx *ctx, const uint8_t *m,
				   size_t n)
{
	struct pc_probe_result *r = ctx->res;
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					      "NOTIMP", "REFUSED" };
	(void)s;
	if (n < 12 || m[0] != 0x50 || m[1] != 0x43 || !(m[2] & 0x80))
		return PC_PROBE_NOMATCH;
	unsigned qd = (unsigned)m[4] << 8 | m[5], an = (unsigned)m[6] << 8 | m[7];
	unsigned rcode = m[3] & 0x0f;
	if (qd > 1 || ((m[2] >> 3) & 0x0f) != 0)
		return PC_PROBE_NOMATCH;
	PC_PROBE_SET(r->name, "dns");
	r->auth = PC_AUTH_UNKNOWN;
	size_t i = 12;
	if (qd == 1 && (!skip_name(m, n, &i) || (i += 4) > n)) {
		PC_PROBE_SET(r->evidence, "DNS response to our id (truncated question)");
		return PC_PROBE_MATCH;
	}
	for (unsigned a = 0; a < an && a < 8; a++) {
		if (!skip_name(m, n, &i) || i + 10 > n)
			break;
		unsigned type = (unsigned)m[i] << 8 | m[i + 1];
		size_t rdlen = (size_t)m[i + 8] << 8 | m[i + 9];
		i += 10;
		if (rdlen > n - i)
			break;
		if (type == 16 && rdlen >= 1) {
			size_t tl = m[i];
			if (tl > rdlen - 1)
				tl = rdlen - 1;
			char v[128];
			pc_probe_setn(v, sizeof(v), (const char *)m + i + 1, tl);
			for (char *p = v; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
					*p = '.';
			pc_probe_banner(ctx, (const uint8_t *)v, strlen(v));
			if (strncmp(v, "dnsmasq-", 8) == 0) {
				PC_PROBE_SET(r->product, "dnsmasq");
				PC_PROBE_SET(r->version, v + 8);
			} else if (strncmp(v, "unbound ", 8) == 0) {
				PC_PROBE_SET(r->product, "Unbound");
				PC_PROBE_SET(r->version, v + 8);
			} else if (strncmp(v, "PowerDNS", 8) == 0) {
				PC_PROBE_SET(r->product, "PowerDNS");
			} else if (v[0] >= '0' && v[0] <= '9') {
				PC_PROBE_SET(r->product, "BIND");
				pc_probe_setn(r->version, sizeof(r->version), v, strcspn(v, "-"));
			}
			pc_probe_setf(r->evidence, sizeof(r->evidence),
				      "version.bind answered \"%.80s\"", v);
			return PC_PROBE_MATCH;
		}
		i += rdlen;
	}
	pc_probe_setf(r->evidence, sizeof(r->evidence), "DNS response to version.bind (%s)",
		      rcode < 6 ? rcodes[rcode] : "rcode other");
	return PC_PROBE_MATCH;
}

static enum pc_probe_verdict dns_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct dns_state *s = state;
	if (!s->tcp)
		return parse(s, ctx, data, len < KEEP ? len : KEEP);
	for (size_t i = 0; i < len;) {
		if (s->prefix_got < 2) {
			s->prefix[s->prefix_got++] = data[i++];
			if (s->prefix_got == 2) {
				s->total = (size_t)s->prefix[0] << 8 | s->prefix[1];
				if (s->total < 12)
					return PC_PROBE_NOMATCH;
			}
			continue;
		}
		size_t n = pc_probe_take(s->m, KEEP, s->got, s->total - s->got, data + i, len - i);
		s->got += n;
		i += n;
		/* the id and flags come first: refuse early */
		if (s->got >= 3 && (s->m[0] != 0x50 || s->m[1] != 0x43 || !(s->m[2] & 0x80)))
			return PC_PROBE_NOMATCH;
		if (s->got == s->total)
			return parse(s, ctx, s->m, s->got < KEEP ? s->got : KEEP);
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_dns_tcp = {
	.name = "dns-tcp",
	.ports = dns_ports,
	.state_size = sizeof(struct dns_state),
	.start = dns_tcp_start,
	.feed = dns_feed,
};

const struct pc_probe_ops pc_probe_dns_udp = {
	.name = "dns-udp",
	.flags = PC_PROBE_F_UDP,
	.ports = dns_ports,
	.state_size = sizeof(struct dns_state),
	.start = dns_udp_start,
	.feed = dns_feed,
};
