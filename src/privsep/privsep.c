/*
 * privsep.c - fork a confined worker for one stage, broker the sockets it
 * may not make itself, and take its results back as hostile input (see
 * privsep.h for the picture).
 *
 * Why it is built this way:
 * - One fork per stage. The worker inherits the snapshot (and, for scans,
 *   the raw sockets the engines opened) by fork, so no job is ever sent
 *   over the channel; only results come back.
 * - The worker confines itself in an order where every step still has the
 *   privilege it needs, and checks each one (OpenBSD's rule: a drop that
 *   did not happen aborts the worker): bounding set (needs CAP_SETPCAP),
 *   groups, gid, uid (need CAP_SETGID/CAP_SETUID), then every remaining
 *   capability, then no_new_privs, then the seccomp filter. OpenSSL is
 *   initialised before the filter, so its lazy loading of the config file
 *   and providers never needs a system call the filter forbids.
 * - The parent's loop is small and reads top to bottom: receive one
 *   datagram, decode each record (msg.c), check it against what the parent
 *   knows, apply it. A SOCKET_REQ is answered at once; everything else only
 *   changes the parent's snapshot. The first malformed record kills the
 *   worker and fails the run: a worker that lies is a compromised worker.
 * - The worker ends with _exit, so atexit handlers, stdio buffers it
 *   inherited (the report being written) and the leak checker never run in
 *   the confined process.
 */
#include "privsep/privsep.h"
#include "inventory/netns.h"
#include "scan/privdrop.h"

#include <openssl/ssl.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Caps on what one worker may send besides endpoint updates (one per
 * endpoint at most) and found endpoints (hooks->max_found). */
#define MAX_WARNINGS 256
#define MAX_PROGRESS (UINT64_C(1) << 24) /* 48 days at 4 a second */
#define MAX_SOCKETS (UINT64_C(1) << 32)

/* ---- options ---- */

int pc_privsep_opts_init(struct pc_privsep_opts *opts, const char *user, struct pc_error *err)
{
	if (!user)
		user = PC_PRIVSEP_DEFAULT_USER;
	memset(opts, 0, sizeof(*opts));
	if (strlen(user) >= sizeof(opts->user))
		return pc_error_set(err, PC_EINVAL, "--privsep-user: name too long");
	char buf[4096];
	struct passwd pw, *found = NULL;
	int e = getpwnam_r(user, &pw, buf, sizeof(buf), &found);
	if (e != 0 || !found)
		return pc_error_set(err, PC_EINVAL,
				    "--privsep-user: no user '%s' on this machine (the probe "
				    "worker runs as that user)",
				    user);
	if (pw.pw_uid == 0 || pw.pw_gid == 0)
		return pc_error_set(err, PC_EINVAL,
				    "--privsep-user: '%s' has uid or gid 0; the probe worker "
				    "needs an unprivileged user",
				    user);
	snprintf(opts->user, sizeof(opts->user), "%s", user);
	opts->uid = pw.pw_uid;
	opts->gid = pw.pw_gid;
	return 0;
}

/* ---- the parent: decode and apply ---- */

struct pc_privsep_parent {
	struct pc_snapshot *snap;
	const struct pc_privsep_hooks *hooks;
	size_t n_fork;     /* endpoints when the worker was forked */
	uint8_t *updated;  /* one flag per endpoint: updated already */
	uint64_t self_netns;
	uint64_t n_found, n_warnings, n_progress, n_sockets;
	bool done;
	int code;
	char msg[sizeof(((struct pc_error *)0)->msg)];
	int chan; /* the live channel, or -1 (fuzzer, tests) */
};

static uint64_t own_netns(const struct pc_netns_set *nsset)
{
	uint64_t self = pc_netns_self(nsset);
	struct stat st;
	if (!self && stat("/proc/self/ns/net", &st) == 0)
		self = (uint64_t)st.st_ino;
	return self;
}

struct pc_privsep_parent *pc_privsep_parent_new(struct pc_snapshot *snap,
						const struct pc_privsep_hooks *hooks)
{
	struct pc_privsep_parent *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->snap = snap;
	p->hooks = hooks;
	p->n_fork = snap->n_endpoints;
	p->updated = calloc(p->n_fork ? p->n_fork : 1, 1);
	if (!p->updated) {
		free(p);
		return NULL;
	}
	p->self_netns = own_netns(hooks ? hooks->nsset : NULL);
	p->chan = -1;
	p->code = 1;
	return p;
}

void pc_privsep_parent_free(struct pc_privsep_parent *p)
{
	if (!p)
		return;
	free(p->updated);
	free(p);
}

static const char *copy_str(struct pc_snapshot *s, struct pc_privsep_str v, bool *oom)
{
	if (!v.p)
		return NULL;
	const char *c = pc_arena_strndup(&s->arena, v.p, v.len);
	if (!c)
		*oom = true;
	return c;
}

static int apply_update(struct pc_privsep_parent *p, const struct pc_privsep_update *u,
			struct pc_error *err)
{
	if (u->index >= p->n_fork)
		return pc_error_set(err, PC_EPARSE, "update for endpoint %u of %zu", u->index,
				    p->n_fork);
	if (p->updated[u->index])
		return pc_error_set(err, PC_EPARSE, "second update for endpoint %u", u->index);
	p->updated[u->index] = 1;
	struct pc_snapshot *s = p->snap;
	struct pc_endpoint *ep = &s->endpoints[u->index];
	/* only a re-check (verify) changes what a record says about the port
	 * itself; the live check and the probes add to it */
	if (ep->source != PC_SOURCE_IMPORT &&
	    (u->state != ep->state || u->rtt_ms != ep->rtt_ms || u->recheck != PC_RECHECK_NONE ||
	     u->recheck_reason.p))
		return pc_error_set(err, PC_EPARSE, "update changes the state of endpoint %u",
				    u->index);
	bool oom = false;
	struct pc_service *svc = NULL;
	if (u->has_service) {
		svc = pc_snapshot_service(s);
		if (!svc)
			return pc_error_set(err, PC_ENOMEM, "out of memory");
		svc->name = copy_str(s, u->name, &oom);
		svc->product = copy_str(s, u->product, &oom);
		svc->version = copy_str(s, u->version, &oom);
		svc->evidence = copy_str(s, u->evidence, &oom);
		svc->banner = copy_str(s, u->banner, &oom);
		svc->tls = u->tls;
		svc->auth = u->auth;
		if (u->has_tls_info) {
			struct pc_tls_info *ti = pc_arena_alloc(&s->arena, sizeof(*ti));
			if (!ti)
				return pc_error_set(err, PC_ENOMEM, "out of memory");
			ti->version = copy_str(s, u->tls_version, &oom);
			ti->cipher = copy_str(s, u->cipher, &oom);
			ti->subject = copy_str(s, u->subject, &oom);
			ti->issuer = copy_str(s, u->issuer, &oom);
			ti->not_after = copy_str(s, u->not_after, &oom);
			ti->self_signed = u->self_signed;
			svc->tls_info = ti;
		}
		if (u->n_auth_methods) {
			svc->auth_methods = pc_arena_alloc(&s->arena, u->n_auth_methods *
									  sizeof(*svc->auth_methods));
			if (!svc->auth_methods)
				return pc_error_set(err, PC_ENOMEM, "out of memory");
			for (size_t i = 0; i < u->n_auth_methods; i++)
				svc->auth_methods[i] = copy_str(s, u->auth_methods[i], &oom);
			svc->n_auth_methods = u->n_auth_methods;
		}
		if (u->has_ssh_info) {
			struct pc_ssh_info *si = pc_arena_alloc(&s->arena, sizeof(*si));
			if (!si)
				return pc_error_set(err, PC_ENOMEM, "out of memory");
			si->hostkey_type = copy_str(s, u->hostkey_type, &oom);
			si->hostkey_fingerprint = copy_str(s, u->hostkey_fingerprint, &oom);
			svc->ssh_info = si;
		}
	}
	const char *v_error = copy_str(s, u->v_error, &oom);
	const char *reason = copy_str(s, u->recheck_reason, &oom);
	const char *skipped = copy_str(s, u->probe_skipped, &oom);
	if (oom)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	ep->state = u->state;
	ep->rtt_ms = u->rtt_ms;
	ep->verified.done = u->v_done;
	ep->verified.reachable = u->v_reachable;
	ep->verified.rtt_ms = u->v_rtt_ms;
	ep->verified.error = v_error;
	ep->recheck = u->recheck;
	ep->recheck_reason = reason;
	ep->service = svc;
	ep->probe_skipped = skipped;
	return 0;
}

/* What the parent makes for the worker: TCP or UDP sockets of the inet
 * families, in a namespace the inventory found (or its own). Anything else
 * no honest worker asks for. Returns 0 (allowed), a negative errno to
 * answer with, or PC_EPARSE (err filled) for a request that is a lie. */
static int broker_check(const struct pc_privsep_parent *p, const struct pc_privsep_socket_req *q,
			struct pc_error *err)
{
	int flags = q->type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	int base = q->type & ~flags;
	if (q->domain != AF_INET && q->domain != AF_INET6)
		return pc_error_set(err, PC_EPARSE, "socket request for domain %d", q->domain);
	if (base != SOCK_STREAM && base != SOCK_DGRAM)
		return pc_error_set(err, PC_EPARSE, "socket request for type %d", q->type);
	if (q->protocol != 0 && !(base == SOCK_STREAM && q->protocol == IPPROTO_TCP) &&
	    !(base == SOCK_DGRAM && q->protocol == IPPROTO_UDP))
		return pc_error_set(err, PC_EPARSE, "socket request for protocol %d",
				    q->protocol);
	if (q->netns == 0)
		return -ENOENT;
	if (q->netns == p->self_netns)
		return 0;
	const struct pc_netns_set *set = p->hooks ? p->hooks->nsset : NULL;
	return set && pc_netns_find(set, q->netns) ? 0 : -ENOENT;
}

static int send_fd(int chan, int error, int fd)
{
	struct pc_privsep_out *out = malloc(sizeof(*out));
	if (!out)
		return -ENOMEM;
	out->len = 0;
	struct pc_privsep_rec rec = {.type = PC_PRIVSEP_SOCKET_REP, .u.socket_rep = error};
	pc_privsep_put(out, &rec);
	struct iovec iov = {out->buf, out->len};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	while ((n = sendmsg(chan, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	int r = n < 0 ? -errno : 0;
	free(out);
	return r;
}

static int answer_socket(struct pc_privsep_parent *p, const struct pc_privsep_socket_req *q,
			 struct pc_error *err)
{
	if (++p->n_sockets > MAX_SOCKETS)
		return pc_error_set(err, PC_EPARSE, "too many socket requests");
	int r = broker_check(p, q, err);
	if (r == PC_EPARSE || p->chan < 0)
		return r == PC_EPARSE ? r : 0;
	int fd = r;
	if (r == 0)
		fd = pc_netns_socket(p->hooks ? p->hooks->nsset : NULL, q->netns, q->domain,
				     q->type, q->protocol);
	int s = send_fd(p->chan, fd < 0 ? fd : 0, fd);
	if (fd >= 0)
		close(fd);
	/* a worker that is gone cannot be answered: its end of the story is
	 * read at EOF, from its exit status */
	(void)s;
	return 0;
}

static int apply(struct pc_privsep_parent *p, const struct pc_privsep_rec *rec,
		 struct pc_error *err)
{
	const struct pc_privsep_hooks *h = p->hooks;
	if (p->done)
		return pc_error_set(err, PC_EPARSE, "record of type %u after the end",
				    rec->type);
	switch (rec->type) {
	case PC_PRIVSEP_SOCKET_REQ:
		return answer_socket(p, &rec->u.socket_req, err);
	case PC_PRIVSEP_SOCKET_REP:
		return pc_error_set(err, PC_EPARSE, "socket reply from the worker");
	case PC_PRIVSEP_UPDATE:
		return apply_update(p, &rec->u.update, err);
	case PC_PRIVSEP_FOUND:
		if (!h || !h->on_found)
			return pc_error_set(err, PC_EPARSE, "found endpoint outside a scan");
		if (++p->n_found > h->max_found)
			return pc_error_set(err, PC_EPARSE, "more found endpoints than probes");
		return h->on_found(h->ctx, &rec->u.found, err);
	case PC_PRIVSEP_STATS:
	case PC_PRIVSEP_PROGRESS:
		if (!h || !h->on_stats)
			return pc_error_set(err, PC_EPARSE, "statistics outside a scan");
		if (++p->n_progress > MAX_PROGRESS)
			return pc_error_set(err, PC_EPARSE, "too many progress records");
		h->on_stats(h->ctx, &rec->u.stats, rec->type == PC_PRIVSEP_PROGRESS);
		return 0;
	case PC_PRIVSEP_WARNING:
		if (++p->n_warnings > MAX_WARNINGS)
			return pc_error_set(err, PC_EPARSE, "more than %d warnings", MAX_WARNINGS);
		if (pc_snapshot_warn(p->snap, "%.*s", (int)rec->u.warning.len,
				     rec->u.warning.p) < 0)
			return pc_error_set(err, PC_ENOMEM, "out of memory");
		return 0;
	case PC_PRIVSEP_DONE: {
		p->done = true;
		int code = rec->u.done.code;
		/* the stage's inputs were parsed here, before the fork: no
		 * failure of the worker is an input error (exit 2) */
		if (code == PC_EINVAL || code == PC_EPARSE || code == PC_ESCOPE)
			code = PC_EIO;
		p->code = code;
		snprintf(p->msg, sizeof(p->msg), "%.*s", (int)rec->u.done.msg.len,
			 rec->u.done.msg.p ? rec->u.done.msg.p : "");
		return 0;
	}
	}
	return pc_error_set(err, PC_EPARSE, "unknown record type %u", rec->type);
}

int pc_privsep_parent_feed(struct pc_privsep_parent *p, const uint8_t *buf, size_t len,
			   struct pc_error *err)
{
	size_t off = 0;
	if (len == 0)
		return pc_error_set(err, PC_EPARSE, "privsep: empty datagram");
	while (off < len) {
		struct pc_privsep_rec rec;
		int r = pc_privsep_decode(buf, len, &off, &rec, err);
		if (r < 0)
			return r;
		r = apply(p, &rec, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int pc_privsep_parent_result(const struct pc_privsep_parent *p, struct pc_error *err)
{
	if (!p->done)
		return 1;
	if (p->code < 0)
		return pc_error_set(err, p->code, "%s", p->msg[0] ? p->msg : pc_strerror(p->code));
	return 0;
}

/* ---- the worker's channel ---- */

struct pc_privsep {
	int fd;
	pthread_mutex_t lock;
	double first_ms; /* when the oldest queued record was queued */
	struct pc_privsep_out out;
};

static int flush_locked(struct pc_privsep *ps)
{
	if (ps->out.len == 0)
		return 0;
	ssize_t n;
	while ((n = send(ps->fd, ps->out.buf, ps->out.len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	ps->out.len = 0;
	return n < 0 ? -errno : 0;
}

int pc_privsep_flush(struct pc_privsep *ps)
{
	pthread_mutex_lock(&ps->lock);
	int r = flush_locked(ps);
	pthread_mutex_unlock(&ps->lock);
	return r;
}

double pc_privsep_pending_ms(struct pc_privsep *ps)
{
	pthread_mutex_lock(&ps->lock);
	double d = ps->out.len ? pc_monotonic_ms() - ps->first_ms : 0;
	pthread_mutex_unlock(&ps->lock);
	return d;
}

static int send_locked(struct pc_privsep *ps, const struct pc_privsep_rec *rec)
{
	if (ps->out.len == 0)
		ps->first_ms = pc_monotonic_ms();
	int r = pc_privsep_put(&ps->out, rec);
	if (r == PC_ETOOBIG) {
		r = flush_locked(ps);
		if (r == 0) {
			ps->first_ms = pc_monotonic_ms();
			r = pc_privsep_put(&ps->out, rec);
		}
	}
	return r;
}

int pc_privsep_send(struct pc_privsep *ps, const struct pc_privsep_rec *rec)
{
	pthread_mutex_lock(&ps->lock);
	int r = send_locked(ps, rec);
	pthread_mutex_unlock(&ps->lock);
	return r;
}

/* The reply to our SOCKET_REQ: its errno, or 0 and the fd. */
static int receive_fd(int chan)
{
	uint8_t buf[64];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b)};
	ssize_t n;
	while ((n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	int fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	size_t off = 0;
	struct pc_privsep_rec rec;
	if (pc_privsep_decode(buf, (size_t)n, &off, &rec, NULL) < 0 || off != (size_t)n ||
	    rec.type != PC_PRIVSEP_SOCKET_REP || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (rec.u.socket_rep == 0) != (fd >= 0)) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	return rec.u.socket_rep < 0 ? rec.u.socket_rep : fd;
}

int pc_privsep_socket(struct pc_privsep *ps, uint64_t netns, int domain, int type,
		      int protocol)
{
	struct pc_privsep_rec rec = {
		.type = PC_PRIVSEP_SOCKET_REQ,
		.u.socket_req = {.netns = netns, .domain = domain, .type = type,
				 .protocol = protocol},
	};
	pthread_mutex_lock(&ps->lock);
	int r = flush_locked(ps);
	if (r == 0)
		r = send_locked(ps, &rec);
	if (r == 0)
		r = flush_locked(ps);
	if (r == 0)
		r = receive_fd(ps->fd);
	pthread_mutex_unlock(&ps->lock);
	return r;
}

/* ---- the worker ---- */

__attribute__((weak)) void pc_privsep_test_hook(void)
{
}

int pc_privsep_fds_open(int **ret_fds, size_t *ret_n)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd <= STDERR_FILENO || fd == dirfd(d))
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			int *nv = realloc(v, c * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = c;
		}
		v[n++] = (int)fd;
	}
	closedir(d);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret_fds = v;
	*ret_n = n;
	return 0;
}

/* Close every fd but stdio and the channel (close_fds), or those listed;
 * stdin and stdout become /dev/null, so the worker can write neither the
 * report nor the terminal's input. stderr stays: the sanitizers report
 * there. */
static int close_fds(int chan, const struct pc_privsep_hooks *h, struct pc_error *err)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		return pc_error_set(err, PC_EPERM, "privsep: /dev/null: %s", strerror(errno));
	close(null);
	if (!h)
		return 0;
	for (size_t i = 0; i < h->n_close_list; i++)
		if (h->close_list[i] != chan)
			close(h->close_list[i]);
	if (h->close_fds && ((chan > 3 && close_range(3, (unsigned)chan - 1, 0) < 0) ||
			     close_range((unsigned)chan + 1, ~0U, 0) < 0))
		return pc_error_set(err, PC_EPERM, "privsep: close_range: %s", strerror(errno));
	return 0;
}

/* What OpenSSL loads lazily from files (its config, and the providers
 * the config activates), loaded now, while the filter does not exist yet.
 * The probes' SSL_CTX_new after the filter then only fetches algorithms
 * from memory, and the DRBG seeds itself with getrandom, which the filter
 * allows (checked with strace: no open, no forbidden call). A throw-away
 * context or an early RAND_bytes here would only cost time: the DRBG's
 * instantiation alone is ~1.5 ms. */
static int warm_openssl(struct pc_error *err)
{
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		return pc_error_set(err, PC_EIO, "privsep: cannot initialise OpenSSL");
	return 0;
}

static int drop_bounding_set(struct pc_error *err)
{
	if (!pc_privdrop_has(CAP_SETPCAP))
		return 0;
	for (int cap = 0; cap < (int)cap_max_bits(); cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return pc_error_set(err, PC_EPERM,
					    "privsep: cannot drop capability %d from the bounding "
					    "set: %s",
					    cap, strerror(errno));
	return 0;
}

static int change_user(const struct pc_privsep_opts *o, struct pc_error *err)
{
	/* Not root (e.g. tests/e2e/listeners_nonroot.sh runs us as nobody, or
	 * a user runs a connect scan): there is no other uid to become, and no
	 * privilege to become it with. The worker still sets no_new_privs,
	 * drops every capability it may hold (file capabilities) and loads
	 * the seccomp filter. */
	if (geteuid() != 0)
		return 0;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (setgroups(0, NULL) < 0 || setresgid(o->gid, o->gid, o->gid) < 0 ||
	    setresuid(o->uid, o->uid, o->uid) < 0)
		return pc_error_set(err, PC_EPERM, "privsep: cannot become user %s: %s", o->user,
				    strerror(errno));
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != o->uid ||
	    eu != o->uid || su != o->uid || rg != o->gid || eg != o->gid || sg != o->gid ||
	    getgroups(0, NULL) != 0)
		return pc_error_set(err, PC_EPERM, "privsep: the uid/gid change did not happen");
	if (setuid(0) == 0 || setgid(0) == 0)
		return pc_error_set(err, PC_EPERM, "privsep: root could be regained");
	return 0;
}

static int confine(int chan, pid_t parent, const struct pc_privsep_opts *o,
		   const struct pc_privsep_hooks *h, struct pc_error *err)
{
	/* the worker never outlives the parent that reads its results */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		return pc_error_set(err, PC_EIO, "privsep: the parent is gone");
	int r = close_fds(chan, h, err);
	if (r == 0 && h && h->tls)
		r = warm_openssl(err);
	if (r == 0)
		r = drop_bounding_set(err);
	if (r == 0)
		r = change_user(o, err);
	if (r == 0)
		r = pc_privdrop_all(err);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return pc_error_set(err, PC_EPERM, "privsep: cannot set no_new_privs: %s",
				    strerror(errno));
	return pc_privsep_seccomp_load(err);
}

/* Whether the stage did anything to the endpoint: only those are sent. */
static bool touched(const struct pc_endpoint *ep)
{
	return ep->verified.done || ep->service || ep->recheck != PC_RECHECK_NONE ||
	       ep->probe_skipped;
}

static _Noreturn void worker_main(int chan, pid_t parent, struct pc_snapshot *snap,
				  const struct pc_privsep_opts *o, const struct pc_privsep_hooks *h,
				  pc_privsep_worker_fn fn, void *arg)
{
	struct pc_error err = {0};
	struct pc_privsep *ps = calloc(1, sizeof(*ps));
	if (!ps)
		_exit(70);
	ps->fd = chan;
	pthread_mutex_init(&ps->lock, NULL);
	size_t n_fork = snap->n_endpoints, w_fork = snap->n_warnings;
	int r = confine(chan, parent, o, h, &err);
	if (r == 0) {
		pc_privsep_test_hook();
		r = fn(ps, snap, arg, &err);
	}
	struct pc_privsep_rec rec;
	for (size_t i = 0; r == 0 && i < n_fork && i < snap->n_endpoints; i++) {
		if (!touched(&snap->endpoints[i]))
			continue;
		pc_privsep_update_from(&rec, (uint32_t)i, &snap->endpoints[i]);
		r = pc_privsep_send(ps, &rec);
	}
	for (size_t i = w_fork; r == 0 && i < snap->n_warnings && i - w_fork < MAX_WARNINGS; i++) {
		rec = (struct pc_privsep_rec){.type = PC_PRIVSEP_WARNING};
		rec.u.warning = (struct pc_privsep_str){snap->warnings[i], strlen(snap->warnings[i])};
		r = pc_privsep_send(ps, &rec);
	}
	rec = (struct pc_privsep_rec){.type = PC_PRIVSEP_DONE};
	rec.u.done.code = r < 0 ? r : 0;
	rec.u.done.msg = (struct pc_privsep_str){err.msg, strlen(err.msg)};
	if (pc_privsep_send(ps, &rec) < 0 || pc_privsep_flush(ps) < 0)
		_exit(71);
	_exit(r < 0 ? 1 : 0);
}

/* ---- the parent ---- */

static int reap(pid_t pid, int *ret_status)
{
	while (waitpid(pid, ret_status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int worker_died(int status, struct pc_error *err)
{
	int sig = WTERMSIG(status);
	const char *abbrev = sigabbrev_np(sig);
	return pc_error_set(err, PC_EIO, "probe worker killed by signal %s%s%s",
			    abbrev ? "SIG" : "", abbrev ? abbrev : "(unknown)",
			    sig == SIGSYS ? " (seccomp: a forbidden system call)" : "");
}

static int parent_loop(struct pc_privsep_parent *p, pid_t pid, struct pc_error *err)
{
	uint8_t *buf = malloc(PC_PRIVSEP_DGRAM_MAX);
	struct pc_error perr = {0};
	int bad = 0;
	if (!buf) {
		kill(pid, SIGKILL);
		bad = pc_error_set(&perr, PC_ENOMEM, "out of memory");
	}
	while (!bad) {
		struct iovec iov = {buf, PC_PRIVSEP_DGRAM_MAX};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(p->chan, &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bad = pc_error_set(&perr, PC_EIO, "recvmsg: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break; /* the worker has closed its end: it is exiting */
		/* an fd from the worker (MSG_CTRUNC: the kernel closed it) or a
		 * datagram over the cap is a lie */
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			bad = pc_error_set(&perr, PC_EPARSE, "oversized datagram or an fd");
			break;
		}
		bad = pc_privsep_parent_feed(p, buf, (size_t)n, &perr);
	}
	free(buf);
	if (bad)
		kill(pid, SIGKILL);
	int status = 0;
	int r = reap(pid, &status);
	if (r < 0)
		return pc_error_set(err, PC_EIO, "waitpid: %s", strerror(-r));
	if (bad == PC_ENOMEM)
		return pc_error_set(err, PC_ENOMEM, "%s", perr.msg);
	if (bad)
		return pc_error_set(err, PC_EIO, "probe worker sent a malformed message: %s",
				    perr.msg);
	if (WIFSIGNALED(status))
		return worker_died(status, err);
	r = pc_privsep_parent_result(p, err);
	if (r < 0)
		return r;
	if (r > 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return pc_error_set(err, PC_EIO, "probe worker ended without a result (exit %d)",
				    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

int pc_privsep_run(struct pc_snapshot *snap, const struct pc_privsep_opts *opts,
		   const struct pc_privsep_hooks *hooks, pc_privsep_worker_fn fn, void *arg,
		   struct pc_error *err)
{
	struct pc_privsep_parent *p = pc_privsep_parent_new(snap, hooks);
	if (!p)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int e = errno;
		pc_privsep_parent_free(p);
		return pc_error_set(err, PC_EIO, "privsep: socketpair: %s", strerror(e));
	}
	/* room for a few MB of results in flight, so that a scan's engine
	 * threads (which send under the scan's lock) do not wait for this
	 * process to be scheduled; best effort (FORCE needs CAP_NET_ADMIN) */
	int sz = 4 << 20;
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		pc_privsep_parent_free(p);
		return pc_error_set(err, PC_EIO, "privsep: fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(sv[0]);
		worker_main(sv[1], parent, snap, opts, hooks, fn, arg);
	}
	close(sv[1]);
	p->chan = sv[0];
	int r = hooks && hooks->after_fork ? hooks->after_fork(hooks->ctx, err) : 0;
	if (r < 0) {
		int status;
		kill(pid, SIGKILL);
		reap(pid, &status);
	} else {
		r = parent_loop(p, pid, err);
	}
	close(sv[0]);
	pc_privsep_parent_free(p);
	return r;
}
