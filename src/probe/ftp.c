/*
 * ftp.c - FTP: the 220 greeting, then: is anonymous login allowed?
 *
 * Passive: "220 (vsFTPd 3.0.3)" or "220-..." continuation lines. We claim
 * any 220 greeting that does not name SMTP (smtp.c takes those). Then
 * "USER anonymous" and, on 331, "PASS portcensus@example.invalid" (the
 * conventional e-mail-address password). 230 -> auth none (anonymous
 * login allowed); 530 or any other 4xx/5xx -> auth required. Logging in
 * reads nothing and changes nothing; we QUIT right after.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct ftp_state {
	struct pc_probe_line line;
	int phase; /* 0 greeting, 1 USER reply, 2 PASS reply */
	char greeting[160];
};

static const uint16_t ftp_ports[] = { 21, 2121, 990, 0 };

static void product_of(const char *g, struct pc_probe_result *r)
{
	static const struct {
		const char *needle, *product;
	} p[] = {
		{ "vsFTPd ", "vsftpd" },
		{ "ProFTPD ", "ProFTPD" },
		{ "Pure-FTPd", "Pure-FTPd" },
		{ "FileZilla Server", "FileZilla Server" },
		{ "Microsoft FTP", "Microsoft FTP Service" },
		{ "ucftpd", "ucftpd" },
		{ NULL, NULL },
	};
	for (size_t i = 0; p[i].needle; i++) {
		const char *h = strstr(g, p[i].needle);
		if (!h)
			continue;
		PC_PROBE_SET(r->product, p[i].product);
		const char *v = h + strlen(p[i].needle);
		while (*v == ' ')
			v++;
		if (*v >= '0' && *v <= '9')
			pc_probe_setn(r->version, sizeof(r->version), v, strcspn(v, " )"));
		return;
	}
}

static enum pc_probe_verdict ftp_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct ftp_state *s = state;
	struct pc_probe_result *r = ctx->res;
	while (len > 0) {
		/* every reply line starts with three digits, the greeting with 2 */
		int rc = pc_probe_line_next(&s->line, s->phase == 0 ? "2##" : "###", &data, &len);
		if (rc < 0)
			return s->phase ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
		if (rc == 0)
			break;
		char *l = s->line.buf;
		bool last;
		if (pc_probe_reply_line(l, &last) < 0)
			return s->phase ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
		if (s->phase == 0) {
			if (strncmp(l, "220", 3) != 0)
				return PC_PROBE_NOMATCH;
			if (l[3] != '\0') {
				/* multi-line greetings: the product is often on the last line */
				size_t o = strlen(s->greeting);
				if (o + 2 < sizeof(s->greeting))
					snprintf(s->greeting + o, sizeof(s->greeting) - o, "%s%s",
						 o ? " " : "", l + 4);
			}
			if (!last)
				continue;
			const char *g = s->greeting;
			if (!pc_probe_memcasemem((const uint8_t *)g, strlen(g), "FTP") &&
			    (pc_probe_memcasemem((const uint8_t *)g, strlen(g), "SMTP") ||
			     pc_probe_memcasemem((const uint8_t *)g, strlen(g), "Postfix") ||
			     pc_probe_memcasemem((const uint8_t *)g, strlen(g), "Exim") ||
			     pc_probe_memcasemem((const uint8_t *)g, strlen(g), "mail")))
				return PC_PROBE_NOMATCH;
			PC_PROBE_SET(r->name, "ftp");
			r->auth = PC_AUTH_UNKNOWN;
			product_of(g, r);
			pc_probe_setf(r->banner, sizeof(r->banner), "220 %s", g);
			PC_PROBE_SET(r->evidence, "220 FTP greeting");
			s->phase = 1;
			pc_probe_sendstr(ctx, "USER anonymous\r\n");
			continue;
		}
		if (!last)
			continue;
		if (s->phase == 1 && strncmp(l, "331", 3) == 0) {
			s->phase = 2;
			pc_probe_sendstr(ctx, "PASS portcensus@example.invalid\r\n");
			continue;
		}
		if (strncmp(l, "230", 3) == 0) {
			r->auth = PC_AUTH_NONE;
			PC_PROBE_SET(r->evidence, "anonymous login accepted (230)");
		} else if (l[0] == '4' || l[0] == '5') {
			r->auth = PC_AUTH_REQUIRED;
			pc_probe_setf(r->evidence, sizeof(r->evidence),
				      "anonymous login refused: %.100s", l);
		}
		pc_probe_sendstr(ctx, "QUIT\r\n");
		return PC_PROBE_MATCH;
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_ftp = {
	.name = "ftp",
	.flags = PC_PROBE_F_BANNER | PC_PROBE_F_TLS,
	.ports = ftp_ports,
	.state_size = sizeof(struct ftp_state),
	.feed = ftp_feed,
};
