/*
 * zookeeper.c - Apache ZooKeeper's four-letter word "srvr".
 *
 * "srvr" is read-only and on the default whitelist. The server answers
 * "Zookeeper version: 3.8.0-..., built on ..." plus a few lines and closes;
 * a server that does not whitelist it answers "srvr is not executed because
 * it is not in the whitelist." (still ZooKeeper: auth unknown). ZooKeeper
 * asks no credentials of a client connection (ACLs are per znode), so an
 * answered srvr means anyone can connect: auth none.
 */
#include "probe/probe_ops.h"

#include <string.h>

struct zk_state {
	struct pc_probe_line line;
	unsigned lines;
};

static const uint16_t zk_ports[] = { 2181, 2182, 0 };

static int zk_start(void *state, struct pc_probe_ctx *ctx)
{
	(void)state;
	return pc_probe_sendstr(ctx, "srvr");
}

static enum pc_probe_verdict zk_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				     size_t len)
{
	struct zk_state *s = state;
	struct pc_probe_result *r = ctx->res;
	while (len > 0) {
		int rc = pc_probe_line_next(&s->line, NULL, &data, &len);
		if (rc < 0)
			return PC_PROBE_NOMATCH;
		if (rc == 0)
			break;
		const char *l = s->line.buf;
		s->lines++;
		if (s->lines == 1) {
			if (strncmp(l, "Zookeeper version: ", 19) == 0) {
				PC_PROBE_SET(r->name, "zookeeper");
				PC_PROBE_SET(r->product, "ZooKeeper");
				pc_probe_setn(r->version, sizeof(r->version), l + 19,
					      strcspn(l + 19, "-, "));
				r->auth = PC_AUTH_NONE;
				PC_PROBE_SET(r->evidence, "srvr answered without authentication");
				pc_probe_banner(ctx, (const uint8_t *)l, strlen(l));
				return PC_PROBE_MATCH;
			}
			if (strstr(l, "is not executed because it is not in the whitelist") ||
			    strstr(l, "is not in the whitelist")) {
				PC_PROBE_SET(r->name, "zookeeper");
				PC_PROBE_SET(r->product, "ZooKeeper");
				r->auth = PC_AUTH_UNKNOWN;
				PC_PROBE_SET(r->evidence,
					     "srvr refused: not in the four-letter-word whitelist");
				pc_probe_banner(ctx, (const uint8_t *)l, strlen(l));
				return PC_PROBE_MATCH;
			}
			return PC_PROBE_NOMATCH;
		}
	}
	/* the first line must begin like one of the two answers */
	if (s->lines == 0 && s->line.len > 0) {
		static const char a[] = "Zookeeper version: ";
		size_t n = s->line.len < sizeof(a) - 1 ? s->line.len : sizeof(a) - 1;
		if (memcmp(s->line.buf, a, n) != 0 &&
		    memcmp(s->line.buf, "srvr ", s->line.len < 5 ? s->line.len : 5) != 0)
			return PC_PROBE_NOMATCH;
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_zookeeper = {
	.name = "zookeeper",
	.ports = zk_ports,
	.state_size = sizeof(struct zk_state),
	.start = zk_start,
	.feed = zk_feed,
};
