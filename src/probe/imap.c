/*
 * imap.c - IMAP4: the greeting and the capability list.
 *
 * Passive: "* OK [CAPABILITY IMAP4rev1 ...] Dovecot ready." or
 * "* PREAUTH ..." (the session is already authenticated: auth none!) or
 * "* BYE" (refused). Then "a1 CAPABILITY": "* CAPABILITY ..." and
 * "a1 OK"; then "a2 LOGOUT". Without PREAUTH a mailbox needs LOGIN or
 * AUTHENTICATE: auth required, with the offered AUTH= mechanisms (and
 * LOGINDISABLED, STARTTLS) as evidence. When STARTTLS is offered we ask
 * for it ("a2 STARTTLS"): on "a2 OK" the engine upgrades the connection
 * (tls_info) and we ask "a3 CAPABILITY" inside TLS.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct imap_state {
	struct pc_probe_line line;
	int phase; /* 0 greeting, then lines of the capability exchange */
	bool starttls_sent;
	char caps[140];
};

static const uint16_t imap_ports[] = { 143, 993, 0 };

static void keep_caps(struct imap_state *s, const char *l)
{
	const char *c = strstr(l, "CAPABILITY ");
	if (!c)
		return;
	c += 11;
	s->caps[0] = '\0';
	size_t n = 0;
	while (*c && *c != ']') {
		size_t w = strcspn(c, " ]");
		if ((w > 5 && strncmp(c, "AUTH=", 5) == 0) ||
		    (w == 13 && strncmp(c, "LOGINDISABLED", 13) == 0) ||
		    (w == 8 && strncmp(c, "STARTTLS", 8) == 0)) {
			if (n + w + 2 < sizeof(s->caps)) {
				snprintf(s->caps + n, sizeof(s->caps) - n, "%s%.*s", n ? " " : "",
					 (int)w, c);
				n = strlen(s->caps);
			}
		}
		c += w;
		while (*c == ' ')
			c++;
	}
}

static enum pc_probe_verdict imap_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				       size_t len)
{
	struct imap_state *s = state;
	struct pc_probe_result *r = ctx->res;
	while (len > 0) {
		/* the greeting must start "* " */
		int rc = pc_probe_line_next(&s->line, s->phase == 0 ? "* " : NULL, &data, &len);
		if (rc < 0)
			return s->phase ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
		if (rc == 0)
			break;
		char *l = s->line.buf;
		if (s->phase == 0) {
			bool ok = strncmp(l, "* OK", 4) == 0, pre = strncmp(l, "* PREAUTH", 9) == 0,
			     bye = strncmp(l, "* BYE", 5) == 0;
			if (!ok && !pre && !bye)
				return PC_PROBE_NOMATCH;
			PC_PROBE_SET(r->name, "imap");
			pc_probe_banner(ctx, (const uint8_t *)l, strlen(l));
			static const char *const products[] = {"Dovecot", "Cyrus", "Courier", NULL};
			pc_probe_product_in(r, l, products);
			keep_caps(s, l);
			if (pre) {
				r->auth = PC_AUTH_NONE;
				PC_PROBE_SET(
				    r->evidence,
				    "* PREAUTH greeting: session authenticated without a login");
				pc_probe_sendstr(ctx, "a2 LOGOUT\r\n");
				return PC_PROBE_MATCH;
			}
			if (bye) {
				r->auth = PC_AUTH_UNKNOWN;
				PC_PROBE_SET(r->evidence,
					     "* BYE greeting: server refused the session");
				return PC_PROBE_MATCH;
			}
			r->auth = PC_AUTH_REQUIRED;
			PC_PROBE_SET(r->evidence,
				     "* OK greeting; mailbox access needs LOGIN or AUTHENTICATE");
			s->phase = 1;
			pc_probe_sendstr(ctx, "a1 CAPABILITY\r\n");
			continue;
		}
		if (strncmp(l, "* CAPABILITY ", 13) == 0)
			keep_caps(s, l);
		if (s->starttls_sent) {
			if (strncmp(l, "a2 ", 3) != 0) {
				if (++s->phase > 20)
					return PC_PROBE_MATCH;
				continue;
			}
			s->starttls_sent = false;
			if (strncmp(l, "a2 OK", 5) != 0) {
				pc_probe_sendstr(ctx, "a4 LOGOUT\r\n");
				return PC_PROBE_MATCH;
			}
			s->phase = 1;
			pc_probe_sendstr(ctx, "a3 CAPABILITY\r\n");
			return PC_PROBE_STARTTLS;
		}
		if (strncmp(l, "a1 ", 3) == 0 || strncmp(l, "a3 ", 3) == 0 || s->phase > 20) {
			if (s->caps[0])
				pc_probe_setf(r->evidence, sizeof(r->evidence),
					      "* OK greeting; mailbox access needs a login (%s%s)",
					      ctx->tls ? "inside TLS: " : "", s->caps);
			if (!ctx->tls && strstr(s->caps, "STARTTLS")) {
				s->starttls_sent = true;
				pc_probe_sendstr(ctx, "a2 STARTTLS\r\n");
				continue;
			}
			pc_probe_sendstr(ctx, "a4 LOGOUT\r\n");
			return PC_PROBE_MATCH;
		}
		s->phase++;
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_imap = {
	.name = "imap",
	.flags = PC_PROBE_F_BANNER | PC_PROBE_F_TLS,
	.ports = imap_ports,
	.state_size = sizeof(struct imap_state),
	.feed = imap_feed,
};
