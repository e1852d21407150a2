/*
 * nft.h - the rules of a namespace's nftables ruleset, read through
 * NETLINK_NETFILTER (NFT_MSG_GETRULE dump), reduced to what forwarding
 * needs, and the parser of the kernel's reply.
 *
 * A rule is reduced to: its table, family and chain; the destination it
 * matches (layer 4 protocol, destination address, destination port, "the
 * destination is a local address"); a statistic-mode probability; its
 * verdict (jump/goto another chain, return, accept/drop); the NAT it does
 * (dnat to address:port, redirect to port); and its comment (the rule's
 * userdata comment, which iptables-nft writes for `-m comment`, or the xt
 * `comment` match of older iptables-nft). Rules written by iptables-nft are
 * nftables rules too, so kube-proxy, Docker and netavark chains all arrive
 * here. Anything a rule does that is not one of these is ignored: a rule
 * whose match we do not understand keeps only the parts we do.
 *
 * The parser is pure: it walks one recv() worth of netlink messages,
 * checks every nlmsg and nlattr length, and hands one pc_nft_rule per
 * NFT_MSG_NEWRULE to a callback. The unit tests feed it captured dumps cut
 * at every byte; tests/fuzz/fuzz_nft.c hammers it.
 */
#ifndef PC_INVENTORY_NFT_H
#define PC_INVENTORY_NFT_H

#include "core/addr.h"
#include "inventory/netlink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_NFT_NAME_MAX 256    /* NFT_NAME_MAXLEN is 256 with the NUL */
#define PC_NFT_COMMENT_MAX 256 /* xt comment and udata comments are capped so */

enum pc_nft_verdict {
	PC_NFT_V_NONE = 0, /* falls through to the next rule */
	PC_NFT_V_JUMP,
	PC_NFT_V_GOTO,
	PC_NFT_V_RETURN,
	PC_NFT_V_ACCEPT,
	PC_NFT_V_DROP,
};

enum pc_nft_nat {
	PC_NFT_NAT_NONE = 0,
	PC_NFT_NAT_DNAT,
	PC_NFT_NAT_REDIRECT,
};

/* What a lookup's key is made of, field by field (a concatenation such as
 * `ip daddr . meta l4proto . th dport` is three fields, each in its own
 * 32-bit register slot, a 16-byte address in four). */
enum pc_nft_field {
	PC_NFT_F_OTHER = 0,
	PC_NFT_F_DADDR4,
	PC_NFT_F_DADDR6,
	PC_NFT_F_L4PROTO,
	PC_NFT_F_DPORT,
	PC_NFT_F_NUMGEN, /* numgen random mod N: the key is 0..N-1 */
};

#define PC_NFT_LOOKUP_FIELDS 4
#define PC_NFT_RULE_LOOKUPS 2

/* `... @set` (membership) or `... vmap @map` / `vmap { ... }` (verdict). */
struct pc_nft_lookup {
	char set[PC_NFT_NAME_MAX]; /* named or anonymous ("__map%d") set */
	uint8_t n_fields;
	uint8_t field[PC_NFT_LOOKUP_FIELDS]; /* enum pc_nft_field */
	bool vmap;     /* the element's verdict decides (dreg is the verdict) */
	bool inverted; /* != @set */
};

struct pc_nft_rule {
	uint8_t family; /* NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET, ... */
	char table[PC_NFT_NAME_MAX];
	char chain[PC_NFT_NAME_MAX];
	uint64_t handle;

	/* destination match (only equality matches count) */
	int l4proto; /* IPPROTO_TCP/UDP, or -1 when not matched */
	bool has_daddr;
	struct pc_addr daddr; /* an exact (/32, /128) destination */
	int dport;            /* -1 when not matched */
	bool dst_local;       /* addrtype --dst-type LOCAL, fib daddr type local */
	double probability;   /* statistic --mode random; < 0 when none */

	enum pc_nft_verdict verdict;
	char target[PC_NFT_NAME_MAX]; /* chain of a jump/goto */

	enum pc_nft_nat nat;
	bool has_nat_addr;
	struct pc_addr nat_addr;
	int nat_port; /* -1 when the rule keeps the port */

	char comment[PC_NFT_COMMENT_MAX]; /* "" when none */

	struct pc_nft_lookup lookup[PC_NFT_RULE_LOOKUPS];
	uint8_t n_lookups;
	uint32_t numgen_mod; /* modulus of the rule's numgen, 0 when none */
};

typedef int (*pc_nft_rule_fn)(void *ctx, const struct pc_nft_rule *rule);

/*
 * Parse buf (len bytes, one recv() worth) of replies to the rule dump with
 * sequence number seq (messages with another seq are skipped). Returns 0,
 * PC_EPARSE for a truncated or malformed message, the negative errno of an
 * NLMSG_ERROR, or the callback's non-zero value.
 */
int pc_nft_parse(const void *buf, size_t len, uint32_t seq, pc_nft_rule_fn fn, void *ctx,
                 struct pc_nl_status *ret_status);

/* The NFT_MSG_GETRULE dump request with that seq, into buf, for family
 * (NFPROTO_UNSPEC: all) and, when not NULL, one table and one chain of
 * it; returns its length, 0 when it does not fit. */
size_t pc_nft_request(void *buf, size_t len, uint32_t seq, uint8_t family, const char *table,
                      const char *chain);

/*
 * Dump the rules of one chain (or, with NULL names, all rules) of the
 * namespace fd (a NETLINK_NETFILTER socket) was made in. Why per chain:
 * the kernel resumes a long rule dump by walking the ruleset from its start
 * again for every buffer it fills, so one dump of 40,000 rules costs
 * quadratic kernel time (0.3 s here); per-chain dumps stay linear.
 * Bounded like sock_diag dumps (buffer, timeout, total cap). When capture
 * is not NULL, every buffer received is also passed to it (the tests'
 * capture tool). Returns 0, 1 when the dump was interrupted (drop the rules
 * and dump again), -errno, PC_EPARSE, PC_ETIMEOUT, PC_ETOOBIG or the
 * callback's value.
 */
int pc_nft_dump(int fd, uint8_t family, const char *table, const char *chain, pc_nft_rule_fn fn,
                void *ctx, void (*capture)(void *cctx, const void *buf, size_t len), void *cctx);

/* One chain, as NFT_MSG_GETCHAIN lists it. */
struct pc_nft_chain {
	uint8_t family;
	char table[PC_NFT_NAME_MAX];
	char name[PC_NFT_NAME_MAX];
};

typedef int (*pc_nft_chain_fn)(void *ctx, const struct pc_nft_chain *chain);

/* Parse one recv() worth of a GETCHAIN dump reply (one callback per chain;
 * same contract as pc_nft_parse). */
int pc_nft_parse_chains(const void *buf, size_t len, uint32_t seq, pc_nft_chain_fn fn, void *ctx,
                        struct pc_nl_status *ret_status);

/* Dump every chain of every table; like pc_nft_dump(). */
int pc_nft_dump_chains(int fd, pc_nft_chain_fn fn, void *ctx,
                       void (*capture)(void *cctx, const void *buf, size_t len), void *cctx);

/* One element of a set or map, as GETSETELEM returns it. */
struct pc_nft_elem {
	uint8_t key[64];
	size_t key_len;
	bool interval_end;           /* NFT_SET_ELEM_INTERVAL_END: not a value */
	enum pc_nft_verdict verdict; /* vmap: what the element does */
	char chain[PC_NFT_NAME_MAX];
};

typedef int (*pc_nft_elem_fn)(void *ctx, const struct pc_nft_elem *elem);

/* Parse one recv() worth of a GETSETELEM dump reply (same contract as
 * pc_nft_parse, one callback per element). */
int pc_nft_parse_elems(const void *buf, size_t len, uint32_t seq, pc_nft_elem_fn fn, void *ctx,
                       struct pc_nl_status *ret_status);

/* The GETSETELEM dump request of set in (family, table), into buf;
 * returns its length, 0 when buf is too small or a name too long. */
size_t pc_nft_elems_request(void *buf, size_t len, uint32_t seq, uint8_t family, const char *table,
                            const char *set);

/* Dump the elements of one set; like pc_nft_dump(). */
int pc_nft_dump_elems(int fd, uint8_t family, const char *table, const char *set, pc_nft_elem_fn fn,
                      void *ctx, void (*capture)(void *cctx, const void *buf, size_t len),
                      void *cctx);

#endif
