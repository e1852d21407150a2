/*
 * engine.c - the probe engine: for every open endpoint of a snapshot, find
 * out what answers there.
 *
 * One thread, one epoll set, at most `parallel` endpoints in flight and
 * `host_inflight` per address (per network namespace for host records).
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
 * This file is the run itself: which endpoints are probed, the per-host
 * cap, and the epoll loop that hands socket events and deadlines to the
 * jobs. The rest of the engine is split by job (engine.h lists the files):
 * engine_plan.c, engine_job.c, engine_passive.c, engine_conn.c,
 * engine_tls.c.
 */
#include "probe/engine.h"

#include <openssl/err.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static bool wanted(const struct pc_endpoint *ep)
{
	if (ep->service)
		return false;
	/* a socket bound to a multicast or broadcast address is not a service
	 * we can ask: a datagram there would leave for every host on the link */
	struct pc_addr a;
	pc_endpoint_dial_addr(ep, &a);
	if (pc_addr_is_multicast(&a) ||
	    (a.family == AF_INET && pc_addr_v4(&a) == 0xffffffffu))
		return false;
	if (ep->proto == PC_PROTO_TCP) {
		if (ep->state != PC_STATE_LISTEN && ep->state != PC_STATE_OPEN)
			return false;
		if (ep->state == PC_STATE_LISTEN && ep->verified.done && !ep->verified.reachable)
			return false;
		return true;
	}
	return ep->state == PC_STATE_LISTEN || ep->state == PC_STATE_OPEN ||
	       ep->state == PC_STATE_OPEN_FILTERED;
}

/* A host is an address inside one network namespace: 127.0.0.1 in two
 * containers is two hosts. */
static uint64_t ns_of(const struct pc_endpoint *ep)
{
	return ep->source == PC_SOURCE_HOST ? ep->netns.inode : 0;
}

static size_t host_count(struct engine *e, const struct pc_addr *a, uint64_t ns)
{
	size_t n = 0;
	for (size_t i = 0; i < e->n_jobs; i++)
		if (e->jobs[i].used && e->jobs[i].ns == ns && pc_addr_equal(&e->jobs[i].addr, a))
			n++;
	return n;
}

static bool job_start(struct engine *e, struct job *j, size_t ep_index)
{
	struct pc_endpoint *ep = &e->snap->endpoints[ep_index];
	memset(j, 0, sizeof(*j));
	j->used = true;
	j->fd = -1;
	j->ep_index = ep_index;
	j->port = ep->port;
	j->ns = ns_of(ep);
	j->udp = ep->proto == PC_PROTO_UDP;
	if (ep->state == PC_STATE_LISTEN)
		pc_endpoint_dial_addr(ep, &j->addr);
	else
		j->addr = ep->addr;
	j->budget_end = pc_monotonic_ms() + e->o.timeout_ms * 6;
	pc_probe_plan_build(e, j, false);
	/* job_next increments first */
	j->step = (size_t)-1;
	j->clean = false;
	pc_probe_job_next(e, j);
	return true;
}

int pc_probe_run(struct pc_snapshot *snap, const struct pc_probe_run_opts *opts,
		 struct pc_error *err)
{
	struct engine e = { .snap = snap, .epfd = -1, .tls_index = -1 };
	uint8_t *taken = NULL;
	int ret = 0;
	if (opts)
		e.o = *opts;
	if (e.o.timeout_ms <= 0)
		e.o.timeout_ms = 2000;
	if (e.o.parallel == 0)
		e.o.parallel = 32;
	if (e.o.host_inflight == 0)
		e.o.host_inflight = 4;
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
	if (!e.jobs) {
		ret = pc_error_set(err, PC_ENOMEM, "probe: out of memory");
		goto out;
	}

	taken = calloc(snap->n_endpoints ? snap->n_endpoints : 1, 1);
	if (!taken) {
		ret = pc_error_set(err, PC_ENOMEM, "probe: out of memory");
		goto out;
	}
	size_t next = 0; /* every endpoint before it is taken */
	for (;;) {
		/* fill free slots, respecting the per-host cap */
		size_t active = 0, slot = 0;
		for (size_t k = 0; k < e.n_jobs; k++)
			active += e.jobs[k].used;
		while (next < snap->n_endpoints && (taken[next] || !wanted(&snap->endpoints[next])))
			taken[next++] = 1;
		for (size_t i = next; i < snap->n_endpoints && active < e.n_jobs; i++) {
			struct pc_endpoint *ep = &snap->endpoints[i];
			if (taken[i] || !wanted(ep))
				continue;
			struct pc_addr a;
			if (ep->state == PC_STATE_LISTEN)
				pc_endpoint_dial_addr(ep, &a);
			else
				a = ep->addr;
			if (host_count(&e, &a, ns_of(ep)) >= e.o.host_inflight)
				continue;
			while (e.jobs[slot].used)
				slot++;
			taken[i] = 1;
			active++;
			job_start(&e, &e.jobs[slot], i);
		}
		active = 0;
		for (size_t k = 0; k < e.n_jobs; k++)
			active += e.jobs[k].used;
		if (active == 0) {
			while (next < snap->n_endpoints && taken[next])
				next++;
			if (next >= snap->n_endpoints)
				break;
			continue;
		}

		double now = pc_monotonic_ms();
		double soonest = now + 1000;
		for (size_t k = 0; k < e.n_jobs; k++)
			if (e.jobs[k].used && e.jobs[k].deadline < soonest)
				soonest = e.jobs[k].deadline;
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
		now = pc_monotonic_ms();
		for (size_t k = 0; k < e.n_jobs; k++) {
			struct job *j = &e.jobs[k];
			if (j->used && j->deadline <= now)
				pc_probe_on_timeout(&e, j);
		}
	}
out:
	if (e.jobs) {
		for (size_t k = 0; k < e.n_jobs; k++)
			if (e.jobs[k].used)
				pc_probe_job_finish(&e, &e.jobs[k]);
		free(e.jobs);
	}
	free(taken);
	pc_tls_ctx_free(e.tls_ctx);
	if (e.epfd >= 0)
		close(e.epfd);
	ERR_clear_error();
	return ret;
}
