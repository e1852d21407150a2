/*
 * netns.c - find the host's network namespaces and make sockets inside them.
 *
 * Discovery reads the link /proc/PID/ns/net of every visible process
 * ("net:[4026531992]") and the entries of /run/netns (bind mounts of nsfs
 * files, whose inode is the namespace's). A namespace shared by a thousand
 * processes costs a thousand readlink() calls but is opened once: inodes are
 * de-duplicated in a small open-addressing hash as they are seen.
 *
 * Working inside a namespace is setns() into it, socket(), setns() back: a
 * socket stays bound to the namespace it was created in, so the caller's
 * thread never stays elsewhere. The way back is an fd of the calling thread's
 * own namespace, opened for each call (a few microseconds), so the function is
 * correct from any thread. Failing to return aborts: every later result would
 * be about the wrong namespace.
 */
#include "inventory/netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* A hostile or enormous /run/netns must not make us hold unbounded fds. */
#define MAX_NAMESPACES 65536

struct pc_netns_set {
	struct pc_netns_entry *v;
	size_t n, cap;
	uint64_t self;
	unsigned denied;
	/* inode -> index+1, open addressing, used while discovering */
	size_t *slots;
	size_t n_slots;
};

static uint64_t hash_inode(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static int rehash(struct pc_netns_set *s, size_t n_slots)
{
	size_t *slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return PC_ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = hash_inode(s->v[i].inode) & (n_slots - 1);
		while (slots[h])
			h = (h + 1) & (n_slots - 1);
		slots[h] = i + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->n_slots = n_slots;
	return 0;
}

static struct pc_netns_entry *lookup(const struct pc_netns_set *s, uint64_t inode)
{
	if (!s->n_slots)
		return NULL;
	size_t h = hash_inode(inode) & (s->n_slots - 1);
	while (s->slots[h]) {
		struct pc_netns_entry *e = &s->v[s->slots[h] - 1];
		if (e->inode == inode)
			return e;
		h = (h + 1) & (s->n_slots - 1);
	}
	return NULL;
}

/* Add a namespace not yet in the set; fd is taken over (closed on failure). */
static int add_entry(struct pc_netns_set *s, uint64_t inode, int fd, int pid)
{
	if (s->n >= MAX_NAMESPACES) {
		if (fd >= 0)
			close(fd);
		return PC_ETOOBIG;
	}
	if ((s->n + 1) * 2 > s->n_slots) {
		int r = rehash(s, s->n_slots ? s->n_slots * 2 : 64);
		if (r < 0) {
			if (fd >= 0)
				close(fd);
			return r;
		}
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct pc_netns_entry *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			if (fd >= 0)
				close(fd);
			return PC_ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = (struct pc_netns_entry){.inode = inode, .fd = fd, .pid = pid};
	size_t h = hash_inode(inode) & (s->n_slots - 1);
	while (s->slots[h])
		h = (h + 1) & (s->n_slots - 1);
	s->slots[h] = ++s->n;
	return 0;
}

/* "net:[4026531992]" -> 4026531992; 0 when it is not that shape. */
static uint64_t parse_ns_link(const char *s, size_t len)
{
	if (len < 7 || memcmp(s, "net:[", 5) != 0 || s[len - 1] != ']')
		return 0;
	uint64_t v = 0;
	for (size_t i = 5; i < len - 1; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static uint64_t read_ns_inode(const char *path)
{
	char link[64];
	ssize_t n = readlink(path, link, sizeof(link));
	if (n <= 0 || (size_t)n >= sizeof(link))
		return 0;
	uint64_t ino = parse_ns_link(link, (size_t)n);
	if (!ino)
		errno = EINVAL;
	return ino;
}

static int walk_procs(struct pc_netns_set *s, const char *proc_root, unsigned *ret_denied)
{
	DIR *d = opendir(proc_root);
	if (!d)
		return -errno;
	char path[512];
	unsigned denied = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!all_digits(de->d_name))
			continue;
		int n = snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		uint64_t ino = read_ns_inode(path);
		if (!ino) {
			/* EACCES: another user's process; ENOENT: it exited, or a
			 * kernel thread. Only the first is worth telling. */
			if (errno == EACCES || errno == EPERM)
				denied++;
			continue;
		}
		if (lookup(s, ino))
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		r = add_entry(s, ino, fd, (int)strtol(de->d_name, NULL, 10));
		if (r < 0)
			break;
	}
	closedir(d);
	*ret_denied = denied;
	return r;
}

/* A namespace mounted under two names gets the one that sorts first, so
 * the answer does not depend on readdir order. */
static int set_name(struct pc_netns_entry *e, const char *name)
{
	if (e->name && strcmp(e->name, name) <= 0)
		return 0;
	char *copy = strdup(name);
	if (!copy)
		return PC_ENOMEM;
	free((char *)e->name);
	e->name = copy;
	return 0;
}

/* Entries of /run/netns: nsfs bind mounts. A file that is not mounted (a
 * leftover of a crashed `ip netns add`) is not a namespace and is skipped. */
static int walk_named(struct pc_netns_set *s, const char *netns_dir, bool all,
		      unsigned *ret_denied)
{
	DIR *d = opendir(netns_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	char path[512];
	unsigned denied = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		int n = snprintf(path, sizeof(path), "%s/%s", netns_dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		struct statfs sfs;
		struct stat st;
		if (statfs(path, &sfs) != 0 || sfs.f_type != NSFS_MAGIC || stat(path, &st) != 0)
			continue;
		uint64_t ino = (uint64_t)st.st_ino;
		struct pc_netns_entry *e = lookup(s, ino);
		if (!e && !all && ino != s->self)
			continue;
		if (!e) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 && (errno == EACCES || errno == EPERM))
				denied++;
			r = add_entry(s, ino, fd, 0);
			if (r < 0)
				break;
			e = &s->v[s->n - 1];
		} else if (e->fd < 0) {
			e->fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		r = set_name(e, de->d_name);
		if (r < 0)
			break;
	}
	closedir(d);
	*ret_denied = denied;
	return r;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct pc_netns_entry *a = pa, *b = pb;
	return a->inode < b->inode ? -1 : a->inode > b->inode;
}

int pc_netns_discover(struct pc_netns_set **ret_set, const char *proc_root,
		      const char *netns_dir, bool all, struct pc_snapshot *snap,
		      struct pc_error *err)
{
	if (!proc_root)
		proc_root = "/proc";
	if (!netns_dir)
		netns_dir = "/run/netns";
	struct pc_netns_set *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	char path[512];
	int n = snprintf(path, sizeof(path), "%s/self/ns/net", proc_root);
	if (n > 0 && (size_t)n < sizeof(path))
		s->self = read_ns_inode(path);
	int r = 0;
	unsigned denied_procs = 0, denied_named = 0;
	if (s->self) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		/* our pid as proc_root numbers it (a pid namespace, or a test's
		 * fake tree, need not agree with getpid()) */
		char link[32];
		snprintf(path, sizeof(path), "%s/self", proc_root);
		ssize_t len = readlink(path, link, sizeof(link) - 1);
		int pid = 0;
		if (len > 0) {
			link[len] = '\0';
			pid = all_digits(link) ? (int)strtol(link, NULL, 10) : 0;
		}
		r = add_entry(s, s->self, fd, pid);
		if (r < 0)
			goto fail;
	}
	if (all) {
		r = walk_procs(s, proc_root, &denied_procs);
		if (r < 0 && r != -ENOENT && r != -EACCES)
			goto fail;
		r = 0;
	}
	r = walk_named(s, netns_dir, all, &denied_named);
	if (r == PC_ENOMEM || r == PC_ETOOBIG)
		goto fail;
	r = 0;
	s->denied = denied_procs + denied_named;
	if (snap && (denied_procs || denied_named)) {
		if (denied_procs && denied_named)
			pc_snapshot_warn(snap, "not permitted to read the network namespace of "
					       "%u processes nor to open %u namespaces in %s: "
					       "their sockets may be missing (run as root to see "
					       "every namespace)",
					 denied_procs, denied_named, netns_dir);
		else if (denied_procs)
			pc_snapshot_warn(snap, "not permitted to read the network namespace of "
					       "%u processes: their sockets may be missing (run as "
					       "root to see every namespace)",
					 denied_procs);
		else
			pc_snapshot_warn(snap, "not permitted to open %u namespaces in %s: their "
					       "sockets may be missing (run as root to see every "
					       "namespace)",
					 denied_named, netns_dir);
	}
	if (s->n == 0) {
		pc_netns_set_free(s);
		return pc_error_set(err, PC_EIO, "no network namespace found under %s", proc_root);
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	r = rehash(s, s->n_slots);
	if (r < 0)
		goto fail;
	*ret_set = s;
	return 0;
fail:
	pc_netns_set_free(s);
	return pc_error_set(err, r, "finding network namespaces: %s", pc_strerror(r));
}

size_t pc_netns_count(const struct pc_netns_set *set)
{
	return set ? set->n : 0;
}

const struct pc_netns_entry *pc_netns_get(const struct pc_netns_set *set, size_t i)
{
	return set && i < set->n ? &set->v[i] : NULL;
}

const struct pc_netns_entry *pc_netns_find(const struct pc_netns_set *set, uint64_t inode)
{
	return set ? lookup(set, inode) : NULL;
}

uint64_t pc_netns_self(const struct pc_netns_set *set)
{
	return set ? set->self : 0;
}

static int open_thread_netns(void)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

enum inside_op { OP_SOCKET, OP_OPEN };

struct inside_args {
	enum inside_op op;
	int domain, type, protocol; /* OP_SOCKET */
	const char *path;           /* OP_OPEN */
	int flags;
};

static int do_op(const struct inside_args *a)
{
	int fd = a->op == OP_SOCKET ? socket(a->domain, a->type | SOCK_CLOEXEC, a->protocol)
				    : open(a->path, a->flags | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

static int inside(const struct pc_netns_set *set, uint64_t inode, const struct inside_args *a)
{
	if (!set || inode == 0 || inode == set->self)
		return do_op(a);
	const struct pc_netns_entry *e = lookup(set, inode);
	if (!e)
		return -ENOENT;
	if (e->fd < 0)
		return -EACCES;
	int back = open_thread_netns();
	if (back < 0)
		return back;
	if (setns(e->fd, CLONE_NEWNET) != 0) {
		int r = -errno;
		close(back);
		return r;
	}
	int r = do_op(a);
	if (setns(back, CLONE_NEWNET) != 0)
		abort();
	close(back);
	return r;
}

int pc_netns_socket(const struct pc_netns_set *set, uint64_t inode, int domain, int type,
		    int protocol)
{
	struct inside_args a = {
		.op = OP_SOCKET, .domain = domain, .type = type, .protocol = protocol};
	return inside(set, inode, &a);
}

int pc_netns_open(const struct pc_netns_set *set, uint64_t inode, const char *path, int flags)
{
	struct inside_args a = {.op = OP_OPEN, .path = path, .flags = flags};
	return inside(set, inode, &a);
}

unsigned pc_netns_denied(const struct pc_netns_set *set)
{
	return set ? set->denied : 0;
}

void pc_netns_set_free(struct pc_netns_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].fd >= 0)
			close(set->v[i].fd);
		free((char *)set->v[i].name);
	}
	free(set->v);
	free(set->slots);
	free(set);
}
