/*
 * x11.c - the X Window System protocol: connection setup without any
 * authorisation data.
 *
 * We send the 12-byte setup request (byte order 'l', protocol 11.0, empty
 * authorisation protocol name and data). The server answers Success (1):
 * anyone can read the screen and inject keystrokes, auth none; Failed (0)
 * with a reason ("No protocol specified", "Authorization required") or
 * Authenticate (2): auth required. We close at once: no window, no request.
 * The reply's first byte, its version 11 and its lengths are checked before
 * anything is read.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct x11_state {
	uint8_t b[8 + 256];
	size_t got;
	size_t need;
};

static const uint16_t x11_ports[] = { 6000, 6001, 6002, 6003, 6010, 6011, 0 };

static int x11_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t setup[12] = { 'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	(void)state;
	return pc_probe_send(ctx, setup, sizeof(setup));
}

static enum pc_probe_verdict x11_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct x11_state *s = state;
	struct pc_probe_result *r = ctx->res;
	for (size_t i = 0; i < len && s->got < sizeof(s->b); i++) {
		s->b[s->got++] = data[i];
		if (s->got == 1 && s->b[0] > 2)
			return PC_PROBE_NOMATCH;
		if (s->got == 4 && (s->b[2] != 11 || s->b[3] != 0))
			return PC_PROBE_NOMATCH; /* protocol major 11, little-endian */
		if (s->got == 8) {
			size_t extra = ((size_t)s->b[6] | (size_t)s->b[7] << 8) * 4;
			if (s->b[0] == 0 && s->b[1] > extra)
				return PC_PROBE_NOMATCH; /* reason longer than the data */
			s->need = 8 + (s->b[0] == 0 ? s->b[1] : (extra < 40 ? extra : 40));
			if (s->need > sizeof(s->b))
				s->need = sizeof(s->b);
		}
		if (s->got >= 8 && s->got >= s->need)
			break;
	}
	if (s->got < 8 || s->got < s->need)
		return PC_PROBE_MORE;
	PC_PROBE_SET(r->name, "x11");
	unsigned minor = (unsigned)s->b[4] | (unsigned)s->b[5] << 8;
	pc_probe_setf(r->version, sizeof(r->version), "11.%u", minor);
	if (s->b[0] == 1) {
		r->auth = PC_AUTH_NONE;
		PC_PROBE_SET(r->evidence, "connection setup without authorisation succeeded");
		return PC_PROBE_MATCH;
	}
	r->auth = PC_AUTH_REQUIRED;
	if (s->b[0] == 0) {
		pc_probe_setf(r->evidence, sizeof(r->evidence), "connection setup refused: %.*s",
			      (int)s->b[1], (const char *)s->b + 8);
		pc_probe_banner(ctx, s->b + 8, s->b[1]);
	} else {
		PC_PROBE_SET(r->evidence, "server asked for further authentication");
	}
	return PC_PROBE_MATCH;
}

const struct pc_probe_ops pc_probe_x11 = {
	.name = "x11",
	.ports = x11_ports,
	.state_size = sizeof(struct x11_state),
	.start = x11_start,
	.feed = x11_feed,
};
