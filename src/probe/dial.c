/*
 * dial.c - the bounded non-blocking dialler behind audit's live check and
 * verify's re-check (see dial.h for what it reports).
 *
 * Why it is built this way:
 * - A socket stays in the namespace it was created in, so the caller's
 *   factory may make each one wherever it belongs (reach.c: inside the
 *   listener's own namespace); from then on it is an fd like any other, and
 *   one epoll loop serves every namespace at once.
 * - At most `parallel` jobs are in flight and each has its own deadline, so
 *   a host with thousands of ports is dialled gently, and a filtered port
 *   costs one deadline, not the kernel's two minutes of SYN retries.
 * - Jobs are pulled from next() as slots free up, and free slots sit on a
 *   stack: memory and the cost of a job do not grow with the number of jobs.
 *   Deadlines sit in a min-heap (core/heap.h), so a turn of the loop costs
 *   O(ready events + expired jobs), not a walk over every slot.
 * - What happens to one job is that job's outcome, handed to done(); only
 *   the loop itself (epoll, memory) or a callback can stop the run.
 * - Starts can be paced (opts->rate, verify --rate) by a token bucket that
 *   starts full: a long file is dialled at a steady rate, a few ports are
 *   not delayed at all.
 */
#include "probe/dial.h"
#include "core/heap.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define DIAL_EVENTS 64

struct slot {
	struct pc_dial_job job;
	int fd; /* -1 when the slot is free */
	double started, deadline;
	struct sockaddr_storage to;
};

/* Pacing of dial starts (opts->rate): a token bucket refilled at rate per
 * second, holding at most burst tokens; it starts full, so a short list is
 * not slowed down at all. */
struct pace {
	double per_ms, burst, tokens, last;
};

static void pace_init(struct pace *p, double rate, size_t parallel)
{
	p->per_ms = rate > 0 ? rate / 1000.0 : 0;
	p->burst = rate > 0 && rate < (double)parallel ? (rate < 1 ? 1 : rate) : (double)parallel;
	p->tokens = p->burst;
	p->last = pc_monotonic_ms();
}

/* Take a token for one start; false when the caller must wait. */
static bool pace_take(struct pace *p)
{
	if (p->per_ms <= 0)
		return true;
	double now = pc_monotonic_ms();
	p->tokens += (now - p->last) * p->per_ms;
	p->last = now;
	if (p->tokens > p->burst)
		p->tokens = p->burst;
	if (p->tokens < 1)
		return false;
	p->tokens -= 1;
	return true;
}

/* Milliseconds until the next token, at least 1. */
static int pace_wait_ms(const struct pace *p)
{
	double ms = ceil((1 - p->tokens) / p->per_ms);
	return ms < 1 ? 1 : ms > 1000 ? 1000 : (int)ms;
}

struct dial {
	const struct pc_dial_opts *o;
	pc_dial_done_fn done;
	void *ctx;
	int epfd;
	struct slot *slots;
	size_t *idle; /* indices of free slots, a stack */
	size_t n_idle;
	struct pc_heap deadlines; /* slot index -> deadline, for slots in flight */
};

const char *pc_dial_status_name(enum pc_dial_status s)
{
	switch (s) {
	case PC_DIAL_REFUSED:
		return "refused";
	case PC_DIAL_TIMEOUT:
		return "timeout";
	case PC_DIAL_UNREACHABLE:
		return "unreachable";
	case PC_DIAL_SELF:
		return "self-connect";
	default:
		return NULL;
	}
}

static void close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Connected to ourselves? Only possible when the kernel gave us the target
 * port as our source port on the same address (FIELD-NOTES: loopback
 * self-connect); that proves nothing about a listener. */
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

static enum pc_dial_status status_of(int error)
{
	switch (error) {
	case ECONNREFUSED:
		return PC_DIAL_REFUSED;
	case ETIMEDOUT:
		return PC_DIAL_TIMEOUT;
	case ENETUNREACH:
	case EHOSTUNREACH:
		return PC_DIAL_UNREACHABLE;
	}
	return PC_DIAL_FAILED;
}

/* The job in s is over: free the slot and tell done(), returning what it
 * returns. */
static int end_job(struct dial *d, struct slot *s, enum pc_dial_status status, int error)
{
	struct pc_dial_job *j = &s->job;
	j->status = status;
	j->error = error;
	j->rtt_ms = -1;
	if (status == PC_DIAL_OPEN) {
		double rtt = pc_monotonic_ms() - s->started;
		j->rtt_ms = rtt < 0 ? 0 : rtt;
	}
	if (s->fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		close_reset(s->fd);
	}
	s->fd = -1;
	pc_heap_remove(&d->deadlines, (uint32_t)(s - d->slots));
	d->idle[d->n_idle++] = (size_t)(s - d->slots);
	return d->done(d->ctx, j);
}

/* The job in s ended on the wire with error (0: it answered). */
static int complete(struct dial *d, struct slot *s, int error)
{
	if (error)
		return end_job(d, s, status_of(error), error);
	if (s->job.proto == PC_PROTO_TCP && self_connected(s->fd, &s->to))
		return end_job(d, s, PC_DIAL_SELF, 0);
	return end_job(d, s, PC_DIAL_OPEN, 0);
}

/* Start the job in s (next() has filled s->job). Returns what done()
 * returns when the job is over at once, 0 when it is in flight, or a
 * negative errno when the loop cannot go on (epoll). */
static int start(struct dial *d, struct slot *s, struct pc_error *err)
{
	struct pc_dial_job *j = &s->job;
	bool udp = j->proto == PC_PROTO_UDP;
	d->n_idle--;
	s->fd = -1;
	size_t len = pc_addr_to_sockaddr(&j->addr, j->port, &s->to);
	if (!len)
		return complete(d, s, EAFNOSUPPORT);
	int type = (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	int fd;
	if (d->o->make_socket)
		fd = d->o->make_socket(d->o->socket_ctx, j->ep, s->to.ss_family, type, 0);
	else if ((fd = socket(s->to.ss_family, type, 0)) < 0)
		fd = -errno;
	if (fd < 0)
		return end_job(d, s, PC_DIAL_NO_SOCKET, -fd);
	s->fd = fd;
	s->started = pc_monotonic_ms();
	s->deadline = s->started + d->o->timeout_ms;
	pc_heap_set(&d->deadlines, (uint32_t)(s - d->slots), s->deadline);
	if (connect(fd, (struct sockaddr *)&s->to, (socklen_t)len) == 0) {
		if (!udp)
			return complete(d, s, 0);
	} else if (errno != EINPROGRESS) {
		return complete(d, s, errno);
	}
	uint32_t events = EPOLLOUT;
	if (udp) {
		/* an empty datagram: harmless to any UDP service, and enough to
		 * draw an ICMP port-unreachable from a closed port */
		if (send(fd, "", 0, 0) < 0)
			return complete(d, s, errno);
		events = EPOLLIN;
	}
	struct epoll_event ev = {.events = events, .data.ptr = s};
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = errno;
		close_reset(fd);
		s->fd = -1;
		return pc_error_set(err, -e, "live check: epoll_ctl: %s", strerror(e));
	}
	return 0;
}

/* s's socket is readable (UDP) or writable (TCP), or has an error. */
static int on_ready(struct dial *d, struct slot *s)
{
	int e = 0;
	socklen_t len = sizeof(e);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		e = errno;
	if (s->job.proto == PC_PROTO_UDP && e == 0) {
		char b[512];
		if (recv(s->fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
			return complete(d, s, 0);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0; /* spurious wake-up: keep waiting */
		return complete(d, s, errno);
	}
	return complete(d, s, e);
}

/* The soonest deadline in flight, as an epoll_wait timeout from now; -1
 * when nothing is in flight. */
static int wait_ms(const struct dial *d)
{
	double now = pc_monotonic_ms(), first = INFINITY;
	uint32_t id;
	if (!pc_heap_top(&d->deadlines, &id, &first))
		return -1;
	return first > now ? (int)ceil(first - now) : 0;
}

int pc_dial_run(const struct pc_dial_opts *opts, pc_dial_next_fn next, pc_dial_done_fn done,
		void *ctx, struct pc_error *err)
{
	size_t n_slots = opts->parallel ? opts->parallel : 1;
	struct dial d = {.o = opts, .done = done, .ctx = ctx, .epfd = -1};
	int ret = 0;
	d.slots = calloc(n_slots, sizeof(*d.slots));
	d.idle = calloc(n_slots, sizeof(*d.idle));
	if (!d.slots || !d.idle || pc_heap_init(&d.deadlines, n_slots) < 0) {
		ret = pc_error_set(err, PC_ENOMEM, "out of memory for the live check");
		goto out;
	}
	for (size_t i = 0; i < n_slots; i++) {
		d.slots[i].fd = -1;
		d.idle[d.n_idle++] = n_slots - 1 - i;
	}
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epfd < 0) {
		ret = pc_error_set(err, -errno, "live check: epoll_create1: %s", strerror(errno));
		goto out;
	}

	struct pace pace;
	pace_init(&pace, opts->rate, n_slots);
	/* a job taken from next() that waits for its token: asked first, so
	 * the end of the list never waits for a token it does not need */
	struct pc_dial_job waiting;
	bool has_waiting = false;
	bool more = true;
	for (;;) {
		bool paced = false;
		while (more && d.n_idle) {
			if (!has_waiting) {
				memset(&waiting, 0, sizeof(waiting));
				ret = next(ctx, &waiting);
				if (ret < 0)
					goto out;
				more = ret > 0;
				ret = 0;
				if (!more)
					break;
				has_waiting = true;
			}
			if (!pace_take(&pace)) {
				paced = true;
				break;
			}
			struct slot *s = &d.slots[d.idle[d.n_idle - 1]];
			s->job = waiting;
			has_waiting = false;
			ret = start(&d, s, err);
			if (ret < 0)
				goto out;
		}
		if (!more && d.n_idle == n_slots)
			break;

		struct epoll_event events[DIAL_EVENTS];
		int timeout = wait_ms(&d);
		if (paced && (timeout < 0 || timeout > pace_wait_ms(&pace)))
			timeout = pace_wait_ms(&pace);
		int n = epoll_wait(d.epfd, events, DIAL_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			ret = pc_error_set(err, -errno, "live check: epoll_wait: %s",
					   strerror(errno));
			goto out;
		}
		for (int k = 0; k < n && ret >= 0; k++) {
			struct slot *s = events[k].data.ptr;
			if (s->fd >= 0)
				ret = on_ready(&d, s);
		}
		/* expired, soonest first; complete() takes each off the heap */
		double now = pc_monotonic_ms(), key;
		uint32_t id;
		while (ret >= 0 && pc_heap_top(&d.deadlines, &id, &key) && now >= key)
			ret = complete(&d, &d.slots[id], ETIMEDOUT);
		if (ret < 0)
			goto out;
	}
out:
	for (size_t i = 0; d.slots && i < n_slots; i++)
		if (d.slots[i].fd >= 0)
			close_reset(d.slots[i].fd);
	if (d.epfd >= 0)
		close(d.epfd);
	free(d.slots);
	free(d.idle);
	pc_heap_free(&d.deadlines);
	return ret;
}
