/*
 * kafka.c - Apache Kafka: ApiVersions (api key 18) version 0.
 *
 * ApiVersions is the request every client sends first, before any SASL
 * handshake, and it reads nothing. The answer (32-bit size, our
 * correlation id, error code, array of api key / min / max versions)
 * proves Kafka. Brokers answer it before authentication by design, so the
 * verdict is unknown; the evidence counts the APIs offered. Sizes and the
 * array count are checked against what arrived.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct kafka_state {
	uint8_t b[16];
	size_t got;
	uint32_t size;
};

static const uint16_t kafka_ports[] = { 9092, 9093, 9094, 29092, 0 };

static int kafka_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t req[] = {
		0, 0, 0, 20,		/* size */
		0, 18, 0, 0,		/* ApiVersions v0 */
		0x50, 0x43, 0x4b, 0x41, /* correlation id */
		0, 10, 'p', 'o', 'r', 't', 'c', 'e', 'n', 's', 'u', 's',
	};
	(void)state;
	return pc_probe_send(ctx, req, sizeof(req));
}

static enum pc_probe_verdict kafka_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
					size_t len)
{
	struct kafka_state *s = state;
	struct pc_probe_result *r = ctx->res;
	for (size_t i = 0; i < len && s->got < 14; i++) {
		s->b[s->got++] = data[i];
		if (s->got == 4) {
			s->size = (uint32_t)s->b[0] << 24 | (uint32_t)s->b[1] << 16 |
				  (uint32_t)s->b[2] << 8 | s->b[3];
			if (s->size < 6 || s->size > (1u << 20))
				return PC_PROBE_NOMATCH;
		}
		if (s->got == 8 && memcmp(s->b + 4, "\x50\x43\x4b\x41", 4) != 0)
			return PC_PROBE_NOMATCH;
	}
	if (s->got < 10)
		return PC_PROBE_MORE;
	unsigned code = (unsigned)s->b[8] << 8 | s->b[9];
	if (code != 0 && code != 35)
		return PC_PROBE_NOMATCH;
	if (code == 0 && s->got < 14 && s->size >= 10)
		return PC_PROBE_MORE;
	PC_PROBE_SET(r->name, "kafka");
	PC_PROBE_SET(r->product, "Apache Kafka");
	r->auth = PC_AUTH_UNKNOWN;
	if (code == 0 && s->got >= 14) {
		uint32_t n = (uint32_t)s->b[10] << 24 | (uint32_t)s->b[11] << 16 |
			     (uint32_t)s->b[12] << 8 | s->b[13];
		if (n > 1000 || (size_t)n * 6 + 6 > s->size)
			return PC_PROBE_NOMATCH;
		pc_probe_setf(r->evidence, sizeof(r->evidence), "ApiVersions answered (%u APIs)",
			      n);
	} else {
		PC_PROBE_SET(r->evidence, "ApiVersions answered UNSUPPORTED_VERSION");
	}
	return PC_PROBE_MATCH;
}

const struct pc_probe_ops pc_probe_kafka = {
	.name = "kafka",
	.ports = kafka_ports,
	.state_size = sizeof(struct kafka_state),
	.start = kafka_start,
	.feed = kafka_feed,
};
