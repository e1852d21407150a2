/*
 * inventory.h - the host side of the map: every listening (and optionally
 * established) socket in every network namespace, joined to its owners.
 *
 * Contract:
 * - Sockets are read with NETLINK_SOCK_DIAG (inet_diag), one dump per
 *   namespace per (family, protocol), with a socket created inside that
 *   namespace. /proc/net/{tcp,tcp6,udp,udp6} is the fallback when netlink is
 *   unavailable (or when opts->force_proc is set, for tests), read through
 *   a process whose network namespace is the one wanted (/proc/PID/net/...).
 * - Namespaces come from /proc/PID/ns/net of every visible process and from
 *   the entries of /run/netns; each is read once, however many processes share it.
 * - Owners come from one walk of /proc/PID/fd (socket inode -> pids); a
 *   socket shared by several processes lists all of them.
 * - Processes that exit while we read are normal and never an error.
 *   Missing privileges are reported with pc_snapshot_warn(), once, in plain
 *   words, never as a failure.
 * - Every endpoint gets source HOST, proto, addr, port, state (LISTEN for
 *   TCP listeners and bound UDP sockets, ESTABLISHED with peer), bind,
 *   netns {inode, name}, sock_inode, uid, owners.
 * - netns.name is the /run/netns name; failing that, for a namespace that
 *   is not ours and whose owners all belong to one container or pod, the
 *   pod's "NAMESPACE/POD" or the container's name, when the runtime's state
 *   on disk gives it (container.h); else NULL.
 */
#ifndef PC_INVENTORY_INVENTORY_H
#define PC_INVENTORY_INVENTORY_H

#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>

struct pc_netns_set;

struct pc_inventory_opts {
	bool listeners;   /* TCP LISTEN + bound UDP (default true) */
	bool established; /* established TCP with peer */
	bool owners;      /* attribute owners via /proc/PID/fd (default true) */
	bool all_netns;   /* every namespace (default true); false: only ours */
	bool force_proc;  /* use the /proc/net fallback instead of netlink */
	const char *proc_root; /* NULL means "/proc" (tests point it elsewhere) */
	const char *netns_dir; /* NULL means "/run/netns" */
	/* NULL means "/": where the container runtimes' state is looked for
	 * (/var/lib/docker, /var/lib/containers, /var/log/pods), for the
	 * names of containers and pods; tests point it elsewhere */
	const char *runtime_root;
};

void pc_inventory_opts_default(struct pc_inventory_opts *opts);

/*
 * Append the host's sockets to snap. If nsset is not NULL it receives the
 * namespaces that were read (with open fds), for later live checks from
 * inside each namespace; free it with pc_netns_set_free(). Returns 0, or a
 * negative PC_E* code with err filled when nothing at all could be read.
 */
int pc_inventory_collect(struct pc_snapshot *snap, const struct pc_inventory_opts *opts,
			 struct pc_netns_set **nsset, struct pc_error *err);

#endif
