/*
 * nft_int.h - what nft.c (messages and dumps) and nft_expr.c (the
 * expression decoder) share; not part of nft.h.
 */
#ifndef PC_INVENTORY_NFT_INT_H
#define PC_INVENTORY_NFT_INT_H

#include "inventory/nft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* NFTA_DATA_VALUE bytes or NFTA_DATA_VERDICT of a data attribute. */
struct pc_nft_data {
	const uint8_t *value;
	size_t len;
	bool is_verdict;
	int32_t code;
	char chain[PC_NFT_NAME_MAX];
};

/* A big-endian u32 attribute of exactly 4 bytes: 0, or PC_EPARSE. */
int pc_nft_get_be32(const uint8_t *d, size_t n, uint32_t *ret);
/* Copy an attribute's string (not assumed NUL-terminated) into dst, cut to
 * cap - 1 bytes, always terminated. */
void pc_nft_copy_str(char *dst, size_t cap, const uint8_t *d, size_t n);
/* A data attribute (NFTA_DATA_VALUE or NFTA_DATA_VERDICT) into d: the
 * value points into p. 0 or a negative code. */
int pc_nft_parse_data(const uint8_t *p, size_t len, struct pc_nft_data *d);
/* The NFTA_RULE_EXPRESSIONS list of a rule, replayed into r: 0 or a
 * negative code (a malformed expression fails the rule). */
int pc_nft_parse_exprs(const uint8_t *p, size_t len, struct pc_nft_rule *r);

#endif
