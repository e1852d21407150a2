/*
 * nft.c - nftables rules, set elements and chains over NETLINK_NETFILTER:
 * the dump requests, the receive loop and the message parsers.
 *
 * Why our own parser rather than libnftnl: see nft_expr.c, which decodes a
 * rule's expressions (the register machine); this file frames what
 * carries them. It follows sockdiag.c: nothing is trusted, every
 * nlmsg_len and nla_len is checked against what is left, strings are
 * copied with a cap and never assumed NUL-terminated, and headers are
 * copied out with memcpy because a captured file need not be aligned. One
 * receive loop (pc_nl_dump) serves the three dumps; each request names at
 * most a table and a chain or set, and a name too long for a request is
 * refused before anything is sent.
 */
#include "inventory/nft_int.h"

#include "inventory/netlink.h"

#include "core/error.h"

#include <errno.h>
#include <netinet/in.h> /* before the linux/ headers, which defer to it */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* userdata: a TLV list (u8 type, u8 len, value); type 0 is the comment */
static void parse_udata(const uint8_t *p, size_t len, struct pc_nft_rule *r)
{
	while (len >= 2) {
		uint8_t type = p[0], n = p[1];
		if ((size_t)n + 2 > len)
			return;
		if (type == 0)
			pc_nft_copy_str(r->comment, sizeof(r->comment), p + 2, n);
		p += 2 + (size_t)n;
		len -= 2 + (size_t)n;
	}
}

static int parse_rule(const uint8_t *p, size_t len, struct pc_nft_rule *r)
{
	struct nfgenmsg g;
	if (len < sizeof(g))
		return PC_EPARSE;
	memcpy(&g, p, sizeof(g));
	memset(r, 0, sizeof(*r));
	r->family = g.nfgen_family;
	r->l4proto = -1;
	r->dport = -1;
	r->nat_port = -1;
	r->probability = -1;
	p += NLMSG_ALIGN(sizeof(g));
	len -= len < NLMSG_ALIGN(sizeof(g)) ? len : NLMSG_ALIGN(sizeof(g));
	uint16_t t;
	const uint8_t *v;
	size_t n;
	int e;
	bool have_table = false, have_chain = false;
	while ((e = pc_nla_next(&p, &len, &t, &v, &n)) > 0) {
		switch (t) {
		case NFTA_RULE_TABLE:
			pc_nft_copy_str(r->table, sizeof(r->table), v, n);
			have_table = true;
			break;
		case NFTA_RULE_CHAIN:
			pc_nft_copy_str(r->chain, sizeof(r->chain), v, n);
			have_chain = true;
			break;
		case NFTA_RULE_HANDLE:
			if (n == 8) {
				uint64_t h;
				memcpy(&h, v, 8);
				r->handle = be64toh(h);
			}
			break;
		case NFTA_RULE_USERDATA:
			parse_udata(v, n, r);
			break;
		case NFTA_RULE_EXPRESSIONS: {
			int e2 = pc_nft_parse_exprs(v, n, r);
			if (e2 < 0)
				return e2;
			break;
		}
		default:
			break;
		}
	}
	if (e < 0)
		return e;
	return have_table && have_chain ? 0 : PC_EPARSE;
}

static int parse_elem(const uint8_t *p, size_t len, struct pc_nft_elem *e)
{
	memset(e, 0, sizeof(*e));
	uint16_t t;
	const uint8_t *v;
	size_t n;
	int r;
	while ((r = pc_nla_next(&p, &len, &t, &v, &n)) > 0) {
		struct pc_nft_data d;
		int e2;
		switch (t) {
		case NFTA_SET_ELEM_KEY:
			if ((e2 = pc_nft_parse_data(v, n, &d)) < 0)
				return e2;
			if (d.value) {
				e->key_len = d.len < sizeof(e->key) ? d.len : sizeof(e->key);
				memcpy(e->key, d.value, e->key_len);
			}
			break;
		case NFTA_SET_ELEM_DATA:
			if ((e2 = pc_nft_parse_data(v, n, &d)) < 0)
				return e2;
			if (d.is_verdict) {
				if (d.code == NFT_JUMP || d.code == NFT_GOTO) {
					e->verdict =
					    d.code == NFT_JUMP ? PC_NFT_V_JUMP : PC_NFT_V_GOTO;
					memcpy(e->chain, d.chain, sizeof(e->chain));
				} else if (d.code == NF_ACCEPT) {
					e->verdict = PC_NFT_V_ACCEPT;
				} else if (d.code == NF_DROP) {
					e->verdict = PC_NFT_V_DROP;
				} else if (d.code == NFT_RETURN) {
					e->verdict = PC_NFT_V_RETURN;
				}
			}
			break;
		case NFTA_SET_ELEM_FLAGS: {
			uint32_t f;
			if (pc_nft_get_be32(v, n, &f) < 0)
				return PC_EPARSE;
			e->interval_end = f & NFT_SET_ELEM_INTERVAL_END;
			break;
		}
		default:
			break;
		}
	}
	return r;
}

int pc_nft_parse_elems(const void *buf, size_t len, uint32_t seq, pc_nft_elem_fn fn, void *ctx,
                       struct pc_nl_status *st)
{
	struct pc_nl_walk w = {
	    .p = buf,
	    .len = len,
	    .seq = seq,
	    .type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
	    .st = st,
	};
	const unsigned char *pl;
	size_t plen;
	int r;
	while ((r = pc_nl_next(&w, &pl, &plen)) > 0) {
		if (plen < NLMSG_ALIGN(sizeof(struct nfgenmsg)))
			return PC_EPARSE;
		const uint8_t *p = pl + NLMSG_ALIGN(sizeof(struct nfgenmsg));
		size_t n = plen - NLMSG_ALIGN(sizeof(struct nfgenmsg));
		uint16_t t;
		const uint8_t *v;
		size_t vn;
		int e;
		while ((e = pc_nla_next(&p, &n, &t, &v, &vn)) > 0) {
			if (t != NFTA_SET_ELEM_LIST_ELEMENTS)
				continue;
			uint16_t t2;
			const uint8_t *v2;
			size_t n2;
			int e2;
			while ((e2 = pc_nla_next(&v, &vn, &t2, &v2, &n2)) > 0) {
				if (t2 != NFTA_LIST_ELEM)
					continue;
				struct pc_nft_elem el;
				int e3 = parse_elem(v2, n2, &el);
				if (e3 == 0) {
					st->rules++;
					e3 = fn(ctx, &el);
				}
				if (e3 != 0)
					return e3;
			}
			if (e2 < 0)
				return e2;
		}
		if (e < 0)
			return e;
	}
	return r;
}

int pc_nft_parse(const void *buf, size_t len, uint32_t seq, pc_nft_rule_fn fn, void *ctx,
                 struct pc_nl_status *st)
{
	struct pc_nl_walk w = {
	    .p = buf,
	    .len = len,
	    .seq = seq,
	    .type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
	    .st = st,
	};
	struct pc_nft_rule *rule = NULL;
	const unsigned char *pl;
	size_t plen;
	int r;
	while ((r = pc_nl_next(&w, &pl, &plen)) > 0) {
		/* a rule is ~2 KiB of names: on the heap, once */
		if (!rule && !(rule = malloc(sizeof(*rule)))) {
			r = PC_ENOMEM;
			break;
		}
		r = parse_rule(pl, plen, rule);
		if (r == 0) {
			st->rules++;
			r = fn(ctx, rule);
		}
		if (r != 0)
			break;
	}
	free(rule);
	return r;
}

static size_t put_attr(unsigned char *buf, size_t cap, size_t off, uint16_t type, const char *s)
{
	size_t n = strlen(s) + 1;
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type};
	if (n > PC_NFT_NAME_MAX || off + NLA_ALIGN(a.nla_len) > cap)
		return 0;
	memcpy(buf + off, &a, sizeof(a));
	memcpy(buf + off + NLA_HDRLEN, s, n);
	memset(buf + off + NLA_HDRLEN + n, 0, NLA_ALIGN(a.nla_len) - a.nla_len);
	return off + NLA_ALIGN(a.nla_len);
}

/* A dump request of msg_type for family, filtered by up to two names
 * (table, then chain or set) when not NULL. 0 when it does not fit. */
static size_t dump_request(void *vbuf, size_t cap, uint32_t seq, uint16_t msg_type, uint8_t family,
                           uint16_t attr1, const char *name1, uint16_t attr2, const char *name2)
{
	unsigned char *buf = vbuf;
	struct nlmsghdr h = {
	    .nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg_type,
	    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
	    .nlmsg_seq = seq,
	};
	struct nfgenmsg g = {.nfgen_family = family, .version = NFNETLINK_V0};
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(g));
	if (cap < off)
		return 0;
	memset(buf, 0, off);
	memcpy(buf + NLMSG_HDRLEN, &g, sizeof(g));
	if (name1)
		off = put_attr(buf, cap, off, attr1, name1);
	if (off && name2)
		off = put_attr(buf, cap, off, attr2, name2);
	if (!off)
		return 0;
	h.nlmsg_len = (uint32_t)off;
	memcpy(buf, &h, sizeof(h));
	return off;
}

size_t pc_nft_elems_request(void *buf, size_t cap, uint32_t seq, uint8_t family, const char *table,
                            const char *set)
{
	return dump_request(buf, cap, seq, NFT_MSG_GETSETELEM, family, NFTA_SET_ELEM_LIST_TABLE,
	                    table, NFTA_SET_ELEM_LIST_SET, set);
}

size_t pc_nft_request(void *buf, size_t cap, uint32_t seq, uint8_t family, const char *table,
                      const char *chain)
{
	return dump_request(buf, cap, seq, NFT_MSG_GETRULE, family, NFTA_RULE_TABLE, table,
	                    NFTA_RULE_CHAIN, chain);
}

int pc_nft_parse_chains(const void *buf, size_t len, uint32_t seq, pc_nft_chain_fn fn, void *ctx,
                        struct pc_nl_status *st)
{
	struct pc_nl_walk w = {
	    .p = buf,
	    .len = len,
	    .seq = seq,
	    .type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN,
	    .st = st,
	};
	const unsigned char *pl;
	size_t plen;
	int r;
	while ((r = pc_nl_next(&w, &pl, &plen)) > 0) {
		struct nfgenmsg g;
		if (plen < NLMSG_ALIGN(sizeof(g)))
			return PC_EPARSE;
		memcpy(&g, pl, sizeof(g));
		struct pc_nft_chain c = {.family = g.nfgen_family};
		const uint8_t *p = pl + NLMSG_ALIGN(sizeof(g));
		size_t n = plen - NLMSG_ALIGN(sizeof(g));
		uint16_t t;
		const uint8_t *v;
		size_t vn;
		int e;
		while ((e = pc_nla_next(&p, &n, &t, &v, &vn)) > 0) {
			if (t == NFTA_CHAIN_TABLE)
				pc_nft_copy_str(c.table, sizeof(c.table), v, vn);
			else if (t == NFTA_CHAIN_NAME)
				pc_nft_copy_str(c.name, sizeof(c.name), v, vn);
		}
		if (e < 0)
			return e;
		if (!c.table[0] || !c.name[0])
			return PC_EPARSE;
		st->rules++;
		if ((e = fn(ctx, &c)) != 0)
			return e;
	}
	return r;
}

/* One dump of rules, set elements or chains through the shared loop. */
struct nft_dump {
	enum { D_RULES, D_ELEMS, D_CHAINS } kind;
	union {
		pc_nft_rule_fn rule;
		pc_nft_elem_fn elem;
		pc_nft_chain_fn chain;
	} fn;
	void *ctx;
	void (*capture)(void *cctx, const void *buf, size_t len);
	void *cctx;
	uint32_t seq;
	struct pc_nl_status st;
};

static int parse_buf(void *ctx, const void *buf, size_t len, bool *done)
{
	struct nft_dump *d = ctx;
	if (d->capture)
		d->capture(d->cctx, buf, len);
	int r;
	if (d->kind == D_RULES)
		r = pc_nft_parse(buf, len, d->seq, d->fn.rule, d->ctx, &d->st);
	else if (d->kind == D_ELEMS)
		r = pc_nft_parse_elems(buf, len, d->seq, d->fn.elem, d->ctx, &d->st);
	else
		r = pc_nft_parse_chains(buf, len, d->seq, d->fn.chain, d->ctx, &d->st);
	*done = d->st.done;
	return r;
}

static int run_dump(int fd, const void *req, size_t reqlen, struct nft_dump *d)
{
	if (!reqlen)
		return -EINVAL; /* a name too long for a request */
	int r = pc_nl_dump(fd, req, reqlen, parse_buf, d);
	if (r == 0 && d->st.interrupted)
		return 1;
	return r;
}

#define REQ_MAX (NLMSG_HDRLEN + 8 + 2 * (PC_NFT_NAME_MAX + 8))

int pc_nft_dump_elems(int fd, uint8_t family, const char *table, const char *set, pc_nft_elem_fn fn,
                      void *ctx, void (*capture)(void *cctx, const void *buf, size_t len),
                      void *cctx)
{
	struct nft_dump d = {
	    .kind = D_ELEMS, .fn.elem = fn, .ctx = ctx, .capture = capture, .cctx = cctx};
	d.seq = pc_nl_next_seq();
	unsigned char req[REQ_MAX];
	return run_dump(fd, req, pc_nft_elems_request(req, sizeof(req), d.seq, family, table, set),
	                &d);
}

int pc_nft_dump(int fd, uint8_t family, const char *table, const char *chain, pc_nft_rule_fn fn,
                void *ctx, void (*capture)(void *cctx, const void *buf, size_t len), void *cctx)
{
	struct nft_dump d = {
	    .kind = D_RULES, .fn.rule = fn, .ctx = ctx, .capture = capture, .cctx = cctx};
	d.seq = pc_nl_next_seq();
	unsigned char req[REQ_MAX];
	return run_dump(fd, req, pc_nft_request(req, sizeof(req), d.seq, family, table, chain), &d);
}

int pc_nft_dump_chains(int fd, pc_nft_chain_fn fn, void *ctx,
                       void (*capture)(void *cctx, const void *buf, size_t len), void *cctx)
{
	struct nft_dump d = {
	    .kind = D_CHAINS, .fn.chain = fn, .ctx = ctx, .capture = capture, .cctx = cctx};
	d.seq = pc_nl_next_seq();
	unsigned char req[REQ_MAX];
	return run_dump(fd, req,
	                dump_request(req, sizeof(req), d.seq, NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, 0,
	                             NULL, 0, NULL),
	                &d);
}
