/*
 * memcached.c - memcached over TCP and UDP, text protocol: "version".
 *
 * `version` reads nothing from the cache and changes nothing. The answer
 * "VERSION 1.6.18" means the server took a command without authentication
 * (the text protocol has none; a SASL-only server refuses it): auth none.
 * Over UDP each datagram starts with the 8-byte frame header (request id,
 * sequence number, datagram count, reserved) which we send and skip.
 */
#include "probe/probe_ops.h"

#include <string.h>

struct mc_state {
	struct pc_probe_line line;
	size_t hdr; /* UDP frame header bytes still to skip */
};

static const uint16_t mc_ports[] = { 11211, 11212, 0 };

static int mc_start(void *state, struct pc_probe_ctx *ctx)
{
	(void)state;
	return pc_probe_sendstr(ctx, "version\r\n");
}

static int mc_udp_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t frame[] = { 0x50, 0x43, 0, 0, 0, 1, 0, 0 };
	struct mc_state *s = state;
	s->hdr = 8;
	if (pc_probe_send(ctx, frame, sizeof(frame)) < 0)
		return -1;
	return pc_probe_sendstr(ctx, "version\r\n");
}

static enum pc_probe_verdict mc_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				     size_t len)
{
	struct mc_state *s = state;
	static const char magic[] = "VERSION ";
	while (s->hdr > 0 && len > 0) {
		s->hdr--;
		data++;
		len--;
	}
	for (size_t i = 0; i < len && s->line.len < 8; i++) {
		if (data[i] != (uint8_t)magic[s->line.len + i] && s->line.len + i < 8)
			return PC_PROBE_NOMATCH;
		if (s->line.len + i + 1 >= 8)
			break;
	}
	size_t used;
	int r = pc_probe_line_feed(&s->line, data, len, &used);
	if (r < 0)
		return PC_PROBE_NOMATCH;
	if (r == 0)
		return PC_PROBE_MORE;
	if (strncmp(s->line.buf, magic, 8) != 0)
		return PC_PROBE_NOMATCH;
	struct pc_probe_result *res = ctx->res;
	PC_PROBE_SET(res->name, "memcached");
	PC_PROBE_SET(res->product, "memcached");
	pc_probe_setn(res->version, sizeof(res->version), s->line.buf + 8,
		      strcspn(s->line.buf + 8, " "));
	res->auth = PC_AUTH_NONE;
	PC_PROBE_SET(res->evidence, "version answered without authentication");
	pc_probe_banner(ctx, (const uint8_t *)s->line.buf, s->line.len);
	return PC_PROBE_MATCH;
}

const struct pc_probe_ops pc_probe_memcached = {
	.name = "memcached",
	.flags = PC_PROBE_F_TLS,
	.ports = mc_ports,
	.state_size = sizeof(struct mc_state),
	.start = mc_start,
	.feed = mc_feed,
};

const struct pc_probe_ops pc_probe_memcached_udp = {
	.name = "memcached-udp",
	.flags = PC_PROBE_F_UDP,
	.ports = mc_ports,
	.state_size = sizeof(struct mc_state),
	.start = mc_udp_start,
	.feed = mc_feed,
};
