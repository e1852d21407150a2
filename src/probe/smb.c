/*
 * smb.c - SMB2 NEGOTIATE (MS-SMB2 2.2.3, 2.2.4) over direct TCP (445).
 *
 * One NEGOTIATE request offering dialects 2.0.2, 2.1, 3.0 and 3.0.2 (3.1.1
 * would need negotiate contexts; a 3.1.1 server still answers with 3.0.2).
 * The response (after the 4-byte transport header: zero, 24-bit length)
 * is an SMB2 header (0xFE 'SMB', 64 bytes, NEGOTIATE, our message id) and
 * the NEGOTIATE body: structure size 65, SecurityMode (bit 0x2: signing
 * required), DialectRevision. No session is set up, so whether guest or
 * anonymous access works is not known: auth unknown; the evidence says the
 * dialect and whether signing is required. A server that answers in SMB1
 * (0xFF 'SMB') is named too.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct smb_state {
	uint8_t m[160];
	size_t got;
	size_t total;
};

static const uint16_t smb_ports[] = { 445, 139, 0 };

static int smb_start(void *state, struct pc_probe_ctx *ctx)
{
	uint8_t b[4 + 64 + 36 + 8];
	(void)state;
	memset(b, 0, sizeof(b));
	size_t len = 64 + 36 + 8;
	b[1] = 0;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	uint8_t *h = b + 4;
	h[0] = 0xfe;
	h[1] = 'S';
	h[2] = 'M';
	h[3] = 'B';
	h[4] = 64;  /* StructureSize */
	h[12] = 0;  /* Command NEGOTIATE */
	h[14] = 1;  /* CreditRequest */
	h[24] = 0x43; /* MessageId: low byte 'C' for ours */
	uint8_t *n = h + 64;
	n[0] = 36;  /* StructureSize */
	n[2] = 4;   /* DialectCount */
	n[4] = 1;   /* SecurityMode: signing enabled */
	memcpy(n + 12, "portcensus-probe", 16); /* ClientGuid */
	static const uint8_t dialects[] = { 0x02, 0x02, 0x10, 0x02, 0x00, 0x03, 0x02, 0x03 };
	memcpy(n + 36, dialects, sizeof(dialects));
	return pc_probe_send(ctx, b, sizeof(b));
}

static enum pc_probe_verdict smb_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				      size_t len)
{
	struct smb_state *s = state;
	struct pc_probe_result *r = ctx->res;
	for (size_t i = 0; i < len; i++) {
		if (s->got < sizeof(s->m))
			s->m[s->got] = data[i];
		s->got++;
		if (s->got == 1 && s->m[0] != 0)
			return PC_PROBE_NOMATCH;
		if (s->got == 4) {
			s->total = 4 + ((size_t)s->m[1] << 16 | (size_t)s->m[2] << 8 | s->m[3]);
			if (s->total < 4 + 36)
				return PC_PROBE_NOMATCH;
		}
		if (s->got == 8) {
			const uint8_t *p = s->m + 4;
			if ((p[0] != 0xfe && p[0] != 0xff) || p[1] != 'S' || p[2] != 'M' ||
			    p[3] != 'B')
				return PC_PROBE_NOMATCH;
		}
		size_t need = s->m[4] == 0xff ? 4 + 36 : 4 + 64 + 6;
		if (s->got >= 8 && s->got == need)
			break;
	}
	if (s->got < 8)
		return PC_PROBE_MORE;
	const uint8_t *p = s->m + 4;
	if (p[0] == 0xff) {
		if (s->got < 4 + 36)
			return PC_PROBE_MORE;
		PC_PROBE_SET(r->name, "smb");
		PC_PROBE_SET(r->version, "SMB1");
		r->auth = PC_AUTH_UNKNOWN;
		PC_PROBE_SET(r->evidence, "answered the SMB2 NEGOTIATE in SMB1 (NT LM 0.12 only)");
		return PC_PROBE_MATCH;
	}
	if (s->got < 4 + 64 + 6)
		return PC_PROBE_MORE;
	uint32_t status = (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
			  (uint32_t)p[11] << 24;
	if (p[4] != 64 || p[12] != 0 || p[13] != 0 || !(p[16] & 0x01))
		return PC_PROBE_NOMATCH; /* not a NEGOTIATE response */
	PC_PROBE_SET(r->name, "smb");
	r->auth = PC_AUTH_UNKNOWN;
	if (status != 0) {
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "SMB2 NEGOTIATE failed (status 0x%08x)", status);
		return PC_PROBE_MATCH;
	}
	const uint8_t *n = p + 64;
	unsigned mode = (unsigned)n[2] | (unsigned)n[3] << 8;
	unsigned dialect = (unsigned)n[4] | (unsigned)n[5] << 8;
	pc_probe_setf(r->version, sizeof(r->version), "SMB %u.%u.%u", dialect >> 8,
		      (dialect >> 4) & 0xf, dialect & 0xf);
	pc_probe_setf(r->evidence, sizeof(r->evidence),
		      "SMB2 NEGOTIATE: dialect 0x%04x, signing %s", dialect,
		      (mode & 0x02) ? "required" : "not required");
	pc_probe_setf(r->banner, sizeof(r->banner), "SMB2 dialect 0x%04x signing %s", dialect,
		      (mode & 0x02) ? "required" : "enabled");
	return PC_PROBE_MATCH;
}

const struct pc_probe_ops pc_probe_smb = {
	.name = "smb",
	.ports = smb_ports,
	.state_size = sizeof(struct smb_state),
	.start = smb_start,
	.feed = smb_feed,
};
