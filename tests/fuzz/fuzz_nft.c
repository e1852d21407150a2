/*
 * fuzz_nft.c - the nftables dump parsers (src/inventory/nft.c) and the
 * forwarding walk over what they return (src/inventory/forward.c), on
 * arbitrary bytes, as if one recv() from NETLINK_NETFILTER returned them;
 * and the RTM_GETADDR parser beside them.
 *
 * The first byte picks the parser (0: rules, then the walk over them;
 * 1: set elements, into a set a first rule buffer declared; 2: addresses;
 * 3: the chain list);
 * the rest is the buffer, copied so ASan sees any read past its end. The
 * dump's sequence number is taken from the first message, so seeds cut
 * from real captures (tests/unit/data/forward) keep theirs.
 */
#include "core/error.h"
#include "inventory/forward.h"
#include "inventory/nft.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_addr(void *ctx, const struct pc_addr *a)
{
	(void)a;
	(*(size_t *)ctx)++;
	return 0;
}

static int count_chain(void *ctx, const struct pc_nft_chain *c)
{
	/* names are always NUL-terminated within their arrays */
	if (strnlen(c->table, sizeof(c->table)) == sizeof(c->table) ||
	    strnlen(c->name, sizeof(c->name)) == sizeof(c->name))
		abort();
	(*(size_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 4;
	size_t len = size - 1;
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	uint32_t seq = 0;
	if (len >= 12)
		memcpy(&seq, buf + 8, 4);
	struct pc_fwd_rules *rs = pc_fwd_rules_new();
	struct pc_nl_status st = {0};
	if (!rs) {
		free(buf);
		return 0;
	}
	if (which == 0) {
		pc_nft_parse(buf, len, seq, pc_fwd_rules_add, rs, &st);
		/* every set the rules name is "loaded" empty: the walk must
		 * cope with whatever lookups the bytes described */
		for (size_t i = 0; i < pc_fwd_rules_n_sets(rs); i++)
			pc_fwd_rules_set_loaded(rs, i, true);
		struct pc_fwd_front *fr = NULL;
		size_t n = 0;
		if (pc_fwd_analyse(rs, &fr, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (fr[i].n_to == 0 || strlen(fr[i].rule) >= sizeof(fr[i].rule))
					abort();
			pc_fwd_fronts_free(fr, n);
		}
	} else if (which == 1) {
		/* a rule that looks a key up in "s": elements land there */
		struct pc_nft_rule r;
		memset(&r, 0, sizeof(r));
		r.family = 2;
		memcpy(r.table, "t", 2);
		memcpy(r.chain, "c", 2);
		r.l4proto = r.dport = r.nat_port = -1;
		r.probability = -1;
		r.n_lookups = 1;
		memcpy(r.lookup[0].set, "s", 2);
		r.lookup[0].n_fields = 3;
		r.lookup[0].field[0] = PC_NFT_F_DADDR4;
		r.lookup[0].field[1] = PC_NFT_F_L4PROTO;
		r.lookup[0].field[2] = PC_NFT_F_DPORT;
		r.lookup[0].vmap = true;
		if (pc_fwd_rules_add(rs, &r) == 0 && pc_fwd_rules_n_sets(rs) == 1) {
			uint8_t family;
			const char *table, *name;
			pc_fwd_rules_set(rs, 0, &family, &table, &name);
			pc_nft_parse_elems(buf, len, seq, pc_fwd_rules_add_elem, rs, &st);
			pc_fwd_rules_set_loaded(rs, 0, true);
			struct pc_fwd_front *fr = NULL;
			size_t n = 0;
			if (pc_fwd_analyse(rs, &fr, &n) == 0)
				pc_fwd_fronts_free(fr, n);
		}
	} else if (which == 2) {
		size_t n = 0;
		bool done = false;
		pc_fwd_parse_addrs(buf, len, seq, count_addr, &n, &done);
	} else {
		size_t n = 0;
		pc_nft_parse_chains(buf, len, seq, count_chain, &n, &st);
		if (n != st.rules)
			abort();
	}
	pc_fwd_rules_free(rs);
	free(buf);
	return 0;
}
