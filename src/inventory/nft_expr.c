/*
 * nft_expr.c - the decoder of one nftables rule's expressions (and of the
 * data attributes rules and set elements share), for nft.c.
 *
 * Why our own decoder rather than libnftnl: the whole of what we need is a
 * dozen attributes of seven expression types (payload, meta, fib, cmp,
 * immediate, nat/redir, xt match), which a bounded attribute walker reads in
 * a few hundred lines; libnftnl would still leave us to interpret those same
 * expressions, would add a library to a binary that runs as root from cron,
 * and would put its allocator between the fuzzer and our bounds. Nothing
 * is trusted: every nla_len is checked against what is left (pc_nla_next),
 * strings are copied with a cap and never assumed NUL-terminated.
 *
 * Registers: nftables evaluates a rule as a small register machine (payload
 * loads the destination port into reg 1, cmp compares reg 1 with 80, ...).
 * We replay it symbolically: each register remembers what was loaded into
 * it (the l4 protocol, the destination address or port, a fib address type,
 * or a constant and its bytes), so "cmp eq reg1 0x0050" after "payload
 * transport offset 2 len 2 -> reg1" is a destination port match, and "nat
 * dnat addr reg1 port reg2" after two immediates is a DNAT to that constant.
 *
 * Split from nft.c along its seam: this file interprets expressions; nft.c
 * frames the netlink messages (rules, set elements, chains) and runs the
 * dumps. The register file stays private to this file.
 */
#include "inventory/nft_int.h"

#include "inventory/netlink.h"

#include "core/error.h"

#include <netinet/in.h> /* before the linux/ headers, which defer to it */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_statistic.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

/* what a register holds */
enum reg_kind { R_NONE = 0, R_L4PROTO, R_DADDR, R_DPORT, R_FIB_TYPE, R_CONST, R_NUMGEN };

#define REG_BYTES 64 /* four 16-byte registers, or sixteen 32-bit ones */

struct regs {
	uint8_t kind[REG_BYTES];
	uint8_t len[REG_BYTES];
	uint8_t data[REG_BYTES];
};

/* Byte offset of register number reg, or -1 for one we do not model. */
static int reg_off(uint32_t reg)
{
	if (reg >= NFT_REG_1 && reg <= NFT_REG_4)
		return (int)(reg - NFT_REG_1) * 16;
	if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15)
		return (int)(reg - NFT_REG32_00) * 4;
	return -1;
}

int pc_nft_get_be32(const uint8_t *d, size_t n, uint32_t *ret)
{
	if (n != 4)
		return PC_EPARSE;
	uint32_t v;
	memcpy(&v, d, 4);
	*ret = ntohl(v);
	return 0;
}

void pc_nft_copy_str(char *dst, size_t cap, const uint8_t *d, size_t n)
{
	size_t k = 0;
	while (k < n && k + 1 < cap && d[k] != 0) {
		dst[k] = (char)d[k];
		k++;
	}
	dst[k] = 0;
}

int pc_nft_parse_data(const uint8_t *p, size_t len, struct pc_nft_data *d)
{
	memset(d, 0, sizeof(*d));
	uint16_t t;
	const uint8_t *v;
	size_t n;
	int r;
	while ((r = pc_nla_next(&p, &len, &t, &v, &n)) > 0) {
		if (t == NFTA_DATA_VALUE) {
			d->value = v;
			d->len = n;
		} else if (t == NFTA_DATA_VERDICT) {
			d->is_verdict = true;
			uint16_t t2;
			const uint8_t *v2;
			size_t n2;
			int r2;
			while ((r2 = pc_nla_next(&v, &n, &t2, &v2, &n2)) > 0) {
				uint32_t code;
				if (t2 == NFTA_VERDICT_CODE) {
					if (pc_nft_get_be32(v2, n2, &code) < 0)
						return PC_EPARSE;
					d->code = (int32_t)code;
				} else if (t2 == NFTA_VERDICT_CHAIN) {
					pc_nft_copy_str(d->chain, sizeof(d->chain), v2, n2);
				}
			}
			if (r2 < 0)
				return r2;
		}
	}
	return r;
}

/* The attributes of one expression's data, by type, up to max. */
struct attrs {
	const uint8_t *v[12];
	size_t n[12];
};

static int collect(const uint8_t *p, size_t len, struct attrs *a)
{
	memset(a, 0, sizeof(*a));
	uint16_t t;
	const uint8_t *v;
	size_t n;
	int r;
	while ((r = pc_nla_next(&p, &len, &t, &v, &n)) > 0)
		if (t < 12) {
			a->v[t] = v;
			a->n[t] = n;
		}
	return r;
}

static int attr_u32(const struct attrs *a, int t, uint32_t *ret)
{
	if (!a->v[t])
		return 1; /* absent */
	return pc_nft_get_be32(a->v[t], a->n[t], ret);
}

static void set_reg(struct regs *rg, uint32_t reg, enum reg_kind kind, const uint8_t *d, size_t n)
{
	int off = reg_off(reg);
	if (off < 0)
		return;
	if (n > (size_t)(REG_BYTES - off))
		n = (size_t)(REG_BYTES - off);
	rg->kind[off] = (uint8_t)kind;
	rg->len[off] = (uint8_t)n;
	if (d)
		memcpy(rg->data + off, d, n);
}

static void on_payload(const struct attrs *a, struct regs *rg)
{
	uint32_t dreg, base, offset, len;
	if (attr_u32(a, NFTA_PAYLOAD_DREG, &dreg) || attr_u32(a, NFTA_PAYLOAD_BASE, &base) ||
	    attr_u32(a, NFTA_PAYLOAD_OFFSET, &offset) || attr_u32(a, NFTA_PAYLOAD_LEN, &len))
		return; /* a payload write, or one we do not read */
	enum reg_kind k = R_NONE;
	if (base == NFT_PAYLOAD_NETWORK_HEADER &&
	    ((offset == 16 && len == 4) || (offset == 24 && len == 16)))
		k = R_DADDR;
	else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && offset == 2 && len == 2)
		k = R_DPORT;
	set_reg(rg, dreg, k, NULL, len);
}

static void on_meta(const struct attrs *a, struct regs *rg)
{
	uint32_t dreg, key;
	if (attr_u32(a, NFTA_META_DREG, &dreg) || attr_u32(a, NFTA_META_KEY, &key))
		return;
	set_reg(rg, dreg, key == NFT_META_L4PROTO ? R_L4PROTO : R_NONE, NULL, 1);
}

static void on_numgen(const struct attrs *a, struct regs *rg, struct pc_nft_rule *r)
{
	uint32_t dreg, mod, type;
	if (attr_u32(a, NFTA_NG_DREG, &dreg) || attr_u32(a, NFTA_NG_MODULUS, &mod) ||
	    attr_u32(a, NFTA_NG_TYPE, &type))
		return;
	/* only a random choice splits traffic in fixed shares we can state */
	set_reg(rg, dreg, type == NFT_NG_RANDOM ? R_NUMGEN : R_NONE, NULL, 4);
	if (type == NFT_NG_RANDOM)
		r->numgen_mod = mod;
}

/* A lookup's key, read field by field from the registers it starts at. */
static void on_lookup(const struct attrs *a, const struct regs *rg, struct pc_nft_rule *r)
{
	uint32_t sreg, dreg = 0xffffffff, flags = 0;
	if (!a->v[NFTA_LOOKUP_SET] || attr_u32(a, NFTA_LOOKUP_SREG, &sreg))
		return;
	if (attr_u32(a, NFTA_LOOKUP_DREG, &dreg) < 0 || attr_u32(a, NFTA_LOOKUP_FLAGS, &flags) < 0)
		return;
	if (r->n_lookups >= PC_NFT_RULE_LOOKUPS || (dreg != 0xffffffff && dreg != NFT_REG_VERDICT))
		return; /* a data map (dnat to ... map): not a shape we follow */
	struct pc_nft_lookup *l = &r->lookup[r->n_lookups];
	memset(l, 0, sizeof(*l));
	pc_nft_copy_str(l->set, sizeof(l->set), a->v[NFTA_LOOKUP_SET], a->n[NFTA_LOOKUP_SET]);
	l->vmap = dreg == NFT_REG_VERDICT;
	l->inverted = flags & NFT_LOOKUP_F_INV;
	int off = reg_off(sreg);
	while (off >= 0 && off < REG_BYTES && l->n_fields < PC_NFT_LOOKUP_FIELDS) {
		uint8_t f = PC_NFT_F_OTHER;
		int step = 4;
		switch (rg->kind[off]) {
		case R_DADDR:
			f = rg->len[off] == 16 ? PC_NFT_F_DADDR6 : PC_NFT_F_DADDR4;
			step = rg->len[off] == 16 ? 16 : 4;
			break;
		case R_L4PROTO:
			f = PC_NFT_F_L4PROTO;
			break;
		case R_DPORT:
			f = PC_NFT_F_DPORT;
			break;
		case R_NUMGEN:
			f = PC_NFT_F_NUMGEN;
			break;
		default:
			break;
		}
		if (rg->kind[off] == R_NONE && l->n_fields > 0)
			break; /* past the end of the key */
		l->field[l->n_fields++] = f;
		if (rg->kind[off] == R_NONE)
			break;
		off += step;
		/* a concatenation's next field is loaded into the next slot;
		 * stop at a slot nothing was loaded into */
		if (off >= REG_BYTES || rg->kind[off] == R_NONE)
			break;
	}
	r->n_lookups++;
}

static void on_fib(const struct attrs *a, struct regs *rg)
{
	uint32_t dreg, result, flags;
	if (attr_u32(a, NFTA_FIB_DREG, &dreg) || attr_u32(a, NFTA_FIB_RESULT, &result) ||
	    attr_u32(a, NFTA_FIB_FLAGS, &flags))
		return;
	bool daddr_type = result == NFT_FIB_RESULT_ADDRTYPE && (flags & NFTA_FIB_F_DADDR);
	set_reg(rg, dreg, daddr_type ? R_FIB_TYPE : R_NONE, NULL, 4);
}

static int on_cmp(const struct attrs *a, struct regs *rg, struct pc_nft_rule *r)
{
	uint32_t sreg, op;
	if (attr_u32(a, NFTA_CMP_SREG, &sreg) || attr_u32(a, NFTA_CMP_OP, &op) ||
	    !a->v[NFTA_CMP_DATA])
		return 0;
	struct pc_nft_data d;
	int e = pc_nft_parse_data(a->v[NFTA_CMP_DATA], a->n[NFTA_CMP_DATA], &d);
	if (e < 0)
		return e;
	int off = reg_off(sreg);
	if (off < 0 || op != NFT_CMP_EQ || !d.value)
		return 0;
	switch (rg->kind[off]) {
	case R_L4PROTO:
		if (d.len == 1)
			r->l4proto = d.value[0];
		break;
	case R_DADDR:
		if (d.len == 4 || d.len == 16) {
			r->has_daddr = true;
			r->daddr.family = d.len == 4 ? AF_INET : AF_INET6;
			memcpy(r->daddr.bytes, d.value, d.len);
		}
		break;
	case R_DPORT:
		if (d.len == 2)
			r->dport = d.value[0] << 8 | d.value[1];
		break;
	case R_FIB_TYPE: {
		uint32_t type;
		/* the address type is host order in the register */
		if (d.len == 4) {
			memcpy(&type, d.value, 4);
			if (type == RTN_LOCAL)
				r->dst_local = true;
		}
		break;
	}
	default:
		break;
	}
	return 0;
}

static int on_immediate(const struct attrs *a, struct regs *rg, struct pc_nft_rule *r)
{
	uint32_t dreg;
	if (attr_u32(a, NFTA_IMMEDIATE_DREG, &dreg) || !a->v[NFTA_IMMEDIATE_DATA])
		return 0;
	struct pc_nft_data d;
	int e = pc_nft_parse_data(a->v[NFTA_IMMEDIATE_DATA], a->n[NFTA_IMMEDIATE_DATA], &d);
	if (e < 0)
		return e;
	if (dreg == NFT_REG_VERDICT) {
		if (!d.is_verdict)
			return 0;
		switch (d.code) {
		case NFT_JUMP:
		case NFT_GOTO:
			r->verdict = d.code == NFT_JUMP ? PC_NFT_V_JUMP : PC_NFT_V_GOTO;
			memcpy(r->target, d.chain, sizeof(r->target));
			break;
		case NFT_RETURN:
			r->verdict = PC_NFT_V_RETURN;
			break;
		case NF_ACCEPT:
			r->verdict = PC_NFT_V_ACCEPT;
			break;
		case NF_DROP:
			r->verdict = PC_NFT_V_DROP;
			break;
		default:
			break;
		}
		return 0;
	}
	if (d.value)
		set_reg(rg, dreg, R_CONST, d.value, d.len);
	return 0;
}

/* The constant bytes of register reg when it holds one of at least n. */
static const uint8_t *reg_const(const struct regs *rg, uint32_t reg, size_t n)
{
	int off = reg_off(reg);
	if (off < 0 || rg->kind[off] != R_CONST || rg->len[off] < n)
		return NULL;
	return rg->data + off;
}

static void on_nat(const struct attrs *a, const struct regs *rg, struct pc_nft_rule *r)
{
	uint32_t type, family, reg;
	if (attr_u32(a, NFTA_NAT_TYPE, &type) || type != NFT_NAT_DNAT)
		return;
	r->nat = PC_NFT_NAT_DNAT;
	if (attr_u32(a, NFTA_NAT_FAMILY, &family))
		family = r->family;
	size_t alen = family == NFPROTO_IPV6 ? 16 : 4;
	const uint8_t *v;
	if (attr_u32(a, NFTA_NAT_REG_ADDR_MIN, &reg) == 0 && (v = reg_const(rg, reg, alen))) {
		r->has_nat_addr = true;
		r->nat_addr.family = alen == 4 ? AF_INET : AF_INET6;
		memcpy(r->nat_addr.bytes, v, alen);
	}
	if (attr_u32(a, NFTA_NAT_REG_PROTO_MIN, &reg) == 0 && (v = reg_const(rg, reg, 2)))
		r->nat_port = v[0] << 8 | v[1];
}

static void on_redir(const struct attrs *a, const struct regs *rg, struct pc_nft_rule *r)
{
	uint32_t reg;
	const uint8_t *v;
	r->nat = PC_NFT_NAT_REDIRECT;
	if (attr_u32(a, NFTA_REDIR_REG_PROTO_MIN, &reg) == 0 && (v = reg_const(rg, reg, 2)))
		r->nat_port = v[0] << 8 | v[1];
}

/* xt tcp/udp with --dport: ports are host order, a single port is a range
 * of one; an inverted match is not a destination. */
static void xt_ports(const uint8_t *info, size_t n, uint8_t inv, struct pc_nft_rule *r)
{
	uint16_t lo, hi;
	if (n < 8)
		return;
	memcpy(&lo, info + 4, 2);
	memcpy(&hi, info + 6, 2);
	if (lo == hi && !(inv & 0x02 /* XT_{TCP,UDP}_INV_DSTPT */))
		r->dport = lo;
}

/* iptables-nft's compat matches: the xt structures as the kernel's x_tables
 * lays them out (fixed sizes, host byte order). */
static void on_match(const struct attrs *a, struct pc_nft_rule *r)
{
	char name[32];
	uint32_t rev = 0;
	if (!a->v[NFTA_MATCH_NAME] || !a->v[NFTA_MATCH_INFO])
		return;
	pc_nft_copy_str(name, sizeof(name), a->v[NFTA_MATCH_NAME], a->n[NFTA_MATCH_NAME]);
	if (attr_u32(a, NFTA_MATCH_REV, &rev) < 0)
		return;
	const uint8_t *info = a->v[NFTA_MATCH_INFO];
	size_t n = a->n[NFTA_MATCH_INFO];
	if (strcmp(name, "comment") == 0) {
		pc_nft_copy_str(r->comment, sizeof(r->comment), info, n);
	} else if (strcmp(name, "statistic") == 0 && n >= 8) {
		uint16_t mode, flags;
		uint32_t prob;
		memcpy(&mode, info, 2);
		memcpy(&flags, info + 2, 2);
		memcpy(&prob, info + 4, 4);
		if (mode == XT_STATISTIC_MODE_RANDOM) {
			/* the kernel matches when (random & 0x7fffffff) < prob */
			double p = prob / 2147483648.0;
			if (p > 1)
				p = 1;
			r->probability = flags & XT_STATISTIC_INVERT ? 1 - p : p;
		}
	} else if (strcmp(name, "tcp") == 0 && n >= 12) {
		xt_ports(info, n, info[11], r);
	} else if (strcmp(name, "udp") == 0 && n >= 9) {
		xt_ports(info, n, info[8], r);
	} else if (strcmp(name, "addrtype") == 0 && n >= 8) {
		uint16_t dest;
		uint32_t inv;
		memcpy(&dest, info + 2, 2);
		memcpy(&inv, info + 4, 4);
		bool inverted = rev == 0 ? inv != 0 : (inv & XT_ADDRTYPE_INVERT_DEST) != 0;
		if ((dest & XT_ADDRTYPE_LOCAL) && !inverted)
			r->dst_local = true;
	}
}

/* The xt DNAT/REDIRECT targets of iptables-nft: an nf_nat range in one of
 * its three layouts, by revision (and, for REDIRECT, by family). */
static void on_target(const struct attrs *a, struct pc_nft_rule *r)
{
	char name[32];
	uint32_t rev = 0;
	if (!a->v[NFTA_TARGET_NAME] || !a->v[NFTA_TARGET_INFO])
		return;
	pc_nft_copy_str(name, sizeof(name), a->v[NFTA_TARGET_NAME], a->n[NFTA_TARGET_NAME]);
	if (attr_u32(a, NFTA_TARGET_REV, &rev) < 0)
		return;
	bool dnat = strcmp(name, "DNAT") == 0;
	if (!dnat && strcmp(name, "REDIRECT") != 0)
		return;
	const uint8_t *info = a->v[NFTA_TARGET_INFO];
	size_t n = a->n[NFTA_TARGET_INFO];
	bool v6 = r->family == NFPROTO_IPV6;
	/* nf_nat_ipv4_multi_range_compat: rangesize, then flags, min_ip,
	 * max_ip, min port, max port; otherwise nf_nat_range{,2}: flags,
	 * min_addr[16], max_addr[16], min port, max port */
	bool compat = !v6 && rev == 0;
	size_t flags_off = compat ? 4 : 0, addr_off = compat ? 8 : 4, port_off = compat ? 16 : 36;
	if (n < port_off + 2)
		return;
	uint32_t flags;
	memcpy(&flags, info + flags_off, 4);
	r->nat = dnat ? PC_NFT_NAT_DNAT : PC_NFT_NAT_REDIRECT;
	if (dnat && (flags & 1 /* NF_NAT_RANGE_MAP_IPS */)) {
		r->has_nat_addr = true;
		r->nat_addr.family = v6 ? AF_INET6 : AF_INET;
		memcpy(r->nat_addr.bytes, info + addr_off, v6 ? 16 : 4);
	}
	if (flags & 2 /* NF_NAT_RANGE_PROTO_SPECIFIED */)
		r->nat_port = info[port_off] << 8 | info[port_off + 1];
}

static int parse_expr(const uint8_t *p, size_t len, struct regs *rg, struct pc_nft_rule *r)
{
	const uint8_t *name = NULL, *data = NULL;
	size_t nname = 0, ndata = 0;
	uint16_t t;
	const uint8_t *v;
	size_t n;
	int e;
	while ((e = pc_nla_next(&p, &len, &t, &v, &n)) > 0) {
		if (t == NFTA_EXPR_NAME) {
			name = v;
			nname = n;
		} else if (t == NFTA_EXPR_DATA) {
			data = v;
			ndata = n;
		}
	}
	if (e < 0)
		return e;
	if (!name)
		return PC_EPARSE;
	char ename[32];
	pc_nft_copy_str(ename, sizeof(ename), name, nname);
	struct attrs a;
	if (data && (e = collect(data, ndata, &a)) < 0)
		return e;
	if (!data)
		memset(&a, 0, sizeof(a));
	if (strcmp(ename, "payload") == 0)
		on_payload(&a, rg);
	else if (strcmp(ename, "meta") == 0)
		on_meta(&a, rg);
	else if (strcmp(ename, "fib") == 0)
		on_fib(&a, rg);
	else if (strcmp(ename, "numgen") == 0)
		on_numgen(&a, rg, r);
	else if (strcmp(ename, "lookup") == 0)
		on_lookup(&a, rg, r);
	else if (strcmp(ename, "cmp") == 0)
		return on_cmp(&a, rg, r);
	else if (strcmp(ename, "immediate") == 0)
		return on_immediate(&a, rg, r);
	else if (strcmp(ename, "nat") == 0)
		on_nat(&a, rg, r);
	else if (strcmp(ename, "redir") == 0)
		on_redir(&a, rg, r);
	else if (strcmp(ename, "match") == 0)
		on_match(&a, r);
	else if (strcmp(ename, "target") == 0)
		on_target(&a, r);
	else if (strcmp(ename, "bitwise") == 0) {
		/* a masked load (a prefix, not one address): forget what the
		 * register held, so the cmp after it is not misread */
		uint32_t dreg;
		if (attr_u32(&a, NFTA_BITWISE_DREG, &dreg) == 0)
			set_reg(rg, dreg, R_NONE, NULL, 16);
	}
	return 0;
}

int pc_nft_parse_exprs(const uint8_t *p, size_t len, struct pc_nft_rule *r)
{
	/* the registers live for one rule: the kernel starts each rule with
	 * them cleared, and so do we */
	struct regs rg;
	memset(&rg, 0, sizeof(rg));
	uint16_t t;
	const uint8_t *v;
	size_t n;
	int e;
	while ((e = pc_nla_next(&p, &len, &t, &v, &n)) > 0) {
		if (t != NFTA_LIST_ELEM)
			continue;
		int e2 = parse_expr(v, n, &rg, r);
		if (e2 < 0)
			return e2;
	}
	return e;
}
