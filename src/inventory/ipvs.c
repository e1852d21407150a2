/*
 * ipvs.c - IPVS services over generic netlink, and their parsers.
 *
 * Three exchanges per namespace: resolve the "IPVS" generic netlink family
 * (a kernel without IPVS answers ENOENT: nothing to read, not an error),
 * dump the virtual services, then dump each service's real servers (the
 * kernel wants the service named in the GET_DEST request). Same bounds as
 * the nftables reader (nft.c): the shared dump loop pc_nl_dump(), every
 * nlmsg and nla length checked by pc_nl_next()/pc_nla_next(), fixed-size
 * fields checked for their exact size, strings copied with a cap.
 *
 * Integers are host order (NLA_U16/U32) except the ports (big endian);
 * addresses are a 16-byte union nf_inet_addr whatever the family.
 */
#include "inventory/ipvs.h"

#include "core/error.h"

#include <errno.h>
#include <netinet/in.h> /* before the linux/ headers, which defer to it */
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define GENL_HDR NLMSG_ALIGN(sizeof(struct genlmsghdr))
#define MAX_SERVICES 65536

static int get_u16(const uint8_t *v, size_t n, uint16_t *ret)
{
	if (n < 2)
		return PC_EPARSE;
	memcpy(ret, v, 2);
	return 0;
}

static int get_u32(const uint8_t *v, size_t n, uint32_t *ret)
{
	if (n < 4)
		return PC_EPARSE;
	memcpy(ret, v, 4);
	return 0;
}

static void get_addr(const uint8_t *v, size_t n, struct pc_addr *a)
{
	memset(a->bytes, 0, sizeof(a->bytes));
	memcpy(a->bytes, v, n < 16 ? n : 16);
}

int pc_ipvs_parse_family(const void *buf, size_t len, uint32_t seq, uint16_t *ret_id)
{
	struct pc_nl_status st = {0};
	struct pc_nl_walk w = {.p = buf, .len = len, .seq = seq, .type = GENL_ID_CTRL, .st = &st};
	const unsigned char *pl;
	size_t plen;
	int r;
	while ((r = pc_nl_next(&w, &pl, &plen)) > 0) {
		if (plen < GENL_HDR)
			return PC_EPARSE;
		const uint8_t *p = pl + GENL_HDR;
		size_t n = plen - GENL_HDR;
		uint16_t t;
		const uint8_t *v;
		size_t vn;
		int e;
		while ((e = pc_nla_next(&p, &n, &t, &v, &vn)) > 0)
			if (t == CTRL_ATTR_FAMILY_ID)
				return get_u16(v, vn, ret_id);
		if (e < 0)
			return e;
	}
	return r < 0 ? r : -ENOENT;
}

/* The attributes nested in the first attribute of type `outer` of each
 * message of cmd in the buffer, handed to one of the two record parsers. */
static int each_nested(const void *buf, size_t len, uint32_t seq, uint16_t family, uint8_t cmd,
                       uint16_t outer, struct pc_nl_status *st,
                       int (*rec)(const uint8_t *p, size_t n, void *arg), void *arg)
{
	struct pc_nl_walk w = {.p = buf, .len = len, .seq = seq, .type = family, .st = st};
	const unsigned char *pl;
	size_t plen;
	int r;
	while ((r = pc_nl_next(&w, &pl, &plen)) > 0) {
		struct genlmsghdr g;
		if (plen < GENL_HDR)
			return PC_EPARSE;
		memcpy(&g, pl, sizeof(g));
		if (g.cmd != cmd)
			continue;
		const uint8_t *p = pl + GENL_HDR;
		size_t n = plen - GENL_HDR;
		uint16_t t;
		const uint8_t *v;
		size_t vn;
		int e;
		while ((e = pc_nla_next(&p, &n, &t, &v, &vn)) > 0) {
			if (t != outer)
				continue;
			st->rules++;
			if ((e = rec(v, vn, arg)) != 0)
				return e;
			break;
		}
		if (e < 0)
			return e;
	}
	return r;
}

/* a port attribute: network order on the wire */
static int get_port(const uint8_t *v, size_t n, uint16_t *ret)
{
	uint16_t port;
	int r = get_u16(v, n, &port);
	if (r == 0)
		*ret = ntohs(port);
	return r;
}

/* the caller's callback for one service or one destination record */
struct rec_arg {
	union {
		pc_ipvs_service_fn svc;
		pc_ipvs_dest_fn dest;
	} fn;
	void *ctx;
};

static int parse_service(const uint8_t *p, size_t n, void *arg)
{
	struct rec_arg *a = arg;
	struct pc_ipvs_service s;
	memset(&s, 0, sizeof(s));
	uint16_t t;
	const uint8_t *v;
	size_t vn;
	int e;
	bool have_af = false;
	while ((e = pc_nla_next(&p, &n, &t, &v, &vn)) > 0) {
		int r = 0;
		switch (t) {
		case IPVS_SVC_ATTR_AF:
			r = get_u16(v, vn, &s.af);
			have_af = r == 0;
			break;
		case IPVS_SVC_ATTR_PROTOCOL:
			r = get_u16(v, vn, &s.protocol);
			break;
		case IPVS_SVC_ATTR_ADDR:
			get_addr(v, vn, &s.addr);
			break;
		case IPVS_SVC_ATTR_PORT:
			r = get_port(v, vn, &s.port);
			break;
		case IPVS_SVC_ATTR_FWMARK:
			r = get_u32(v, vn, &s.fwmark);
			break;
		case IPVS_SVC_ATTR_SCHED_NAME: {
			size_t k = 0;
			while (k < vn && k + 1 < sizeof(s.sched) && v[k]) {
				s.sched[k] = (char)v[k];
				k++;
			}
			s.sched[k] = 0;
			break;
		}
		default:
			break;
		}
		if (r < 0)
			return r;
	}
	if (e < 0)
		return e;
	if (!have_af || (s.af != AF_INET && s.af != AF_INET6))
		return PC_EPARSE;
	s.addr.family = (sa_family_t)s.af;
	return a->fn.svc(a->ctx, &s);
}

int pc_ipvs_parse_services(const void *buf, size_t len, uint32_t seq, uint16_t family,
                           pc_ipvs_service_fn fn, void *ctx, struct pc_nl_status *st)
{
	struct rec_arg a = {.fn.svc = fn, .ctx = ctx};
	return each_nested(buf, len, seq, family, IPVS_CMD_NEW_SERVICE, IPVS_CMD_ATTR_SERVICE, st,
	                   parse_service, &a);
}

static int parse_dest(const uint8_t *p, size_t n, void *arg)
{
	struct rec_arg *a = arg;
	struct pc_ipvs_dest d;
	memset(&d, 0, sizeof(d));
	uint16_t t, af = 0;
	const uint8_t *v;
	size_t vn;
	int e;
	while ((e = pc_nla_next(&p, &n, &t, &v, &vn)) > 0) {
		int r = 0;
		switch (t) {
		case IPVS_DEST_ATTR_ADDR:
			get_addr(v, vn, &d.addr);
			break;
		case IPVS_DEST_ATTR_PORT:
			r = get_port(v, vn, &d.port);
			break;
		case IPVS_DEST_ATTR_WEIGHT:
			r = get_u32(v, vn, &d.weight);
			break;
		case IPVS_DEST_ATTR_FWD_METHOD:
			r = get_u32(v, vn, &d.fwd_method);
			break;
		case IPVS_DEST_ATTR_ADDR_FAMILY:
			r = get_u16(v, vn, &af);
			break;
		default:
			break;
		}
		if (r < 0)
			return r;
	}
	if (e < 0)
		return e;
	/* older kernels send no family: the caller knows the service's */
	d.addr.family = af == AF_INET || af == AF_INET6 ? af : 0;
	return a->fn.dest(a->ctx, &d);
}

int pc_ipvs_parse_dests(const void *buf, size_t len, uint32_t seq, uint16_t family,
                        pc_ipvs_dest_fn fn, void *ctx, struct pc_nl_status *st)
{
	struct rec_arg a = {.fn.dest = fn, .ctx = ctx};
	return each_nested(buf, len, seq, family, IPVS_CMD_NEW_DEST, IPVS_CMD_ATTR_DEST, st,
	                   parse_dest, &a);
}

/* ---- the exchanges ---- */

struct req {
	unsigned char b[128];
	size_t len;
};

static int put(struct req *q, uint16_t type, const void *data, size_t n)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type};
	if (q->len + NLA_ALIGN(a.nla_len) > sizeof(q->b))
		return PC_ETOOBIG;
	memcpy(q->b + q->len, &a, sizeof(a));
	memcpy(q->b + q->len + NLA_HDRLEN, data, n);
	memset(q->b + q->len + NLA_HDRLEN + n, 0, NLA_ALIGN(a.nla_len) - a.nla_len);
	q->len += NLA_ALIGN(a.nla_len);
	return 0;
}

static void start(struct req *q, uint16_t type, uint16_t flags, uint32_t seq, uint8_t cmd,
                  uint8_t version)
{
	memset(q, 0, sizeof(*q));
	struct genlmsghdr g = {.cmd = cmd, .version = version};
	q->len = NLMSG_HDRLEN + GENL_HDR;
	memcpy(q->b + NLMSG_HDRLEN, &g, sizeof(g));
	struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq};
	memcpy(q->b, &h, sizeof(h));
}

static void finish(struct req *q)
{
	uint32_t len = (uint32_t)q->len;
	memcpy(q->b, &len, sizeof(len)); /* nlmsg_len is the header's first field */
}

struct family_ctx {
	uint32_t seq;
	uint16_t id;
};

static int parse_family_buf(void *ctx, const void *buf, size_t len, bool *done)
{
	struct family_ctx *f = ctx;
	int r = pc_ipvs_parse_family(buf, len, f->seq, &f->id);
	*done = true; /* one answer (or one error) */
	return r;
}

struct svc_list {
	struct pc_ipvs_service *s;
	size_t n, cap;
};

static int keep_service(void *ctx, const struct pc_ipvs_service *svc)
{
	struct svc_list *l = ctx;
	if (l->n == l->cap) {
		if (l->n >= MAX_SERVICES)
			return PC_ETOOBIG;
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct pc_ipvs_service *n = realloc(l->s, cap * sizeof(*n));
		if (!n)
			return PC_ENOMEM;
		l->s = n;
		l->cap = cap;
	}
	l->s[l->n++] = *svc;
	return 0;
}

struct dump_ctx {
	uint32_t seq;
	uint16_t family;
	struct pc_nl_status st;
	struct svc_list *svcs;
	pc_ipvs_dest_fn dest_fn;
	void *ctx;
};

/* one recv() of the service dump (svcs set) or of a destination dump */
static int parse_dump_buf(void *ctx, const void *buf, size_t len, bool *done)
{
	struct dump_ctx *d = ctx;
	int r =
	    d->svcs
	        ? pc_ipvs_parse_services(buf, len, d->seq, d->family, keep_service, d->svcs, &d->st)
	        : pc_ipvs_parse_dests(buf, len, d->seq, d->family, d->dest_fn, d->ctx, &d->st);
	*done = d->st.done;
	return r;
}

int pc_ipvs_dump(int fd, pc_ipvs_service_fn svc_fn, pc_ipvs_dest_fn dest_fn, void *ctx)
{
	struct req q;
	struct family_ctx f = {.seq = pc_nl_next_seq()};
	start(&q, GENL_ID_CTRL, NLM_F_REQUEST, f.seq, CTRL_CMD_GETFAMILY, 1);
	int r = put(&q, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME, sizeof(IPVS_GENL_NAME));
	if (r < 0)
		return r;
	finish(&q);
	r = pc_nl_dump(fd, q.b, q.len, parse_family_buf, &f);
	if (r < 0)
		return r;
	struct svc_list svcs = {0};
	struct dump_ctx d = {.seq = pc_nl_next_seq(), .family = f.id, .svcs = &svcs};
	start(&q, f.id, NLM_F_REQUEST | NLM_F_DUMP, d.seq, IPVS_CMD_GET_SERVICE, IPVS_GENL_VERSION);
	finish(&q);
	r = pc_nl_dump(fd, q.b, q.len, parse_dump_buf, &d);
	for (size_t i = 0; r == 0 && i < svcs.n; i++) {
		const struct pc_ipvs_service *s = &svcs.s[i];
		if ((r = svc_fn(ctx, s)) != 0)
			break;
		/* GET_DEST names its service: a nested service attribute */
		struct req inner = {.len = 0};
		uint16_t port = htons(s->port);
		if ((r = put(&inner, IPVS_SVC_ATTR_AF, &s->af, 2)) < 0)
			break;
		if (s->fwmark)
			r = put(&inner, IPVS_SVC_ATTR_FWMARK, &s->fwmark, 4);
		else if ((r = put(&inner, IPVS_SVC_ATTR_PROTOCOL, &s->protocol, 2)) == 0 &&
		         (r = put(&inner, IPVS_SVC_ATTR_ADDR, s->addr.bytes, 16)) == 0)
			r = put(&inner, IPVS_SVC_ATTR_PORT, &port, 2);
		if (r < 0)
			break;
		struct dump_ctx dd = {
		    .seq = pc_nl_next_seq(), .family = f.id, .dest_fn = dest_fn, .ctx = ctx};
		start(&q, f.id, NLM_F_REQUEST | NLM_F_DUMP, dd.seq, IPVS_CMD_GET_DEST,
		      IPVS_GENL_VERSION);
		if ((r = put(&q, IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, inner.b, inner.len)) < 0)
			break;
		finish(&q);
		r = pc_nl_dump(fd, q.b, q.len, parse_dump_buf, &dd);
	}
	free(svcs.s);
	return r;
}
