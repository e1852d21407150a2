/*
 * policy.h - policy as code: load a YAML policy (docs/policy.md), lint it,
 * judge a snapshot's endpoints against it, write a starting policy from an
 * audit, and emit the firewall rules that make it true.
 *
 * The policy file is configuration a person writes, so every diagnostic
 * carries file:line:column; it is also input read by a root process from
 * cron, so the loader bounds everything (file size, nesting, counts, string
 * lengths) and never follows YAML aliases. A loaded policy owns all its
 * memory in one arena; pc_policy_free() releases it.
 *
 * Stages: pc_policy_load (structure and types) -> pc_policy_lint (meaning:
 * undefined segments, duplicate names, shadowed rules) -> pc_policy_eval
 * (verdicts on a snapshot) -> pc_policy_emit (nftables, iptables).
 */
#ifndef PC_POLICY_POLICY_H
#define PC_POLICY_POLICY_H

#include "core/addr.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bounds of a policy document (docs/policy.md, "Limits"). */
#define PC_POLICY_MAX_BYTES (4u << 20)
#define PC_POLICY_MAX_DEPTH 8 /* mapping/sequence nesting the loader walks */
#define PC_POLICY_MAX_NODES 2000000u
#define PC_POLICY_MAX_RULES 20000u
#define PC_POLICY_MAX_SEGMENTS 1000u
#define PC_POLICY_MAX_LIST 4096u   /* items in one list (CIDRs, ports, ...) */
#define PC_POLICY_MAX_STRING 1024u /* bytes in one scalar */
#define PC_POLICY_MAX_DIAGS 1000u  /* diagnostics kept; the rest are counted */

struct pc_policy_pos {
	int line, col; /* 1-based; 0 when unknown */
};

struct pc_policy_cidr {
	struct pc_addr addr; /* network address (host bits cleared) */
	uint8_t plen;
};

struct pc_policy_segment {
	const char *name;
	struct pc_policy_cidr *cidrs;
	size_t n_cidrs;
	struct pc_policy_pos pos;
};

struct pc_policy_port_range {
	uint16_t lo, hi;
};

/* One entry of reachable_from: a segment (by index) or a CIDR. */
struct pc_policy_source {
	int segment;              /* index into segments, or -1 for a CIDR */
	const char *segment_name; /* as written, for undefined-name errors */
	struct pc_policy_cidr cidr;
	struct pc_policy_pos pos;
};

enum pc_policy_bind {
	PC_POLICY_BIND_UNSET = 0,
	PC_POLICY_BIND_LOOPBACK,
	PC_POLICY_BIND_ANY,
	PC_POLICY_BIND_CIDRS,
};

enum pc_policy_unlisted {
	PC_POLICY_UNLISTED_VIOLATION = 0,
	PC_POLICY_UNLISTED_WARNING,
	PC_POLICY_UNLISTED_IGNORE,
};

/* A match: every field that is set must hold (AND); lists are OR. Glob
 * fields use fnmatch(3) patterns. */
struct pc_policy_match {
	struct pc_policy_port_range *ports;
	size_t n_ports;
	int proto;             /* -1 any, else enum pc_proto */
	const char *process;   /* glob on an owner's comm or exe */
	const char *unit;      /* glob on an owner's systemd unit */
	const char *container; /* glob on an owner's container name, image or id */
	const char *netns;     /* glob on the namespace name */
	const char *host;      /* glob on the host name (host records) or the
	                          target name/address (network-side records) */
};

struct pc_policy_rule {
	const char *name;
	struct pc_policy_pos pos; /* the rule's mapping */
	struct pc_policy_match match;
	struct pc_policy_pos match_pos;
	enum pc_policy_bind bind;
	struct pc_policy_cidr *bind_cidrs;
	size_t n_bind_cidrs;
	bool has_reachable; /* reachable_from given (may be empty) */
	struct pc_policy_source *reachable;
	size_t n_reachable;
	bool auth_required, tls_required;
	const char *owner, *doc;
	int64_t reviewed_day; /* days since 1970-01-01, or -1 */
	struct pc_policy_pos reviewed_pos;
};

struct pc_policy_scope {
	const char **hosts, **netns, **containers; /* globs; empty = all */
	size_t n_hosts, n_netns, n_containers;
};

struct pc_policy {
	struct pc_arena arena;
	const char *file;
	int version;
	struct pc_policy_segment *segments;
	size_t n_segments;
	struct pc_policy_scope scope;
	enum pc_policy_unlisted unlisted;
	int review_max_age; /* days; 0 = no review deadline */
	struct pc_policy_rule *rules;
	size_t n_rules;
};

/* One problem found in a policy: where, which rule, what, what was expected. */
struct pc_policy_diag {
	struct pc_policy_pos pos;
	char rule[128]; /* rule name, or "" outside a rule */
	char msg[384];
};

struct pc_policy_diags {
	struct pc_policy_diag *items;
	size_t n, cap;
	size_t dropped; /* beyond PC_POLICY_MAX_DIAGS */
};

void pc_policy_diags_free(struct pc_policy_diags *d);
/* Append one diagnostic (counted in dropped beyond PC_POLICY_MAX_DIAGS). */
void pc_policy_diag_at(struct pc_policy_diags *d, struct pc_policy_pos pos, const char *rule,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "file:line:col: rule NAME: message" (parts omitted when unknown). */
void pc_policy_diag_format(const char *file, const struct pc_policy_diag *d, char *out, size_t len);

/*
 * Parse a policy from memory. `file` names it in diagnostics. Every
 * structural problem (syntax, unknown keys, wrong types, bad CIDRs, ports,
 * dates) is appended to diags; loading goes on after one so a person sees
 * them all. Returns 0 with *ret_policy set when diags stays empty;
 * PC_EINVAL (diags filled, err set to the first) when the document is wrong;
 * PC_ENOMEM / PC_ETOOBIG otherwise. *ret_policy is NULL on failure.
 */
int pc_policy_parse(const char *file, const char *data, size_t len, struct pc_policy **ret_policy,
                    struct pc_policy_diags *diags, struct pc_error *err);
/* Read FILE (bounded by PC_POLICY_MAX_BYTES) and parse it; PC_EIO when it
 * cannot be read. */
int pc_policy_load(const char *file, struct pc_policy **ret_policy, struct pc_policy_diags *diags,
                   struct pc_error *err);
void pc_policy_free(struct pc_policy *p);
/* The same, but on PC_EINVAL *ret_policy holds what could be loaded (or
 * NULL when nothing could), so lint can add its findings: for `policy lint`
 * and the fuzz target. The caller frees it. */
int pc_policy_load_partial(const char *file, struct pc_policy **ret_policy,
                           struct pc_policy_diags *diags, struct pc_error *err);
int pc_policy_parse_partial(const char *file, const char *data, size_t len,
                            struct pc_policy **ret_policy, struct pc_policy_diags *diags,
                            struct pc_error *err);
/* Sort diagnostics by position (stable), as a person reads the file. */
void pc_policy_diags_sort(struct pc_policy_diags *d);

/* Check meaning: undefined segment names, duplicate rule names, rules that
 * can never match because an earlier rule matches everything they match.
 * Appends to diags; returns the number of problems found (0 = clean) or
 * PC_ENOMEM. */
int pc_policy_lint(const struct pc_policy *p, struct pc_policy_diags *diags);

/* Parse + lint in one call, as `policy lint` and `--policy` do: 0 when the
 * policy is usable, PC_EINVAL with diags and err filled otherwise. */
int pc_policy_open(const char *file, struct pc_policy **ret_policy, struct pc_policy_diags *diags,
                   struct pc_error *err);

/* Does the rule's match hold for ep (snapshot host `host`)? */
bool pc_policy_match_endpoint(const struct pc_policy_match *m, const struct pc_endpoint *ep,
                              const char *host);
/* Is ep inside the policy's scope? */
bool pc_policy_in_scope(const struct pc_policy *p, const struct pc_endpoint *ep, const char *host);
/* Is the endpoint one a policy judges (a listener or an open port)? */
bool pc_policy_judged(const struct pc_endpoint *ep);
/* Index of the first rule matching ep, or -1 (linear: tests and one-offs). */
long pc_policy_first_match(const struct pc_policy *p, const struct pc_endpoint *ep,
                           const char *host);

/* The same answer through a per-port index of the rules, for judging tens of
 * thousands of endpoints against thousands of rules. */
struct pc_policy_index;
int pc_policy_index_new(const struct pc_policy *p, struct pc_policy_index **ret_index);
long pc_policy_index_first(const struct pc_policy_index *idx, const struct pc_endpoint *ep,
                           const char *host);
/* The rules that may match port `port` (-1: an endpoint-less question, only
 * the rules that name no port or a wide range), as two ascending lists of
 * rule indices: those naming the port and the wide ones. Lint uses them to find shadowing rules without comparing every
 * pair. */
void pc_policy_index_candidates(const struct pc_policy_index *idx, int port, const uint32_t **ret_a,
                                size_t *ret_na, const uint32_t **ret_wide, size_t *ret_nwide);
void pc_policy_index_free(struct pc_policy_index *idx);

struct pc_policy_eval_opts {
	int64_t now_ms;   /* for review deadlines; 0 = the wall clock */
	const char *from; /* segment or CIDR the network-side records were
	                     seen from, or NULL when unknown */
};

/* Counts of what the evaluation found, for the summary and the exit code. */
struct pc_policy_result {
	size_t allowed, violation, undocumented, stale, review_due;
	bool undocumented_fails; /* defaults.unlisted is violation */
};

/*
 * Judge every endpoint of snap: set ep->policy (rule, verdict, reasons) for
 * listeners and open ports in scope, and add findings for stale rules and
 * rules due for review. A plain stage: reads the policy, writes the
 * snapshot. 0, PC_EINVAL (opts.from names no segment), or PC_ENOMEM.
 */
int pc_policy_eval(struct pc_snapshot *snap, const struct pc_policy *p,
                   const struct pc_policy_eval_opts *opts, struct pc_policy_result *ret_result,
                   struct pc_error *err);

/* Write a starting policy (YAML) documenting every listener of snap;
 * today_day is the date written in `reviewed` (days since the epoch). */
int pc_policy_init_write(FILE *f, const struct pc_snapshot *snap, int64_t today_day);

/* Firewall emitters: one const struct per format, listed in pc_policy_emitters. */
struct pc_policy_emit_opts {
	const char *policy_file; /* named in the header comment */
};

struct pc_policy_emitter {
	const char *name; /* "nft", "iptables", "ip6tables" */
	const char *description;
	/* Write rules that make p true for the listeners of snap (host records
	 * of one namespace): documented listeners accepted only from their
	 * reachable_from sources, every other listening port dropped, SSH kept
	 * unless a rule names it. Deterministic: same input, same bytes. */
	int (*write)(FILE *f, const struct pc_policy *p, const struct pc_snapshot *snap,
	             const struct pc_policy_emit_opts *opts);
};

extern const struct pc_policy_emitter *const pc_policy_emitters[]; /* NULL-terminated */
extern const struct pc_policy_emitter pc_policy_emit_nft;
extern const struct pc_policy_emitter pc_policy_emit_iptables;
extern const struct pc_policy_emitter pc_policy_emit_ip6tables;
const struct pc_policy_emitter *pc_policy_emitter_find(const char *name);

/*
 * The plan both emitters print: one entry per (proto, port) the host listens
 * on beyond loopback, sorted, saying who may reach it.
 */
enum pc_policy_plan_action {
	PC_PLAN_RESTRICT = 0, /* accept from sources, drop the rest */
	PC_PLAN_OPEN,         /* documented without reachable_from: left alone */
	PC_PLAN_DROP,         /* undocumented, or reachable_from: [] */
	PC_PLAN_KEEP_SSH,     /* undocumented SSH: never cut implicitly */
};

struct pc_policy_plan_entry {
	enum pc_proto proto;
	uint16_t port;
	enum pc_policy_plan_action action;
	const struct pc_policy_rule *rule; /* first documenting rule, or NULL */
	/* sources, for RESTRICT: a bitmap over segments and the CIDRs of the
	 * rules that document this port */
	uint8_t *segments; /* n_segments flags */
	const struct pc_policy_cidr **cidrs;
	size_t n_cidrs;
};

struct pc_policy_plan {
	struct pc_arena arena;
	struct pc_policy_plan_entry *entries;
	size_t n;
};

int pc_policy_plan_build(const struct pc_policy *p, const struct pc_snapshot *snap,
                         struct pc_policy_plan *ret_plan);
void pc_policy_plan_free(struct pc_policy_plan *plan);
/* The CIDRs of one family from in[0..n), without those another one
 * contains (firewall interval sets refuse overlaps), sorted; out holds n. */
size_t pc_policy_cidrs_reduce(const struct pc_policy_cidr *const *in, size_t n, int family,
                              const struct pc_policy_cidr **out);

/* Days since 1970-01-01 of a UTC time in ms; and of "YYYY-MM-DD" (-1 bad). */
int64_t pc_policy_day_of_ms(int64_t ms);
int64_t pc_policy_parse_date(const char *s);
/* "YYYY-MM-DD" of a day number. */
void pc_policy_format_date(int64_t day, char *buf, size_t len);
/* Parse "a.b.c.d/n", "v6/n" or a bare address (full prefix). 0 or PC_EINVAL. */
int pc_policy_parse_cidr(const char *s, struct pc_policy_cidr *ret);
bool pc_policy_cidr_contains(const struct pc_policy_cidr *c, const struct pc_addr *a);
void pc_policy_cidr_format(const struct pc_policy_cidr *c, char *buf, size_t len);

#endif
