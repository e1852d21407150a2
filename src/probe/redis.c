/*
 * redis.c - Redis (and its forks) over RESP: PING, then INFO server.
 *
 * Both commands are read-only. We pipeline them as RESP arrays and read the
 * replies line by line: "+PONG" then a bulk string holding
 * "redis_version:7.0.15" means the server answered without AUTH (auth none);
 * "-NOAUTH ..." (requirepass), "-WRONGPASS", "-NOPERM" or "-DENIED"
 * (protected mode) mean it wants credentials. Any first byte other than
 * '+' or '-' is not Redis.
 */
#include "probe/probe_ops.h"

#include <string.h>

struct redis_state {
	struct pc_probe_line line;
	unsigned lines;
	bool pong;
	bool in_bulk;
};

static const uint16_t redis_ports[] = { 6379, 6380, 26379, 7000, 7001, 0 };

static int redis_start(void *state, struct pc_probe_ctx *ctx)
{
	(void)state;
	return pc_probe_sendstr(ctx, "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");
}

static bool starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static enum pc_probe_verdict redis_required(struct pc_probe_ctx *ctx, const char *line)
{
	PC_PROBE_SET(ctx->res->name, "redis");
	PC_PROBE_SET(ctx->res->product, "Redis");
	ctx->res->auth = PC_AUTH_REQUIRED;
	pc_probe_setn(ctx->res->evidence, sizeof(ctx->res->evidence), line + 1, strlen(line + 1));
	pc_probe_banner(ctx, (const uint8_t *)line, strlen(line));
	return PC_PROBE_MATCH;
}

static enum pc_probe_verdict redis_line(struct redis_state *s, struct pc_probe_ctx *ctx,
					const char *line)
{
	struct pc_probe_result *r = ctx->res;
	s->lines++;
	if (!s->pong) {
		if (strcmp(line, "+PONG") == 0) {
			s->pong = true;
			PC_PROBE_SET(r->name, "redis");
			PC_PROBE_SET(r->product, "Redis");
			PC_PROBE_SET(r->evidence, "PING answered +PONG without AUTH");
			r->auth = PC_AUTH_UNKNOWN;
			return PC_PROBE_MORE;
		}
		if (starts(line, "-NOAUTH") || starts(line, "-WRONGPASS") ||
		    starts(line, "-NOPERM") || starts(line, "-DENIED") ||
		    starts(line, "-ERR operation not permitted") ||
		    starts(line, "-ERR Client sent AUTH") || starts(line, "-ERR AUTH"))
			return redis_required(ctx, line);
		return PC_PROBE_NOMATCH;
	}
	/* after PONG: the INFO reply */
	if (!s->in_bulk) {
		if (line[0] == '$') {
			s->in_bulk = true;
			return PC_PROBE_MORE;
		}
		if (line[0] == '-') {
			/* PING allowed but INFO refused: an ACL user without rights */
			return redis_required(ctx, line);
		}
		return PC_PROBE_MATCH;
	}
	if (starts(line, "redis_version:")) {
		pc_probe_setn(r->version, sizeof(r->version), line + 14, strlen(line + 14));
		r->auth = PC_AUTH_NONE;
		PC_PROBE_SET(r->evidence, "INFO answered without AUTH");
		pc_probe_setf(r->banner, sizeof(r->banner), "%s", line);
	} else if (starts(line, "valkey_version:")) {
		PC_PROBE_SET(r->product, "Valkey");
		pc_probe_setn(r->version, sizeof(r->version), line + 15, strlen(line + 15));
	} else if (starts(line, "redis_mode:") || line[0] == '\0') {
		if (r->auth == PC_AUTH_NONE && line[0] == '\0')
			return PC_PROBE_MATCH;
	}
	if (s->lines > 64 && r->auth == PC_AUTH_NONE)
		return PC_PROBE_MATCH;
	return PC_PROBE_MORE;
}

static enum pc_probe_verdict redis_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
					size_t len)
{
	struct redis_state *s = state;
	while (len > 0) {
		if (!s->pong && s->line.len == 0 && data[0] != '+' && data[0] != '-')
			return PC_PROBE_NOMATCH;
		size_t used;
		int r = pc_probe_line_feed(&s->line, data, len, &used);
		data += used;
		len -= used;
		if (r < 0) {
			if (!s->pong)
				return PC_PROBE_NOMATCH;
			/* a long INFO line: skip it */
			s->line.len = 0;
			s->line.overflow = false;
			continue;
		}
		if (r == 0)
			break;
		enum pc_probe_verdict v = redis_line(s, ctx, s->line.buf);
		s->line.len = 0;
		if (v != PC_PROBE_MORE)
			return v;
	}
	return PC_PROBE_MORE;
}

static enum pc_probe_verdict redis_done(void *state, struct pc_probe_ctx *ctx, bool eof)
{
	struct redis_state *s = state;
	(void)eof;
	return s->pong && ctx->res->name[0] ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
}

const struct pc_probe_ops pc_probe_redis = {
	.name = "redis",
	.flags = PC_PROBE_F_TLS,
	.ports = redis_ports,
	.state_size = sizeof(struct redis_state),
	.start = redis_start,
	.feed = redis_feed,
	.done = redis_done,
};
