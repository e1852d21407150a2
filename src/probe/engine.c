/*
 * engine.c - the probe engine: for every open endpoint of a snapshot, find
 * out what answers there.
 *
 * One thread, one epoll set, at most `parallel` endpoints in flight and
 * `host_inflight` per address (per network namespace for host records),
 * hosts taking turns, and each job's start paced by the scan engines'
 * adaptive pacer (scan/pace.h: per host path, its rate grows while
 * handshakes come back and is cut when their round trips rise), so a slow
 * link is not flooded with connection attempts.
 * Each endpoint is a job that walks a plan:
 *
 *   1. the probes whose port list holds this port (a banner probe there
 *      means "do the passive read now"; the TLS handshake there means
 *      "handshake first");
 *   2. a passive read: every banner probe (ssh, smtp, ftp, mysql, vnc, ...)
 *      parses what the service says unasked, in parallel; the first to
 *      recognise it takes the connection over;
 *   3. every other probe, in registry (likelihood) order.
 *
 * A connection is reused while it is clean (nothing sent, nothing left
 * unread: the passive read that heard nothing leaves it clean) and replaced
 * after any probe that sent bytes and did not match. When the TLS handshake
 * succeeds, the job records tls_info and starts a second plan of the probes
 * that make sense inside TLS, every later connection of the job wrapped in
 * TLS (memory BIOs over the same non-blocking sockets). A probe whose
 * protocol upgrades in-band (PostgreSQL SSLRequest, SMTP STARTTLS) asks for
 * the same handshake on its live connection with PC_PROBE_STARTTLS.
 *
 * UDP endpoints get one step: every UDP probe's request goes out at once on
 * one connected socket, and each datagram that comes back is offered to
 * every probe; the one whose request it answers (ids are checked) claims
 * it. An ICMP port unreachable ends the endpoint.
 *
 * Bounds: each exchange has a deadline (opts->timeout_ms, restarted when a
 * request is sent, not when bytes arrive, so a trickle cannot keep it
 * alive); a job has an overall budget of six exchanges; a job reads at most
 * PC_PROBE_READ_CAP bytes in all; two silent timeouts in a row end it.
 * Memory is O(parallel): a job holds one probe state (or, during the
 * passive read, one per banner probe) and its TLS session; reads go through
 * one stack buffer. 1,008 hostile connections at once peak at ~40 MB RSS.
 *
 * Hostile networks: a tarpit accepts a connection on every port, so a
 * scan of it reports 65,535 open ports and each would cost a probe's full
 * deadline. At most max_probed_ports endpoints per network-side host are
 * probed (default 256, the most common ports first); the rest stay open,
 * unprobed, with one warning per host (engine_sched.c).
 *
 * This file is the run itself: the job slots (a stack of free ones), the
 * deadlines (a min-heap keyed by job, core/heap.h), and the epoll loop that
 * hands socket events and expired deadlines to the jobs. Each turn of the
 * loop costs O(ready events + jobs started or timed out, times log of the
 * jobs in flight): nothing walks every job or every endpoint. Which
 * endpoint starts next is engine_sched.c's business; the rest of the engine
 * is split by job (engine.h lists the files): engine_plan.c, engine_job.c,
 * engine_passive.c, engine_conn.c, engine_tls.c.
 */
#include "probe/engine.h"
#include "probe/ssh_auth.h"

#include <openssl/err.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

void pc_probe_engine_deadline(struct engine *e, struct job *j)
{
	pc_heap_set(&e->deadlines, (uint32_t)(j - e->jobs), j->deadline);
}

void pc_probe_engine_release(struct engine *e, struct job *j)
{
	uint32_t k = (uint32_t)(j - e->jobs);
	pc_heap_remove(&e->deadlines, k);
	pc_probe_sched_done(&e->sched, j->ep_index);
	e->free_slots[e->n_free++] = k;
	e->active--;
}

static void job_start(struct engine *e, struct job *j, size_t ep_index)
{
	struct pc_endpoint *ep = &e->snap->endpoints[ep_index];
	memset(j, 0, sizeof(*j));
	j->used = true;
	e->active++;
	j->fd = -1;
	j->ep_index = ep_index;
	j->port = ep->port;
	j->ns = pc_probe_sched_ns(ep);
	j->udp = ep->proto == PC_PROTO_UDP;
	pc_probe_sched_addr(ep, &j->addr);
	j->budget_end = pc_monotonic_ms() + e->o.timeout_ms * 6;
	j->deadline = j->budget_end;
	pc_probe_engine_deadline(e, j);
	pc_probe_plan_build(e, j, false);
	/* job_next increments first */
	j->step = (size_t)-1;
	j->clean = false;
	pc_probe_job_next(e, j);
}

/* Time out every job whose deadline has passed, each once: a job whose new
 * deadline is already past (its budget is spent) is seen again on the next
 * turn, as when the loop walked every job. */
static void expire(struct engine *e, uint32_t *due)
{
	double now = pc_monotonic_ms(), key;
	uint32_t k;
	size_t n = 0;
	while (n < e->n_jobs && pc_heap_top(&e->deadlines, &k, &key) && key <= now) {
		pc_heap_remove(&e->deadlines, k);
		due[n++] = k;
	}
	for (size_t i = 0; i < n; i++) {
		struct job *j = &e->jobs[due[i]];
		if (!j->used)
			continue;
		pc_probe_engine_deadline(e, j);
		pc_probe_on_timeout(e, j);
	}
}

int pc_probe_run(struct pc_snapshot *snap, const struct pc_probe_run_opts *opts,
		 struct pc_error *err)
{
	struct engine e = { .snap = snap, .epfd = -1, .tls_index = -1 };
	uint32_t *due = NULL;
	int ret = 0;
	if (opts)
		e.o = *opts;
	if (e.o.timeout_ms <= 0)
		e.o.timeout_ms = 2000;
	if (e.o.parallel == 0)
		e.o.parallel = 32;
	if (e.o.host_inflight == 0)
		e.o.host_inflight = 4;
	if (e.o.max_probed_ports == 0)
		e.o.max_probed_ports = PC_PROBE_DEFAULT_MAX_PORTS;
	if (e.o.max_probed_ports == PC_PROBE_NO_CAP)
		e.o.max_probed_ports = 0; /* the scheduler's "no cap" */
	for (size_t i = 0; i < pc_probe_registry_len && e.n_probes < MAX_PROBES; i++)
		e.probes[e.n_probes++] = pc_probe_registry[i];

	e.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e.epfd < 0)
		return pc_error_set(err, -errno, "probe: epoll_create1: %s", strerror(errno));
	e.tls_ctx = pc_tls_ctx_new();
	if (!e.tls_ctx) {
		ret = pc_error_set(err, PC_ENOMEM, "probe: cannot create a TLS context");
		goto out;
	}
	e.n_jobs = e.o.parallel;
	e.jobs = calloc(e.n_jobs, sizeof(*e.jobs));
	e.free_slots = calloc(e.n_jobs, sizeof(*e.free_slots));
	due = calloc(e.n_jobs, sizeof(*due));
	if (!e.jobs || !e.free_slots || !due || pc_heap_init(&e.deadlines, e.n_jobs) < 0 ||
	    pc_probe_sched_init(&e.sched, snap, e.o.host_inflight, e.o.parallel,
				e.o.max_probed_ports) < 0) {
		ret = pc_error_set(err, PC_ENOMEM, "probe: out of memory");
		goto out;
	}
	for (size_t k = 0; k < e.n_jobs; k++)
		e.free_slots[e.n_free++] = (uint32_t)(e.n_jobs - 1 - k);

	struct pc_pace_config pace_cfg = {.n_targets = snap->n_endpoints};
	if (pc_pace_new(&pace_cfg, &e.pace) < 0) {
		ret = pc_error_set(err, PC_ENOMEM, "probe: out of memory");
		goto out;
	}
	for (;;) {
		/* fill free slots: hosts take turns, each under its limit and
		 * its path's pace */
		bool paced = false;
		while (e.n_free && (e.has_held || pc_probe_sched_next(&e.sched, &e.held))) {
			e.has_held = true;
			struct pc_addr a;
			pc_probe_sched_addr(&snap->endpoints[e.held], &a);
			if (!pc_pace_take(e.pace, &a, (uint64_t)(pc_monotonic_ms() * 1000.0))) {
				paced = true;
				break;
			}
			e.has_held = false;
			job_start(&e, &e.jobs[e.free_slots[--e.n_free]], e.held);
		}
		if (e.active == 0 && !paced) {
			if (e.sched.ring_n == 0 && !e.has_held)
				break; /* nothing in flight, nothing that may start */
			continue;
		}

		double now = pc_monotonic_ms();
		/* held back by the pace: its next token is near */
		double soonest = now + (paced ? 1 : 1000), key;
		uint32_t first;
		if (pc_heap_top(&e.deadlines, &first, &key) && key < soonest)
			soonest = key;
		int wait = soonest <= now ? 0 : (int)(soonest - now) + 1;
		struct epoll_event evs[64];
		int n = epoll_wait(e.epfd, evs, 64, wait);
		if (n < 0 && errno != EINTR) {
			ret = pc_error_set(err, -errno, "probe: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int k = 0; k < n; k++) {
			struct job *j = evs[k].data.ptr;
			if (!j->used || j->fd < 0)
				continue;
			if (j->conn == CONN_CONNECTING) {
				pc_probe_on_connected(&e, j);
				continue;
			}
			if (evs[k].events & EPOLLOUT) {
				if (pc_probe_conn_flush(&e, j) < 0) {
					pc_probe_on_eof(&e, j);
					continue;
				}
			}
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				pc_probe_on_readable(&e, j);
		}
		expire(&e, due);
	}
	/* the endpoints named ssh: key exchange and the none method (libssh,
	 * blocking, one at a time, capped: ssh_auth.c says why) */
	if (ret == 0)
		ret = pc_probe_ssh_auth_run(snap, &e.o, err);
out:
	if (e.jobs) {
		for (size_t k = 0; k < e.n_jobs; k++)
			if (e.jobs[k].used)
				pc_probe_job_finish(&e, &e.jobs[k]);
		free(e.jobs);
	}
	free(e.free_slots);
	free(due);
	pc_heap_free(&e.deadlines);
	pc_probe_sched_free(&e.sched);
	pc_pace_free(e.pace);
	pc_tls_ctx_free(e.tls_ctx);
	if (e.epfd >= 0)
		close(e.epfd);
	ERR_clear_error();
	return ret;
}
