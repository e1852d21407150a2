/*
 * snmp.c - SNMP v2c over UDP: GetRequest sysDescr.0 with community
 * "public".
 *
 * A read of one object. An agent that does not know the community drops
 * the request silently; one that answers (GetResponse, PDU tag 0xa2, to
 * our request id) let us read with the default community: auth none, and
 * the evidence and banner carry sysDescr. The response is BER; each TLV is
 * checked against the datagram before it is read.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct snmp_state {
	int unused;
};

static const uint16_t snmp_ports[] = { 161, 1161, 0 };

static int snmp_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t req[] = {
		0x30, 0x29,			    /* SEQUENCE */
		0x02, 0x01, 0x01,		    /* version: v2c */
		0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c', /* community */
		0xa0, 0x1c,			    /* GetRequest */
		0x02, 0x04, 0x50, 0x43, 0x50, 0x43, /* request-id */
		0x02, 0x01, 0x00,		    /* error-status */
		0x02, 0x01, 0x00,		    /* error-index */
		0x30, 0x0e, 0x30, 0x0c,		    /* varbind list, varbind */
		0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, /* sysDescr.0 */
		0x05, 0x00,			    /* NULL */
	};
	(void)state;
	return pc_probe_send(ctx, req, sizeof(req));
}

/* Enter a constructed TLV of the expected tag: *p, *n become its content. */
static bool enter(const uint8_t **p, size_t *n, uint8_t tag)
{
	uint8_t t;
	size_t h, l;
	if (pc_probe_ber(*p, *n, &t, &h, &l) < 0 || t != tag)
		return false;
	*p += h;
	*n = l;
	return true;
}

/* Skip one TLV of the expected tag, returning its content. */
static bool take(const uint8_t **p, size_t *n, uint8_t tag, const uint8_t **c, size_t *cl)
{
	uint8_t t;
	size_t h, l;
	if (pc_probe_ber(*p, *n, &t, &h, &l) < 0 || (tag && t != tag))
		return false;
	if (c) {
		*c = *p + h;
		*cl = l;
	}
	*p += h + l;
	*n -= h + l;
	return true;
}

static enum pc_probe_verdict snmp_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				       size_t len)
{
	struct pc_probe_result *r = ctx->res;
	const uint8_t *p = data, *c;
	size_t n = len, cl;
	(void)state;
	if (!enter(&p, &n, 0x30))
		return PC_PROBE_NOMATCH;
	if (!take(&p, &n, 0x02, &c, &cl) || cl != 1 || c[0] > 1)
		return PC_PROBE_NOMATCH;
	if (!take(&p, &n, 0x04, &c, &cl))
		return PC_PROBE_NOMATCH;
	if (!enter(&p, &n, 0xa2))
		return PC_PROBE_NOMATCH;
	if (!take(&p, &n, 0x02, &c, &cl) || cl != 4 || memcmp(c, "PCPC", 4) != 0)
		return PC_PROBE_NOMATCH;
	PC_PROBE_SET(r->name, "snmp");
	r->auth = PC_AUTH_NONE;
	PC_PROBE_SET(r->evidence, "community \"public\" answered a v2c GetRequest");
	const uint8_t *err;
	size_t errl;
	if (!take(&p, &n, 0x02, &err, &errl) || !take(&p, &n, 0x02, NULL, NULL))
		return PC_PROBE_MATCH;
	if (!enter(&p, &n, 0x30) || !enter(&p, &n, 0x30))
		return PC_PROBE_MATCH;
	if (!take(&p, &n, 0x06, NULL, NULL))
		return PC_PROBE_MATCH;
	uint8_t t;
	size_t h, l;
	if (pc_probe_ber(p, n, &t, &h, &l) == 0 && t == 0x04) {
		pc_probe_banner(ctx, p + h, l);
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "community \"public\" read sysDescr.0: %.100s", r->banner);
	}
	return PC_PROBE_MATCH;
}

const struct pc_probe_ops pc_probe_snmp = {
	.name = "snmp",
	.flags = PC_PROBE_F_UDP,
	.ports = snmp_ports,
	.state_size = sizeof(struct snmp_state),
	.start = snmp_start,
	.feed = snmp_feed,
};
