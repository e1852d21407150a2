/*
 * mongodb.c - MongoDB wire protocol: OP_MSG isMaster, buildInfo and
 * listDatabases (nameOnly), pipelined on one connection.
 *
 * All three commands are reads. isMaster proves the protocol (an OP_MSG or
 * OP_REPLY answer to our request id, holding a BSON document with
 * maxWireVersion or ismaster); buildInfo gives the version; listDatabases
 * decides authentication: ok:1 means the server listed its databases
 * without credentials (auth none); "Unauthorized" (code 13) or "requires
 * authentication" means auth required.
 *
 * Replies are framed by their 32-bit length (16..48 MiB accepted, at most
 * 8 KiB of each kept); the BSON walker checks every length against the
 * bytes it holds and stops at the first element it cannot size.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

#define KEEP 8192

struct mongo_state {
	uint8_t msg[KEEP];
	size_t got;
	uint32_t len;
	unsigned replies;
	bool identified;
};

static const uint16_t mongo_ports[] = { 27017, 27018, 27019, 0 };

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* OP_MSG with one body section: {<cmd>: 1, [nameOnly: true,] $db: "admin"} */
static int send_cmd(struct pc_probe_ctx *ctx, uint32_t id, const char *cmd, bool name_only)
{
	uint8_t b[160];
	size_t n = 21; /* header 16 + flags 4 + kind 1 */
	size_t doc = n;
	n += 4;
	b[n++] = 0x10; /* int32 */
	size_t cl = strlen(cmd);
	memcpy(b + n, cmd, cl + 1);
	n += cl + 1;
	le32(b + n, 1);
	n += 4;
	if (name_only) {
		b[n++] = 0x08;
		memcpy(b + n, "nameOnly", 9);
		n += 9;
		b[n++] = 1;
	}
	b[n++] = 0x02; /* string */
	memcpy(b + n, "$db", 4);
	n += 4;
	le32(b + n, 6);
	n += 4;
	memcpy(b + n, "admin", 6);
	n += 6;
	b[n++] = 0; /* end of document */
	le32(b + doc, (uint32_t)(n - doc));
	le32(b, (uint32_t)n);
	le32(b + 4, id);
	le32(b + 8, 0);
	le32(b + 12, 2013); /* OP_MSG */
	le32(b + 16, 0);    /* flags */
	b[20] = 0;          /* section kind 0: body */
	return pc_probe_send(ctx, b, n);
}

static int mongo_start(void *state, struct pc_probe_ctx *ctx)
{
	(void)state;
	if (send_cmd(ctx, 0x50430001, "isMaster", false) < 0 ||
	    send_cmd(ctx, 0x50430002, "buildInfo", false) < 0 ||
	    send_cmd(ctx, 0x50430003, "listDatabases", true) < 0)
		return -1;
	return 0;
}

struct bson_view {
	double ok;
	bool has_ok, has_wire, has_master, has_databases;
	int32_t code;
	char version[48];
	char errmsg[96];
	char codename[48];
};

/* Walk the top level of a BSON document in d[0..n). */
static bool bson_walk(const uint8_t *d, size_t n, struct bson_view *v)
{
	if (n < 5)
		return false;
	uint32_t total = rd32(d);
	if (total < 5)
		return false;
	size_t end = total < n ? total : n;
	size_t i = 4;
	while (i < end) {
		uint8_t t = d[i++];
		if (t == 0)
			return true;
		const uint8_t *name = d + i;
		const uint8_t *z = memchr(name, 0, end - i);
		if (!z)
			return true; /* truncated: keep what we have */
		size_t nl = (size_t)(z - name);
		i += nl + 1;
		size_t need = 0;
		switch (t) {
		case 0x01: case 0x09: case 0x11: case 0x12: need = 8; break;
		case 0x10: need = 4; break;
		case 0x08: need = 1; break;
		case 0x07: need = 12; break;
		case 0x13: need = 16; break;
		case 0x0A: case 0x7F: case 0xFF: need = 0; break;
		case 0x02: case 0x0D: case 0x0E:
			if (end - i < 4)
				return true;
			need = 4 + (size_t)rd32(d + i);
			break;
		case 0x03: case 0x04:
			if (end - i < 4)
				return true;
			need = rd32(d + i);
			break;
		case 0x05:
			if (end - i < 4)
				return true;
			need = 5 + (size_t)rd32(d + i);
			break;
		default:
			return true;
		}
		bool whole = need <= end - i;
#define KEY(s) (nl == sizeof(s) - 1 && memcmp(name, s, nl) == 0)
		if (whole) {
			if (KEY("ok")) {
				v->has_ok = true;
				if (t == 0x01) {
					double dv;
					memcpy(&dv, d + i, 8);
					v->ok = dv;
				} else if (t == 0x10)
					v->ok = (int32_t)rd32(d + i);
				else if (t == 0x08)
					v->ok = d[i];
			} else if (KEY("maxWireVersion")) {
				v->has_wire = true;
			} else if (KEY("ismaster") || KEY("isWritablePrimary") || KEY("helloOk")) {
				v->has_master = true;
			} else if (KEY("databases") && t == 0x04) {
				v->has_databases = true;
			} else if (KEY("code") && t == 0x10) {
				v->code = (int32_t)rd32(d + i);
			} else if (t == 0x02 && need > 4) {
				size_t sl = need - 5;
				const char *sv = (const char *)d + i + 4;
				if (KEY("version"))
					pc_probe_setn(v->version, sizeof(v->version), sv, sl);
				else if (KEY("errmsg"))
					pc_probe_setn(v->errmsg, sizeof(v->errmsg), sv, sl);
				else if (KEY("codeName"))
					pc_probe_setn(v->codename, sizeof(v->codename), sv, sl);
			}
		}
#undef KEY
		if (!whole)
			return true;
		i += need;
	}
	return true;
}

static enum pc_probe_verdict on_reply(struct mongo_state *s, struct pc_probe_ctx *ctx)
{
	struct pc_probe_result *r = ctx->res;
	size_t n = s->got < KEEP ? s->got : KEEP;
	uint32_t opcode = rd32(s->msg + 12);
	uint32_t to = rd32(s->msg + 8);
	const uint8_t *doc;
	size_t dn;
	if (opcode == 2013) {
		if (n < 21 || s->msg[20] != 0)
			return PC_PROBE_NOMATCH;
		doc = s->msg + 21;
		dn = n - 21;
	} else if (opcode == 1) { /* OP_REPLY */
		if (n < 36)
			return PC_PROBE_NOMATCH;
		doc = s->msg + 36;
		dn = n - 36;
	} else {
		return PC_PROBE_NOMATCH;
	}
	if ((to & 0xffff0000u) != 0x50430000u)
		return PC_PROBE_NOMATCH;
	struct bson_view v = { 0 };
	if (!bson_walk(doc, dn, &v))
		return PC_PROBE_NOMATCH;
	s->replies++;
	if (!s->identified) {
		if (!v.has_ok)
			return PC_PROBE_NOMATCH;
		s->identified = true;
		PC_PROBE_SET(r->name, "mongodb");
		PC_PROBE_SET(r->product, "MongoDB");
		r->auth = PC_AUTH_UNKNOWN;
		PC_PROBE_SET(r->evidence, "isMaster answered");
	}
	if ((to & 0xff) == 2 && v.version[0]) {
		PC_PROBE_SET(r->version, v.version);
		pc_probe_setf(r->banner, sizeof(r->banner), "MongoDB %s", v.version);
	}
	if ((to & 0xff) == 3) {
		if (v.ok == 1 && v.has_databases) {
			r->auth = PC_AUTH_NONE;
			PC_PROBE_SET(r->evidence, "listDatabases answered without credentials");
		} else if (v.code == 13 || strstr(v.errmsg, "requires authentication") ||
			   strstr(v.codename, "Unauthorized")) {
			r->auth = PC_AUTH_REQUIRED;
			pc_probe_setf(r->evidence, sizeof(r->evidence), "listDatabases refused: %s",
				      v.errmsg[0] ? v.errmsg : v.codename);
		}
		return PC_PROBE_MATCH;
	}
	return PC_PROBE_MORE;
}

static enum pc_probe_verdict mongo_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
					size_t len)
{
	struct mongo_state *s = state;
	for (size_t i = 0; i < len;) {
		if (s->got < 16) {
			s->msg[s->got++] = data[i++];
			if (s->got == 16) {
				s->len = rd32(s->msg);
				if (s->len < 21 || s->len > (48u << 20))
					return PC_PROBE_NOMATCH;
			}
			continue;
		}
		size_t n = pc_probe_take(s->msg, KEEP, s->got, s->len - s->got, data + i, len - i);
		s->got += n;
		i += n;
		if (s->got == s->len) {
			enum pc_probe_verdict v = on_reply(s, ctx);
			s->got = 0;
			if (v != PC_PROBE_MORE)
				return v;
		}
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_mongodb = {
	.name = "mongodb",
	.flags = PC_PROBE_F_TLS,
	.ports = mongo_ports,
	.state_size = sizeof(struct mongo_state),
	.start = mongo_start,
	.feed = mongo_feed,
};
