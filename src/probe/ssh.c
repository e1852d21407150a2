/*
 * ssh.c - SSH identification string (RFC 4253 4.2): "SSH-2.0-OpenSSH_9.2p1
 * Debian-2\r\n", sent by the server before anything else.
 *
 * Passive: we send nothing. The first four bytes must be "SSH-" (checked as
 * they arrive, so any other banner is rejected at its first byte that
 * differs); the line ends at LF, 255 bytes at most. Product and version
 * come from the software-version field ("OpenSSH_9.2p1" -> OpenSSH,
 * 9.2p1). Whether a method like "none" is accepted takes a key exchange:
 * auth stays unknown here, and ssh_auth.c finds out after the engine's loop.
 */
#include "probe/probe_ops.h"

#include <string.h>

struct ssh_state {
	struct pc_probe_line line; /* 255 bytes at most (RFC 4253: 255 with CR LF) */
};

static const uint16_t ssh_ports[] = { 22, 2222, 22222, 830, 0 };

static void ssh_conclude(struct pc_probe_ctx *ctx, const char *line)
{
	struct pc_probe_result *r = ctx->res;
	/* SSH-protoversion-softwareversion[ SP comments] */
	const char *proto = line + 4;
	const char *dash = strchr(proto, '-');
	PC_PROBE_SET(r->name, "ssh");
	pc_probe_banner(ctx, (const uint8_t *)line, strlen(line));
	r->auth = PC_AUTH_UNKNOWN;
	if (!dash) {
		PC_PROBE_SET(r->evidence, "SSH identification string without software version");
		return;
	}
	const char *sw = dash + 1;
	size_t swlen = strcspn(sw, " ");
	size_t plen = strcspn(sw, "_-");
	if (plen > swlen)
		plen = swlen;
	pc_probe_setn(r->product, sizeof(r->product), sw, plen);
	if (strncmp(r->product, "dropbear", 8) == 0)
		PC_PROBE_SET(r->product, "Dropbear");
	if (plen < swlen)
		pc_probe_setn(r->version, sizeof(r->version), sw + plen + 1, swlen - plen - 1);
	pc_probe_setf(r->evidence, sizeof(r->evidence), "SSH identification string (protocol %.*s)",
		      (int)(dash - proto), proto);
}

static int ssh_start(void *state, struct pc_probe_ctx *ctx)
{
	struct ssh_state *s = state;
	(void)ctx;
	s->line.max = 256;
	return 0;
}

static enum pc_probe_verdict ssh_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct ssh_state *s = state;
	int rc = pc_probe_line_next(&s->line, "SSH-", &data, &len);
	if (rc == 0)
		return PC_PROBE_MORE;
	/* a NUL inside the line would cut it short: refuse */
	if (rc < 0 || strlen(s->line.buf) != s->line.len || s->line.len < 5)
		return PC_PROBE_NOMATCH;
	ssh_conclude(ctx, s->line.buf);
	return PC_PROBE_MATCH;
}

static enum pc_probe_verdict ssh_done(void *state, struct pc_probe_ctx *ctx, bool eof)
{
	struct ssh_state *s = state;
	(void)eof;
	/* "SSH-2.0-x" without its line end is still SSH */
	if (s->line.len >= 8 && memcmp(s->line.buf, "SSH-", 4) == 0 &&
	    memchr(s->line.buf, '\0', s->line.len) == NULL) {
		s->line.buf[s->line.len] = '\0';
		ssh_conclude(ctx, s->line.buf);
		return PC_PROBE_MATCH;
	}
	return PC_PROBE_NOMATCH;
}

const struct pc_probe_ops pc_probe_ssh = {
	.name = "ssh",
	.flags = PC_PROBE_F_BANNER,
	.ports = ssh_ports,
	.state_size = sizeof(struct ssh_state),
	.start = ssh_start,
	.feed = ssh_feed,
	.done = ssh_done,
};
