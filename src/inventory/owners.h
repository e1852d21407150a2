/*
 * owners.h - which processes hold each socket: one walk of /proc/PID/fd
 * joined to the endpoints by socket inode, then, for the processes that
 * matched, their comm, exe, uid, user name, systemd unit and container.
 */
#ifndef PC_INVENTORY_OWNERS_H
#define PC_INVENTORY_OWNERS_H

#include "core/model.h"
#include "inventory/container.h"

#include <stddef.h>

struct pc_owners_stats {
	unsigned procs;        /* processes looked at */
	unsigned procs_denied; /* whose open files we may not read */
	unsigned procs_gone;   /* that exited while we read */
	size_t fds;            /* descriptors examined */
	size_t matched;        /* (socket, process) pairs found */
};

/*
 * Fill owners of snap->endpoints[first .. n_endpoints) that have a
 * sock_inode, from proc_root (NULL means "/proc"). Each endpoint gets every
 * process holding its socket, by ascending pid. Container names come from
 * names (may be NULL: none). Processes that vanish or that we may not read
 * are counted in ret_stats (may be NULL), never an error. Returns 0,
 * PC_ENOMEM, or -errno when proc_root cannot be read.
 */
int pc_owners_attribute(struct pc_snapshot *snap, size_t first, const char *proc_root,
			struct pc_container_names *names, struct pc_owners_stats *ret_stats);

#endif
