/*
 * inventory.c - the host inventory: namespaces, then sockets, then owners.
 *
 * For each network namespace (netns.c) one NETLINK_SOCK_DIAG socket is made
 * inside it, and three dumps are asked of it: TCP of both families at once
 * (the legacy TCPDIAG_GETSOCK request; one dump per family on a kernel that
 * refuses it), then UDP over IPv4 and over IPv6, each with the kernel
 * filtering states for us (TCP LISTEN [+ ESTABLISHED], UDP unconnected).
 * Records become endpoints straight from the callback, so nothing is copied
 * twice. Where netlink cannot be had (no sock_diag in the kernel, or a
 * namespace we may not enter) the same records come from
 * /proc/PID/net/{tcp,udp}[6] of a process inside that namespace
 * (procnet.c). Namespaces are read by a few threads at once (read_all()),
 * because every dump walks the host-wide socket hash, whatever namespace
 * asks. Owners are attributed last, in one walk of /proc for all
 * namespaces (owners.c), and container namespaces named (container.c).
 *
 * Lack of privilege is expected (a user auditing their own processes): we
 * count what could not be read and say so in one warning at the end.
 */
#include "inventory/inventory.h"

#include "inventory/container.h"
#include "inventory/conntrack.h"
#include "inventory/forward.h"
#include "inventory/netns.h"
#include "inventory/owners.h"
#include "inventory/procnet.h"
#include "inventory/rtaddr.h"
#include "inventory/sockdiag.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Dumps the kernel marks as interrupted are retried this many times. */
#define DUMP_RETRIES 3

void pc_inventory_opts_default(struct pc_inventory_opts *opts)
{
	*opts = (struct pc_inventory_opts){
		.listeners = true,
		.owners = true,
		.all_netns = true,
	};
}

struct collect {
	struct pc_snapshot *snap;
	const struct pc_inventory_opts *opts;
	struct pc_netns ns;
};

struct shortfall {
	unsigned ns_unread;     /* namespaces whose sockets could not be read */
	unsigned ns_fallback;   /* namespaces read through /proc, not entered */
	unsigned procs_ns;      /* processes whose namespace we may not see */
	unsigned procs_fds;     /* processes whose open files we may not read */
	unsigned nat_denied;    /* namespaces whose NAT rules we may not read */
	bool no_sockdiag;       /* the kernel refused sock_diag */
	int first_error;        /* of an unread namespace */
};

static int on_rec(void *ctx, const struct pc_sock_rec *rec)
{
	struct collect *c = ctx;
	enum pc_state state;
	if (rec->protocol == IPPROTO_TCP) {
		if (rec->state == TCP_LISTEN && c->opts->listeners)
			state = PC_STATE_LISTEN;
		else if (rec->state == TCP_ESTABLISHED && c->opts->established)
			state = PC_STATE_ESTABLISHED;
		else
			return 0;
	} else {
		/* a bound, unconnected UDP socket is UDP's "listening" */
		if (rec->state != TCP_CLOSE || rec->local_port == 0 || !c->opts->listeners)
			return 0;
		state = PC_STATE_LISTEN;
	}
	struct pc_endpoint *ep = pc_snapshot_add_endpoint(c->snap);
	if (!ep)
		return PC_ENOMEM;
	ep->source = PC_SOURCE_HOST;
	ep->proto = rec->protocol == IPPROTO_TCP ? PC_PROTO_TCP : PC_PROTO_UDP;
	ep->addr = rec->local;
	ep->port = rec->local_port;
	ep->state = state;
	ep->bind = pc_bind_of(&rec->local);
	ep->netns = c->ns;
	ep->sock_inode = rec->inode;
	ep->uid = rec->uid;
	if (state == PC_STATE_ESTABLISHED) {
		ep->has_peer = true;
		ep->peer_addr = rec->remote;
		ep->peer_port = rec->remote_port;
	}
	return 0;
}

struct dump {
	uint8_t family, protocol;
	const char *file; /* /proc/net name */
};

static const struct dump dumps[] = {
	{AF_INET, IPPROTO_TCP, "tcp"},
	{AF_INET6, IPPROTO_TCP, "tcp6"},
	{AF_INET, IPPROTO_UDP, "udp"},
	{AF_INET6, IPPROTO_UDP, "udp6"},
};
/* Both TCP families in one dump (see pc_sockdiag_dump), then UDP per family. */
static const struct dump tcp_both = {AF_UNSPEC, IPPROTO_TCP, NULL};

static uint32_t states_of(const struct dump *d, const struct pc_inventory_opts *opts)
{
	if (d->protocol == IPPROTO_UDP)
		return opts->listeners ? 1u << TCP_CLOSE : 0;
	uint32_t s = 0;
	if (opts->listeners)
		s |= 1u << TCP_LISTEN;
	if (opts->established)
		s |= 1u << TCP_ESTABLISHED;
	return s;
}

/* "the kernel has no such dump" rather than "something broke" */
static bool is_unsupported(int r)
{
	return r == -ENOENT || r == -EOPNOTSUPP || r == -EPROTONOSUPPORT ||
	       r == -EAFNOSUPPORT || r == -EINVAL;
}

/*
 * Open /proc/net/FILE as seen from the namespace: through a process inside
 * it when we know one (checking afterwards that the pid was not recycled
 * into another namespace), else by entering it.
 */
static int open_procnet(const struct pc_netns_set *set, const struct pc_netns_entry *e,
			const char *proc_root, const char *file)
{
	char path[512];
	int r = -ENOENT;
	if (e->pid > 0) {
		snprintf(path, sizeof(path), "%s/%d/net/%s", proc_root, e->pid, file);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			char link[64];
			snprintf(path, sizeof(path), "%s/%d/ns/net", proc_root, e->pid);
			ssize_t n = readlink(path, link, sizeof(link) - 1);
			char want[64];
			int w = snprintf(want, sizeof(want), "net:[%llu]",
					 (unsigned long long)e->inode);
			if (n == w && memcmp(link, want, (size_t)w) == 0)
				return fd;
			close(fd);
		} else {
			r = -errno;
		}
	}
	/* entering the namespace reads the real /proc: not for a test's tree */
	bool real_proc = strcmp(proc_root, "/proc") == 0;
	if (real_proc && (e->fd >= 0 || e->inode == pc_netns_self(set))) {
		snprintf(path, sizeof(path), "/proc/thread-self/net/%s", file);
		int fd = pc_netns_open(set, e->inode, path, O_RDONLY);
		if (fd >= 0 || r == -ENOENT)
			r = fd;
	}
	return r;
}

/* Returns 0, or a negative code when nothing of this dump could be read. */
static int read_procnet(struct collect *c, const struct pc_netns_set *set,
			const struct pc_netns_entry *e, const char *proc_root, const struct dump *d)
{
	int fd = open_procnet(set, e, proc_root, d->file);
	if (fd == -ENOENT && d->family == AF_INET6)
		return 0; /* IPv6 disabled: no tcp6/udp6 */
	if (fd < 0)
		return fd;
	size_t line = 0;
	int r = pc_procnet_read_fd(fd, d->family, d->protocol, on_rec, c, &line);
	close(fd);
	if (r == PC_EPARSE)
		pc_snapshot_warn(c->snap, "malformed line %zu in /proc/net/%s of namespace %llu: "
					  "its remaining sockets are missing",
				 line, d->file, (unsigned long long)e->inode);
	return r == PC_EPARSE ? 0 : r;
}

static int read_sockdiag(struct collect *c, int nl, const struct dump *d, uint32_t states)
{
	int r = 0;
	for (int attempt = 0; attempt <= DUMP_RETRIES; attempt++) {
		size_t before = c->snap->n_endpoints;
		r = pc_sockdiag_dump(nl, d->family, d->protocol, states, on_rec, c);
		if (r != PC_SOCKDIAG_INTERRUPTED)
			return r;
		if (attempt < DUMP_RETRIES)
			c->snap->n_endpoints = before; /* drop the inconsistent half */
	}
	pc_snapshot_warn(c->snap, "the socket table kept changing while it was read: some "
				  "sockets may be listed twice or missing");
	return 0;
}

/* Read one namespace. 0 when at least part of it was read. */
static int read_namespace(struct collect *c, const struct pc_netns_set *set,
			  const struct pc_netns_entry *e, const char *proc_root,
			  struct shortfall *sf)
{
	const struct pc_inventory_opts *opts = c->opts;
	int nl = -1;
	bool use_proc = opts->force_proc;
	if (!use_proc) {
		nl = pc_netns_socket(set, e->inode, AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
		if (nl < 0) {
			if (is_unsupported(nl))
				sf->no_sockdiag = true;
			else
				sf->ns_fallback++;
			use_proc = true;
		}
	}
	int got = 0, err = 0;
	bool tcp_done = false;
	if (!use_proc) {
		uint32_t states = states_of(&tcp_both, opts);
		int r = states ? read_sockdiag(c, nl, &tcp_both, states) : 0;
		if (r == PC_ENOMEM) {
			close(nl);
			return r;
		}
		/* a kernel without the combined request: one dump per family */
		tcp_done = r >= 0;
		if (r >= 0)
			got++;
	}
	for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		const struct dump *d = &dumps[i];
		uint32_t states = states_of(d, opts);
		if (!states || (tcp_done && d->protocol == IPPROTO_TCP))
			continue;
		int r;
		if (!use_proc) {
			r = read_sockdiag(c, nl, d, states);
			if (r < 0 && is_unsupported(r)) {
				sf->no_sockdiag = true;
				r = read_procnet(c, set, e, proc_root, d);
			}
		} else {
			r = read_procnet(c, set, e, proc_root, d);
		}
		if (r == PC_ENOMEM) {
			if (nl >= 0)
				close(nl);
			return r;
		}
		if (r < 0)
			err = r;
		else
			got++;
	}
	if (nl >= 0)
		close(nl);
	if (got == 0 && err < 0) {
		sf->ns_unread++;
		if (!sf->first_error)
			sf->first_error = err;
		return err;
	}
	return 0;
}

static const char *plural(unsigned n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/*
 * One warning, in plain words: what could not be read (namespaces,
 * processes' namespaces, processes' open files), what that means for the
 * output, and what to do about it.
 */
static void warn_shortfall(struct pc_snapshot *snap, const struct shortfall *sf, bool proc_forced)
{
	if (sf->no_sockdiag && !proc_forced)
		pc_snapshot_warn(snap, "the kernel offers no NETLINK_SOCK_DIAG (inet_diag) "
				       "here: sockets were read from /proc/net instead");
	char part[4][160];
	size_t n = 0;
	if (sf->ns_unread) {
		char why[64];
		snprintf(why, sizeof(why), "%s", strerror(-sf->first_error));
		if (sf->first_error > -4096 && sf->first_error < 0 && why[0] >= 'A' && why[0] <= 'Z')
			why[0] = (char)(why[0] - 'A' + 'a');
		else if (sf->first_error <= -4096 || sf->first_error >= 0)
			snprintf(why, sizeof(why), "%s", pc_strerror(sf->first_error));
		snprintf(part[n++], sizeof(part[0]), "the sockets of %u network %s (%s)",
			 sf->ns_unread, plural(sf->ns_unread, "namespace", "namespaces"), why);
	}
	if (sf->procs_ns)
		snprintf(part[n++], sizeof(part[0]), "the network namespace of %u %s", sf->procs_ns,
			 plural(sf->procs_ns, "process", "processes"));
	if (sf->procs_fds)
		snprintf(part[n++], sizeof(part[0]), "the open files of %u %s", sf->procs_fds,
			 plural(sf->procs_fds, "process", "processes"));
	if (sf->nat_denied)
		snprintf(part[n++], sizeof(part[0]), "the NAT rules of %u network %s",
			 sf->nat_denied, plural(sf->nat_denied, "namespace", "namespaces"));
	if (n == 0)
		return;
	char what[700];
	size_t w = 0;
	what[0] = 0;
	for (size_t i = 0; i < n && w < sizeof(what); i++)
		w += (size_t)snprintf(what + w, sizeof(what) - w, "%s%s",
				      i == 0 ? "" : i + 1 == n ? " and " : ", ", part[i]);
	bool root = geteuid() == 0;
	pc_snapshot_warn(snap, "%s: could not read %s; sockets%s there may be missing and owners "
			       "are shown as unknown%s",
			 root ? "incomplete inventory" : "running without root privileges", what,
			 sf->nat_denied ? " and forwarded ports" : "",
			 root ? "" : " (run as root to see every namespace and process)");
}

/*
 * Namespace readers. Each dump walks the kernel's host-wide socket hash and
 * skips other namespaces' sockets, so with many namespaces the kernel work
 * is namespaces x all sockets: spread over threads, each with its own
 * private snapshot, merged afterwards (the merge is a copy; the walk is the
 * cost).
 */
struct reader {
	const struct pc_netns_set *set;
	const struct pc_inventory_opts *opts;
	const char *proc_root;
	const char *const *names; /* per namespace, in the caller's arena */
	_Atomic size_t *cursor;
	struct pc_snapshot *out;
	struct shortfall sf;
	size_t n_read;
	int err;
};

static void *reader_run(void *arg)
{
	struct reader *rd = arg;
	size_t n = pc_netns_count(rd->set);
	for (;;) {
		size_t i = atomic_fetch_add(rd->cursor, 1);
		if (i >= n)
			break;
		const struct pc_netns_entry *e = pc_netns_get(rd->set, i);
		struct collect c = {
			.snap = rd->out,
			.opts = rd->opts,
			.ns = {.inode = e->inode, .name = rd->names[i]},
		};
		int r = read_namespace(&c, rd->set, e, rd->proc_root, &rd->sf);
		if (r == PC_ENOMEM) {
			rd->err = r;
			atomic_store(rd->cursor, n);
			break;
		}
		if (r == 0)
			rd->n_read++;
	}
	return NULL;
}

static int merge_reader(struct pc_snapshot *snap, struct shortfall *sf, size_t *n_read,
			const struct reader *rd)
{
	if (rd->out != snap) {
		for (size_t i = 0; i < rd->out->n_endpoints; i++) {
			struct pc_endpoint *ep = pc_snapshot_add_endpoint(snap);
			if (!ep)
				return PC_ENOMEM;
			*ep = rd->out->endpoints[i];
		}
		for (size_t i = 0; i < rd->out->n_warnings; i++)
			if (pc_snapshot_warn(snap, "%s", rd->out->warnings[i]) < 0)
				return PC_ENOMEM;
	}
	sf->ns_unread += rd->sf.ns_unread;
	sf->ns_fallback += rd->sf.ns_fallback;
	sf->no_sockdiag |= rd->sf.no_sockdiag;
	if (!sf->first_error)
		sf->first_error = rd->sf.first_error;
	*n_read += rd->n_read;
	return rd->err;
}

#define MAX_READERS 4

static int read_all(struct pc_snapshot *snap, const struct pc_netns_set *set,
		    const struct pc_inventory_opts *opts, const char *proc_root,
		    struct shortfall *sf, size_t *n_read)
{
	size_t n = pc_netns_count(set);
	const char **names = calloc(n ? n : 1, sizeof(*names));
	if (!names)
		return PC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *name = pc_netns_get(set, i)->name;
		if (name && !(names[i] = pc_snapshot_strdup(snap, name))) {
			free(names);
			return PC_ENOMEM;
		}
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 1 ? (size_t)cpus : 1;
	if (want > MAX_READERS)
		want = MAX_READERS;
	if (want > n)
		want = n;
	if (want < 1)
		want = 1;
	_Atomic size_t cursor = 0;
	struct reader rd[MAX_READERS];
	pthread_t tid[MAX_READERS];
	bool started[MAX_READERS] = {false};
	int r = 0;
	memset(rd, 0, sizeof(rd));
	for (size_t i = 0; i < want; i++) {
		rd[i] = (struct reader){
			.set = set,
			.opts = opts,
			.proc_root = proc_root,
			.names = names,
			.cursor = &cursor,
			.out = i == 0 ? snap : pc_snapshot_new(NULL),
		};
		if (!rd[i].out) {
			want = i; /* the readers made so far do all the work */
			break;
		}
	}
	for (size_t i = 1; i < want; i++)
		started[i] = pthread_create(&tid[i], NULL, reader_run, &rd[i]) == 0;
	reader_run(&rd[0]);
	for (size_t i = 1; i < want; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	for (size_t i = 0; i < want; i++) {
		int m = merge_reader(snap, sf, n_read, &rd[i]);
		if (m < 0 && r == 0)
			r = m;
		if (rd[i].out != snap)
			pc_snapshot_free(rd[i].out);
	}
	free(names);
	return r;
}

/* The name a container or pod gives the namespace its owner lives in. */
static const char *owner_ns_name(struct pc_container_names *names, const struct pc_owner *o)
{
	const char *pod = pc_container_pod_name(names, o->container.pod_uid);
	return pod ? pod : o->container.name;
}

/*
 * Name the namespaces that /run/netns does not name after the one pod or
 * container whose processes hold their sockets. Never our own namespace (a
 * container on the host network is not the host), and never when two
 * owners disagree: an ambiguous name is worse than none.
 */
static int name_namespaces(struct pc_snapshot *snap, size_t first,
			   const struct pc_netns_set *set, struct pc_container_names *names)
{
	size_t n = pc_netns_count(set);
	const char **cand = calloc(n ? n : 1, sizeof(*cand));
	bool *bad = calloc(n ? n : 1, sizeof(*bad));
	int r = 0;
	if (!cand || !bad) {
		r = PC_ENOMEM;
		goto out;
	}
	uint64_t self = pc_netns_self(set);
	size_t k = 0; /* index of the last namespace seen: endpoints come in runs */
	for (size_t i = first; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->netns.name || ep->netns.inode == self || !ep->n_owners)
			continue;
		if (k >= n || pc_netns_get(set, k)->inode != ep->netns.inode) {
			for (k = 0; k < n && pc_netns_get(set, k)->inode != ep->netns.inode; k++)
				;
			if (k == n)
				continue;
		}
		for (size_t j = 0; j < ep->n_owners && !bad[k]; j++) {
			const char *name = owner_ns_name(names, &ep->owners[j]);
			if (!name)
				bad[k] = true; /* a process of no known container */
			else if (!cand[k])
				cand[k] = name;
			else if (strcmp(cand[k], name) != 0)
				bad[k] = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!cand[i] || bad[i])
			continue;
		const char *copy = pc_snapshot_strdup(snap, cand[i]);
		if (!copy) {
			r = PC_ENOMEM;
			goto out;
		}
		uint64_t inode = pc_netns_get(set, i)->inode;
		for (size_t e = first; e < snap->n_endpoints; e++)
			if (snap->endpoints[e].netns.inode == inode && !snap->endpoints[e].netns.name)
				snap->endpoints[e].netns.name = copy;
	}
out:
	free(cand);
	free(bad);
	return r;
}

int pc_inventory_collect(struct pc_snapshot *snap, const struct pc_inventory_opts *opts,
			 struct pc_netns_set **nsset, struct pc_error *err)
{
	if (nsset)
		*nsset = NULL;
	const char *proc_root = opts->proc_root ? opts->proc_root : "/proc";
	struct pc_netns_set *set = NULL;
	int r = pc_netns_discover(&set, proc_root, opts->netns_dir, opts->all_netns, NULL, err);
	if (r < 0)
		return r;

	struct shortfall sf = {.procs_ns = pc_netns_denied(set)};
	size_t first = snap->n_endpoints;
	size_t n_read = 0;
	r = read_all(snap, set, opts, proc_root, &sf, &n_read);
	if (r == PC_ENOMEM) {
		pc_netns_set_free(set);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	if (n_read == 0) {
		int code = sf.first_error == -EPERM || sf.first_error == -EACCES ? PC_EPERM : PC_EIO;
		pc_error_set(err, code, "could not read the sockets of any network namespace: %s",
			     pc_strerror(sf.first_error));
		pc_netns_set_free(set);
		return code;
	}

	if (opts->owners && snap->n_endpoints > first) {
		struct pc_owners_stats st = {0};
		struct pc_container_names *names = pc_container_names_new(opts->runtime_root);
		r = names ? pc_owners_attribute(snap, first, proc_root, names, &st) : PC_ENOMEM;
		if (r == 0)
			r = name_namespaces(snap, first, set, names);
		pc_container_names_free(names);
		if (r == PC_ENOMEM) {
			pc_netns_set_free(set);
			return pc_error_set(err, r, "out of memory");
		}
		if (r < 0)
			pc_snapshot_warn(snap, "could not walk %s for socket owners (%s): owners "
					       "are shown as unknown",
					 proc_root, pc_strerror(r));
		sf.procs_fds = st.procs_denied;
	}
	/* the namespaces' own addresses: where a wildcard listener answers */
	if (opts->listeners && !opts->force_proc && pc_rtaddr_collect(snap, first, set) < 0) {
		pc_netns_set_free(set);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	/* forwarded ports last: their backends are listeners of any namespace */
	if (opts->listeners && !opts->force_proc &&
	    pc_forward_collect(snap, set, &sf.nat_denied, err) < 0) {
		pc_netns_set_free(set);
		return PC_ENOMEM;
	}
	/* connections through NAT: the conntrack tables pair their halves */
	if (opts->established && !opts->force_proc) {
		unsigned ct_denied = 0;
		if (pc_conntrack_collect(snap, set, &ct_denied, err) < 0) {
			pc_netns_set_free(set);
			return PC_ENOMEM;
		}
		if (ct_denied > sf.nat_denied) /* the same privilege as the rules */
			sf.nat_denied = ct_denied;
	}
	warn_shortfall(snap, &sf, opts->force_proc);

	if (nsset)
		*nsset = set;
	else
		pc_netns_set_free(set);
	return 0;
}
