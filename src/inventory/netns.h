/*
 * netns.h - the network namespaces of the host, held open so that later
 * stages can make sockets inside each one.
 *
 * A socket stays in the namespace it was created in, so "work inside a
 * namespace" is: setns() into it, socket(), setns() back. That is all this
 * module does with them; it never leaves the calling thread elsewhere.
 */
#ifndef PC_INVENTORY_NETNS_H
#define PC_INVENTORY_NETNS_H

#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_netns_entry {
	uint64_t inode;
	const char *name; /* /run/netns name, or NULL */
	int fd;           /* O_RDONLY|O_CLOEXEC fd of the namespace, or -1 */
	int pid;          /* one process in it, for /proc/PID/net fallback; 0 if none */
};

struct pc_netns_set;

/* Discover every namespace visible through proc_root and netns_dir (NULL
 * for defaults). With all=false, only the caller's own. Warnings (e.g. no
 * permission to open another process's namespace) go to snap when not NULL;
 * a caller that words its own warning passes NULL and asks
 * pc_netns_denied(). The set is sorted by inode. */
int pc_netns_discover(struct pc_netns_set **ret_set, const char *proc_root,
		      const char *netns_dir, bool all, struct pc_snapshot *snap,
		      struct pc_error *err);
size_t pc_netns_count(const struct pc_netns_set *set);
const struct pc_netns_entry *pc_netns_get(const struct pc_netns_set *set, size_t i);
const struct pc_netns_entry *pc_netns_find(const struct pc_netns_set *set, uint64_t inode);
/* Inode of the caller's own namespace (0 when unknown). */
uint64_t pc_netns_self(const struct pc_netns_set *set);
/* A socket created inside the namespace with that inode; returns the fd
 * (O_CLOEXEC) or a negative errno. The caller's namespace is unchanged on
 * return, and a failure to return to it aborts the process (continuing in
 * the wrong namespace would make every later result a lie). */
int pc_netns_socket(const struct pc_netns_set *set, uint64_t inode, int domain, int type,
		    int protocol);
/* open(path, flags | O_CLOEXEC) from inside the namespace with that inode,
 * e.g. "/proc/thread-self/net/tcp", which then shows that namespace's
 * sockets for as long as the fd is open. Same rules as pc_netns_socket(). */
int pc_netns_open(const struct pc_netns_set *set, uint64_t inode, const char *path, int flags);
/* How many processes' namespaces (or /run/netns entries) could not be read
 * for lack of permission during discovery. */
unsigned pc_netns_denied(const struct pc_netns_set *set);
void pc_netns_set_free(struct pc_netns_set *set);

#endif
