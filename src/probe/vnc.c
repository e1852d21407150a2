/*
 * vnc.c - VNC / RFB (RFC 6143): the version handshake and the security
 * types the server offers.
 *
 * Passive: the server sends "RFB 003.008\n" (12 bytes). We answer with the
 * same version (3.3, 3.7 or 3.8, whichever is highest and not above the
 * server's) and read the security types: for 3.7+ a count and a list (a
 * count of 0 is followed by a failure reason), for 3.3 one 32-bit type.
 * Type 1 (None) offered -> auth none: anyone gets the screen. Type 2 (VNC
 * authentication) or others (Tight, VeNCrypt, Apple, ...) only -> auth
 * required. We never pick a type, so no session starts.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct vnc_state {
	uint8_t ver[12];
	size_t vgot;
	int minor; /* of the version we answered */
	uint8_t b[260];
	size_t got;
};

static const uint16_t vnc_ports[] = { 5900, 5901, 5902, 5903, 5800, 0 };

static const char *type_name(uint8_t t)
{
	switch (t) {
	case 1: return "None";
	case 2: return "VNC";
	case 5: return "RA2";
	case 16: return "Tight";
	case 18: return "TLS";
	case 19: return "VeNCrypt";
	case 30: return "Apple";
	default: return "other";
	}
}

static enum pc_probe_verdict verdict(struct pc_probe_ctx *ctx, const uint8_t *types, size_t n)
{
	struct pc_probe_result *r = ctx->res;
	char list[96] = "";
	bool none = false;
	for (size_t i = 0; i < n; i++) {
		size_t o = strlen(list);
		snprintf(list + o, sizeof(list) - o, "%s%u (%s)", i ? ", " : "", types[i],
			 type_name(types[i]));
		if (types[i] == 1)
			none = true;
	}
	r->auth = none ? PC_AUTH_NONE : PC_AUTH_REQUIRED;
	pc_probe_setf(r->evidence, sizeof(r->evidence), "%s: security types %s",
		      none ? "security type None offered" : "no None security type", list);
	return PC_PROBE_MATCH;
}

static enum pc_probe_verdict vnc_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct vnc_state *s = state;
	struct pc_probe_result *r = ctx->res;
	static const char magic[] = "RFB 000.000\n";
	size_t i = 0;
	while (s->vgot < 12 && i < len) {
		uint8_t c = data[i++];
		char m = magic[s->vgot];
		if (m == '0' ? (c < '0' || c > '9') : c != (uint8_t)m)
			return PC_PROBE_NOMATCH;
		s->ver[s->vgot++] = c;
		if (s->vgot == 12) {
			int major =
			    (s->ver[4] - '0') * 100 + (s->ver[5] - '0') * 10 + (s->ver[6] - '0');
			int minor =
			    (s->ver[8] - '0') * 100 + (s->ver[9] - '0') * 10 + (s->ver[10] - '0');
			PC_PROBE_SET(r->name, "vnc");
			pc_probe_setf(r->version, sizeof(r->version), "RFB %d.%d", major, minor);
			pc_probe_banner(ctx, s->ver, 11);
			r->auth = PC_AUTH_UNKNOWN;
			PC_PROBE_SET(r->evidence, "RFB version handshake");
			s->minor = minor >= 8 || major > 3 ? 8 : minor >= 7 ? 7 : 3;
			char reply[13];
			snprintf(reply, sizeof(reply), "RFB 003.00%d\n", s->minor);
			pc_probe_send(ctx, reply, 12);
			break;
		}
	}
	for (; i < len && s->got < sizeof(s->b); i++) {
		s->b[s->got++] = data[i];
		if (s->minor == 3) {
			if (s->got == 4) {
				uint32_t t = (uint32_t)s->b[0] << 24 | (uint32_t)s->b[1] << 16 |
					     (uint32_t)s->b[2] << 8 | s->b[3];
				if (t == 0) {
					r->auth = PC_AUTH_UNKNOWN;
					PC_PROBE_SET(r->evidence,
						     "RFB 3.3: connection refused by the server");
					return PC_PROBE_MATCH;
				}
				uint8_t t8 = t > 255 ? 255 : (uint8_t)t;
				return verdict(ctx, &t8, 1);
			}
			continue;
		}
		size_t count = s->b[0];
		if (count == 0) {
			if (s->got >= 5) {
				uint32_t l = (uint32_t)s->b[1] << 24 | (uint32_t)s->b[2] << 16 |
					     (uint32_t)s->b[3] << 8 | s->b[4];
				if (s->got >= 5 + (l < 200 ? l : 200)) {
					r->auth = PC_AUTH_UNKNOWN;
					pc_probe_setf(r->evidence, sizeof(r->evidence),
						      "server refused: %.*s", (int)(s->got - 5),
						      (const char *)s->b + 5);
					return PC_PROBE_MATCH;
				}
			}
			continue;
		}
		if (s->got == 1 + count)
			return verdict(ctx, s->b + 1, count);
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_vnc = {
	.name = "vnc",
	.flags = PC_PROBE_F_BANNER | PC_PROBE_F_TLS,
	.ports = vnc_ports,
	.state_size = sizeof(struct vnc_state),
	.feed = vnc_feed,
};
