/*
 * ldap.c - LDAPv3: anonymous simple bind, then a base search of the root
 * DSE (RFC 4512 5.1).
 *
 * Two requests, pipelined: BindRequest (message 1, version 3, empty name,
 * empty password: an anonymous bind) and SearchRequest (message 2, base
 * "", scope base, filter (objectClass=*), attributes namingContexts,
 * vendorName, vendorVersion). Both are reads. BindResponse resultCode 0
 * and a SearchResultEntry -> auth none (anonymous bind accepted, the
 * naming contexts are in the evidence); resultCode 48/49/50/53 -> auth
 * required. Messages are BER; each is collected by its outer length (at
 * most 8 KiB kept) and every inner length is checked against it.
 */
#include "probe/probe_ops.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define KEEP 8192

struct ldap_state {
	uint8_t m[KEEP];
	size_t got;
	size_t total; /* 0 until the outer header is in */
	bool bind_ok;
	int bind_code;
	bool entry;
	char contexts[96];
	char vendor[64];
	char vversion[48];
};

static const uint16_t ldap_ports[] = { 389, 636, 3268, 3269, 0 };

static int ldap_start(void *state, struct pc_probe_ctx *ctx)
{
	static const uint8_t bind[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01,
					0x03, 0x04, 0x00, 0x80, 0x00 };
	static const char *const attrs[] = { "namingContexts", "vendorName", "vendorVersion" };
	uint8_t al[80], op[160], msg[192];
	size_t an = 0, on = 0, mn = 0;
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(attrs[i]);
		al[an++] = 0x04;
		al[an++] = (uint8_t)l;
		memcpy(al + an, attrs[i], l);
		an += l;
	}
	static const uint8_t head[] = {
		0x04, 0x00,			  /* baseObject "" */
		0x0a, 0x01, 0x00,		  /* scope baseObject */
		0x0a, 0x01, 0x00,		  /* derefAliases never */
		0x02, 0x01, 0x00,		  /* sizeLimit */
		0x02, 0x01, 0x00,		  /* timeLimit */
		0x01, 0x01, 0x00,		  /* typesOnly false */
		0x87, 0x0b, 'o', 'b', 'j', 'e', 'c', 't', 'C', 'l', 'a', 's', 's', /* present */
	};
	memcpy(op, head, sizeof(head));
	on = sizeof(head);
	op[on++] = 0x30;
	op[on++] = (uint8_t)an;
	memcpy(op + on, al, an);
	on += an;
	msg[mn++] = 0x30;
	msg[mn++] = (uint8_t)(3 + 2 + on);
	msg[mn++] = 0x02;
	msg[mn++] = 0x01;
	msg[mn++] = 0x02;
	msg[mn++] = 0x63;
	msg[mn++] = (uint8_t)on;
	memcpy(msg + mn, op, on);
	mn += on;
	if (pc_probe_send(ctx, bind, sizeof(bind)) < 0)
		return -1;
	return pc_probe_send(ctx, msg, mn);
}

/* Append the OCTET STRING values of a SET OF to out. */
static void values(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t i = 0;
	while (i < n) {
		uint8_t t;
		size_t h, l;
		if (pc_probe_ber(p + i, n - i, &t, &h, &l) < 0)
			return;
		if (t == 0x04) {
			size_t o = strlen(out);
			if (o + l + 3 < outlen) {
				snprintf(out + o, outlen - o, "%s%.*s", o ? ", " : "", (int)l,
					 (const char *)p + i + h);
			}
		}
		i += h + l;
	}
}

static void parse_entry(struct ldap_state *s, const uint8_t *p, size_t n)
{
	uint8_t t;
	size_t h, l;
	/* objectName */
	if (pc_probe_ber(p, n, &t, &h, &l) < 0 || t != 0x04)
		return;
	p += h + l;
	n -= h + l;
	/* attributes SEQUENCE OF */
	if (pc_probe_ber(p, n, &t, &h, &l) < 0 || t != 0x30)
		return;
	const uint8_t *a = p + h;
	size_t an = l, i = 0;
	while (i < an) {
		uint8_t t2;
		size_t h2, l2;
		if (pc_probe_ber(a + i, an - i, &t2, &h2, &l2) < 0 || t2 != 0x30)
			return;
		const uint8_t *pa = a + i + h2;
		size_t pn = l2;
		uint8_t t3;
		size_t h3, l3;
		if (pc_probe_ber(pa, pn, &t3, &h3, &l3) == 0 && t3 == 0x04) {
			const char *type = (const char *)pa + h3;
			const uint8_t *set = pa + h3 + l3;
			size_t setn = pn - h3 - l3;
			uint8_t t4;
			size_t h4, l4;
			if (pc_probe_ber(set, setn, &t4, &h4, &l4) == 0 && t4 == 0x31) {
				if (l3 == 14 && strncasecmp(type, "namingContexts", 14) == 0)
					values(set + h4, l4, s->contexts, sizeof(s->contexts));
				else if (l3 == 10 && strncasecmp(type, "vendorName", 10) == 0)
					values(set + h4, l4, s->vendor, sizeof(s->vendor));
				else if (l3 == 13 && strncasecmp(type, "vendorVersion", 13) == 0)
					values(set + h4, l4, s->vversion, sizeof(s->vversion));
			}
		}
		i += h2 + l2;
	}
}

static enum pc_probe_verdict conclude(struct ldap_state *s, struct pc_probe_ctx *ctx)
{
	struct pc_probe_result *r = ctx->res;
	PC_PROBE_SET(r->name, "ldap");
	if (s->vendor[0])
		PC_PROBE_SET(r->product, s->vendor);
	if (s->vversion[0])
		PC_PROBE_SET(r->version, s->vversion);
	if (s->bind_ok && s->entry) {
		r->auth = PC_AUTH_NONE;
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "anonymous bind accepted; rootDSE readable (namingContexts: %s)",
			      s->contexts[0] ? s->contexts : "none");
	} else if (s->bind_ok) {
		r->auth = PC_AUTH_REQUIRED;
		PC_PROBE_SET(r->evidence,
			     "anonymous bind accepted, but the rootDSE search was refused");
	} else {
		r->auth = PC_AUTH_REQUIRED;
		pc_probe_setf(r->evidence, sizeof(r->evidence),
			      "anonymous bind refused (resultCode %d)", s->bind_code);
	}
	if (s->contexts[0])
		pc_probe_banner(ctx, (const uint8_t *)s->contexts, strlen(s->contexts));
	return PC_PROBE_MATCH;
}

static enum pc_probe_verdict on_message(struct ldap_state *s, struct pc_probe_ctx *ctx)
{
	size_t n = s->got < KEEP ? s->got : KEEP;
	uint8_t t;
	size_t h, l;
	if (pc_probe_ber_header(s->m, n, &t, &h, &l) != 0 || t != 0x30)
		return PC_PROBE_NOMATCH;
	const uint8_t *p = s->m + h;
	size_t pn = n - h < l ? n - h : l;
	/* messageID */
	if (pc_probe_ber(p, pn, &t, &h, &l) < 0 || t != 0x02 || l < 1 || l > 4)
		return PC_PROBE_NOMATCH;
	p += h + l;
	pn -= h + l;
	uint8_t op;
	size_t oh, ol;
	if (pc_probe_ber_header(p, pn, &op, &oh, &ol) != 0)
		return PC_PROBE_NOMATCH;
	const uint8_t *body = p + oh;
	size_t bn = pn - oh < ol ? pn - oh : ol;
	if (op == 0x61 || op == 0x65) { /* BindResponse, SearchResultDone */
		if (pc_probe_ber(body, bn, &t, &h, &l) < 0 || t != 0x0a || l != 1)
			return PC_PROBE_NOMATCH;
		int code = body[h];
		if (op == 0x61) {
			PC_PROBE_SET(ctx->res->name, "ldap");
			s->bind_code = code;
			s->bind_ok = code == 0;
			if (!s->bind_ok)
				return conclude(s, ctx);
			return PC_PROBE_MORE;
		}
		if (!ctx->res->name[0])
			return PC_PROBE_NOMATCH;
		return conclude(s, ctx);
	}
	if (op == 0x64) {
		if (!ctx->res->name[0])
			return PC_PROBE_NOMATCH;
		s->entry = true;
		parse_entry(s, body, bn);
		return PC_PROBE_MORE;
	}
	if (op == 0x78 && !ctx->res->name[0]) { /* ExtendedResponse: notice of disconnection */
		PC_PROBE_SET(ctx->res->name, "ldap");
		ctx->res->auth = PC_AUTH_UNKNOWN;
		PC_PROBE_SET(ctx->res->evidence, "notice of disconnection");
		return PC_PROBE_MATCH;
	}
	return ctx->res->name[0] ? PC_PROBE_MORE : PC_PROBE_NOMATCH;
}

static enum pc_probe_verdict ldap_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				       size_t len)
{
	struct ldap_state *s = state;
	for (size_t i = 0; i < len;) {
		if (s->total == 0) {
			if (s->got == 0 && data[i] != 0x30)
				return PC_PROBE_NOMATCH;
			s->m[s->got++] = data[i++];
			uint8_t t;
			size_t h, l;
			int r = pc_probe_ber_header(s->m, s->got, &t, &h, &l);
			if (r < 0 || (r == 1 && s->got >= 6))
				return PC_PROBE_NOMATCH;
			if (r == 0) {
				if (l > (1u << 20) || l < 5)
					return PC_PROBE_NOMATCH;
				s->total = h + l;
			}
			continue;
		}
		size_t n = pc_probe_take(s->m, KEEP, s->got, s->total - s->got, data + i, len - i);
		s->got += n;
		i += n;
		if (s->got == s->total) {
			enum pc_probe_verdict v = on_message(s, ctx);
			s->got = 0;
			s->total = 0;
			if (v != PC_PROBE_MORE)
				return v;
		}
	}
	return PC_PROBE_MORE;
}

static enum pc_probe_verdict ldap_done(void *state, struct pc_probe_ctx *ctx, bool eof)
{
	struct ldap_state *s = state;
	(void)eof;
	if (!ctx->res->name[0])
		return PC_PROBE_NOMATCH;
	return conclude(s, ctx);
}

const struct pc_probe_ops pc_probe_ldap = {
	.name = "ldap",
	.flags = PC_PROBE_F_TLS,
	.ports = ldap_ports,
	.state_size = sizeof(struct ldap_state),
	.start = ldap_start,
	.feed = ldap_feed,
	.done = ldap_done,
};
