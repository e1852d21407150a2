/*
 * mqtt.c - MQTT 3.1.1: does a CONNECT without credentials succeed?
 *
 * We send CONNECT (protocol "MQTT" level 4, clean session, no user name,
 * no password, client id "portcensus-probe"). The broker answers CONNACK
 * (0x20, remaining length 2, flags, return code): 0 accepted -> auth none,
 * then we send DISCONNECT; 4 (bad user name or password) or 5 (not
 * authorised) -> auth required; 1 (protocol level) -> an MQTT broker that
 * speaks another version, auth unknown. Nothing is published or
 * subscribed, and the clean session leaves no state behind.
 */
#include "probe/probe_ops.h"

#include <string.h>

struct mqtt_state {
	uint8_t b[4];
	size_t got;
	bool accepted;
};

static const uint16_t mqtt_ports[] = { 1883, 8883, 8884, 1884, 0 };

static int mqtt_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t connect[] = {
		0x10, 28,                     /* CONNECT, remaining length */
		0, 4, 'M', 'Q', 'T', 'T', 4, /* protocol name, level 3.1.1 */
		0x02,                         /* clean session, no credentials */
		0, 30,                        /* keep alive */
		0, 16,                        /* client identifier */
		'p', 'o', 'r', 't', 'c', 'e', 'n', 's', 'u', 's', '-', 'p', 'r', 'o', 'b', 'e',
	};
	(void)state;
	return pc_probe_send(ctx, connect, sizeof(connect));
}

static enum pc_probe_verdict mqtt_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				       size_t len)
{
	struct mqtt_state *s = state;
	struct pc_probe_result *r = ctx->res;
	if (s->accepted)
		return PC_PROBE_MORE; /* waiting for the broker to close */
	for (size_t i = 0; i < len && s->got < 4; i++) {
		s->b[s->got++] = data[i];
		if (s->got == 1 && s->b[0] != 0x20)
			return PC_PROBE_NOMATCH;
		if (s->got == 2 && s->b[1] != 2)
			return PC_PROBE_NOMATCH;
		if (s->got == 3 && s->b[2] > 1)
			return PC_PROBE_NOMATCH;
	}
	if (s->got < 4)
		return PC_PROBE_MORE;
	uint8_t rc = s->b[3];
	if (rc > 5)
		return PC_PROBE_NOMATCH;
	PC_PROBE_SET(r->name, "mqtt");
	switch (rc) {
	case 0: {
		static const uint8_t disconnect[] = { 0xe0, 0 };
		r->auth = PC_AUTH_NONE;
		PC_PROBE_SET(r->evidence, "CONNECT without credentials accepted (CONNACK 0)");
		s->accepted = true;
		pc_probe_send(ctx, disconnect, sizeof(disconnect));
		return PC_PROBE_MATCH;
	}
	case 4:
	case 5:
		r->auth = PC_AUTH_REQUIRED;
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "CONNECT without credentials refused (CONNACK %u: %s)", rc,
			      rc == 4 ? "bad user name or password" : "not authorized");
		return PC_PROBE_MATCH;
	default:
		r->auth = PC_AUTH_UNKNOWN;
		pc_probe_setf(r->evidence, sizeof(r->evidence), "CONNACK return code %u", rc);
		return PC_PROBE_MATCH;
	}
}

const struct pc_probe_ops pc_probe_mqtt = {
	.name = "mqtt",
	.flags = PC_PROBE_F_TLS,
	.ports = mqtt_ports,
	.state_size = sizeof(struct mqtt_state),
	.start = mqtt_start,
	.feed = mqtt_feed,
};
