/*
 * load_int.h - what the four files of the policy loader share (load.c,
 * load_node.c, load_rule.c, load_section.c); not part of policy.h.
 *
 * struct loader is the state of one walk over a libyaml document: the
 * policy being filled (its arena owns every string), the diagnostics, and
 * one flag per node so a node reached twice (an alias) is refused. Every
 * pc_policy_node_* read checks the node's type and bounds and, when it
 * fails, adds a diagnostic at the node's line and column and returns
 * NULL/false: callers skip the value and go on, so one load reports every
 * problem of the file.
 */
#ifndef PC_POLICY_LOAD_INT_H
#define PC_POLICY_LOAD_INT_H

#include "core/text.h"
#include "core/yamlnode.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

struct loader {
	struct pc_policy *p;
	struct pc_policy_diags *diags;
	yaml_document_t *doc;
	uint8_t *seen; /* one flag per node: aliases are refused */
	size_t n_nodes;
	const char *rule; /* current rule name for diagnostics, or NULL */
	bool nomem;
};

/* the 1-based line and column of a node */
struct pc_policy_pos pc_policy_node_pos(const yaml_node_t *n);
/* a diagnostic at n, naming the current rule (L->rule) when there is one */
void pc_policy_node_bad(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The node at index i, or NULL (after a diagnostic at from, else at the
 * node) when it was already visited: only an alias can reach a node twice. */
yaml_node_t *pc_policy_node_visit(struct loader *L, int i, const yaml_node_t *from);
/* Scalar text (at most PC_POLICY_MAX_STRING bytes, no NUL), or NULL after a
 * diagnostic naming what was expected. */
const char *pc_policy_node_scalar(struct loader *L, const yaml_node_t *n, const char *what);
/* A non-empty scalar without control characters, copied into the policy's
 * arena, or NULL. */
const char *pc_policy_node_text(struct loader *L, const yaml_node_t *n, const char *what);
/* A zeroed array of count items in the policy's arena (never size 0, so a
 * successful empty list is not NULL); NULL after noting the failure. */
void *pc_policy_node_alloc(struct loader *L, size_t count, size_t size);
/* Whether n is a mapping / a list of at most PC_POLICY_MAX_LIST items; a
 * diagnostic when not. */
bool pc_policy_node_mapping(struct loader *L, const yaml_node_t *n, const char *what);
bool pc_policy_node_sequence(struct loader *L, const yaml_node_t *n, const char *what);
#define SEQ_COUNT(n) ((size_t)((n)->data.sequence.items.top - (n)->data.sequence.items.start))

/*
 * Iterate over a mapping's keys: calls fn for each known key (index into
 * keys[], at most 16 keys) with its value; unknown and duplicate keys are
 * diagnosed here, once, naming the keys that are allowed.
 */
typedef void (*pc_policy_key_fn)(struct loader *L, void *ctx, size_t key, yaml_node_t *k,
                                 yaml_node_t *v);
void pc_policy_node_each_key(struct loader *L, const yaml_node_t *map, const char *const *keys,
                             size_t n_keys, void *ctx, pc_policy_key_fn fn);

/* One CIDR (no host bits set) / a list of them into an arena array (the
 * good ones; false when any was bad). */
bool pc_policy_node_cidr(struct loader *L, const yaml_node_t *n, struct pc_policy_cidr *ret);
bool pc_policy_node_cidr_list(struct loader *L, const yaml_node_t *n, const char *what,
                              struct pc_policy_cidr **ret, size_t *ret_n);

/* Decimal digits only (no sign, no space, at most 10 digits), <= max. */
bool pc_policy_parse_uint(const char *s, unsigned long max, unsigned long *ret);

/* The sections (load_section.c) and the rules (load_rule.c). */
void pc_policy_load_segments(struct loader *L, const yaml_node_t *n);
void pc_policy_load_scope(struct loader *L, const yaml_node_t *n);
void pc_policy_load_defaults(struct loader *L, const yaml_node_t *n);
void pc_policy_load_listeners(struct loader *L, yaml_node_t *n);

#endif
