/*
 * forward.h - published and forwarded ports: the NAT rules of every
 * network namespace turned into endpoints with a `forward` object, each
 * target resolved to the listener that serves it on this host.
 *
 * Two halves:
 * - pc_fwd_rules / pc_fwd_analyse(): pure. Rules (from nft.c) in, "fronts"
 *   out: one (family, proto, destination address or any, destination port)
 *   that a client dials, with the DNAT/REDIRECT targets reached from it and
 *   the share of traffic each gets (statistic-mode splits). The walk starts
 *   at every chain no rule jumps to (the base chains), follows jump/goto,
 *   and carries the destination matched so far, so kube-proxy's
 *   KUBE-SERVICES -> KUBE-NODEPORTS -> KUBE-EXT -> KUBE-SVC -> KUBE-SEP
 *   chains, Docker's DOCKER chain and netavark's NETAVARK-HOSTPORT-DNAT ->
 *   NETAVARK-DN-* chains all end as one front with its targets.
 * - pc_forward_collect(): reads every namespace's rules and addresses
 *   through netlink sockets made inside it, adds the fronts to the
 *   snapshot, and resolves targets to listeners.
 */
#ifndef PC_INVENTORY_FORWARD_H
#define PC_INVENTORY_FORWARD_H

#include "core/error.h"
#include "core/model.h"
#include "inventory/nft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_fwd_rules;

struct pc_fwd_target {
	struct pc_addr addr; /* family 0: the front's own address (redirect) */
	uint16_t port;
	double weight; /* statistic share, < 0 when the path had no split */
};

struct pc_fwd_front {
	int family; /* AF_INET or AF_INET6 */
	enum pc_proto proto;
	struct pc_addr addr; /* any (0.0.0.0 / ::) when the rule names no address */
	uint16_t port;
	bool local_only; /* addrtype/fib "destination is local" was required */
	enum pc_forward_kind kind;
	char rule[2 * PC_NFT_NAME_MAX + PC_NFT_COMMENT_MAX + 4]; /* "table/chain: comment" */
	struct pc_fwd_target *to;
	size_t n_to;
};

/* A rule set being gathered; NULL on ENOMEM. */
struct pc_fwd_rules *pc_fwd_rules_new(void);
void pc_fwd_rules_free(struct pc_fwd_rules *rules);
/* Keep what forwarding needs of one rule (a pc_nft_rule_fn). */
int pc_fwd_rules_add(void *rules, const struct pc_nft_rule *rule);
size_t pc_fwd_rules_count(const struct pc_fwd_rules *rules);
/* The sets the rules look up (named, and the anonymous maps of `vmap {
 * ... }`): how many, and the i-th one's address. pc_fwd_rules_set() also
 * makes it the set pc_fwd_rules_add_elem() (a pc_nft_elem_fn) adds to;
 * mark it loaded once its elements are all in (an unloaded set is not
 * followed). */
size_t pc_fwd_rules_n_sets(const struct pc_fwd_rules *rules);
void pc_fwd_rules_set(struct pc_fwd_rules *rules, size_t i, uint8_t *ret_family,
                      const char **ret_table, const char **ret_name);
int pc_fwd_rules_add_elem(void *rules, const struct pc_nft_elem *elem);
void pc_fwd_rules_set_loaded(struct pc_fwd_rules *rules, size_t i, bool loaded);

/* Walk the rules into fronts (sorted by family, proto, address, port);
 * free with pc_fwd_fronts_free(). 0, PC_ENOMEM, or PC_ETOOBIG when the
 * ruleset is too big to walk (a cap on steps guards against jump webs). */
int pc_fwd_analyse(const struct pc_fwd_rules *rules, struct pc_fwd_front **ret_fronts,
                   size_t *ret_n);
void pc_fwd_fronts_free(struct pc_fwd_front *fronts, size_t n);

/* Parse one recv() worth of an RTM_GETADDR dump with sequence seq: each
 * local address is handed to fn. *done is set at NLMSG_DONE. 0, PC_EPARSE,
 * the negative errno of an NLMSG_ERROR, or fn's value. */
int pc_fwd_parse_addrs(const void *buf, size_t len, uint32_t seq,
                       int (*fn)(void *ctx, const struct pc_addr *a), void *ctx, bool *done);

struct pc_netns_set;

/*
 * For every namespace of set: read its NAT rules and local addresses; add
 * each front as an endpoint (source host, state forwarded) or, when a
 * listener already holds that port, give that listener the forward; then
 * resolve every target to a listener of this snapshot (backend_index).
 * Listeners owned by a userland proxy (docker-proxy, conmon, rootlessport,
 * slirp4netns, pasta) get kind proxy. Namespaces whose rules we may not
 * read (EPERM, EACCES: not root) are counted in *ret_denied for the
 * inventory's one privilege warning; other problems are warnings on snap.
 * Returns 0 or PC_ENOMEM.
 */
int pc_forward_collect(struct pc_snapshot *snap, const struct pc_netns_set *set,
                       unsigned *ret_denied, struct pc_error *err);

/* After probing: a front without a service of its own takes the service
 * its (first resolved) backend listener was identified as. */
void pc_forward_join_services(struct pc_snapshot *snap);

#endif
