/*
 * rpcbind.c - ONC RPC portmapper (rpcbind), program 100000 version 2:
 * DUMP (procedure 4), over TCP with record marking (RFC 5531 11).
 *
 * DUMP lists the registered RPC programs; it is a read. A reply to our xid
 * (MSG_ACCEPTED, SUCCESS) proves rpcbind, and the list (value-follows
 * flag, then program, version, protocol, port) names what is exported:
 * NFS (100003), mountd (100005), NIS (100004)... in the evidence. The
 * portmapper has no authentication: auth none. Fragments are joined by
 * their 31-bit lengths; at most 8 KiB of the reply is kept.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

#define KEEP 8192

struct rpc_state {
	uint8_t hdr[4];
	size_t hdr_got;
	uint32_t frag_left;
	bool last;
	uint8_t m[KEEP];
	size_t got;
};

static const uint16_t rpc_ports[] = { 111, 0 };

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int rpc_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t call[] = {
		0x80, 0, 0, 40,		  /* record mark: last fragment, 40 bytes */
		0x50, 0x43, 0x50, 0x43,	  /* xid */
		0, 0, 0, 0,		  /* CALL */
		0, 0, 0, 2,		  /* RPC version 2 */
		0, 1, 0x86, 0xa0,	  /* program 100000 */
		0, 0, 0, 2,		  /* version 2 */
		0, 0, 0, 4,		  /* DUMP */
		0, 0, 0, 0, 0, 0, 0, 0,	  /* AUTH_NULL credential */
		0, 0, 0, 0, 0, 0, 0, 0,	  /* AUTH_NULL verifier */
	};
	(void)state;
	return pc_probe_send(ctx, call, sizeof(call));
}

static const char *prog_name(uint32_t p)
{
	switch (p) {
	case 100000: return "portmapper";
	case 100003: return "nfs";
	case 100004: return "ypserv";
	case 100005: return "mountd";
	case 100007: return "ypbind";
	case 100021: return "nlockmgr";
	case 100024: return "status";
	case 100227: return "nfs_acl";
	default: return NULL;
	}
}

static enum pc_probe_verdict parse(struct rpc_state *s, struct pc_probe_ctx *ctx)
{
	struct pc_probe_result *r = ctx->res;
	const uint8_t *m = s->m;
	size_t n = s->got < KEEP ? s->got : KEEP;
	if (n < 24 || be32(m) != 0x50435043 || be32(m + 4) != 1)
		return PC_PROBE_NOMATCH;
	PC_PROBE_SET(r->name, "rpcbind");
	r->auth = PC_AUTH_UNKNOWN;
	if (be32(m + 8) != 0) {
		PC_PROBE_SET(r->evidence, "RPC reply to our call: MSG_DENIED");
		return PC_PROBE_MATCH;
	}
	uint32_t vlen = be32(m + 16);
	if (vlen > 400)
		return PC_PROBE_MATCH;
	size_t i = 20 + ((vlen + 3) & ~3u);
	if (i + 4 > n || be32(m + i) != 0) {
		PC_PROBE_SET(r->evidence, "RPC reply to our portmap call (not SUCCESS)");
		return PC_PROBE_MATCH;
	}
	i += 4;
	char list[120] = "";
	unsigned count = 0;
	uint32_t seen[16];
	size_t nseen = 0;
	while (i + 4 <= n && be32(m + i) == 1 && i + 20 <= n) {
		uint32_t prog = be32(m + i + 4);
		count++;
		i += 20;
		bool dup = false;
		for (size_t k = 0; k < nseen; k++)
			dup |= seen[k] == prog;
		if (dup || nseen >= 16)
			continue;
		seen[nseen++] = prog;
		const char *nm = prog_name(prog);
		size_t o = strlen(list);
		if (o + 16 < sizeof(list)) {
			if (nm)
				snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", nm);
			else
				snprintf(list + o, sizeof(list) - o, "%s%u", o ? ", " : "", prog);
		}
	}
	r->auth = PC_AUTH_NONE;
	pc_probe_setf(r->evidence, sizeof(r->evidence),
		      "portmap DUMP answered without credentials: %u registrations (%s)", count,
		      list);
	pc_probe_banner(ctx, (const uint8_t *)list, strlen(list));
	return PC_PROBE_MATCH;
}

static enum pc_probe_verdict rpc_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct rpc_state *s = state;
	for (size_t i = 0; i < len;) {
		if (s->hdr_got < 4) {
			s->hdr[s->hdr_got++] = data[i++];
			if (s->hdr_got == 4) {
				uint32_t h = be32(s->hdr);
				s->last = h >> 31;
				s->frag_left = h & 0x7fffffff;
				if (s->frag_left > (1u << 20) || (s->got == 0 && s->frag_left < 24))
					return PC_PROBE_NOMATCH;
			}
			continue;
		}
		size_t n = pc_probe_take(s->m, KEEP, s->got, s->frag_left, data + i, len - i);
		s->got += n;
		i += n;
		s->frag_left -= (uint32_t)n;
		/* the xid and message type come first: refuse early */
		if (s->got >= 8 && (be32(s->m) != 0x50435043 || be32(s->m + 4) != 1))
			return PC_PROBE_NOMATCH;
		if (s->frag_left == 0) {
			if (s->last || s->got >= KEEP)
				return parse(s, ctx);
			s->hdr_got = 0;
		}
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_rpcbind = {
	.name = "rpcbind",
	.ports = rpc_ports,
	.state_size = sizeof(struct rpc_state),
	.start = rpc_start,
	.feed = rpc_feed,
};
