/*
 * watch.c - the fast host watch (see watch.h for why it polls sock_diag).
 *
 * State between passes: the watched namespaces, each with a sock_diag
 * socket made inside it once (pc_netns_socket: setns there and back), and
 * the previous pass's listeners as an array sorted by socket inode. Socket
 * inodes are unique across the whole kernel (sockfs), so the inode alone
 * says whether a socket is new; a merge walk of two sorted arrays finds the
 * new ones without a hash table. What is bounded: the records of one pass
 * (MAX_RECORDS), every dump (pc_sockdiag_dump's own caps), the namespaces
 * (those of the processes and of /run/netns, MAX_NAMESPACES).
 *
 * The namespace walk reuses pc_netns_discover (the same rules as the
 * inventory: /proc/PID/ns/net of every process, the entries of /run/netns).
 * It is the costly step (one readlink per process: 3 ms for 400 processes
 * on the benchmark machine, 4 times a second would be 1.2 % of a core by
 * itself), so it runs only every ns_interval_ms, on inotify events from
 * /run/netns, and when the cheap look of every pass (list /proc, stat the
 * namespace of new and young processes only) sees a namespace we do not
 * know. A held
 * sock_diag socket keeps its namespace alive, so a namespace that no
 * process and no /run/netns name holds any more is dropped at the next walk.
 */
#include "inventory/watch.h"
#include "inventory/netns.h"
#include "inventory/owners.h"
#include "inventory/sockdiag.h"

#include <dirent.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_INTERVAL_MS 250
#define DEFAULT_NS_INTERVAL_MS 5000
#define YOUNG_MS 3000 /* a process this young may still unshare() or setns() */
#define MAX_PIDS (1u << 22)
#define INOTIFY_SETTLE_MS 20 /* `ip netns add` creates the name, then mounts it */
#define MAX_RECORDS (1u << 20)
#define MAX_NAMESPACES 65536
#define DUMP_RETRIES 3

struct wns {
	uint64_t inode;
	char *name;
	int nl;        /* NETLINK_SOCK_DIAG socket inside it */
	bool seen;     /* in the last discovery */
	bool tcp_split; /* the kernel wants one TCP dump per family */
};

struct wrec {
	uint64_t inode;
	uint64_t ns;
	uint8_t proto; /* IPPROTO_* */
	uint16_t port;
	uint32_t uid;
	struct pc_addr addr;
};

struct recs {
	struct wrec *v;
	size_t n, cap;
};

struct wpid {
	int pid;
	uint64_t ns;     /* its network namespace's inode, 0 unknown */
	double first_ms; /* when we first saw it */
};

struct pids {
	struct wpid *v;
	size_t n, cap;
};

struct watch {
	const struct pc_watch_opts *o;
	struct wns *ns;
	size_t n_ns, cap_ns;
	struct recs prev, cur;
	struct pids pids, pids_next;
	bool baseline_done;
	struct pc_watch_stats st;
	uint64_t cur_ns; /* namespace being dumped, for on_rec */
};

void pc_watch_opts_default(struct pc_watch_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->interval_ms = DEFAULT_INTERVAL_MS;
	opts->ns_interval_ms = DEFAULT_NS_INTERVAL_MS;
	opts->udp = true;
	opts->owners = true;
}

/* Room for one more element in a vector of elem-sized items, doubling
 * from first, never past max (PC_ETOOBIG). */
static int grow(void **v, size_t n, size_t *cap, size_t elem, size_t first, size_t max)
{
	if (n < *cap)
		return 0;
	if (*cap >= max)
		return PC_ETOOBIG;
	size_t c = *cap ? *cap * 2 : first;
	void *p = realloc(*v, c * elem);
	if (!p)
		return PC_ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

static int recs_push(struct recs *r, const struct wrec *x)
{
	int rc = grow((void **)&r->v, r->n, &r->cap, sizeof(*r->v), 256, MAX_RECORDS);
	if (rc == 0)
		r->v[r->n++] = *x;
	return rc;
}

static int on_rec(void *ctx, const struct pc_sock_rec *rec)
{
	struct watch *w = ctx;
	if (rec->protocol == IPPROTO_TCP ? rec->state != TCP_LISTEN
					 : rec->state != TCP_CLOSE || rec->local_port == 0)
		return 0;
	struct wrec x = {.inode = rec->inode, .ns = w->cur_ns, .proto = rec->protocol,
			 .port = rec->local_port, .uid = rec->uid, .addr = rec->local};
	return recs_push(&w->cur, &x);
}

static bool is_unsupported(int r)
{
	return r == -ENOENT || r == -EOPNOTSUPP || r == -EPROTONOSUPPORT || r == -EINVAL;
}

/* One dump, retried when the kernel says the table changed under it. */
static int dump(struct watch *w, int nl, uint8_t family, uint8_t proto, uint32_t states)
{
	int r = 0;
	for (int attempt = 0; attempt <= DUMP_RETRIES; attempt++) {
		size_t before = w->cur.n;
		r = pc_sockdiag_dump(nl, family, proto, states, on_rec, w);
		if (r != PC_SOCKDIAG_INTERRUPTED)
			return r;
		w->cur.n = before;
	}
	return PC_EIO;
}

static int dump_namespace(struct watch *w, struct wns *ns)
{
	w->cur_ns = ns->inode;
	int r;
	if (!ns->tcp_split) {
		r = dump(w, ns->nl, AF_UNSPEC, IPPROTO_TCP, 1u << TCP_LISTEN);
		if (r < 0 && is_unsupported(r))
			ns->tcp_split = true;
		else if (r < 0)
			return r;
	}
	if (ns->tcp_split) {
		if ((r = dump(w, ns->nl, AF_INET, IPPROTO_TCP, 1u << TCP_LISTEN)) < 0)
			return r;
		if ((r = dump(w, ns->nl, AF_INET6, IPPROTO_TCP, 1u << TCP_LISTEN)) < 0)
			return r;
	}
	if (w->o->udp) {
		if ((r = dump(w, ns->nl, AF_INET, IPPROTO_UDP, 1u << TCP_CLOSE)) < 0)
			return r;
		if ((r = dump(w, ns->nl, AF_INET6, IPPROTO_UDP, 1u << TCP_CLOSE)) < 0)
			return r;
	}
	return 0;
}

static void drop_namespace(struct wns *ns)
{
	if (ns->nl >= 0)
		close(ns->nl);
	free(ns->name);
}

static struct wns *find_ns(struct watch *w, uint64_t inode)
{
	for (size_t i = 0; i < w->n_ns; i++)
		if (w->ns[i].inode == inode)
			return &w->ns[i];
	return NULL;
}

static int discover(struct watch *w, struct pc_error *err)
{
	struct pc_netns_set *set = NULL;
	double t0 = pc_monotonic_ms();
	int r = pc_netns_discover(&set, w->o->proc_root, w->o->netns_dir, true, NULL, err);
	if (r < 0)
		return r;
	w->st.discoveries++;
	for (size_t i = 0; i < w->n_ns; i++)
		w->ns[i].seen = false;
	size_t n = pc_netns_count(set);
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct pc_netns_entry *e = pc_netns_get(set, i);
		struct wns *ns = find_ns(w, e->inode);
		if (ns && ns->nl < 0) /* could not enter it last time: try again */
			ns->nl = pc_netns_socket(set, e->inode, AF_NETLINK, SOCK_RAW,
						 NETLINK_SOCK_DIAG);
		if (ns) {
			ns->seen = true;
			if (e->name && (!ns->name || strcmp(ns->name, e->name) != 0)) {
				char *copy = strdup(e->name);
				if (copy) {
					free(ns->name);
					ns->name = copy;
				}
			}
			continue;
		}
		if (w->n_ns >= MAX_NAMESPACES)
			break;
		/* a namespace we may not enter is listed with nl -1 (so the
		 * process look does not ask for a walk for it every time) and
		 * tried again at the next walk */
		int nl = pc_netns_socket(set, e->inode, AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
		if (grow((void **)&w->ns, w->n_ns, &w->cap_ns, sizeof(*w->ns), 16, MAX_NAMESPACES)) {
			if (nl >= 0)
				close(nl);
			r = pc_error_set(err, PC_ENOMEM, "out of memory");
			break;
		}
		w->ns[w->n_ns++] = (struct wns){.inode = e->inode,
						.name = e->name ? strdup(e->name) : NULL,
						.nl = nl,
						.seen = true};
	}
	pc_netns_set_free(set);
	/* forget the namespaces nothing holds any more */
	size_t k = 0;
	for (size_t i = 0; i < w->n_ns; i++) {
		if (w->ns[i].seen)
			w->ns[k++] = w->ns[i];
		else
			drop_namespace(&w->ns[i]);
	}
	w->n_ns = k;
	w->st.walk_ms_total += pc_monotonic_ms() - t0;
	return r;
}

static int pids_push(struct pids *p, const struct wpid *x)
{
	int rc = grow((void **)&p->v, p->n, &p->cap, sizeof(*p->v), 512, MAX_PIDS);
	if (rc == 0)
		p->v[p->n++] = *x;
	return rc;
}

static int parse_pid(const char *s)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 99999999)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

/*
 * The cheap look for new namespaces, every pass: list /proc (pids come in
 * ascending order, so a merge walk against the last list finds the new
 * ones) and stat() ns/net only for processes that are new or young (a
 * process unshares or enters a namespace just after it starts: `unshare
 * --net`, `ip netns exec`, container runtimes). *ret_unknown is set when
 * one of them is in a namespace we do not know: the caller walks at once.
 * A long-lived process that changes namespace later is found by the full
 * walk (ns_interval_ms).
 */
static int look_at_processes(struct watch *w, bool *ret_unknown)
{
	const char *root = w->o->proc_root ? w->o->proc_root : "/proc";
	DIR *d = opendir(root);
	if (!d)
		return -errno;
	double now = pc_monotonic_ms();
	struct pids *prev = &w->pids, *next = &w->pids_next;
	next->n = 0;
	size_t j = 0;
	int r = 0;
	char path[512];
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int pid = parse_pid(de->d_name);
		if (pid <= 0)
			continue;
		while (j < prev->n && prev->v[j].pid < pid)
			j++;
		struct wpid x = {.pid = pid, .ns = 0, .first_ms = now};
		if (j < prev->n && prev->v[j].pid == pid)
			x = prev->v[j];
		if (x.ns == 0 || now - x.first_ms < YOUNG_MS) {
			struct stat st;
			int n = snprintf(path, sizeof(path), "%s/%d/ns/net", root, pid);
			if (n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0) {
				x.ns = (uint64_t)st.st_ino;
				if (!find_ns(w, x.ns))
					*ret_unknown = true;
			}
		}
		if ((r = pids_push(next, &x)) < 0)
			break;
	}
	closedir(d);
	struct pids t = *prev;
	*prev = *next;
	*next = t;
	return r;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct wrec *x = a, *y = b;
	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* Report the records of cur that prev does not have (both sorted). */
static int report_new(struct watch *w, pc_watch_fn fn, void *ctx)
{
	struct pc_snapshot *snap = NULL;
	size_t j = 0;
	for (size_t i = 0; i < w->cur.n; i++) {
		const struct wrec *x = &w->cur.v[i];
		while (j < w->prev.n && w->prev.v[j].inode < x->inode)
			j++;
		if (w->baseline_done && j < w->prev.n && w->prev.v[j].inode == x->inode)
			continue;
		if (i > 0 && w->cur.v[i - 1].inode == x->inode)
			continue; /* a socket seen in two dumps (dual-stack) */
		if (!snap && !(snap = pc_snapshot_new("watch")))
			return PC_ENOMEM;
		struct pc_endpoint *ep = pc_snapshot_add_endpoint(snap);
		if (!ep) {
			pc_snapshot_free(snap);
			return PC_ENOMEM;
		}
		ep->source = PC_SOURCE_HOST;
		ep->proto = x->proto == IPPROTO_TCP ? PC_PROTO_TCP : PC_PROTO_UDP;
		ep->addr = x->addr;
		ep->port = x->port;
		ep->state = PC_STATE_LISTEN;
		ep->bind = pc_bind_of(&x->addr);
		ep->sock_inode = x->inode;
		ep->uid = x->uid;
		ep->netns.inode = x->ns;
		struct wns *ns = find_ns(w, x->ns);
		if (ns && ns->name)
			ep->netns.name = pc_snapshot_strdup(snap, ns->name);
	}
	if (!snap)
		return 0;
	snap->finished_at_ms = pc_now_ms();
	if (w->o->owners)
		pc_owners_attribute(snap, 0, w->o->proc_root, NULL, NULL);
	w->st.events += snap->n_endpoints;
	int r = fn(ctx, snap);
	pc_snapshot_free(snap);
	return r;
}

static int cmp_rec(const void *a, const void *b);

/* The caller's known sockets as the previous pass (see known_inodes). */
static int seed_known(struct watch *w)
{
	w->prev.n = 0;
	for (size_t i = 0; i < w->o->n_known_inodes; i++) {
		struct wrec x = {.inode = w->o->known_inodes[i]};
		int r = recs_push(&w->prev, &x);
		if (r < 0)
			return r;
	}
	if (w->prev.n) /* qsort's array may not be NULL, even for 0 items */
		qsort(w->prev.v, w->prev.n, sizeof(w->prev.v[0]), cmp_rec);
	w->baseline_done = true;
	return 0;
}

static int pass(struct watch *w, pc_watch_fn fn, void *ctx)
{
	double t0 = pc_monotonic_ms();
	if (!w->baseline_done && w->o->known_inodes) {
		int r = seed_known(w);
		if (r < 0)
			return r;
	}
	w->cur.n = 0;
	for (size_t i = 0; i < w->n_ns; i++) {
		if (w->ns[i].nl < 0)
			continue;
		size_t before = w->cur.n;
		int r = dump_namespace(w, &w->ns[i]);
		if (r == PC_ENOMEM || r == PC_ETOOBIG)
			return r;
		if (r < 0) {
			/* keep what this namespace had, so nothing old looks new */
			w->st.dump_errors++;
			w->cur.n = before;
			for (size_t j = 0; j < w->prev.n; j++)
				if (w->prev.v[j].ns == w->ns[i].inode &&
				    (r = recs_push(&w->cur, &w->prev.v[j])) < 0)
					return r;
		}
	}
	if (w->cur.n)
		qsort(w->cur.v, w->cur.n, sizeof(w->cur.v[0]), cmp_rec);
	int r = 0;
	if (w->baseline_done || w->o->report_existing)
		r = report_new(w, fn, ctx);
	struct recs t = w->prev;
	w->prev = w->cur;
	w->cur = t;
	w->baseline_done = true;
	w->st.passes++;
	double took = pc_monotonic_ms() - t0;
	w->st.pass_ms_total += took;
	if (took > w->st.pass_ms_max)
		w->st.pass_ms_max = took;
	return r;
}

/* inotify on the named namespaces' directory; -1 when unavailable */
static int watch_netns_dir(const char *dir)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	if (inotify_add_watch(fd, dir ? dir : "/run/netns",
			      IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int pc_watch_listeners(const struct pc_watch_opts *opts, pc_watch_fn fn, void *ctx,
		       struct pc_watch_stats *ret_stats, struct pc_error *err)
{
	struct pc_watch_opts o = *opts;
	if (o.interval_ms <= 0)
		o.interval_ms = DEFAULT_INTERVAL_MS;
	if (o.ns_interval_ms <= 0)
		o.ns_interval_ms = DEFAULT_NS_INTERVAL_MS;
	struct watch w = {.o = &o};
	int ino = watch_netns_dir(o.netns_dir);
	double start = pc_monotonic_ms();
	double next_pass = start, next_walk = start;
	int r = 0;
	while (!(o.stop && *o.stop)) {
		double now = pc_monotonic_ms();
		if (o.duration_ms > 0 && now - start >= (double)o.duration_ms)
			break;
		bool unknown = false;
		if (now >= next_pass && w.st.passes > 0) {
			r = look_at_processes(&w, &unknown);
			if (r == PC_ENOMEM || r == PC_ETOOBIG) {
				pc_error_set(err, r, "watch: %s", pc_strerror(r));
				break;
			}
			r = 0;
		}
		if (now >= next_walk || unknown) {
			r = discover(&w, err);
			if (r < 0)
				break;
			next_walk = now + o.ns_interval_ms;
		}
		if (now >= next_pass) {
			r = pass(&w, fn, ctx);
			if (r != 0) {
				if (r == PC_ENOMEM || r == PC_ETOOBIG)
					pc_error_set(err, r, "watch: %s", pc_strerror(r));
				break;
			}
			next_pass += o.interval_ms;
			if (next_pass < now) /* we fell behind: do not burst */
				next_pass = now + o.interval_ms;
		}
		now = pc_monotonic_ms();
		double until = next_pass < next_walk ? next_pass : next_walk;
		int wait = until > now ? (int)(until - now) + 1 : 0;
		struct pollfd p = {.fd = ino, .events = POLLIN};
		int n = poll(&p, ino >= 0 ? 1 : 0, wait);
		if (n > 0 && (p.revents & POLLIN)) {
			drain(ino);
			/* a new name under /run/netns: walk soon, once it is mounted */
			double soon = pc_monotonic_ms() + INOTIFY_SETTLE_MS;
			if (soon < next_walk)
				next_walk = soon;
		}
	}
	if (ino >= 0)
		close(ino);
	w.st.namespaces = (unsigned)w.n_ns;
	for (size_t i = 0; i < w.n_ns; i++)
		drop_namespace(&w.ns[i]);
	free(w.ns);
	free(w.prev.v);
	free(w.cur.v);
	free(w.pids.v);
	free(w.pids_next.v);
	if (ret_stats)
		*ret_stats = w.st;
	return r;
}
