/*
 * postgres.c - PostgreSQL: does it let us in without a password?
 *
 * SSLRequest first (8 bytes): the one-byte answer 'S' or 'N' says whether
 * the server offers TLS. After 'N' we send a StartupMessage (protocol 3.0,
 * user=postgres, database=postgres) on the same connection; after 'S' the
 * engine does the TLS handshake on it (tls_info is recorded) and the
 * StartupMessage goes inside TLS; if that handshake fails, on a new
 * plaintext connection. The first message back decides:
 *   'R' AuthenticationOk (0)               -> auth none (trust)
 *   'R' cleartext (3) / MD5 (5) / SASL (10) / GSS (7) / SSPI (9)
 *                                          -> auth required
 *   'E' ErrorResponse, e.g. 28000 "no pg_hba.conf entry" -> required
 *       3D000 (no such database) comes after authentication -> none
 * We never answer an authentication request (no password is ever sent):
 * after a request for one, or after AuthenticationOk, ParameterStatus
 * (server_version) and ReadyForQuery, we send Terminate and stop.
 * Messages are read as type byte + 32-bit length; lengths under 4 or over
 * 1 MiB are not PostgreSQL.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>

struct pg_state {
	int phase;        /* 0: SSLRequest answer, 1: messages */
	bool ssl;         /* server offered TLS */
	uint8_t hdr[5];
	size_t hdr_len;
	uint32_t body_len, body_got;
	uint8_t body[512];
	bool authed;      /* AuthenticationOk seen */
	bool fallback;    /* TLS failed: plaintext startup on a new connection */
	unsigned msgs;
};

static const uint16_t pg_ports[] = { 5432, 5433, 6432, 0 };

static const uint8_t ssl_request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };

static int pg_start(void *state, struct pc_probe_ctx *ctx)
{
	(void)state;
	return pc_probe_send(ctx, ssl_request, sizeof(ssl_request));
}

static int send_startup(struct pc_probe_ctx *ctx)
{
	static const char params[] = "user\0postgres\0database\0postgres\0"
				     "application_name\0portcensus\0";
	uint8_t msg[128];
	size_t plen = sizeof(params) - 1 + 1; /* params + final NUL */
	uint32_t len = (uint32_t)(8 + plen);
	msg[0] = (uint8_t)(len >> 24);
	msg[1] = (uint8_t)(len >> 16);
	msg[2] = (uint8_t)(len >> 8);
	msg[3] = (uint8_t)len;
	msg[4] = 0;
	msg[5] = 3;
	msg[6] = 0;
	msg[7] = 0;
	memcpy(msg + 8, params, sizeof(params) - 1);
	msg[8 + sizeof(params) - 1] = 0;
	return pc_probe_send(ctx, msg, len);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void ident(struct pg_state *s, struct pc_probe_ctx *ctx)
{
	PC_PROBE_SET(ctx->res->name, "postgresql");
	PC_PROBE_SET(ctx->res->product, "PostgreSQL");
	(void)s;
}

static const uint8_t terminate[5] = { 'X', 0, 0, 0, 4 };

/* ErrorResponse fields: type byte, C string; a 0 ends them. */
static void error_fields(const uint8_t *b, size_t n, char *code, size_t clen, char *msg,
			 size_t mlen)
{
	size_t i = 0;
	while (i < n && b[i] != 0) {
		uint8_t t = b[i++];
		size_t start = i;
		while (i < n && b[i] != 0)
			i++;
		if (t == 'C')
			pc_probe_setn(code, clen, (const char *)b + start, i - start);
		else if (t == 'M')
			pc_probe_setn(msg, mlen, (const char *)b + start, i - start);
		i++;
	}
}

static enum pc_probe_verdict on_message(struct pg_state *s, struct pc_probe_ctx *ctx)
{
	struct pc_probe_result *r = ctx->res;
	uint8_t type = s->hdr[0];
	size_t n = s->body_got < sizeof(s->body) ? s->body_got : sizeof(s->body);
	s->msgs++;
	if (type == 'R') {
		if (n < 4)
			return PC_PROBE_NOMATCH;
		uint32_t code = be32(s->body);
		ident(s, ctx);
		if (code == 0) {
			s->authed = true;
			r->auth = PC_AUTH_NONE;
			PC_PROBE_SET(r->evidence, "StartupMessage user=postgres accepted without a "
						  "password (AuthenticationOk)");
			return PC_PROBE_MORE; /* read server_version */
		}
		static const char *const kinds[] = {
			[2] = "Kerberos", [3] = "cleartext password", [5] = "MD5 password",
			[6] = "SCM", [7] = "GSSAPI", [9] = "SSPI", [10] = "SASL",
		};
		const char *k = code < 11 && kinds[code] ? kinds[code] : "authentication";
		r->auth = PC_AUTH_REQUIRED;
		if (code == 10 && n > 4)
			pc_probe_setf(r->evidence, sizeof(r->evidence),
				      "server asked for SASL (%.40s) for user postgres",
				      (const char *)s->body + 4);
		else
			pc_probe_setf(r->evidence, sizeof(r->evidence),
				      "server asked for a %s for user postgres", k);
		pc_probe_send(ctx, terminate, sizeof(terminate));
		return PC_PROBE_MATCH;
	}
	if (type == 'E') {
		char code[8] = "", msg[120] = "";
		error_fields(s->body, n, code, sizeof(code), msg, sizeof(msg));
		if (strlen(code) != 5)
			return PC_PROBE_NOMATCH;
		ident(s, ctx);
		if (strcmp(code, "3D000") == 0 || s->authed) {
			r->auth = PC_AUTH_NONE;
			pc_probe_setf(r->evidence, sizeof(r->evidence),
				      "authentication passed without a password, then: %s", msg);
		} else if (strncmp(code, "28", 2) == 0) {
			r->auth = PC_AUTH_REQUIRED;
			pc_probe_setf(r->evidence, sizeof(r->evidence), "startup refused: %s %s",
				      code, msg);
		} else {
			r->auth = PC_AUTH_UNKNOWN;
			pc_probe_setf(r->evidence, sizeof(r->evidence), "startup error: %s %s",
				      code, msg);
		}
		pc_probe_banner(ctx, (const uint8_t *)msg, strlen(msg));
		return PC_PROBE_MATCH;
	}
	if (!s->authed)
		return PC_PROBE_NOMATCH;
	if (type == 'S' && n > 15 && memcmp(s->body, "server_version", 15) == 0) {
		size_t vl = strnlen((const char *)s->body + 15, n - 15);
		pc_probe_setn(r->version, sizeof(r->version), (const char *)s->body + 15, vl);
		pc_probe_setf(r->banner, sizeof(r->banner), "server_version %s", r->version);
	}
	if (type == 'Z' || s->msgs > 64) {
		pc_probe_send(ctx, terminate, sizeof(terminate));
		return PC_PROBE_MATCH;
	}
	return PC_PROBE_MORE;
}

static enum pc_probe_verdict pg_feed_plain(struct pg_state *s, struct pc_probe_ctx *ctx,
					   const uint8_t *data, size_t len);

static enum pc_probe_verdict pg_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				     size_t len)
{
	enum pc_probe_verdict v = pg_feed_plain(state, ctx, data, len);
	if (v == PC_PROBE_MATCH && ctx->tls) {
		size_t n = strlen(ctx->res->evidence);
		if (n + 14 < sizeof(ctx->res->evidence))
			snprintf(ctx->res->evidence + n, sizeof(ctx->res->evidence) - n,
				 " (inside TLS)");
	}
	return v;
}

static enum pc_probe_verdict pg_feed_plain(struct pg_state *s, struct pc_probe_ctx *ctx,
					   const uint8_t *data, size_t len)
{
	size_t i = 0;
	if (s->phase == 0) {
		uint8_t c = data[i++];
		if (c == 'N') {
			s->phase = 1;
			send_startup(ctx);
		} else if (c == 'S') {
			s->phase = 1;
			s->ssl = true;
			send_startup(ctx);
			return PC_PROBE_STARTTLS; /* the startup goes inside TLS */
		} else if (c == 'E') {
			/* a very old server: the error is the answer; parse it */
			s->phase = 1;
			s->hdr[0] = 'E';
			s->hdr_len = 1;
		} else {
			return PC_PROBE_NOMATCH;
		}
	}
	while (i < len) {
		if (s->hdr_len < 5) {
			s->hdr[s->hdr_len++] = data[i++];
			if (s->hdr_len == 1 && !(s->hdr[0] >= 'A' && s->hdr[0] <= 'Z'))
				return PC_PROBE_NOMATCH;
			if (s->hdr_len == 5) {
				uint32_t l = be32(s->hdr + 1);
				if (l < 4 || l > (1u << 20))
					return PC_PROBE_NOMATCH;
				s->body_len = l - 4;
				s->body_got = 0;
				if (s->body_len == 0) {
					enum pc_probe_verdict v = on_message(s, ctx);
					s->hdr_len = 0;
					if (v != PC_PROBE_MORE)
						return v;
				}
			}
			continue;
		}
		size_t n = pc_probe_take(s->body, sizeof(s->body), s->body_got,
					 s->body_len - s->body_got, data + i, len - i);
		s->body_got += (uint32_t)n;
		i += n;
		if (s->body_got == s->body_len) {
			enum pc_probe_verdict v = on_message(s, ctx);
			s->hdr_len = 0;
			if (v != PC_PROBE_MORE)
				return v;
		}
	}
	return PC_PROBE_MORE;
}

static enum pc_probe_verdict pg_done(void *state, struct pc_probe_ctx *ctx, bool eof)
{
	struct pg_state *s = state;
	(void)eof;
	if (s->authed && ctx->res->name[0])
		return PC_PROBE_MATCH;
	if (s->ssl && !s->fallback && s->msgs == 0 && s->hdr_len == 0) {
		/* 'S' but no answer inside TLS: try the startup in plaintext */
		s->fallback = true;
		send_startup(ctx);
		return PC_PROBE_RECONNECT;
	}
	return PC_PROBE_NOMATCH;
}

const struct pc_probe_ops pc_probe_postgres = {
	.name = "postgres",
	.ports = pg_ports,
	.state_size = sizeof(struct pg_state),
	.start = pg_start,
	.feed = pg_feed,
	.done = pg_done,
};
