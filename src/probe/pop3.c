/*
 * pop3.c - POP3: the "+OK" greeting, then CAPA.
 *
 * Passive: "+OK Dovecot (Debian) ready." Then "CAPA": "+OK", one
 * capability per line (USER, SASL PLAIN, STLS, IMPLEMENTATION ...), "."
 * alone ends the list; then QUIT. POP3 gives no access to a mailbox
 * before USER/PASS or AUTH, so the verdict is auth required, with the
 * offered mechanisms as evidence. When STLS is offered we ask for it: on
 * "+OK" the engine upgrades the connection (tls_info) and we read CAPA again
 * inside TLS. A server that closes after the greeting is still POP3.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct pop3_state {
	struct pc_probe_line line;
	int phase; /* 0 greeting, 1 CAPA status, 2 CAPA list, 3 STLS reply */
	bool stls;
	char caps[120];
};

static const uint16_t pop3_ports[] = { 110, 995, 0 };

static enum pc_probe_verdict pop3_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				       size_t len)
{
	struct pop3_state *s = state;
	struct pc_probe_result *r = ctx->res;
	while (len > 0) {
		/* the greeting must start "+OK" */
		int rc = pc_probe_line_next(&s->line, s->phase == 0 ? "+OK" : NULL, &data, &len);
		if (rc < 0)
			return s->phase ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
		if (rc == 0)
			break;
		char *l = s->line.buf;
		if (s->phase == 0) {
			if (strncmp(l, "+OK", 3) != 0 || (l[3] != ' ' && l[3] != '\0'))
				return PC_PROBE_NOMATCH;
			PC_PROBE_SET(r->name, "pop3");
			r->auth = PC_AUTH_REQUIRED;
			PC_PROBE_SET(r->evidence,
				     "+OK greeting; mail access needs USER/PASS or AUTH");
			pc_probe_banner(ctx, (const uint8_t *)l, strlen(l));
			static const char *const products[] = {"Dovecot", "Cyrus", NULL};
			pc_probe_product_in(r, l, products);
			s->phase = 1;
			pc_probe_sendstr(ctx, "CAPA\r\n");
			continue;
		}
		if (s->phase == 3) {
			if (strncmp(l, "+OK", 3) != 0) {
				pc_probe_sendstr(ctx, "QUIT\r\n");
				return PC_PROBE_MATCH;
			}
			s->phase = 1;
			s->caps[0] = '\0';
			s->stls = false;
			pc_probe_sendstr(ctx, "CAPA\r\n");
			return PC_PROBE_STARTTLS;
		}
		if (s->phase == 1) {
			if (strncmp(l, "+OK", 3) != 0) {
				pc_probe_sendstr(ctx, "QUIT\r\n");
				return PC_PROBE_MATCH;
			}
			s->phase = 2;
			continue;
		}
		if (strcmp(l, ".") == 0) {
			if (s->caps[0])
				pc_probe_setf(
				    r->evidence, sizeof(r->evidence),
				    "+OK greeting; mail access needs a login (CAPA%s: %.80s)",
				    ctx->tls ? " inside TLS" : "", s->caps);
			if (s->stls && !ctx->tls) {
				s->phase = 3;
				pc_probe_sendstr(ctx, "STLS\r\n");
				continue;
			}
			pc_probe_sendstr(ctx, "QUIT\r\n");
			return PC_PROBE_MATCH;
		}
		if (strcmp(l, "STLS") == 0)
			s->stls = true;
		if (strncmp(l, "IMPLEMENTATION ", 15) == 0 && !r->product[0])
			PC_PROBE_SET(r->product, l + 15);
		if (strncmp(l, "USER", 4) == 0 || strncmp(l, "SASL", 4) == 0 ||
		    strncmp(l, "STLS", 4) == 0) {
			size_t n = strlen(s->caps), ll = strlen(l), sep = n ? 2 : 0;
			if (n + sep + ll < sizeof(s->caps)) {
				memcpy(s->caps + n, ", ", sep);
				memcpy(s->caps + n + sep, l, ll + 1);
			}
		}
	}
	return PC_PROBE_MORE;
}

const struct pc_probe_ops pc_probe_pop3 = {
	.name = "pop3",
	.flags = PC_PROBE_F_BANNER | PC_PROBE_F_TLS,
	.ports = pop3_ports,
	.state_size = sizeof(struct pop3_state),
	.feed = pop3_feed,
};
