/*
 * msg.c - encoder and decoder of the privsep records (see msg.h).
 *
 * Why it is built this way:
 * - The decoder reads through one cursor that never moves past the record
 *   body: every read checks what is left first, and the first short read
 *   marks the cursor bad, naming the field, so one check at the end
 *   covers them all. The body must then be consumed exactly: trailing
 *   bytes are as suspicious as missing ones.
 * - Every value that becomes an enum is range-checked here, before it is
 *   converted, so no out-of-range enum ever exists on the parent's side;
 *   flags are 0 or 1; doubles are finite and within what a stage can
 *   produce (no NaN reaches a report writer or a sort).
 * - The encoder writes the same layout through a cursor with the same
 *   bound, so a record that does not fit is refused whole, not cut.
 * - Runs of same-kind fields (the service, TLS and SSH strings, the stats
 *   counters) are tables that the decoder, the encoder and
 *   pc_privsep_update_from() all walk, so a field added to a group is
 *   carried both ways in the same place, in the same order.
 */
#include "privsep/msg.h"
#include "scan/pace.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

/* ---- the layout shared by the decoder, the encoder and update_from ---- */

/* A string field of an UPDATE record and the model string it carries:
 * where it sits in struct pc_privsep_update, where in its model struct
 * (struct pc_service, pc_tls_info or pc_ssh_info), and its name in
 * errors. Each group travels as one run, in table order, so the three
 * places that walk a group cannot disagree on the order. */
struct str_field {
	size_t off, model_off;
	const char *what;
};
#define STR_FIELD(member, model, model_member, what)                                              \
	{offsetof(struct pc_privsep_update, member), offsetof(model, model_member), what}

static const struct str_field service_strs[] = {
    STR_FIELD(name, struct pc_service, name, "service.name"),
    STR_FIELD(product, struct pc_service, product, "service.product"),
    STR_FIELD(version, struct pc_service, version, "service.version"),
    STR_FIELD(evidence, struct pc_service, evidence, "service.evidence"),
    STR_FIELD(banner, struct pc_service, banner, "service.banner"),
};
static const struct str_field tls_strs[] = {
    STR_FIELD(tls_version, struct pc_tls_info, version, "tls_info.version"),
    STR_FIELD(cipher, struct pc_tls_info, cipher, "tls_info.cipher"),
    STR_FIELD(subject, struct pc_tls_info, subject, "tls_info.subject"),
    STR_FIELD(issuer, struct pc_tls_info, issuer, "tls_info.issuer"),
    STR_FIELD(not_after, struct pc_tls_info, not_after, "tls_info.not_after"),
};
static const struct str_field ssh_strs[] = {
    STR_FIELD(hostkey_type, struct pc_ssh_info, hostkey_type, "ssh_info.hostkey_type"),
    STR_FIELD(hostkey_fingerprint, struct pc_ssh_info, hostkey_fingerprint,
              "ssh_info.hostkey_fingerprint"),
};
#define N_OF(t) (sizeof(t) / sizeof((t)[0]))

static struct pc_privsep_str *str_at(struct pc_privsep_update *u, const struct str_field *f)
{
	return (struct pc_privsep_str *)((char *)u + f->off);
}

static struct pc_privsep_str str_of(const struct pc_privsep_update *u, const struct str_field *f)
{
	return *(const struct pc_privsep_str *)((const char *)u + f->off);
}

/* Round-trip times and durations a stage can produce: -1 (unknown) up to a
 * year. */
#define RTT_MAX (365.0 * 86400 * 1000)

/* The counters and rates at the head of a STATS/PROGRESS record, in wire
 * order: a uint64_t counter, or a double in [0, hi]. */
struct stats_field {
	size_t off;
	bool is_double;
	double hi;
	const char *what;
};
#define STATS_U64(member) {offsetof(struct pc_privsep_stats, member), false, 0, "stats." #member}
#define STATS_F64(member, hi)                                                                      \
	{offsetof(struct pc_privsep_stats, member), true, hi, "stats." #member}

static const struct stats_field stats_fields[] = {
    STATS_U64(sent),
    STATS_U64(replies),
    STATS_U64(retries),
    STATS_U64(capture_drops),
    STATS_F64(duration_s, RTT_MAX / 1000),
    STATS_F64(rate_pps, 1e12),
    STATS_U64(found),
    STATS_F64(pace_pps, 1e12),
    STATS_F64(rate_step_s, 1e9),
};

/* ---- decoding ---- */

struct cursor {
	const uint8_t *p;
	size_t len, pos;
	const char *bad; /* the first field that did not fit or was invalid */
};

static bool take(struct cursor *c, void *dst, size_t n, const char *what)
{
	if (c->bad)
		return false;
	if (c->len - c->pos < n) {
		c->bad = what;
		return false;
	}
	memcpy(dst, c->p + c->pos, n);
	c->pos += n;
	return true;
}

/* get_u8, get_u32, get_i32, get_u64: one integer in host order, 0 when
 * it does not fit */
#define GETTER(name, type)                                                                         \
	static type name(struct cursor *c, const char *what)                                      \
	{                                                                                          \
		type v = 0;                                                                        \
		take(c, &v, sizeof(v), what);                                                      \
		return v;                                                                          \
	}
GETTER(get_u8, uint8_t)
GETTER(get_u32, uint32_t)
GETTER(get_i32, int32_t)
GETTER(get_u64, uint64_t)

static void invalid(struct cursor *c, const char *what)
{
	if (!c->bad)
		c->bad = what;
}

static bool get_bool(struct cursor *c, const char *what)
{
	uint8_t v = get_u8(c, what);
	if (v > 1)
		invalid(c, what);
	return v == 1;
}

/* An integer in [lo, hi], stored as one byte (signed when lo < 0). */
static int get_enum(struct cursor *c, int lo, int hi, const char *what)
{
	uint8_t raw = get_u8(c, what);
	int v = lo < 0 ? (int)(int8_t)raw : (int)raw;
	if (v < lo || v > hi) {
		invalid(c, what);
		return lo;
	}
	return v;
}

static double get_f64(struct cursor *c, double lo, double hi, const char *what)
{
	double v = 0;
	if (!take(c, &v, 8, what))
		return 0;
	if (!isfinite(v) || v < lo || v > hi) {
		invalid(c, what);
		return 0;
	}
	return v;
}

static struct pc_privsep_str get_str(struct cursor *c, const char *what)
{
	struct pc_privsep_str s = {NULL, 0};
	uint16_t n = 0;
	if (!take(c, &n, 2, what) || n == PC_PRIVSEP_STR_NULL)
		return s;
	if (n > PC_PRIVSEP_STR_MAX || c->len - c->pos < n) {
		invalid(c, what);
		return s;
	}
	const char *p = (const char *)c->p + c->pos;
	if (memchr(p, '\0', n)) {
		invalid(c, what);
		return s;
	}
	c->pos += n;
	s.p = p;
	s.len = n;
	return s;
}

/* The last enum pc_state value (keep in step with core/model.h). */
#define STATE_LAST PC_STATE_FORWARDED

/* one group of string fields, in table order */
static void get_strs(struct cursor *c, struct pc_privsep_update *u, const struct str_field *t,
                     size_t n)
{
	for (size_t i = 0; i < n; i++)
		*str_at(u, &t[i]) = get_str(c, t[i].what);
}

static void decode_service(struct cursor *c, struct pc_privsep_update *u);

static void decode_update(struct cursor *c, struct pc_privsep_update *u)
{
	memset(u, 0, sizeof(*u));
	u->index = get_u32(c, "update.index");
	u->state = (enum pc_state)get_enum(c, PC_STATE_LISTEN, STATE_LAST,
					   "update.state");
	u->rtt_ms = get_f64(c, -1, RTT_MAX, "update.rtt_ms");
	u->v_done = get_bool(c, "update.verified.done");
	u->v_reachable = get_bool(c, "update.verified.reachable");
	u->v_rtt_ms = get_f64(c, -1, RTT_MAX, "update.verified.rtt_ms");
	u->v_error = get_str(c, "update.verified.error");
	u->recheck = (enum pc_recheck)get_enum(c, PC_RECHECK_NONE, PC_RECHECK_DIFFERENT,
					       "update.recheck");
	u->recheck_reason = get_str(c, "update.recheck_reason");
	u->has_service = get_bool(c, "update.has_service");
	if (u->has_service)
		decode_service(c, u);
	u->probe_skipped = get_str(c, "update.probe_skipped");
}

static void decode_service(struct cursor *c, struct pc_privsep_update *u)
{
	get_strs(c, u, service_strs, N_OF(service_strs));
	u->tls = (enum pc_tristate)get_enum(c, PC_TRI_UNKNOWN, PC_TRI_TRUE, "service.tls");
	u->auth = (enum pc_auth)get_enum(c, PC_AUTH_UNKNOWN, PC_AUTH_REQUIRED, "service.auth");
	u->has_tls_info = get_bool(c, "service.has_tls_info");
	if (u->has_tls_info) {
		get_strs(c, u, tls_strs, N_OF(tls_strs));
		u->self_signed = (enum pc_tristate)get_enum(c, PC_TRI_UNKNOWN, PC_TRI_TRUE,
							    "tls_info.self_signed");
	}
	u->n_auth_methods = (size_t)get_enum(c, 0, PC_PRIVSEP_AUTH_METHODS_MAX,
					     "service.n_auth_methods");
	for (size_t i = 0; i < u->n_auth_methods; i++) {
		u->auth_methods[i] = get_str(c, "service.auth_methods");
		if (!u->auth_methods[i].p)
			invalid(c, "service.auth_methods");
	}
	u->has_ssh_info = get_bool(c, "service.has_ssh_info");
	if (u->has_ssh_info)
		get_strs(c, u, ssh_strs, N_OF(ssh_strs));
}

/* An address: family (AF_INET, AF_INET6, or 0 when none_ok) and 16
 * bytes. One encoding per address: an IPv4 address has nothing after its
 * four bytes (or two records of one address would not compare equal), no
 * address has any byte. */
static void get_addr(struct cursor *c, struct pc_addr *a, bool none_ok, const char *what_family,
		     const char *what)
{
	uint8_t family = get_u8(c, what_family);
	if (family != AF_INET && family != AF_INET6 && !(none_ok && family == 0))
		invalid(c, what_family);
	a->family = family;
	take(c, a->bytes, sizeof(a->bytes), what);
	size_t used = family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0;
	for (size_t i = used; i < sizeof(a->bytes); i++)
		if (a->bytes[i])
			invalid(c, what);
}

static void decode_found(struct cursor *c, struct pc_privsep_found *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = (enum pc_proto)get_enum(c, PC_PROTO_TCP, PC_PROTO_UDP, "found.proto");
	get_addr(c, &f->addr, false, "found.family", "found.addr");
	uint16_t port = 0;
	take(c, &port, 2, "found.port");
	f->port = port;
	f->state = (enum pc_state)get_enum(c, PC_STATE_LISTEN, STATE_LAST,
					   "found.state");
	f->rtt_ms = get_f64(c, -1, RTT_MAX, "found.rtt_ms");
}

static void decode_stats(struct cursor *c, struct pc_privsep_stats *s)
{
	for (size_t i = 0; i < N_OF(stats_fields); i++) {
		const struct stats_field *f = &stats_fields[i];
		char *at = (char *)s + f->off;
		if (f->is_double)
			*(double *)at = get_f64(c, 0, f->hi, f->what);
		else
			*(uint64_t *)at = get_u64(c, f->what);
	}
	s->limit = (uint8_t)get_enum(c, 0, PC_PACE_CAPTURE, "stats.limit");
	get_addr(c, &s->limit_net, true, "stats.limit_family", "stats.limit_net");
	unsigned max_prefix = s->limit_net.family == AF_INET6 ? 128
			      : s->limit_net.family == AF_INET ? 32
							       : 0;
	s->limit_prefix = (uint8_t)get_enum(c, 0, (int)max_prefix, "stats.limit_prefix");
	s->n_rate_hist = get_u32(c, "stats.n_rate_hist");
	if (s->n_rate_hist > PC_SCAN_RATE_HIST) {
		invalid(c, "stats.n_rate_hist");
		s->n_rate_hist = 0;
	}
	for (uint32_t i = 0; i < s->n_rate_hist; i++)
		s->rate_hist[i] = get_u32(c, "stats.rate_hist");
}

int pc_privsep_decode(const uint8_t *buf, size_t len, size_t *off,
		      struct pc_privsep_rec *ret_rec, struct pc_error *err)
{
	if (*off > len || len - *off < PC_PRIVSEP_HDR_LEN)
		return pc_error_set(err, PC_EPARSE, "privsep: truncated record header");
	const uint8_t *h = buf + *off;
	uint16_t magic;
	uint32_t body;
	memcpy(&magic, h, 2);
	memcpy(&body, h + 4, 4);
	if (magic != PC_PRIVSEP_MAGIC)
		return pc_error_set(err, PC_EPARSE, "privsep: bad magic 0x%04x", magic);
	if (h[2] != PC_PRIVSEP_VERSION)
		return pc_error_set(err, PC_EPARSE, "privsep: version %u, expected %u", h[2],
				    PC_PRIVSEP_VERSION);
	uint8_t type = h[3];
	if (type < PC_PRIVSEP_SOCKET_REQ || type > PC_PRIVSEP_TYPE_MAX)
		return pc_error_set(err, PC_EPARSE, "privsep: unknown record type %u", type);
	if (body > PC_PRIVSEP_DGRAM_MAX - PC_PRIVSEP_HDR_LEN ||
	    body > len - *off - PC_PRIVSEP_HDR_LEN)
		return pc_error_set(err, PC_EPARSE, "privsep: record length %u exceeds the data",
				    body);
	struct cursor c = {.p = h + PC_PRIVSEP_HDR_LEN, .len = body};
	struct pc_privsep_rec *r = ret_rec;
	memset(r, 0, sizeof(*r));
	r->type = (enum pc_privsep_type)type;
	switch (r->type) {
	case PC_PRIVSEP_SOCKET_REQ:
		r->u.socket_req.netns = get_u64(&c, "socket.netns");
		r->u.socket_req.domain = get_i32(&c, "socket.domain");
		r->u.socket_req.type = get_i32(&c, "socket.type");
		r->u.socket_req.protocol = get_i32(&c, "socket.protocol");
		break;
	case PC_PRIVSEP_SOCKET_REP:
		r->u.socket_rep = get_i32(&c, "socket.error");
		if (r->u.socket_rep > 0 || r->u.socket_rep < -4095)
			invalid(&c, "socket.error");
		break;
	case PC_PRIVSEP_UPDATE:
		decode_update(&c, &r->u.update);
		break;
	case PC_PRIVSEP_FOUND:
		decode_found(&c, &r->u.found);
		break;
	case PC_PRIVSEP_STATS:
	case PC_PRIVSEP_PROGRESS:
		decode_stats(&c, &r->u.stats);
		break;
	case PC_PRIVSEP_WARNING:
		r->u.warning = get_str(&c, "warning");
		if (!r->u.warning.p)
			invalid(&c, "warning");
		break;
	case PC_PRIVSEP_DONE:
		r->u.done.code = get_i32(&c, "done.code");
		if (r->u.done.code > 0)
			invalid(&c, "done.code");
		r->u.done.msg = get_str(&c, "done.msg");
		break;
	}
	if (c.bad)
		return pc_error_set(err, PC_EPARSE, "privsep: bad or truncated field %s in a "
						    "record of type %u",
				    c.bad, type);
	if (c.pos != c.len)
		return pc_error_set(err, PC_EPARSE, "privsep: %zu trailing bytes in a record of "
						    "type %u",
				    c.len - c.pos, type);
	*off += PC_PRIVSEP_HDR_LEN + body;
	return 0;
}

/* ---- encoding ---- */

struct writer {
	uint8_t *p;
	size_t cap, pos;
	bool full;
};

static void put(struct writer *w, const void *src, size_t n)
{
	if (w->full || w->cap - w->pos < n) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->pos, src, n);
	w->pos += n;
}

static void put_u8(struct writer *w, int v)
{
	uint8_t b = (uint8_t)v;
	put(w, &b, 1);
}

static void put_f64(struct writer *w, double v)
{
	put(w, &v, 8);
}

static void put_addr(struct writer *w, const struct pc_addr *a)
{
	put_u8(w, a->family);
	put(w, a->bytes, sizeof(a->bytes));
}

/* The longest prefix of s no longer than max that does not end inside a
 * UTF-8 sequence. */
static size_t cut_utf8(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static void put_str(struct writer *w, struct pc_privsep_str s)
{
	uint16_t n = PC_PRIVSEP_STR_NULL;
	size_t len = s.p ? cut_utf8(s.p, s.len, PC_PRIVSEP_STR_MAX) : 0;
	if (s.p)
		n = (uint16_t)len;
	put(w, &n, 2);
	if (len)
		put(w, s.p, len);
}

static void put_strs(struct writer *w, const struct pc_privsep_update *u,
                     const struct str_field *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_str(w, str_of(u, &t[i]));
}

static void put_service(struct writer *w, const struct pc_privsep_update *u);

static void put_update(struct writer *w, const struct pc_privsep_update *u)
{
	put(w, &u->index, 4);
	put_u8(w, u->state);
	put_f64(w, u->rtt_ms);
	put_u8(w, u->v_done);
	put_u8(w, u->v_reachable);
	put_f64(w, u->v_rtt_ms);
	put_str(w, u->v_error);
	put_u8(w, u->recheck);
	put_str(w, u->recheck_reason);
	put_u8(w, u->has_service);
	if (u->has_service)
		put_service(w, u);
	put_str(w, u->probe_skipped);
}

static void put_service(struct writer *w, const struct pc_privsep_update *u)
{
	put_strs(w, u, service_strs, N_OF(service_strs));
	put_u8(w, u->tls);
	put_u8(w, u->auth);
	put_u8(w, u->has_tls_info);
	if (u->has_tls_info) {
		put_strs(w, u, tls_strs, N_OF(tls_strs));
		put_u8(w, u->self_signed);
	}
	put_u8(w, (int)u->n_auth_methods);
	for (size_t i = 0; i < u->n_auth_methods; i++)
		put_str(w, u->auth_methods[i]);
	put_u8(w, u->has_ssh_info);
	if (u->has_ssh_info)
		put_strs(w, u, ssh_strs, N_OF(ssh_strs));
}

int pc_privsep_put(struct pc_privsep_out *out, const struct pc_privsep_rec *rec)
{
	struct writer w = {.p = out->buf + out->len, .cap = sizeof(out->buf) - out->len};
	uint16_t magic = PC_PRIVSEP_MAGIC;
	uint32_t body = 0;
	put(&w, &magic, 2);
	put_u8(&w, PC_PRIVSEP_VERSION);
	put_u8(&w, rec->type);
	put(&w, &body, 4);
	switch (rec->type) {
	case PC_PRIVSEP_SOCKET_REQ:
		put(&w, &rec->u.socket_req.netns, 8);
		put(&w, &rec->u.socket_req.domain, 4);
		put(&w, &rec->u.socket_req.type, 4);
		put(&w, &rec->u.socket_req.protocol, 4);
		break;
	case PC_PRIVSEP_SOCKET_REP:
		put(&w, &rec->u.socket_rep, 4);
		break;
	case PC_PRIVSEP_UPDATE:
		put_update(&w, &rec->u.update);
		break;
	case PC_PRIVSEP_FOUND: {
		const struct pc_privsep_found *f = &rec->u.found;
		put_u8(&w, f->proto);
		put_addr(&w, &f->addr);
		put(&w, &f->port, 2);
		put_u8(&w, f->state);
		put_f64(&w, f->rtt_ms);
		break;
	}
	case PC_PRIVSEP_STATS:
	case PC_PRIVSEP_PROGRESS: {
		const struct pc_privsep_stats *s = &rec->u.stats;
		for (size_t i = 0; i < N_OF(stats_fields); i++)
			put(&w, (const char *)s + stats_fields[i].off, 8);
		put_u8(&w, s->limit);
		put_addr(&w, &s->limit_net);
		put_u8(&w, s->limit_prefix);
		uint32_t n = s->n_rate_hist <= PC_SCAN_RATE_HIST ? s->n_rate_hist : PC_SCAN_RATE_HIST;
		put(&w, &n, 4);
		put(&w, s->rate_hist, (size_t)n * 4);
		break;
	}
	case PC_PRIVSEP_WARNING:
		put_str(&w, rec->u.warning);
		break;
	case PC_PRIVSEP_DONE:
		put(&w, &rec->u.done.code, 4);
		put_str(&w, rec->u.done.msg);
		break;
	}
	if (w.full)
		return PC_ETOOBIG;
	body = (uint32_t)(w.pos - PC_PRIVSEP_HDR_LEN);
	memcpy(w.p + 4, &body, 4);
	out->len += w.pos;
	return 0;
}

static struct pc_privsep_str view(const char *s)
{
	return (struct pc_privsep_str){s, s ? strlen(s) : 0};
}

/* one group of string fields from its model struct */
static void view_strs(struct pc_privsep_update *u, const void *model, const struct str_field *t,
                      size_t n)
{
	for (size_t i = 0; i < n; i++)
		*str_at(u, &t[i]) = view(*(const char *const *)((const char *)model + t[i].model_off));
}

void pc_privsep_update_from(struct pc_privsep_rec *rec, uint32_t index,
			    const struct pc_endpoint *ep)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = PC_PRIVSEP_UPDATE;
	struct pc_privsep_update *u = &rec->u.update;
	u->index = index;
	u->state = ep->state;
	u->rtt_ms = ep->rtt_ms;
	u->v_done = ep->verified.done;
	u->v_reachable = ep->verified.reachable;
	u->v_rtt_ms = ep->verified.rtt_ms;
	u->v_error = view(ep->verified.error);
	u->recheck = ep->recheck;
	u->recheck_reason = view(ep->recheck_reason);
	u->probe_skipped = view(ep->probe_skipped);
	const struct pc_service *s = ep->service;
	u->has_service = s != NULL;
	if (!s)
		return;
	view_strs(u, s, service_strs, N_OF(service_strs));
	u->tls = s->tls;
	u->auth = s->auth;
	u->has_tls_info = s->tls_info != NULL;
	if (s->tls_info) {
		view_strs(u, s->tls_info, tls_strs, N_OF(tls_strs));
		u->self_signed = s->tls_info->self_signed;
	}
	/* more than the cap are cut (no SSH server offers that many) */
	for (size_t i = 0; i < s->n_auth_methods && s->auth_methods &&
			   u->n_auth_methods < PC_PRIVSEP_AUTH_METHODS_MAX;
	     i++)
		if (s->auth_methods[i])
			u->auth_methods[u->n_auth_methods++] = view(s->auth_methods[i]);
	u->has_ssh_info = s->ssh_info != NULL;
	if (s->ssh_info)
		view_strs(u, s->ssh_info, ssh_strs, N_OF(ssh_strs));
}
