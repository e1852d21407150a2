/*
 * reach.c - the live check of `audit`: one TCP connect to every listener,
 * made from inside the listener's own network namespace.
 *
 * Why it is built this way:
 * - A socket stays in the namespace it was created in, so each check gets
 *   its own socket from pc_netns_socket() and is then driven from here like
 *   any other fd: one epoll loop serves every namespace at once.
 * - At most `parallel` connects are in flight and each has its own deadline,
 *   so a host with thousands of listeners is checked gently, and a filtered
 *   port costs one deadline, not the kernel's two minutes of SYN retries.
 * - rtt_ms is the time connect() took (SYN out to SYN-ACK in, as the kernel
 *   completes the handshake).
 * - Sockets are closed with SO_LINGER {1, 0}: the check ends in an RST, so
 *   a big audit leaves no TIME_WAIT behind.
 * - One endpoint never fails the run: what goes wrong with it is written
 *   into its `verified` record, or, when no check could be made at all, into
 *   one snapshot warning per cause. Only the loop itself (epoll, memory) can
 *   fail the call.
 */
#include "probe/reach.h"
#include "inventory/netns.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define REACH_DEFAULT_TIMEOUT_MS 1000.0
#define REACH_DEFAULT_PARALLEL 4
#define REACH_MAX_PARALLEL 1024

struct check {
	struct pc_endpoint *ep;
	int fd; /* -1 when the slot is free */
	double started, deadline;
	struct sockaddr_storage to;
};

struct reach {
	struct pc_snapshot *snap;
	const struct pc_netns_set *nsset;
	uint64_t self;
	int epfd;
	double timeout_ms;
	size_t in_flight;
	size_t skipped_netns;     /* listeners in namespaces we could not enter */
	int netns_errno;          /* why, for the warning */
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
	return ep->source == PC_SOURCE_HOST && ep->proto == PC_PROTO_TCP &&
	       ep->state == PC_STATE_LISTEN;
}

static bool is_link_local6(const struct pc_addr *a)
{
	return a->family == AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

/* Text for a failed connect: the common cases by name, the rest as the
 * system's text for the errno (copied into the snapshot). */
static const char *error_text(struct reach *r, int error)
{
	switch (error) {
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timeout";
	case ENETUNREACH:
	case EHOSTUNREACH:
		return "unreachable";
	}
	char buf[128];
	const char *s = strerror_r(error, buf, sizeof(buf));
	const char *copy = pc_snapshot_strdup(r->snap, s);
	return copy ? copy : "error";
}

static void close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Connected to ourselves? Only possible when the kernel gave us the target
 * port as our source port on the same address (FIELD-NOTES: loopback
 * self-connect); that proves nothing about the listener. */
static bool self_connected(int fd, const struct sockaddr_storage *to)
{
	struct sockaddr_storage me;
	socklen_t len = sizeof(me);
	if (getsockname(fd, (struct sockaddr *)&me, &len) != 0)
		return false;
	struct pc_addr a, b;
	uint16_t pa, pb;
	if (pc_addr_from_sockaddr(&me, &a, &pa) < 0 || pc_addr_from_sockaddr(to, &b, &pb) < 0)
		return false;
	return pa == pb && pc_addr_equal(&a, &b);
}

static void finish(struct reach *r, struct check *c, int error)
{
	struct pc_endpoint *ep = c->ep;
	double rtt = pc_monotonic_ms() - c->started;
	ep->verified.done = true;
	if (error == 0 && self_connected(c->fd, &c->to)) {
		ep->verified.reachable = false;
		ep->verified.rtt_ms = -1;
		ep->verified.error = "self-connect";
	} else if (error == 0) {
		ep->verified.reachable = true;
		ep->verified.rtt_ms = rtt < 0 ? 0 : rtt;
		ep->verified.error = NULL;
	} else {
		ep->verified.reachable = false;
		ep->verified.rtt_ms = -1;
		ep->verified.error = error_text(r, error);
	}
	if (c->fd >= 0) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close_reset(c->fd);
		r->in_flight--;
	}
	c->fd = -1;
	c->ep = NULL;
}

/* A non-blocking socket in ep's namespace, or a negative errno. -ENOENT and
 * -EACCES/-EPERM mean "that namespace cannot be entered". */
static int netns_socket(struct reach *r, const struct pc_endpoint *ep, int family)
{
	int type = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
	uint64_t ns = ep->netns.inode;
	if (ns == 0)
		return -ENOENT; /* we cannot know where it is: never guess */
	if (r->nsset && pc_netns_find(r->nsset, ns))
		return pc_netns_socket(r->nsset, ns, family, type, 0);
	if (ns != r->self)
		return -ENOENT;
	int fd = socket(family, type, 0);
	return fd >= 0 ? fd : -errno;
}

/* Start the check of ep in slot c. Returns 0, or a negative errno when the
 * loop itself cannot go on (epoll). Every other failure is ep's verdict. */
static int start(struct reach *r, struct check *c, struct pc_endpoint *ep)
{
	struct pc_addr dst;
	pc_endpoint_dial_addr(ep, &dst);
	if (dst.family != AF_INET && dst.family != AF_INET6)
		return 0;
	if (is_link_local6(&dst)) {
		/* fe80::/10 needs the interface index as scope id, which the
		 * model does not carry: better no check than a wrong one */
		r->skipped_linklocal++;
		return 0;
	}
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->ep = ep;
	size_t len = pc_addr_to_sockaddr(&dst, ep->port, &c->to);
	int fd = netns_socket(r, ep, dst.family);
	if (fd < 0) {
		if (fd == -ENOENT || fd == -EACCES || fd == -EPERM || fd == -EINVAL) {
			if (!r->skipped_netns++)
				r->netns_errno = -fd;
		} else if (!r->skipped_socket++) {
			r->socket_errno = -fd;
		}
		c->ep = NULL;
		return 0;
	}
	c->started = pc_monotonic_ms();
	c->deadline = c->started + r->timeout_ms;
	c->fd = fd;
	r->in_flight++;
	if (connect(fd, (struct sockaddr *)&c->to, (socklen_t)len) == 0) {
		finish(r, c, 0);
		return 0;
	}
	if (errno != EINPROGRESS) {
		finish(r, c, errno);
		return 0;
	}
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = errno;
		finish(r, c, e);
		return -e;
	}
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
		.self = own_netns_inode(nsset),
		.epfd = -1,
		.timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms
							   : REACH_DEFAULT_TIMEOUT_MS,
	};
	size_t parallel = opts && opts->parallel ? opts->parallel : REACH_DEFAULT_PARALLEL;
	if (parallel > REACH_MAX_PARALLEL)
		parallel = REACH_MAX_PARALLEL;

	size_t todo = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if (needs_check(&snap->endpoints[i]))
			todo++;
	if (todo == 0)
		return 0;
	if (parallel > todo)
		parallel = todo;

	struct check *slots = calloc(parallel, sizeof(*slots));
	struct epoll_event *events = calloc(parallel, sizeof(*events));
	int ret = 0;
	if (!slots || !events) {
		ret = pc_error_set(err, PC_ENOMEM, "out of memory for the live check");
		goto out;
	}
	for (size_t s = 0; s < parallel; s++)
		slots[s].fd = -1;
	r.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r.epfd < 0) {
		ret = pc_error_set(err, -errno, "live check: epoll: %s", strerror(errno));
		goto out;
	}

	size_t next = 0; /* next endpoint index to look at */
	for (;;) {
		/* fill free slots */
		for (size_t s = 0; s < parallel && next < snap->n_endpoints; s++) {
			if (slots[s].fd >= 0)
				continue;
			while (next < snap->n_endpoints && slots[s].fd < 0) {
				struct pc_endpoint *ep = &snap->endpoints[next++];
				if (!needs_check(ep))
					continue;
				int e = start(&r, &slots[s], ep);
				if (e < 0) {
					ret = pc_error_set(err, e, "live check: epoll: %s",
							   strerror(-e));
					goto out;
				}
			}
		}
		if (r.in_flight == 0 && next >= snap->n_endpoints)
			break;

		double now = pc_monotonic_ms(), first = INFINITY;
		for (size_t s = 0; s < parallel; s++)
			if (slots[s].fd >= 0 && slots[s].deadline < first)
				first = slots[s].deadline;
		int wait_ms = 0;
		if (first > now)
			wait_ms = (int)ceil(first - now);
		int n = epoll_wait(r.epfd, events, (int)parallel, wait_ms);
		if (n < 0 && errno != EINTR) {
			ret = pc_error_set(err, -errno, "live check: epoll_wait: %s",
					   strerror(errno));
			goto out;
		}
		for (int k = 0; k < n; k++) {
			struct check *c = events[k].data.ptr;
			int so_error = 0;
			socklen_t len = sizeof(so_error);
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0)
				so_error = errno;
			finish(&r, c, so_error);
		}
		now = pc_monotonic_ms();
		for (size_t s = 0; s < parallel; s++)
			if (slots[s].fd >= 0 && now >= slots[s].deadline)
				finish(&r, &slots[s], ETIMEDOUT);
	}
	warn_skipped(&r);
out:
	for (size_t s = 0; slots && s < parallel; s++)
		if (slots[s].fd >= 0)
			close_reset(slots[s].fd);
	if (r.epfd >= 0)
		close(r.epfd);
	free(slots);
	free(events);
	return ret;
}
