/*
 * smtp.c - SMTP: the 220 greeting, then EHLO for the extensions.
 *
 * Passive: the server greets with "220 host ESMTP Postfix" (possibly over
 * "220-" continuation lines). We claim it only when the greeting names
 * SMTP (ESMTP, SMTP, Postfix, Exim, Sendmail, mail) or the port is an SMTP
 * port, since FTP greets with 220 too. Then "EHLO portcensus.invalid": the
 * 250 lines list extensions (STARTTLS, AUTH PLAIN LOGIN, SIZE ...), named
 * in the evidence. When STARTTLS is offered we ask for it, and on "220" the
 * engine upgrades the connection (tls_info is recorded) and we say EHLO
 * again inside TLS, where servers often list AUTH only; then QUIT. No
 * MAIL/RCPT is ever sent: relaying is not tested. SMTP accepts mail for its
 * own domains without authentication by design, so the verdict is
 * "unknown" unless the server refuses EHLO outright (5xx): then it is not
 * SMTP after all.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct smtp_state {
	struct pc_probe_line line;
	int phase; /* 0 greeting, 1 EHLO reply, 2 its extensions, 3 STARTTLS reply */
	bool offers_starttls;
	char greeting[160];
	char ext[120];
};

static const uint16_t smtp_ports[] = { 25, 465, 587, 2525, 24, 0 };

static bool smtp_words(const char *s)
{
	static const char *const w[] = {
		"SMTP", "Postfix", "Exim", "Sendmail", "mail", "MTA", NULL
	};
	for (size_t i = 0; w[i]; i++)
		if (pc_probe_memcasemem((const uint8_t *)s, strlen(s), w[i]))
			return true;
	return false;
}

static void product_of(const char *g, struct pc_probe_result *r)
{
	static const char *const p[] = { "Postfix", "Exim", "Sendmail", "OpenSMTPD",
					 "Microsoft ESMTP", "qmail", "Haraka", "MailEnable", NULL };
	for (size_t i = 0; p[i]; i++)
		if (pc_probe_memcasemem((const uint8_t *)g, strlen(g), p[i])) {
			PC_PROBE_SET(r->product, p[i]);
			if (strcmp(p[i], "Exim") == 0) {
				const char *v = strstr(g, "Exim ");
				if (v)
					pc_probe_setn(r->version, sizeof(r->version), v + 5,
						      strcspn(v + 5, " "));
			}
			return;
		}
}

static enum pc_probe_verdict smtp_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				       size_t len)
{
	struct smtp_state *s = state;
	struct pc_probe_result *r = ctx->res;
	while (len > 0) {
		/* every reply line starts with three digits, the greeting with 2 */
		int rc = pc_probe_line_next(&s->line, s->phase == 0 ? "2##" : "###", &data, &len);
		if (rc < 0)
			return PC_PROBE_NOMATCH;
		if (rc == 0)
			break;
		char *l = s->line.buf;
		bool last;
		if (pc_probe_reply_line(l, &last) < 0)
			return PC_PROBE_NOMATCH;
		if (s->phase == 0) {
			if (strncmp(l, "220", 3) != 0)
				return PC_PROBE_NOMATCH;
			if (!s->greeting[0])
				pc_probe_setn(s->greeting, sizeof(s->greeting),
					      l + 4 - (l[3] == '\0'), strlen(l));
			if (!last)
				continue;
			if (pc_probe_memcasemem((const uint8_t *)s->greeting, strlen(s->greeting),
						"FTP"))
				return PC_PROBE_NOMATCH;
			if (!smtp_words(s->greeting) && !pc_probe_has_port(smtp_ports, ctx->port))
				return PC_PROBE_NOMATCH;
			PC_PROBE_SET(r->name, "smtp");
			r->auth = PC_AUTH_UNKNOWN;
			product_of(s->greeting, r);
			pc_probe_setf(r->banner, sizeof(r->banner), "220 %s", s->greeting);
			PC_PROBE_SET(r->evidence, "220 SMTP greeting");
			s->phase = 1;
			pc_probe_sendstr(ctx, "EHLO portcensus.invalid\r\n");
			continue;
		}
		if (s->phase == 3) {
			if (strncmp(l, "220", 3) != 0) {
				pc_probe_sendstr(ctx, "QUIT\r\n");
				return PC_PROBE_MATCH;
			}
			/* upgrade, then EHLO again inside TLS */
			s->phase = 1;
			s->ext[0] = '\0';
			s->offers_starttls = false;
			pc_probe_sendstr(ctx, "EHLO portcensus.invalid\r\n");
			return PC_PROBE_STARTTLS;
		}
		/* EHLO reply */
		if (l[0] != '2') {
			pc_probe_sendstr(ctx, "QUIT\r\n");
			return PC_PROBE_MATCH;
		}
		if (strncmp(l, "250", 3) == 0 && l[3] != '\0' && s->phase == 1) {
			s->phase = 2; /* first 250 line is the host name */
		} else if (strncmp(l, "250", 3) == 0 && l[3] != '\0') {
			if (strcmp(l + 4, "STARTTLS") == 0)
				s->offers_starttls = true;
			size_t n = strlen(s->ext);
			if (n + strlen(l + 4) + 2 < sizeof(s->ext))
				snprintf(s->ext + n, sizeof(s->ext) - n, "%s%s", n ? ", " : "",
					 l + 4);
		}
		if (last) {
			const char *how = ctx->tls ? "EHLO inside TLS" : "220 greeting and EHLO";
			if (s->ext[0])
				pc_probe_setf(r->evidence, sizeof(r->evidence),
					      "%s; extensions: %s", how, s->ext);
			else
				pc_probe_setf(r->evidence, sizeof(r->evidence), "%s answered", how);
			if (s->offers_starttls && !ctx->tls) {
				s->phase = 3;
				pc_probe_sendstr(ctx, "STARTTLS\r\n");
				continue;
			}
			pc_probe_sendstr(ctx, "QUIT\r\n");
			return PC_PROBE_MATCH;
		}
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_smtp = {
	.name = "smtp",
	.flags = PC_PROBE_F_BANNER | PC_PROBE_F_TLS,
	.ports = smtp_ports,
	.state_size = sizeof(struct smtp_state),
	.feed = smtp_feed,
};
