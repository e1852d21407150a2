/*
 * rdp.c - RDP: X.224 Connection Request with an RDP Negotiation Request
 * (MS-RDPBCGR 2.2.1.1), asking for TLS or CredSSP.
 *
 * The answer is a TPKT (03 00 + 16-bit length) carrying an X.224
 * Connection Confirm (0xD0) and, from any server since Windows 2003 SP1, an
 * RDP Negotiation Response (type 2, selected protocol) or Failure (type
 * 3). Selected protocol 2 (CredSSP/NLA) or 8 (RDSTLS) means the server
 * authenticates the user before it shows a logon screen: auth required;
 * 0 (standard RDP security) or 1 (TLS) means a logon screen is reachable
 * without credentials: auth none is too strong a claim, so unknown, and
 * the evidence says NLA is not enforced.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct rdp_state {
	uint8_t m[64];
	size_t got;
	size_t total;
};

static const uint16_t rdp_ports[] = { 3389, 0 };

static int rdp_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t cr[] = {
		0x03, 0x00, 0x00, 0x13,		    /* TPKT, length 19 */
		0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, /* X.224 CR */
		0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, /* NEG_REQ: TLS | CredSSP */
	};
	(void)state;
	return pc_probe_send(ctx, cr, sizeof(cr));
}

static enum pc_probe_verdict rdp_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct rdp_state *s = state;
	struct pc_probe_result *r = ctx->res;
	for (size_t i = 0; i < len && s->got < sizeof(s->m); i++) {
		s->m[s->got++] = data[i];
		if (s->got == 1 && s->m[0] != 0x03)
			return PC_PROBE_NOMATCH;
		if (s->got == 2 && s->m[1] != 0x00)
			return PC_PROBE_NOMATCH;
		if (s->got == 4) {
			s->total = (size_t)s->m[2] << 8 | s->m[3];
			if (s->total < 11 || s->total > sizeof(s->m))
				return PC_PROBE_NOMATCH;
		}
		if (s->got == 6 && (s->m[5] & 0xf0) != 0xd0)
			return PC_PROBE_NOMATCH;
		if (s->got >= 4 && s->got == s->total)
			break;
	}
	if (s->got < 4 || s->got < s->total)
		return PC_PROBE_MORE;
	PC_PROBE_SET(r->name, "rdp");
	r->auth = PC_AUTH_UNKNOWN;
	PC_PROBE_SET(r->evidence,
		     "X.224 Connection Confirm without negotiation (standard RDP security)");
	if (s->total >= 19) {
		const uint8_t *n = s->m + 11;
		uint32_t v = (uint32_t)n[4] | (uint32_t)n[5] << 8 | (uint32_t)n[6] << 16 |
			     (uint32_t)n[7] << 24;
		if (n[0] == 2) {
			if (v == 2 || v == 8) {
				r->auth = PC_AUTH_REQUIRED;
				pc_probe_setf(r->evidence, sizeof(r->evidence),
					      "negotiation selected %s: NLA before logon",
					      v == 2 ? "CredSSP" : "RDSTLS");
			} else {
				pc_probe_setf(r->evidence, sizeof(r->evidence),
					      "negotiation selected %s: NLA not enforced",
					      v == 1 ? "TLS" : "standard RDP security");
			}
		} else if (n[0] == 3) {
			pc_probe_setf(r->evidence, sizeof(r->evidence),
				      "negotiation failure code %u", v);
		}
	}
	return PC_PROBE_MATCH;
}

const struct pc_probe_ops pc_probe_rdp = {
	.name = "rdp",
	.ports = rdp_ports,
	.state_size = sizeof(struct rdp_state),
	.start = rdp_start,
	.feed = rdp_feed,
};
