/*
 * targets.h - the set of addresses a scan may probe.
 *
 * Specs (one per argument, per -iL line, per --exclude item):
 *   198.18.0.7            one IPv4 address
 *   fd00:198:18::7        one IPv6 address ([fd00::7] also accepted)
 *   198.18.0.0/16         CIDR (host bits are ignored, as nmap does)
 *   fd00:198:18::/120     IPv6 CIDR
 *   198.18.0.1-198.18.3.9 dash range, inclusive; also for IPv6
 *   198.18.0.1-20         nmap-style range of the last octet
 *   db1.lab               host name, resolved once when added; the name is
 *                         kept and printed with each result
 *
 * The set is finished once (pc_targets_finish): exclusions are taken out
 * (they always win), overlapping specs are merged so each address is probed
 * once, multicast addresses and 255.255.255.255 are dropped unless they were
 * listed alone, and the scope guard refuses any address outside the internal
 * ranges (pc_addr_is_internal) unless allow_public. After that the set is a
 * sorted array of disjoint ranges: index -> address is a binary search, and
 * memory is proportional to the number of specs, never to the addresses.
 */
#ifndef PC_SCAN_TARGETS_H
#define PC_SCAN_TARGETS_H

#include "core/addr.h"
#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_targets;

/* Largest number of addresses in a finished set (a whole IPv4 space). */
#define PC_TARGETS_MAX_ADDRS (UINT64_C(1) << 32)
/* Largest number of specs (includes plus excludes) and of file bytes. */
#define PC_TARGETS_MAX_SPECS (1u << 20)
#define PC_TARGETS_MAX_FILE (64u << 20)

/* Resolve a host name to one address; 0 or a negative code. The default
 * uses getaddrinfo and takes the first address it returns (IPv4 first). */
typedef int (*pc_targets_resolver)(void *ctx, const char *name, struct pc_addr *ret_addr);

struct pc_targets *pc_targets_new(void);
void pc_targets_free(struct pc_targets *t);
/* Replace the resolver (tests and fuzzers must not touch DNS). */
void pc_targets_set_resolver(struct pc_targets *t, pc_targets_resolver fn, void *ctx);

/* Add one spec to the set to scan, or to the exclusions. 0 or PC_EINVAL
 * (bad spec), PC_ETOOBIG (too many specs), with a message naming the spec. */
int pc_targets_add(struct pc_targets *t, const char *spec, struct pc_error *err);
int pc_targets_exclude(struct pc_targets *t, const char *spec, struct pc_error *err);
/* --exclude SPEC,SPEC,...: a comma-separated list. */
int pc_targets_exclude_list(struct pc_targets *t, const char *list, struct pc_error *err);
/* A file of specs (-iL, --exclude-file): whitespace-separated specs, `#`
 * starts a comment to the end of the line. Errors carry file:line:col.
 * path "-" reads standard input. */
int pc_targets_add_file(struct pc_targets *t, const char *path, bool exclude,
			struct pc_error *err);
/* The same over bytes already read; name is used in messages. */
int pc_targets_add_text(struct pc_targets *t, const char *name, const char *text, size_t len,
			bool exclude, struct pc_error *err);

/* Finish the set. PC_ESCOPE names the first address outside the internal
 * ranges; PC_ETOOBIG when more than PC_TARGETS_MAX_ADDRS remain; PC_EINVAL
 * when nothing is left to scan. */
int pc_targets_finish(struct pc_targets *t, bool allow_public, struct pc_error *err);

/*
 * The scope guard, the one check every command that sends packets applies
 * (scan and audit TARGET through pc_targets_finish, verify through the
 * importer, import/import.c): 0 when every address of [first, last] (one
 * family, first <= last) is in an internal range (pc_addr_is_internal),
 * PC_ESCOPE with the first one that is not in *ret_outside (may be NULL),
 * PC_EINVAL for a bad range.
 */
int pc_targets_guard(const struct pc_addr *first, const struct pc_addr *last,
		     struct pc_addr *ret_outside);

/* ---- a finished set ---- */
uint64_t pc_targets_count(const struct pc_targets *t);
/* The i-th address in ascending order (IPv4 before IPv6); i < count. */
void pc_targets_at(const struct pc_targets *t, uint64_t i, struct pc_addr *ret_addr);
/* Index of addr; false when it is not in the set. */
bool pc_targets_index(const struct pc_targets *t, const struct pc_addr *addr,
		      uint64_t *ret_index);
/* The name addr was given as, or NULL. */
const char *pc_targets_hostname(const struct pc_targets *t, const struct pc_addr *addr);
/* Number of disjoint ranges (for tests). */
size_t pc_targets_ranges(const struct pc_targets *t);

#endif
