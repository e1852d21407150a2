/*
 * owners.c - socket inode -> processes, from one walk of /proc/PID/fd.
 *
 * The walk is the expensive part (one readlink per open file of every
 * process), so it is kept lean: the endpoints' socket inodes go into an
 * open-addressing hash first; each process's fd directory is read with
 * getdents64 into one reused buffer and each entry resolved with
 * readlinkat() relative to that directory (a one-component lookup); a link
 * that is not "socket:[N]" or whose N is not ours costs nothing more. No
 * allocation happens per descriptor: a match appends one (endpoint,
 * process) pair to a growing array. Only the processes that matched are
 * then described (comm, exe, status, cgroup), each once, however many
 * sockets they hold; their strings live in the snapshot's arena and are
 * shared by all their owner records.
 *
 * The walk is spread over a few threads (one per core, at most 4) that
 * claim pids in small batches from a shared cursor and keep their matches
 * to themselves; the matches are merged once all are done. The inode index
 * is built before and only read during the walk.
 *
 * A process may exit at any point of this: every failure to read one of its
 * files is "gone" (or "denied" when we may not look), never an error.
 */
#include "inventory/owners.h"

#include "core/error.h"
#include "inventory/cgroup.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NO_EP UINT32_MAX
#define DENTS_BUF (32 * 1024)

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct slot {
	uint64_t inode; /* 0: empty */
	uint32_t ep;    /* first endpoint with this inode */
};

struct pair {
	uint32_t ep, proc;
};

struct proc {
	int pid;
};

/* What every worker reads: the inode index over the endpoints. */
struct walk {
	struct pc_snapshot *snap;
	size_t first;
	struct pc_container_names *names;
	struct slot *slots;
	size_t mask;
	uint32_t *next_ep; /* chain of endpoints sharing an inode */
	/* merged results of the workers */
	struct pair *pairs;
	size_t n_pairs, cap_pairs;
	struct proc *procs;
	size_t n_procs, cap_procs;
	struct pc_owners_stats st;
};

/* One walking thread: claims pids in small batches from a shared cursor,
 * keeps its own matches, never writes shared memory. */
struct worker {
	const struct walk *w;
	int procfd;
	const int *pids;
	size_t n_pids;
	_Atomic size_t *cursor;
	char *dents;
	struct pair *pairs;
	size_t n_pairs, cap_pairs;
	struct proc *procs;
	size_t n_procs, cap_procs;
	struct pc_owners_stats st;
	int err;
};

static size_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static int build_index(struct walk *w)
{
	size_t n = w->snap->n_endpoints - w->first;
	size_t cap = 64;
	while (cap < n * 2)
		cap <<= 1;
	w->slots = calloc(cap, sizeof(*w->slots));
	w->next_ep = malloc(n * sizeof(*w->next_ep));
	if (!w->slots || !w->next_ep)
		return PC_ENOMEM;
	w->mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		w->next_ep[i] = NO_EP;
		uint64_t ino = w->snap->endpoints[w->first + i].sock_inode;
		if (!ino)
			continue;
		size_t h = hash64(ino) & w->mask;
		while (w->slots[h].inode && w->slots[h].inode != ino)
			h = (h + 1) & w->mask;
		if (w->slots[h].inode) {
			w->next_ep[i] = w->slots[h].ep;
			w->slots[h].ep = (uint32_t)i;
		} else {
			w->slots[h] = (struct slot){.inode = ino, .ep = (uint32_t)i};
		}
	}
	return 0;
}

static uint32_t find_ep(const struct walk *w, uint64_t ino)
{
	size_t h = hash64(ino) & w->mask;
	while (w->slots[h].inode) {
		if (w->slots[h].inode == ino)
			return w->slots[h].ep;
		h = (h + 1) & w->mask;
	}
	return NO_EP;
}

/* "socket:[12345]" -> 12345, else 0 */
static uint64_t socket_inode(const char *s, size_t len)
{
	if (len < 10 || memcmp(s, "socket:[", 8) != 0 || s[len - 1] != ']')
		return 0;
	uint64_t v = 0;
	for (size_t i = 8; i < len - 1; i++) {
		if (s[i] < '0' || s[i] > '9' || v > UINT64_MAX / 10 - 1)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

static int add_pair(struct worker *w, uint32_t ep, uint32_t proc)
{
	if (w->n_pairs == w->cap_pairs) {
		size_t cap = w->cap_pairs ? w->cap_pairs * 2 : 256;
		struct pair *p = realloc(w->pairs, cap * sizeof(*p));
		if (!p)
			return PC_ENOMEM;
		w->pairs = p;
		w->cap_pairs = cap;
	}
	w->pairs[w->n_pairs++] = (struct pair){ep, proc};
	return 0;
}

static int add_proc(struct worker *w, int pid)
{
	if (w->n_procs == w->cap_procs) {
		size_t cap = w->cap_procs ? w->cap_procs * 2 : 64;
		struct proc *p = realloc(w->procs, cap * sizeof(*p));
		if (!p)
			return PC_ENOMEM;
		w->procs = p;
		w->cap_procs = cap;
	}
	w->procs[w->n_procs++] = (struct proc){.pid = pid};
	return 0;
}

static int parse_pid(const char *s)
{
	if (!*s)
		return -1;
	long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 0x3fffffff)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

/* Walk the fds of one process, with the worker's reused getdents buffer. */
static int walk_fds(struct worker *wk, int pid)
{
	const struct walk *w = wk->w;
	char path[32];
	snprintf(path, sizeof(path), "%d/fd", pid);
	int dfd = openat(wk->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == EACCES || errno == EPERM)
			wk->st.procs_denied++;
		else
			wk->st.procs_gone++;
		return 0;
	}
	uint32_t proc = NO_EP;
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, wk->dents, DENTS_BUF);
		if (n <= 0) {
			/* -1 with EACCES happens when the process exec'd a setuid
			 * program between open and read */
			if (n < 0 && (errno == EACCES || errno == EPERM))
				wk->st.procs_denied++;
			break;
		}
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(wk->dents + off);
			if (d->d_reclen == 0)
				break;
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			wk->st.fds++;
			char link[64];
			ssize_t len = readlinkat(dfd, d->d_name, link, sizeof(link));
			if (len <= 0 || (size_t)len >= sizeof(link))
				continue;
			uint64_t ino = socket_inode(link, (size_t)len);
			if (!ino)
				continue;
			uint32_t ep = find_ep(w, ino);
			if (ep == NO_EP)
				continue;
			if (proc == NO_EP) {
				if (add_proc(wk, pid) < 0) {
					close(dfd);
					return PC_ENOMEM;
				}
				proc = (uint32_t)(wk->n_procs - 1);
			}
			for (; ep != NO_EP; ep = w->next_ep[ep]) {
				if (add_pair(wk, ep, proc) < 0) {
					close(dfd);
					return PC_ENOMEM;
				}
			}
		}
	}
	close(dfd);
	return 0;
}

#define BATCH 8

static void *worker_run(void *arg)
{
	struct worker *wk = arg;
	for (;;) {
		size_t i = atomic_fetch_add(wk->cursor, BATCH);
		if (i >= wk->n_pids)
			break;
		size_t end = i + BATCH < wk->n_pids ? i + BATCH : wk->n_pids;
		for (; i < end; i++) {
			int r = walk_fds(wk, wk->pids[i]);
			if (r < 0) {
				wk->err = r;
				/* let the others finish early too */
				atomic_store(wk->cursor, wk->n_pids);
				return NULL;
			}
		}
	}
	return NULL;
}

/* Fold a worker's matches into the walk, renumbering its processes. */
static int merge(struct walk *w, const struct worker *wk)
{
	size_t np = w->n_procs + wk->n_procs, nq = w->n_pairs + wk->n_pairs;
	if (np > w->cap_procs) {
		struct proc *p = realloc(w->procs, np * sizeof(*p));
		if (!p)
			return PC_ENOMEM;
		w->procs = p;
		w->cap_procs = np;
	}
	if (nq > w->cap_pairs) {
		struct pair *p = realloc(w->pairs, nq * sizeof(*p));
		if (!p)
			return PC_ENOMEM;
		w->pairs = p;
		w->cap_pairs = nq;
	}
	if (wk->n_procs)
		memcpy(w->procs + w->n_procs, wk->procs, wk->n_procs * sizeof(*wk->procs));
	for (size_t i = 0; i < wk->n_pairs; i++)
		w->pairs[w->n_pairs + i] = (struct pair){
			wk->pairs[i].ep, wk->pairs[i].proc + (uint32_t)w->n_procs};
	w->n_procs = np;
	w->n_pairs = nq;
	w->st.procs_denied += wk->st.procs_denied;
	w->st.procs_gone += wk->st.procs_gone;
	w->st.fds += wk->st.fds;
	return 0;
}

/* Read a small /proc file relative to procfd into buf; length or -1. */
static ssize_t read_small(int procfd, const char *pidname, const char *file, char *buf,
			  size_t size)
{
	char path[48];
	snprintf(path, sizeof(path), "%s/%s", pidname, file);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t have = 0;
	while (have < size - 1) {
		ssize_t n = read(fd, buf + have, size - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	return (ssize_t)have;
}

/* Effective uid from the "Uid:\treal\teffective\tsaved\tfs" line. */
static long status_euid(const char *s)
{
	const char *p = strstr(s, "\nUid:");
	if (!p)
		return -1;
	p += 5;
	long v[2] = {-1, -1};
	for (int i = 0; i < 2; i++) {
		while (*p == '\t' || *p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		long x = 0;
		while (*p >= '0' && *p <= '9') {
			if (x > 0xffffffffL)
				return -1;
			x = x * 10 + (*p++ - '0');
		}
		v[i] = x;
	}
	return v[1];
}

struct user_cache {
	long uid[64];
	const char *name[64];
	size_t n;
};

static const char *user_name(struct pc_snapshot *snap, struct user_cache *uc, long uid)
{
	if (uid < 0)
		return NULL;
	for (size_t i = 0; i < uc->n; i++)
		if (uc->uid[i] == uid)
			return uc->name[i];
	struct passwd pw, *res = NULL;
	char buf[4096];
	const char *name = NULL;
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		name = pc_snapshot_strdup(snap, res->pw_name);
	if (uc->n < 64) {
		uc->uid[uc->n] = uid;
		uc->name[uc->n++] = name;
	}
	return name;
}

/* Describe one process into o (strings in the snapshot's arena). */
static int describe(struct pc_snapshot *snap, int procfd, int pid, struct user_cache *uc,
		    struct pc_container_names *names, struct pc_owner *o)
{
	char pidname[16], buf[4096];
	snprintf(pidname, sizeof(pidname), "%d", pid);
	*o = (struct pc_owner){.pid = pid, .uid = -1};
	struct pc_arena *a = &snap->arena;

	ssize_t n = read_small(procfd, pidname, "comm", buf, 64);
	if (n > 0) {
		if (buf[n - 1] == '\n')
			n--;
		if (!(o->comm = pc_arena_strndup(a, buf, (size_t)n)))
			return PC_ENOMEM;
	}
	char path[32];
	snprintf(path, sizeof(path), "%s/exe", pidname);
	n = readlinkat(procfd, path, buf, sizeof(buf));
	if (n > 0 && (size_t)n < sizeof(buf)) {
		if (!(o->exe = pc_arena_strndup(a, buf, (size_t)n)))
			return PC_ENOMEM;
	}
	buf[0] = '\n';
	if (read_small(procfd, pidname, "status", buf + 1, sizeof(buf) - 1) > 0)
		o->uid = status_euid(buf);
	o->user = user_name(snap, uc, o->uid);
	/* cgroup v1 files list a line per hierarchy, with paths up to 4 KiB
	 * each: read more than one page, and drop a last line cut short */
	static _Thread_local char cgbuf[16384];
	n = read_small(procfd, pidname, "cgroup", cgbuf, sizeof(cgbuf));
	if (n == (ssize_t)sizeof(cgbuf) - 1) {
		char *nl = memrchr(cgbuf, '\n', (size_t)n);
		n = nl ? nl - cgbuf + 1 : 0;
	}
	struct pc_cgroup_info cg;
	bool have_cg = n > 0 && pc_cgroup_parse(cgbuf, (size_t)n, &cg) == 0;
	if (have_cg && cg.unit[0] && !(o->unit = pc_arena_strdup(a, cg.unit)))
		return PC_ENOMEM;
	/* a userland proxy (conmon, docker-proxy) names on its command line
	 * the container whose port it holds */
	static _Thread_local char cmdline[32768];
	ssize_t cl = 0;
	if (o->comm && (strcmp(o->comm, "conmon") == 0 || strcmp(o->comm, "docker-proxy") == 0))
		cl = read_small(procfd, pidname, "cmdline", cmdline, sizeof(cmdline));
	return pc_container_fill_owner(names, snap, o->comm, o->uid, cl > 0 ? cmdline : NULL,
				       cl > 0 ? (size_t)cl : 0, have_cg ? cg.id : NULL,
				       have_cg ? cg.runtime : NULL, have_cg ? cg.pod_uid : NULL,
				       &o->container);
}

static int cmp_pair(const void *pa, const void *pb)
{
	const struct pair *a = pa, *b = pb;
	if (a->ep != b->ep)
		return a->ep < b->ep ? -1 : 1;
	return a->proc < b->proc ? -1 : a->proc > b->proc;
}

static int cmp_owner(const void *pa, const void *pb)
{
	const struct pc_owner *a = pa, *b = pb;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int attach(struct walk *w, int procfd)
{
	struct pc_snapshot *snap = w->snap;
	struct pc_owner *described = calloc(w->n_procs ? w->n_procs : 1, sizeof(*described));
	struct user_cache *uc = calloc(1, sizeof(*uc));
	int r = 0;
	if (!described || !uc) {
		r = PC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < w->n_procs; i++) {
		r = describe(snap, procfd, w->procs[i].pid, uc, w->names, &described[i]);
		if (r < 0)
			goto out;
	}
	qsort(w->pairs, w->n_pairs, sizeof(*w->pairs), cmp_pair);
	for (size_t i = 0; i < w->n_pairs;) {
		size_t j = i;
		while (j < w->n_pairs && w->pairs[j].ep == w->pairs[i].ep)
			j++;
		/* the same process may hold the socket in several fds */
		size_t n = 0;
		for (size_t k = i; k < j; k++)
			if (k == i || w->pairs[k].proc != w->pairs[k - 1].proc)
				n++;
		struct pc_owner *o = pc_snapshot_owners(snap, n);
		if (!o) {
			r = PC_ENOMEM;
			goto out;
		}
		n = 0;
		for (size_t k = i; k < j; k++)
			if (k == i || w->pairs[k].proc != w->pairs[k - 1].proc)
				o[n++] = described[w->pairs[k].proc];
		qsort(o, n, sizeof(*o), cmp_owner);
		struct pc_endpoint *ep = &snap->endpoints[w->first + w->pairs[i].ep];
		ep->owners = o;
		ep->n_owners = n;
		i = j;
	}
	w->st.matched = w->n_pairs;
out:
	free(described);
	free(uc);
	return r;
}

/* The pids under proc_root, in a growing array. */
static int list_pids(DIR *d, int **ret_pids, size_t *ret_n)
{
	int *pids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int pid = parse_pid(de->d_name);
		if (pid <= 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 512;
			int *p = realloc(pids, cap * sizeof(*p));
			if (!p) {
				free(pids);
				return PC_ENOMEM;
			}
			pids = p;
		}
		pids[n++] = pid;
	}
	*ret_pids = pids;
	*ret_n = n;
	return 0;
}

/* Walkers: the walk is readlink-bound kernel work that scales with cores;
 * more than 4 only fight over the same locks. */
#define MAX_WORKERS 4
#define PIDS_PER_WORKER 8

int pc_owners_attribute(struct pc_snapshot *snap, size_t first, const char *proc_root,
			struct pc_container_names *names, struct pc_owners_stats *ret_stats)
{
	if (!proc_root)
		proc_root = "/proc";
	struct walk w = {.snap = snap, .first = first, .names = names};
	pc_container_names_set_proc(names, proc_root);
	pc_container_names_set_warn(names, snap);
	if (first >= snap->n_endpoints) {
		if (ret_stats)
			*ret_stats = w.st;
		return 0;
	}
	if (snap->n_endpoints - first >= NO_EP)
		return PC_ETOOBIG;
	struct worker wk[MAX_WORKERS];
	size_t n_workers = 0;
	int *pids = NULL;
	size_t n_pids = 0;
	DIR *d = NULL;
	memset(wk, 0, sizeof(wk));
	int r = build_index(&w);
	if (r < 0)
		goto out;
	d = opendir(proc_root);
	if (!d) {
		r = -errno;
		goto out;
	}
	r = list_pids(d, &pids, &n_pids);
	if (r < 0)
		goto out;
	w.st.procs = (unsigned)n_pids;

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 0 ? (size_t)cpus : 1;
	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	if (want > n_pids / PIDS_PER_WORKER)
		want = n_pids / PIDS_PER_WORKER;
	if (want < 1)
		want = 1;
	_Atomic size_t cursor = 0;
	for (size_t i = 0; i < want; i++) {
		wk[i] = (struct worker){
			.w = &w,
			.procfd = dirfd(d),
			.pids = pids,
			.n_pids = n_pids,
			.cursor = &cursor,
			.dents = malloc(DENTS_BUF),
		};
		if (!wk[i].dents) {
			r = PC_ENOMEM;
			goto out;
		}
		n_workers++;
	}
	/* the calling thread is worker 0; the others get threads when they can */
	pthread_t tid[MAX_WORKERS];
	bool started[MAX_WORKERS] = {false};
	for (size_t i = 1; i < n_workers; i++)
		started[i] = pthread_create(&tid[i], NULL, worker_run, &wk[i]) == 0;
	worker_run(&wk[0]);
	for (size_t i = 1; i < n_workers; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			worker_run(&wk[i]); /* picks up whatever is left */
	}
	for (size_t i = 0; i < n_workers && r == 0; i++) {
		if (wk[i].err)
			r = wk[i].err;
		else
			r = merge(&w, &wk[i]);
	}
	if (r == 0)
		r = attach(&w, dirfd(d));
out:
	for (size_t i = 0; i < MAX_WORKERS; i++) {
		free(wk[i].dents);
		free(wk[i].pairs);
		free(wk[i].procs);
	}
	if (d)
		closedir(d);
	free(pids);
	free(w.slots);
	free(w.next_ep);
	free(w.pairs);
	free(w.procs);
	if (ret_stats)
		*ret_stats = w.st;
	return r;
}
