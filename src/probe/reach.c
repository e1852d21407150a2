/*
 * reach.c - the live check of `audit`: one TCP connect to every listener,
 * made from inside the listener's own network namespace.
 *
 * Why it is built this way:
 * - The connects are the dialler's (dial.c, shared with verify's re-check):
 *   at most `parallel` in flight, a deadline each, closed with an RST. This
 *   file chooses what to dial and reads what came back.
 * - A socket stays in the namespace it was created in, so the dialler gets
 *   each one from netns_socket() below, inside the listener's own
 *   namespace; one epoll loop then serves every namespace at once. In the
 *   probe worker (privsep.h) the caller's make_socket asks the privileged
 *   parent for it instead: the same seam, another factory.
 * - rtt_ms is the time connect() took (SYN out to SYN-ACK in, as the kernel
 *   completes the handshake).
 * - One endpoint never fails the run: what goes wrong with it is written
 *   into its `verified` record, or, when no check could be made at all, into
 *   one snapshot warning per cause. Only the loop itself (epoll, memory) can
 *   fail the call.
 */
#include "probe/reach.h"
#include "inventory/netns.h"
#include "probe/dial.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define REACH_DEFAULT_TIMEOUT_MS 1000.0
#define REACH_DEFAULT_PARALLEL 4
#define REACH_MAX_PARALLEL 1024

struct reach {
	struct pc_snapshot *snap;
	const struct pc_netns_set *nsset;
	uint64_t self;
	size_t next; /* next endpoint index to look at */
	size_t skipped_netns;     /* listeners in namespaces we could not enter */
	int netns_errno;          /* why, for the warning */
	const struct pc_reach_opts *opts;
	size_t skipped_linklocal; /* fe80:: binds: the interface is not known */
	size_t skipped_socket;    /* no socket could be made (fd limit...) */
	int socket_errno;
};

static uint64_t own_netns_inode(const struct pc_netns_set *nsset)
{
	uint64_t self = pc_netns_self(nsset);
	if (self)
		return self;
	struct stat st;
	if (stat("/proc/self/ns/net", &st) == 0)
		return (uint64_t)st.st_ino;
	return 0;
}

static bool needs_check(const struct pc_endpoint *ep)
{
	/* a forwarded port is dialled at its front address, from the
	 * namespace its NAT rule lives in, as a client there would */
	return ep->source == PC_SOURCE_HOST && ep->proto == PC_PROTO_TCP &&
	       (ep->state == PC_STATE_LISTEN || ep->state == PC_STATE_FORWARDED);
}

static bool is_link_local6(const struct pc_addr *a)
{
	return a->family == AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

/* A non-blocking socket in ep's namespace, or a negative errno. -ENOENT and
 * -EACCES/-EPERM mean "that namespace cannot be entered". */
static int netns_socket(void *ctx, const struct pc_endpoint *ep, int family, int type,
			int protocol)
{
	const struct reach *r = ctx;
	uint64_t ns = ep->netns.inode;
	if (ns == 0)
		return -ENOENT; /* we cannot know where it is: never guess */
	if (r->opts && r->opts->make_socket)
		return r->opts->make_socket(r->opts->socket_ctx, ep, family, type, protocol);
	if (r->nsset && pc_netns_find(r->nsset, ns))
		return pc_netns_socket(r->nsset, ns, family, type, protocol);
	if (ns != r->self)
		return -ENOENT;
	int fd = socket(family, type, protocol);
	return fd >= 0 ? fd : -errno;
}

/* The dialler's next job: the next TCP listener that can be checked. */
static int next_listener(void *ctx, struct pc_dial_job *job)
{
	struct reach *r = ctx;
	while (r->next < r->snap->n_endpoints) {
		size_t i = r->next++;
		const struct pc_endpoint *ep = &r->snap->endpoints[i];
		if (!needs_check(ep))
			continue;
		struct pc_addr dst;
		pc_endpoint_dial_addr(ep, &dst);
		if (dst.family != AF_INET && dst.family != AF_INET6)
			continue;
		if (is_link_local6(&dst)) {
			/* fe80::/10 needs the interface index as scope id, which
			 * the model does not carry: better no check than a wrong
			 * one */
			r->skipped_linklocal++;
			continue;
		}
		*job = (struct pc_dial_job){
			.idx = i, .ep = ep, .addr = dst, .port = ep->port, .proto = PC_PROTO_TCP,
		};
		return 1;
	}
	return 0;
}

/* A check is over: its verdict goes into the listener's `verified` record;
 * a listener no socket could be made for is counted for one warning. */
static int record(void *ctx, const struct pc_dial_job *job)
{
	struct reach *r = ctx;
	int e = job->error;
	if (job->status == PC_DIAL_NO_SOCKET) {
		if (e == ENOENT || e == EACCES || e == EPERM || e == EINVAL) {
			if (!r->skipped_netns++)
				r->netns_errno = e;
		} else if (!r->skipped_socket++) {
			r->socket_errno = e;
		}
		return 0;
	}
	struct pc_endpoint *ep = &r->snap->endpoints[job->idx];
	ep->verified.done = true;
	ep->verified.reachable = job->status == PC_DIAL_OPEN;
	ep->verified.rtt_ms = job->rtt_ms;
	ep->verified.error = NULL;
	if (ep->verified.reachable)
		return 0;
	/* the common cases by name, the rest as the system's text for the
	 * errno (copied into the snapshot) */
	const char *name = pc_dial_status_name(job->status);
	if (!name) {
		char buf[128];
		name = pc_snapshot_strdup(r->snap, strerror_r(e, buf, sizeof(buf)));
	}
	ep->verified.error = name ? name : "error";
	return 0;
}

static void warn_skipped(struct reach *r)
{
	if (r->skipped_netns)
		pc_snapshot_warn(r->snap,
				 "live check skipped for %zu listener%s: cannot enter %s network "
				 "namespace (%s)",
				 r->skipped_netns, r->skipped_netns == 1 ? "" : "s",
				 r->skipped_netns == 1 ? "its" : "their",
				 r->netns_errno == ENOENT ? "not open or unknown"
							  : strerror(r->netns_errno));
	if (r->skipped_linklocal)
		pc_snapshot_warn(r->snap,
				 "live check skipped for %zu IPv6 link-local listener%s: the "
				 "interface (scope id) is not known",
				 r->skipped_linklocal, r->skipped_linklocal == 1 ? "" : "s");
	if (r->skipped_socket)
		pc_snapshot_warn(r->snap, "live check skipped for %zu listener%s: socket: %s",
				 r->skipped_socket, r->skipped_socket == 1 ? "" : "s",
				 strerror(r->socket_errno));
}

int pc_reach_verify(struct pc_snapshot *snap, const struct pc_netns_set *nsset,
		    const struct pc_reach_opts *opts, struct pc_error *err)
{
	struct reach r = {
		.snap = snap,
		.nsset = nsset,
		.opts = opts,
	};
	/* with a socket factory the namespace is the factory's business (and
	 * the confined worker may not stat /proc) */
	if (!opts || !opts->make_socket)
		r.self = own_netns_inode(nsset);
	struct pc_dial_opts d = {
		.timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms
							   : REACH_DEFAULT_TIMEOUT_MS,
		.parallel = opts && opts->parallel ? opts->parallel : REACH_DEFAULT_PARALLEL,
		.make_socket = netns_socket,
		.socket_ctx = &r,
	};
	if (d.parallel > REACH_MAX_PARALLEL)
		d.parallel = REACH_MAX_PARALLEL;
	int ret = pc_dial_run(&d, next_listener, record, &r, err);
	if (ret == 0)
		warn_skipped(&r);
	return ret;
}
