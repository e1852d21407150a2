/*
 * cassandra.c - Apache Cassandra (and ScyllaDB): CQL native protocol v4,
 * OPTIONS then STARTUP.
 *
 * OPTIONS (stream 0x50) is answered by SUPPORTED, a string multimap with
 * CQL_VERSION; STARTUP (stream 0x51, CQL_VERSION 3.0.0) is answered by
 * READY when no authenticator is configured (auth none) or by AUTHENTICATE
 * naming the authenticator class (auth required). Neither reads or writes
 * data. Frames are a 9-byte header (response version 0x8N, flags, 16-bit
 * stream, opcode, 32-bit length) and a body of which 1 KiB is kept; a
 * server that does not speak v4 answers ERROR, which still proves CQL.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct cql_state {
	uint8_t h[9];
	size_t hgot;
	uint32_t blen, bgot;
	uint8_t body[1024];
	bool supported;
};

static const uint16_t cql_ports[] = { 9042, 9142, 0 };

static int cql_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t options[] = { 0x04, 0, 0, 0x50, 0x05, 0, 0, 0, 0 };
	static const uint8_t startup[] = {
		0x04, 0, 0, 0x51, 0x01, 0, 0, 0, 22,
		0, 1,                                   /* one pair */
		0, 11, 'C', 'Q', 'L', '_', 'V', 'E', 'R', 'S', 'I', 'O', 'N',
		0, 5, '3', '.', '0', '.', '0',
	};
	(void)state;
	if (pc_probe_send(ctx, options, sizeof(options)) < 0)
		return -1;
	return pc_probe_send(ctx, startup, sizeof(startup));
}

/* First value of key in a [string multimap] body. */
static void multimap_first(const uint8_t *b, size_t n, const char *key, char *out, size_t outlen)
{
	if (n < 2)
		return;
	size_t pairs = (size_t)b[0] << 8 | b[1], i = 2, kl = strlen(key);
	for (size_t p = 0; p < pairs && i + 2 <= n; p++) {
		size_t l = (size_t)b[i] << 8 | b[i + 1];
		i += 2;
		if (l > n - i)
			return;
		bool hit = l == kl && memcmp(b + i, key, kl) == 0;
		i += l;
		if (i + 2 > n)
			return;
		size_t vals = (size_t)b[i] << 8 | b[i + 1];
		i += 2;
		for (size_t v = 0; v < vals && i + 2 <= n; v++) {
			size_t vl = (size_t)b[i] << 8 | b[i + 1];
			i += 2;
			if (vl > n - i)
				return;
			if (hit && v == 0) {
				pc_probe_setn(out, outlen, (const char *)b + i, vl);
				return;
			}
			i += vl;
		}
	}
}

static enum pc_probe_verdict on_frame(struct cql_state *s, struct pc_probe_ctx *ctx)
{
	struct pc_probe_result *r = ctx->res;
	size_t n = s->bgot < sizeof(s->body) ? s->bgot : sizeof(s->body);
	uint8_t op = s->h[4];
	PC_PROBE_SET(r->name, "cassandra");
	if (op == 0x06) { /* SUPPORTED */
		s->supported = true;
		multimap_first(s->body, n, "CQL_VERSION", r->version, sizeof(r->version));
		r->auth = PC_AUTH_UNKNOWN;
		PC_PROBE_SET(r->evidence, "CQL OPTIONS answered SUPPORTED");
		return PC_PROBE_MORE;
	}
	if (op == 0x02) { /* READY */
		r->auth = PC_AUTH_NONE;
		PC_PROBE_SET(r->evidence, "CQL STARTUP answered READY: no authenticator");
		return PC_PROBE_MATCH;
	}
	if (op == 0x03) { /* AUTHENTICATE */
		char cls[96] = "";
		if (n >= 2) {
			size_t l = (size_t)s->body[0] << 8 | s->body[1];
			pc_probe_setn(cls, sizeof(cls), (const char *)s->body + 2,
				      l < n - 2 ? l : n - 2);
		}
		r->auth = PC_AUTH_REQUIRED;
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "CQL STARTUP asked to authenticate (%s)", cls);
		return PC_PROBE_MATCH;
	}
	if (op == 0x00) { /* ERROR */
		r->auth = PC_AUTH_UNKNOWN;
		if (!r->evidence[0]) {
			char msg[100] = "";
			if (n >= 6) {
				size_t l = (size_t)s->body[4] << 8 | s->body[5];
				pc_probe_setn(msg, sizeof(msg), (const char *)s->body + 6,
					      l < n - 6 ? l : n - 6);
			}
			pc_probe_setf(r->evidence, sizeof(r->evidence), "CQL ERROR: %s", msg);
		}
		return PC_PROBE_MATCH;
	}
	return s->supported ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
}

static enum pc_probe_verdict cql_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct cql_state *s = state;
	for (size_t i = 0; i < len;) {
		if (s->hgot < 9) {
			s->h[s->hgot++] = data[i++];
			if (s->hgot == 1 && (s->h[0] & 0x80) == 0)
				return PC_PROBE_NOMATCH; /* a response has the direction bit */
			if (s->hgot == 1 && ((s->h[0] & 0x7f) < 1 || (s->h[0] & 0x7f) > 6))
				return PC_PROBE_NOMATCH;
			if (s->hgot == 5 && s->h[4] > 0x10)
				return PC_PROBE_NOMATCH;
			if (s->hgot == 9) {
				s->blen = (uint32_t)s->h[5] << 24 | (uint32_t)s->h[6] << 16 |
					  (uint32_t)s->h[7] << 8 | s->h[8];
				s->bgot = 0;
				if (s->blen > (1u << 24))
					return PC_PROBE_NOMATCH;
				if (s->blen == 0) {
					enum pc_probe_verdict v = on_frame(s, ctx);
					s->hgot = 0;
					if (v != PC_PROBE_MORE)
						return v;
				}
			}
			continue;
		}
		size_t n = pc_probe_take(s->body, sizeof(s->body), s->bgot, s->blen - s->bgot,
					 data + i, len - i);
		s->bgot += (uint32_t)n;
		i += n;
		if (s->bgot == s->blen) {
			enum pc_probe_verdict v = on_frame(s, ctx);
			s->hgot = 0;
			if (v != PC_PROBE_MORE)
				return v;
		}
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_cassandra = {
	.name = "cassandra",
	.flags = PC_PROBE_F_TLS,
	.ports = cql_ports,
	.state_size = sizeof(struct cql_state),
	.start = cql_start,
	.feed = cql_feed,
};
