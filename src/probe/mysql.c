/*
 * mysql.c - MySQL and MariaDB: the server's initial handshake packet.
 *
 * Passive: the server speaks first with a packet (3-byte little-endian
 * length, sequence 0) holding protocol version 10, a NUL-terminated server
 * version ("10.11.6-MariaDB-0+deb12u1", MariaDB sometimes prefixed with
 * "5.5.5-"), a thread id, salt, capability flags and the default
 * authentication plugin. An error packet (0xff, code, message) instead
 * means the server refuses this host ("Host ... is not allowed to
 * connect"): credentials would not even be asked, auth required.
 * We do not try to log in (not even as root with an empty password): a
 * failed login is logged and may count towards host blocking, so the
 * verdict is "unknown", with the plugin named in the evidence.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct mysql_state {
	uint8_t pkt[512];
	size_t got;
	uint32_t len; /* payload length, once the header is in */
};

static const uint16_t mysql_ports[] = { 3306, 3307, 33060, 4567, 0 };

static enum pc_probe_verdict conclude(struct mysql_state *s, struct pc_probe_ctx *ctx)
{
	struct pc_probe_result *r = ctx->res;
	const uint8_t *p = s->pkt + 4;
	size_t n = s->got - 4;
	if (p[0] == 0xff) {
		if (n < 4)
			return PC_PROBE_NOMATCH;
		size_t off = 3;
		if (n > 3 && p[3] == '#')
			off = 9; /* "#" + SQLSTATE */
		if (off > n)
			off = n;
		for (size_t i = off; i < n; i++)
			if (p[i] < 0x20 || p[i] >= 0x7f)
				return PC_PROBE_NOMATCH;
		PC_PROBE_SET(r->name, "mysql");
		PC_PROBE_SET(r->product,
			     pc_probe_memcasemem(p, n, "MariaDB") ? "MariaDB" : "MySQL");
		r->auth = PC_AUTH_REQUIRED;
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "server refused the connection: %.*s",
			      (int)(n - off > 120 ? 120 : n - off), (const char *)p + off);
		pc_probe_banner(ctx, p + off, n - off);
		return PC_PROBE_MATCH;
	}
	if (p[0] != 10)
		return PC_PROBE_NOMATCH;
	const uint8_t *v = p + 1;
	const uint8_t *nul = memchr(v, 0, n - 1);
	if (!nul || nul == v)
		return PC_PROBE_NOMATCH;
	for (const uint8_t *q = v; q < nul; q++)
		if (*q < 0x20 || *q >= 0x7f)
			return PC_PROBE_NOMATCH;
	char ver[64];
	pc_probe_setn(ver, sizeof(ver), (const char *)v, (size_t)(nul - v));
	const char *vs = ver;
	if (strncmp(vs, "5.5.5-", 6) == 0 && strstr(vs, "MariaDB"))
		vs += 6;
	PC_PROBE_SET(r->name, "mysql");
	bool maria = strstr(vs, "MariaDB") != NULL;
	PC_PROBE_SET(r->product, maria ? "MariaDB" : "MySQL");
	pc_probe_setn(r->version, sizeof(r->version), vs, strcspn(vs, "-"));
	pc_probe_banner(ctx, (const uint8_t *)vs, strlen(vs));
	/* plugin name: the last NUL-terminated string of the packet, if any */
	const uint8_t *end = p + n;
	const char *plugin = NULL;
	if (end > nul + 1 && end[-1] == 0) {
		const uint8_t *q = end - 1;
		while (q > nul + 1 && q[-1] >= 0x20 && q[-1] < 0x7f)
			q--;
		if (q < end - 1 && (q - p) > 30)
			plugin = (const char *)q;
	}
	r->auth = PC_AUTH_UNKNOWN;
	if (plugin)
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "handshake v10 greeting (auth plugin %.40s); login not attempted",
			      plugin);
	else
		PC_PROBE_SET(r->evidence, "handshake v10 greeting; login not attempted");
	return PC_PROBE_MATCH;
}

static enum pc_probe_verdict mysql_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
					size_t len)
{
	struct mysql_state *s = state;
	for (size_t i = 0; i < len; i++) {
		s->pkt[s->got++] = data[i];
		if (s->got == 4) {
			s->len = (uint32_t)s->pkt[0] | (uint32_t)s->pkt[1] << 8 |
				 (uint32_t)s->pkt[2] << 16;
			/* sequence 0, a greeting of sane size */
			if (s->pkt[3] != 0 || s->len < 4 || s->len > sizeof(s->pkt) - 4)
				return PC_PROBE_NOMATCH;
		}
		if (s->got == 5 && s->pkt[4] != 10 && s->pkt[4] != 0xff)
			return PC_PROBE_NOMATCH;
		if (s->got >= 4 && s->got == s->len + 4)
			return conclude(s, ctx);
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_mysql = {
	.name = "mysql",
	.flags = PC_PROBE_F_BANNER,
	.ports = mysql_ports,
	.state_size = sizeof(struct mysql_state),
	.feed = mysql_feed,
};
