/*
 * hostmap.h - a small map from a host, (network namespace, address), to
 * one 32-bit value the caller chooses: a count of probes in flight, or an
 * index into the caller's own array of per-host records.
 *
 * It is the one hash table that per-host bookkeeping shares (the probe
 * engine's per-host queues and in-flight counts, the per-host caps of the
 * connect scanner and of the SYN/UDP probe loop), so that each of them
 * does not grow its own. Open
 * addressing with linear probing; removal shifts later members of a run
 * back (no tombstones), so lookups stay short however long a run lasts.
 * The table grows (doubling, at half load) only in pc_hostmap_put; a map
 * made for at most N hosts never allocates again while it holds N or fewer,
 * which lets a scan loop use it where it cannot handle an allocation
 * failure.
 *
 * The namespace is the inode of a network namespace for host-side records
 * (127.0.0.1 in two containers is two hosts), 0 for network-side ones.
 */
#ifndef PC_CORE_HOSTMAP_H
#define PC_CORE_HOSTMAP_H

#include "core/addr.h"

#include <stddef.h>
#include <stdint.h>

struct pc_hostmap;

/* A map with room for expect hosts before it grows. 0 or PC_ENOMEM. */
int pc_hostmap_new(size_t expect, struct pc_hostmap **ret_map);
void pc_hostmap_free(struct pc_hostmap *m);

/* The value of (ns, addr), or NULL when absent. The pointer is valid until
 * the next put or remove. */
uint32_t *pc_hostmap_get(const struct pc_hostmap *m, uint64_t ns, const struct pc_addr *addr);
/* Find (ns, addr), adding it with value 0 when absent; *ret_value points at
 * its value (valid until the next put or remove). Returns 1 when added, 0
 * when found, PC_ENOMEM when it had to grow and could not. */
int pc_hostmap_put(struct pc_hostmap *m, uint64_t ns, const struct pc_addr *addr,
		   uint32_t **ret_value);
/* Forget (ns, addr); nothing when absent. */
void pc_hostmap_remove(struct pc_hostmap *m, uint64_t ns, const struct pc_addr *addr);
size_t pc_hostmap_count(const struct pc_hostmap *m);

#endif
