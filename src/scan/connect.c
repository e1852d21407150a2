/*
 * connect.c - the connect engine: no privileges, real TCP handshakes.
 *
 * Built the way the measurements in FIELD-NOTES say it must be:
 *   - non-blocking connect()s watched by one edge-triggered epoll per
 *     worker thread; two workers (both cores) pull probes from the same
 *     atomic position counter in scan.c, so they split the work evenly;
 *   - sockets are re-used: after a result, connect(AF_UNSPEC) returns the
 *     socket to CLOSE (sending a RST if it was connected) and the next probe
 *     connects it again, which halves the system-call cost of socket() +
 *     close() per probe; SO_LINGER {1, 0} makes any final close a RST too,
 *     so nothing lingers in TIME_WAIT;
 *   - our own deadline per probe (TCP_SYNCNT cannot go below one retry and
 *     the kernel would wait minutes); in-flight probes sit in a list in
 *     start order, which is deadline order because the timeout is constant;
 *   - at most RLIMIT_NOFILE - reserve sockets in flight (the soft limit is
 *     raised to the hard one first), and a per-host cap, counted in the
 *     shared host table (core/hostmap.h), sized so it never grows;
 *   - a connect that lands on its own source port (loopback self-connect,
 *     a port inside ip_local_port_range) is not an open port: nothing was
 *     listening there, so it is reported closed.
 * States: open (handshake done), closed (RST: ECONNREFUSED), filtered (no
 * answer after retries, or host/network unreachable, counted in a warning).
 */
#include "core/hostmap.h"
#include "scan/pace.h"
#include "scan/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FD_RESERVE 48       /* descriptors left for everything else */
#define MAX_INFLIGHT 16384  /* per run; more does not go faster */
#define EVENTS 256
/* Default per-host cap. Measured on the lab's veth pair (-p- of one host,
 * two workers): 16-64 in flight per host sweep 65,535 ports in ~0.21 s,
 * 256 in ~0.3-0.45 s (more queued handshakes, bigger event batches, no gain
 * in throughput), so the gentler setting is also the faster one. */
#define CONNECT_HOST_INFLIGHT 64

struct slot {
	int fd;            /* -1: none yet; kept across probes for re-use */
	uint8_t family;    /* of fd */
	bool busy;         /* a connect is in flight (or waits to retry) */
	bool retry_wait;   /* timed out, waits for a token to re-send */
	struct pc_addr addr;
	uint16_t port;
	unsigned attempt;  /* sends so far */
	double start_ms, deadline_ms;
	struct slot *prev, *next; /* deadline list, or retry list */
};

struct worker {
	struct pc_scan_ctx *ctx;
	pthread_t thread;
	int ep;
	struct slot *slots;
	unsigned n_slots;
	unsigned *free_slots;
	unsigned n_free;
	struct slot *head, *tail;        /* in flight, by deadline */
	struct slot *retry_head, *retry_tail;
	unsigned n_retry;
	struct pc_hostmap *hosts; /* address -> probes in flight (> 0) */
	unsigned host_cap;
	bool have_pending, pulling;
	struct pc_scan_probe pending;
	double timeout_ms;
	unsigned retries;
	struct pc_scan_stats *st; /* sent, replies, retries: updated live */
	/* counters for the warnings at the end */
	uint64_t unreachable, self_connects, other_errors;
	int error;
	int last_errno; /* why the last socket() failed */
	struct pc_error err;
};

struct engine_state {
	unsigned n_workers;
	unsigned inflight;
};

/* ---- deadline and retry lists ---- */

static void list_push(struct slot **head, struct slot **tail, struct slot *s)
{
	s->next = NULL;
	s->prev = *tail;
	if (*tail)
		(*tail)->next = s;
	else
		*head = s;
	*tail = s;
}

static void list_unlink(struct slot **head, struct slot **tail, struct slot *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		*tail = s->prev;
	s->prev = s->next = NULL;
}

/* ---- per-host in-flight counts ---- */

/* One probe of addr is over; the host leaves the table at zero. */
static void host_release(struct worker *w, const struct pc_addr *addr)
{
	uint32_t *count = pc_hostmap_get(w->hosts, 0, addr);
	if (!count || *count == 0)
		return; /* not counted (cannot happen; never wrap below zero) */
	if (--*count == 0)
		pc_hostmap_remove(w->hosts, 0, addr);
}

/* ---- sockets ---- */

static int new_socket(uint8_t family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	int one = 1;
	/* no Nagle, no delayed ACK games: we never write, but it costs nothing */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void close_slot_fd(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Let s expire at the next look: deadline now, moved to the front so the
 * deadline list stays in order. */
static void expire_now(struct worker *w, struct slot *s, double now)
{
	s->deadline_ms = now;
	list_unlink(&w->head, &w->tail, s);
	s->prev = NULL;
	s->next = w->head;
	if (w->head)
		w->head->prev = s;
	else
		w->tail = s;
	w->head = s;
}

/* Back to CLOSE so the socket can connect again (RST if it was connected). */
static void disconnect(struct worker *w, struct slot *s)
{
	struct sockaddr sa = {.sa_family = AF_UNSPEC};
	if (s->fd >= 0 && connect(s->fd, &sa, sizeof(sa)) != 0) {
		epoll_ctl(w->ep, EPOLL_CTL_DEL, s->fd, NULL);
		close_slot_fd(s);
	}
}

static void finish(struct worker *w, struct slot *s, enum pc_state st, double now)
{
	if (!s->retry_wait)
		list_unlink(&w->head, &w->tail, s);
	else
		list_unlink(&w->retry_head, &w->retry_tail, s);
	if (st == PC_STATE_OPEN || st == PC_STATE_CLOSED)
		__atomic_fetch_add(&w->st->replies, 1, __ATOMIC_RELAXED);
	double rtt = st == PC_STATE_OPEN || st == PC_STATE_CLOSED ? now - s->start_ms : -1;
	struct pc_pace *pace = pc_scan_ctx_pace(w->ctx);
	if (pace && rtt >= 0) {
		/* every attempt waited the timeout: the first began that much
		 * earlier per retry */
		double first = s->start_ms - (double)(s->attempt - 1) * w->timeout_ms;
		pc_pace_answer(pace, &s->addr, (uint64_t)(rtt * 1000.0),
			       first > 0 ? (uint64_t)(first * 1000.0) : 0, s->attempt > 1,
			       (uint64_t)(now * 1000.0));
	}
	pc_scan_result(w->ctx, &s->addr, PC_PROTO_TCP, s->port, st, rtt);
	disconnect(w, s);
	s->busy = false;
	s->retry_wait = false;
	host_release(w, &s->addr);
	w->free_slots[w->n_free++] = (unsigned)(s - w->slots);
}

/* Start (or restart) the connect of s. Returns false when it could not even
 * be tried for lack of descriptors (the caller keeps the probe). */
static bool start(struct worker *w, struct slot *s, double now)
{
	if (s->fd >= 0 && s->family != s->addr.family) {
		epoll_ctl(w->ep, EPOLL_CTL_DEL, s->fd, NULL);
		close_slot_fd(s);
	}
	if (s->fd < 0) {
		int fd = new_socket(s->addr.family);
		if (fd < 0) {
			w->last_errno = -fd;
			return false;
		}
		struct epoll_event ev = {.events = EPOLLOUT | EPOLLET,
					 .data.u32 = (uint32_t)(s - w->slots)};
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			return false;
		}
		s->fd = fd;
		s->family = s->addr.family;
	}
	struct sockaddr_storage ss;
	size_t len = pc_addr_to_sockaddr(&s->addr, s->port, &ss);
	s->attempt++;
	s->start_ms = now;
	s->deadline_ms = now + w->timeout_ms;
	__atomic_fetch_add(&w->st->sent, 1, __ATOMIC_RELAXED);
	list_push(&w->head, &w->tail, s);
	int r = connect(s->fd, (struct sockaddr *)&ss, (socklen_t)len);
	int e = r == 0 ? 0 : errno;
	switch (e) {
	case EINPROGRESS:
		return true;
	case 0:
		/* immediate (loopback): the completion event may also come and
		 * finds the slot idle or re-used; SO_ERROR decides then */
		break;
	default:
		break;
	}
	/* synchronous outcome: classify now */
	if (e == 0) {
		struct sockaddr_storage local;
		socklen_t ll = sizeof(local);
		struct pc_addr la;
		uint16_t lport = 0;
		if (getsockname(s->fd, (struct sockaddr *)&local, &ll) == 0 &&
		    pc_addr_from_sockaddr(&local, &la, &lport) == 0 && lport == s->port &&
		    pc_addr_equal(&la, &s->addr)) {
			w->self_connects++;
			finish(w, s, PC_STATE_CLOSED, now);
		} else {
			finish(w, s, PC_STATE_OPEN, now);
		}
	} else if (e == ECONNREFUSED) {
		finish(w, s, PC_STATE_CLOSED, now);
	} else if (e == ENETUNREACH || e == EHOSTUNREACH || e == EACCES || e == EPERM) {
		w->unreachable++;
		finish(w, s, PC_STATE_FILTERED, now);
	} else if (e == EADDRNOTAVAIL || e == EAGAIN || e == ECONNABORTED || e == EISCONN ||
		   e == EALREADY) {
		/* no source port free right now, or a socket in a bad state: a
		 * fresh socket and a later try, counted as an attempt */
		epoll_ctl(w->ep, EPOLL_CTL_DEL, s->fd, NULL);
		close_slot_fd(s);
		expire_now(w, s, now); /* the retry path takes it */
	} else {
		w->other_errors++;
		finish(w, s, PC_STATE_FILTERED, now);
	}
	return true;
}

/* A completion event on slot s. */
static void on_event(struct worker *w, struct slot *s, uint32_t events, double now)
{
	if (!s->busy || s->retry_wait || s->fd < 0)
		return; /* stale: from a disconnect, or already handled */
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		soerr = errno;
	if (soerr == 0) {
		if (!(events & EPOLLOUT))
			return; /* not done yet */
		struct sockaddr_storage local;
		socklen_t ll = sizeof(local);
		struct pc_addr la;
		uint16_t lport = 0;
		if (getsockname(s->fd, (struct sockaddr *)&local, &ll) == 0 &&
		    pc_addr_from_sockaddr(&local, &la, &lport) == 0 && lport == s->port &&
		    pc_addr_equal(&la, &s->addr)) {
			w->self_connects++;
			finish(w, s, PC_STATE_CLOSED, now);
			return;
		}
		finish(w, s, PC_STATE_OPEN, now);
		return;
	}
	switch (soerr) {
	case ECONNREFUSED:
		finish(w, s, PC_STATE_CLOSED, now);
		return;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EACCES:
	case EPERM:
		w->unreachable++;
		finish(w, s, PC_STATE_FILTERED, now);
		return;
	case ETIMEDOUT:
		/* the kernel gave up first: expire() retries or reports filtered */
		expire_now(w, s, now);
		return;
	default:
		w->other_errors++;
		finish(w, s, PC_STATE_FILTERED, now);
		return;
	}
}

/* Deadlines: retry or give up. */
static void expire(struct worker *w, double now)
{
	while (w->head && w->head->deadline_ms <= now) {
		struct slot *s = w->head;
		if (s->attempt <= w->retries) {
			list_unlink(&w->head, &w->tail, s);
			disconnect(w, s);
			s->retry_wait = true;
			list_push(&w->retry_head, &w->retry_tail, s);
			w->n_retry++;
		} else {
			finish(w, s, PC_STATE_FILTERED, now);
		}
	}
}

/* Take the next probe this worker may start now, honouring the host cap.
 * false when there is none (no more, or its host is at the cap). */
static bool take_probe(struct worker *w, struct pc_scan_probe *p)
{
	if (!w->have_pending) {
		if (!w->pulling || !pc_scan_next(w->ctx, &w->pending)) {
			w->pulling = false;
			return false;
		}
		w->have_pending = true;
	}
	/* the table holds at most one host per slot: it never has to grow */
	uint32_t *count;
	if (pc_hostmap_put(w->hosts, 0, &w->pending.addr, &count) < 0 || *count >= w->host_cap)
		return false;
	/* the adaptive pace of its path (none under a fixed --rate) */
	struct pc_pace *pace = pc_scan_ctx_pace(w->ctx);
	if (pace && !pc_pace_take(pace, &w->pending.addr, (uint64_t)(pc_monotonic_ms() * 1000.0)))
		return false;
	*p = w->pending;
	w->have_pending = false;
	++*count;
	return true;
}

static bool pending_blocked(struct worker *w)
{
	if (!w->have_pending)
		return false;
	const uint32_t *count = pc_hostmap_get(w->hosts, 0, &w->pending.addr);
	return count && *count >= w->host_cap;
}

static void fill(struct worker *w, double now)
{
	/* retries keep their own slot; new probes need a free one */
	uint64_t want = w->n_retry;
	if ((w->pulling || w->have_pending) && !pending_blocked(w))
		want += w->n_free;
	if (!want)
		return;
	uint64_t got = pc_scan_pace(w->ctx, want, 0);
	while (got > 0 && w->retry_head) {
		struct slot *s = w->retry_head;
		list_unlink(&w->retry_head, &w->retry_tail, s);
		w->n_retry--;
		s->retry_wait = false;
		__atomic_fetch_add(&w->st->retries, 1, __ATOMIC_RELAXED);
		if (!start(w, s, now)) {
			/* no descriptor: give it back and try later */
			s->retry_wait = true;
			list_push(&w->retry_head, &w->retry_tail, s);
			w->n_retry++;
			return;
		}
		got--;
	}
	while (got > 0 && w->n_free > 0) {
		struct pc_scan_probe p;
		if (!take_probe(w, &p))
			return;
		struct slot *s = &w->slots[w->free_slots[w->n_free - 1]];
		s->addr = p.addr;
		s->port = p.port;
		s->attempt = 0;
		s->busy = true;
		s->retry_wait = false;
		w->n_free--;
		if (!start(w, s, now)) {
			/* out of descriptors: shrink to what we have and keep the
			 * probe for later (it is exact, only slower) */
			s->busy = false;
			w->free_slots[w->n_free++] = (unsigned)(s - w->slots);
			w->pending = p;
			w->have_pending = true;
			host_release(w, &p.addr);
			if (!w->head && !w->retry_head && !w->error)
				/* nothing of ours in flight will free one: give up
				 * instead of spinning */
				w->error = pc_error_set(&w->err, PC_EIO,
							"connect scan: cannot open a socket: %s "
							"(raise ulimit -n)",
							strerror(w->last_errno));
			return;
		}
		got--;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[EVENTS];
	for (;;) {
		double now = pc_monotonic_ms();
		expire(w, now);
		fill(w, now);
		if (w->error)
			break;
		bool inflight = w->head != NULL;
		if (!inflight && !w->retry_head && !w->pulling && !w->have_pending)
			break;
		/* sleep until the next deadline, or briefly when waiting for
		 * tokens or for a descriptor */
		double wait_ms = 1000;
		if (w->head)
			wait_ms = w->head->deadline_ms - pc_monotonic_ms();
		if (w->retry_head || ((w->pulling || w->have_pending) && w->n_free > 0 &&
				      !pending_blocked(w)))
			wait_ms = wait_ms < 0.2 ? wait_ms : 0.2;
		if (wait_ms < 0)
			wait_ms = 0;
		struct timespec ts = {(time_t)(wait_ms / 1000),
				      (long)((wait_ms - (double)(long)(wait_ms / 1000) * 1000) * 1e6)};
		int n = epoll_pwait2(w->ep, ev, EVENTS, &ts, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->error = pc_error_set(&w->err, PC_EIO, "epoll_wait: %s", strerror(errno));
			break;
		}
		now = pc_monotonic_ms();
		for (int i = 0; i < n; i++) {
			uint32_t k = ev[i].data.u32;
			if (k < w->n_slots)
				on_event(w, &w->slots[k], ev[i].events, now);
		}
	}
	return NULL;
}

/* ---- engine ops ---- */

static bool fcntl_ok(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static unsigned fd_budget(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 64;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = {rl.rlim_max, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	/* count what is open already: the budget is what is left */
	unsigned open_fds = 0;
	for (int fd = 0; fd < 1024 && (rlim_t)fd < rl.rlim_cur; fd++)
		if (fcntl_ok(fd))
			open_fds++;
	rlim_t lim = rl.rlim_cur;
	if (lim == RLIM_INFINITY || lim > MAX_INFLIGHT + FD_RESERVE + open_fds)
		lim = MAX_INFLIGHT + FD_RESERVE + open_fds;
	if (lim <= FD_RESERVE / 2 + open_fds + 8)
		return 8;
	unsigned reserve = lim > 512 ? FD_RESERVE : FD_RESERVE / 2;
	return (unsigned)(lim - reserve - open_fds);
}

static int prepare(struct pc_scan_ctx *ctx, void **ret_state, struct pc_error *err)
{
	(void)ctx;
	struct engine_state *es = calloc(1, sizeof(*es));
	if (!es)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	es->inflight = fd_budget();
	*ret_state = es;
	return 0;
}

static void worker_free(struct worker *w)
{
	if (w->slots)
		for (unsigned i = 0; i < w->n_slots; i++)
			if (w->slots[i].fd >= 0)
				close(w->slots[i].fd);
	if (w->ep >= 0)
		close(w->ep);
	free(w->slots);
	free(w->free_slots);
	pc_hostmap_free(w->hosts);
}

static int worker_init(struct worker *w, struct pc_scan_ctx *ctx, unsigned n_slots,
		       unsigned host_cap)
{
	const struct pc_scan_opts *o = pc_scan_ctx_opts(ctx);
	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->st = pc_scan_ctx_stats(ctx);
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->n_slots = n_slots;
	w->slots = calloc(n_slots, sizeof(*w->slots));
	w->free_slots = calloc(n_slots, sizeof(*w->free_slots));
	w->host_cap = host_cap;
	w->pulling = true;
	w->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : PC_SCAN_DEFAULT_TIMEOUT_MS;
	w->retries = o->retries;
	if (w->ep < 0 || !w->slots || !w->free_slots || pc_hostmap_new(n_slots, &w->hosts) < 0)
		return PC_ENOMEM;
	for (unsigned i = 0; i < n_slots; i++) {
		w->slots[i].fd = -1;
		w->free_slots[i] = n_slots - 1 - i;
	}
	w->n_free = n_slots;
	return 0;
}

static int run(struct pc_scan_ctx *ctx, void *state, struct pc_error *err)
{
	struct engine_state *es = state;
	const struct pc_scan_opts *o = pc_scan_ctx_opts(ctx);
	struct pc_scan_stats *st = pc_scan_ctx_stats(ctx);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n_workers = cpus >= 2 && st->probes_planned >= 2048 ? 2 : 1;
	unsigned host_total = o->host_inflight ? o->host_inflight : CONNECT_HOST_INFLIGHT;
	unsigned per = es->inflight / n_workers;
	if (per < 1)
		per = 1;
	unsigned host_cap = (host_total + n_workers - 1) / n_workers;
	struct worker w[2];
	int r = 0;
	unsigned started = 0;
	for (unsigned i = 0; i < n_workers; i++) {
		if (worker_init(&w[i], ctx, per, host_cap) < 0) {
			r = pc_error_set(err, PC_ENOMEM, "connect engine: out of memory");
			n_workers = i + 1;
			goto out;
		}
	}
	/* worker 0 runs on this thread */
	for (unsigned i = 1; i < n_workers; i++) {
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	worker_main(&w[0]);
	for (unsigned i = 1; i <= started; i++)
		pthread_join(w[i].thread, NULL);
	uint64_t unreachable = 0, self = 0, other = 0;
	for (unsigned i = 0; i < n_workers; i++) {
		unreachable += w[i].unreachable;
		self += w[i].self_connects;
		other += w[i].other_errors;
		if (w[i].error && r == 0) {
			*err = w[i].err;
			r = w[i].error;
		}
	}
	struct pc_snapshot *snap = pc_scan_ctx_snapshot(ctx);
	if (unreachable)
		pc_snapshot_warn(snap,
				 "%llu probes failed with host or network unreachable (or "
				 "administratively prohibited); reported as filtered",
				 (unsigned long long)unreachable);
	if (self)
		pc_snapshot_warn(snap,
				 "%llu TCP self-connects (source port = target port on a local "
				 "address) were rejected and reported as closed",
				 (unsigned long long)self);
	if (other)
		pc_snapshot_warn(snap, "%llu probes failed with an unexpected error; reported as "
				       "filtered",
				 (unsigned long long)other);
out:
	for (unsigned i = 0; i < n_workers; i++)
		worker_free(&w[i]);
	return r;
}

static void release(void *state)
{
	free(state);
}

const struct pc_scan_engine_ops pc_scan_engine_connect = {
	.name = "connect",
	.proto = PC_PROTO_TCP,
	.needs_raw = false,
	.prepare = prepare,
	.run = run,
	.release = release,
};
