/*
 * amqp.c - AMQP 0-9-1 (RabbitMQ and friends), and the AMQP 1.0 header.
 *
 * We send the protocol header "AMQP\0\0\x09\x01" and read the broker's
 * Connection.Start frame (type 1, channel 0, 32-bit size, class 10 method
 * 10, version 0-9, server-properties table, mechanisms, locales, frame end
 * 0xCE). product and version come from the server-properties table; the
 * mechanisms list decides: ANONYMOUS offered -> auth none; otherwise
 * (PLAIN, AMQPLAIN, EXTERNAL) credentials are required. We never answer
 * Start-Ok, so no session is opened. A broker that speaks another version
 * answers with its own protocol header ("AMQP" + 4 bytes) and closes.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

#define KEEP 4096

struct amqp_state {
	uint8_t f[KEEP];
	size_t got;
	uint32_t size;
};

static const uint16_t amqp_ports[] = { 5672, 5671, 0 };

static int amqp_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t hdr[8] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };
	(void)state;
	return pc_probe_send(ctx, hdr, sizeof(hdr));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Find a long-string ('S') or short-string ('s') value of key in a field
 * table t[0..n). */
static bool table_str(const uint8_t *t, size_t n, const char *key, char *out, size_t outlen)
{
	size_t i = 0, kl = strlen(key);
	while (i < n) {
		uint8_t nl = t[i++];
		if (nl > n - i)
			return false;
		const uint8_t *name = t + i;
		i += nl;
		if (i >= n)
			return false;
		uint8_t type = t[i++];
		size_t vlen;
		const uint8_t *val = t + i;
		switch (type) {
		case 'S': case 'x': case 'F': case 'A':
			if (n - i < 4)
				return false;
			vlen = be32(t + i);
			val = t + i + 4;
			if (vlen > n - i - 4)
				return false;
			i += 4 + vlen;
			break;
		case 's':
			vlen = t[i];
			val = t + i + 1;
			if (vlen + 1 > n - i)
				return false;
			i += 1 + vlen;
			break;
		case 't': case 'b': case 'B': i += 1; vlen = 0; break;
		case 'u': case 'U': i += 2; vlen = 0; break;
		case 'i': case 'I': case 'f': i += 4; vlen = 0; break;
		case 'l': case 'L': case 'd': case 'T': i += 8; vlen = 0; break;
		case 'D': i += 5; vlen = 0; break;
		case 'V': vlen = 0; break;
		default: return false;
		}
		if (i > n)
			return false;
		if ((type == 'S' || type == 's') && nl == kl && memcmp(name, key, kl) == 0) {
			pc_probe_setn(out, outlen, (const char *)val, vlen);
			return true;
		}
	}
	return false;
}

static enum pc_probe_verdict on_start(struct amqp_state *s, struct pc_probe_ctx *ctx)
{
	struct pc_probe_result *r = ctx->res;
	size_t n = s->got < KEEP ? s->got : KEEP;
	const uint8_t *p = s->f + 7;
	size_t pn = n - 7;
	if (pn < 6 || p[0] != 0 || p[1] != 10 || p[2] != 0 || p[3] != 10)
		return PC_PROBE_NOMATCH;
	PC_PROBE_SET(r->name, "amqp");
	r->auth = PC_AUTH_UNKNOWN;
	PC_PROBE_SET(r->evidence, "Connection.Start received");
	size_t i = 6; /* class, method, major, minor */
	if (pn - i < 4)
		return PC_PROBE_MATCH;
	uint32_t tl = be32(p + i);
	i += 4;
	if (tl > pn - i)
		return PC_PROBE_MATCH; /* table beyond what we kept */
	table_str(p + i, tl, "product", r->product, sizeof(r->product));
	table_str(p + i, tl, "version", r->version, sizeof(r->version));
	i += tl;
	if (pn - i < 4)
		return PC_PROBE_MATCH;
	uint32_t ml = be32(p + i);
	i += 4;
	if (ml > pn - i)
		return PC_PROBE_MATCH;
	char mech[96];
	pc_probe_setn(mech, sizeof(mech), (const char *)p + i, ml);
	if (strstr(mech, "ANONYMOUS")) {
		r->auth = PC_AUTH_NONE;
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "Connection.Start offers ANONYMOUS (mechanisms: %s)", mech);
	} else {
		r->auth = PC_AUTH_REQUIRED;
		pc_probe_setf(r->evidence, sizeof(r->evidence), "Connection.Start mechanisms: %s",
			      mech);
	}
	pc_probe_setf(r->banner, sizeof(r->banner), "%s %s", r->product, r->version);
	return PC_PROBE_MATCH;
}

static enum pc_probe_verdict amqp_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				       size_t len)
{
	struct amqp_state *s = state;
	struct pc_probe_result *r = ctx->res;
	for (size_t i = 0; i < len; i++) {
		if (s->got < KEEP)
			s->f[s->got] = data[i];
		s->got++;
		if (s->got == 1 && s->f[0] != 1 && s->f[0] != 'A')
			return PC_PROBE_NOMATCH;
		if (s->f[0] == 'A') {
			static const char magic[] = "AMQP";
			if (s->got <= 4 && s->f[s->got - 1] != (uint8_t)magic[s->got - 1])
				return PC_PROBE_NOMATCH;
			if (s->got == 8) {
				PC_PROBE_SET(r->name, "amqp");
				pc_probe_setf(r->version, sizeof(r->version), "%u.%u.%u",
					      s->f[5], s->f[6], s->f[7]);
				pc_probe_setf(r->evidence, sizeof(r->evidence),
					      "answered with protocol header AMQP %u-%u-%u-%u",
					      s->f[4], s->f[5], s->f[6], s->f[7]);
				r->auth = PC_AUTH_UNKNOWN;
				return PC_PROBE_MATCH;
			}
			continue;
		}
		if (s->got == 3 && (s->f[1] != 0 || s->f[2] != 0))
			return PC_PROBE_NOMATCH; /* channel 0 */
		if (s->got == 7) {
			s->size = be32(s->f + 3);
			if (s->size < 4 || s->size > (1u << 20))
				return PC_PROBE_NOMATCH;
		}
		if (s->got > 7 && s->got == 7 + (size_t)s->size + 1) {
			if (data[i] != 0xce)
				return PC_PROBE_NOMATCH;
			return on_start(s, ctx);
		}
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_amqp = {
	.name = "amqp",
	.flags = PC_PROBE_F_TLS,
	.ports = amqp_ports,
	.state_size = sizeof(struct amqp_state),
	.start = amqp_start,
	.feed = amqp_feed,
};
