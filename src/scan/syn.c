/*
 * syn.c - the SYN scan engine (CAP_NET_RAW), its glue: prepare (sockets
 * and source ports, while the privilege lasts), run (one sender per CPU,
 * each running its loop over the in-flight ring and the park), release.
 * Half-open TCP probes are sent in batches through raw IP sockets
 * (syn_tx.c), replies captured on an AF_PACKET socket behind a kernel BPF
 * filter and validated statelessly with a SYN cookie (syn_rx.c), on-link
 * IPv4 hosts resolved by our own ARP (syn_arp.c); syn_int.h holds what
 * they share.
 *
 * Why raw IP sockets to send (the kernel routes and resolves next hops)
 * and AF_PACKET to receive (one socket, a BPF filter, counted drops): see
 * syn_tx.c and syn_rx.c; why our own ARP for on-link IPv4: syn_arp.c.
 *
 * Which probes are unanswered: every probe sits in an in-flight ring
 * (inflight.h) from its send until its deadline; a reply marks it done; a
 * probe reaching the head of the ring unanswered is sent again (up to
 * --retries more times) or, on its last try, reported filtered. Memory is
 * O(rate x timeout), whatever the size of the target set.
 *
 * Senders: above 30,000 probes/s one sender per CPU (at most 4), each with
 * its own sockets, its own block of 64 source ports (so its capture filter
 * only passes replies to its own probes) and its own ring; they share the
 * scan context, whose calls are thread-safe. Over a veth pair, or to any
 * target on our CPUs, the target's kernel answers inside the sender's
 * softirq, and a second sender is what lifts the rate.
 *
 * Per-host cap (--host-inflight): a host never has more unanswered probes
 * than the cap (split between senders); a probe for a full host is parked
 * (up to 1,024) while later probes for other hosts go on.
 *
 * Our own kernel sees the SYN-ACKs too and, since no socket of ours owns the
 * source port, answers them with an RST. That is harmless for a SYN scan
 * (the target just drops its half-open connection; the reply was already
 * captured) and we do not touch the firewall of the scanning host to stop
 * it. The source ports are chosen outside ip_local_port_range, so no
 * connection of this host can share their 4-tuples.
 */
#include "scan/ports.h"
#include "scan/syn.h"
#include "scan/syn_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- privileged setup ---- */

/* Source ports: a random block of n SPORT_COUNT-port blocks outside the
 * kernel's ephemeral range, so that no local connection can collide with
 * ours. */
static uint16_t pick_sport_lo(const struct pc_cookie_key *key, unsigned n)
{
	unsigned need = SPORT_COUNT * n;
	unsigned lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (f) {
		unsigned a, b;
		if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
			lo = a;
			hi = b;
		}
		fclose(f);
	}
	unsigned above = 65535 - hi, below = lo > 1024 ? lo - 1024 : 0;
	unsigned r = (unsigned)(key->k0 >> 20);
	if (above >= need * 2)
		return (uint16_t)(hi + 1 + r % (above - need));
	if (below >= need * 2)
		return (uint16_t)(1024 + r % (below - need));
	/* the ephemeral range covers nearly everything: use its top */
	return (uint16_t)(65535 - need + 1);
}

static void worker_free(struct syn_worker *s)
{
	if (!s)
		return;
	if (s->tx4 >= 0)
		close(s->tx4);
	if (s->tx6 >= 0)
		close(s->tx6);
	if (s->rx >= 0)
		close(s->rx);
	pc_route_close(s->routes);
	pc_inflight_free(s->inflight);
	pc_hostcount_free(s->hosts);
	free(s->neigh);
	free(s);
}

static void syn_release(void *state)
{
	struct syn_engine *e = state;
	if (!e)
		return;
	for (unsigned i = 0; i < e->n_workers; i++)
		worker_free(e->w[i]);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* Senders: one per CPU (at most MAX_WORKERS) when the rate needs more than
 * one. Over a veth pair, or to any target that shares our CPUs, the
 * target's kernel answers inside the sender's softirq: a second sender on
 * the other CPU is what doubles the rate (docs/bench-scan.md). */
static unsigned worker_count(const struct pc_scan_opts *o)
{
	uint64_t rate = o->rate_pps ? o->rate_pps : PC_SCAN_DEFAULT_RATE;
	if (rate <= 30000)
		return 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	return cpus > MAX_WORKERS ? MAX_WORKERS : (unsigned)cpus;
}

static int worker_open(struct syn_engine *e, const struct pc_cookie_key *key, uint16_t sport_lo,
		       struct syn_worker **ret_worker, struct pc_error *err)
{
	struct syn_worker *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	s->eng = e;
	s->tx4 = s->tx6 = s->rx = -1;
	s->key = *key;
	s->sport_lo = sport_lo;
	int ret = pc_syn_open_tx(AF_INET, &s->tx4, err);
	if (ret == 0)
		ret = pc_syn_open_tx(AF_INET6, &s->tx6, err);
	if (ret == 0)
		ret = pc_syn_open_rx(s, err);
	if (ret == 0)
		ret = pc_route_open(&s->routes, err);
	if (ret < 0) {
		worker_free(s);
		return ret;
	}
	*ret_worker = s;
	return 0;
}

static int syn_prepare(struct pc_scan_ctx *ctx, void **ret_state, struct pc_error *err)
{
	struct syn_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	pthread_mutex_init(&e->lock, NULL);
	e->ctx = ctx;
	struct pc_cookie_key key;
	int ret = pc_cookie_key_random(&key);
	if (ret < 0) {
		pc_error_set(err, ret, "cannot get random bytes: %s", strerror(-ret));
		goto fail;
	}
	unsigned n = worker_count(pc_scan_ctx_opts(ctx));
	uint16_t lo = pick_sport_lo(&key, n);
	for (unsigned i = 0; i < n; i++) {
		ret = worker_open(e, &key, (uint16_t)(lo + i * SPORT_COUNT), &e->w[i], err);
		if (ret < 0)
			goto fail;
		e->n_workers++;
	}
	*ret_state = e;
	return 0;
fail:
	syn_release(e);
	return ret;
}


void pc_syn_report(struct pc_scan_ctx *ctx, struct syn_worker *s, struct pc_inflight_entry *e,
		   enum pc_state state, uint64_t now)
{
	double rtt = e->tries && state != PC_STATE_FILTERED ? (double)(now - e->sent_us) / 1000.0 : -1;
	e->done = true;
	s->pending--;
	if (s->count_hosts)
		pc_hostcount_dec(s->hosts, &e->addr);
	if (s->neigh && e->addr.family == AF_INET)
		pc_syn_neigh_unref(s, &e->addr);
	s->park_dirty = true;
	pc_scan_result(ctx, &e->addr, PC_PROTO_TCP, e->port, state, rtt);
}

/* First send of a probe: into the host's count, the ring and the batch.
 * false, doing nothing, when the host is at its cap (or too many hosts
 * are counted): the caller parks the probe. */
static bool start_probe(struct pc_scan_ctx *ctx, struct syn_worker *s,
			const struct pc_scan_probe *p, uint64_t now, unsigned retries,
			uint64_t timeout_us, uint64_t last_us)
{
	if (s->count_hosts && (pc_hostcount_get(s->hosts, &p->addr) >= s->host_cap ||
			       !pc_hostcount_inc(s->hosts, &p->addr)))
		return false;
	struct pc_route rt;
	uint8_t mac[6];
	if (pc_syn_on_link(s, &p->addr, &rt, mac) && pc_syn_neigh_ref(s, &p->addr) == 1) {
		/* as many on-link hosts pending as the table holds: wait */
		if (s->count_hosts)
			pc_hostcount_dec(s->hosts, &p->addr);
		return false;
	}
	struct pc_inflight_entry *e = pc_inflight_push(s->inflight, &p->addr, p->port);
	if (!e) {
		/* cannot happen (the caller checked the room); if it did,
		 * the probe must not vanish: undo and let it be parked */
		if (s->count_hosts)
			pc_hostcount_dec(s->hosts, &p->addr);
		if (s->neigh && p->addr.family == AF_INET)
			pc_syn_neigh_unref(s, &p->addr);
		return false;
	}
	s->pending++;
	switch (pc_syn_queue_probe(s, &p->addr, p->port, now)) {
	case Q_FAIL:
		pc_syn_report(ctx, s, e, PC_STATE_FILTERED, now);
		return true;
	case Q_WAIT:
		/* asked for its host's MAC: look again soon */
		e->waits = 1;
		e->deadline_us = now + pc_syn_arp_wait(1, timeout_us);
		return true;
	case Q_SENT:
		break;
	}
	e->tries = 1;
	e->sent_us = now;
	e->deadline_us = now + (retries == 0 ? last_us : timeout_us);
	return true;
}

static int worker_run(struct syn_worker *s, struct pc_error *err)
{
	struct pc_scan_ctx *ctx = s->eng->ctx;
	const struct pc_scan_opts *o = pc_scan_ctx_opts(ctx);
	struct pc_scan_stats *st = pc_scan_ctx_stats(ctx);
	double timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : PC_SCAN_DEFAULT_TIMEOUT_MS;
	double cooldown_ms = o->cooldown_ms > 0 ? o->cooldown_ms : PC_SCAN_DEFAULT_COOLDOWN_MS;
	/* every try waits the timeout; the last one waits the cooldown too */
	uint64_t timeout_us = (uint64_t)(timeout_ms * 1000.0);
	uint64_t last_us = (uint64_t)(cooldown_ms * 1000.0);
	if (last_us < timeout_us)
		last_us = timeout_us;
	unsigned retries = o->retries;
	if (retries > 10)
		retries = 10;
	s->arp_interval_us = timeout_us;
	s->arp_tries_max = ARP_TRIES * (retries + 1);

	/* enough room for every probe sent within one deadline at the rate
	 * asked (or a generous default), within bounds */
	bool unlimited = o->rate_pps == PC_SCAN_RATE_UNLIMITED;
	double rate = !o->rate_pps ? PC_SCAN_DEFAULT_RATE : unlimited ? 150000.0 : (double)o->rate_pps;
	double need = rate * (double)last_us / 1e6 * 1.25 / s->eng->n_workers + BATCH * 2;
	size_t cap = need > RING_MAX ? RING_MAX : need < 4096 ? 4096 : (size_t)need;
	int ret = pc_inflight_new(cap, &s->inflight);
	if (ret < 0)
		return pc_error_set(err, ret, "out of memory for %zu probes in flight", cap);
	unsigned host_cap = o->host_inflight ? o->host_inflight : PC_SCAN_DEFAULT_HOST_INFLIGHT;
	s->host_cap = host_cap / s->eng->n_workers;
	if (s->host_cap < 1)
		s->host_cap = 1;
	/* with no more ports per host than the cap, it can never bind:
	 * skip the counting (and the memory its table would touch) */
	s->count_hosts = pc_ports_count(o->ports, PC_PROTO_TCP) > s->host_cap;
	if (s->count_hosts) {
		ret = pc_hostcount_new(HOSTS_TRACKED, &s->hosts);
		if (ret < 0)
			return pc_error_set(err, ret, "out of memory");
	}

	bool exhausted = false;
	for (;;) {
		if (atomic_load_explicit(&s->eng->stop, memory_order_relaxed))
			return 0;
		pc_syn_drain_rx(ctx, s);
		uint64_t now = now_us();

		/* settle what reached its deadline: answered ones leave,
		 * unanswered ones are sent again or given up */
		unsigned resend = 0;
		struct pc_inflight_entry *h;
		/* answered probes leave at once; others at their deadline */
		while ((h = pc_inflight_head(s->inflight)) && (h->done || h->deadline_us <= now)) {
			if (h->done) {
				pc_inflight_pop(s->inflight);
				continue;
			}
			if (h->tries > retries) {
				pc_syn_report(ctx, s, h, PC_STATE_FILTERED, now);
				pc_inflight_pop(s->inflight);
				continue;
			}
			if (s->n_batch == BATCH || pc_scan_pace(ctx, 1, 0) == 0)
				break;
			h = pc_inflight_requeue(s->inflight);
			struct pc_addr a = h->addr;
			uint16_t port = h->port;
			enum queued q = pc_syn_queue_probe(s, &a, port, now);
			if (q == Q_WAIT && h->waits < 250) {
				h->waits++;
				h->deadline_us = now + pc_syn_arp_wait(h->waits, timeout_us);
				continue;
			}
			if (q != Q_SENT) {
				pc_syn_report(ctx, s, h, PC_STATE_FILTERED, now);
				continue;
			}
			bool first = h->tries == 0;
			h->tries++;
			h->sent_us = now;
			h->deadline_us = now + (h->tries > retries ? last_us : timeout_us);
			if (!first) /* a first send after ARP is not a retry */
				__atomic_fetch_add(&st->retries, 1, __ATOMIC_RELAXED);
			resend++;
		}

		/* new probes, as the pace and the ring allow */
		size_t room = pc_inflight_capacity(s->inflight) - pc_inflight_count(s->inflight);
		unsigned want = BATCH - s->n_batch;
		if (want > room)
			want = (unsigned)room;
		if (want && (!exhausted || (s->n_park && s->park_dirty))) {
			uint64_t may = pc_scan_pace(ctx, want, resend ? 0 : 1);
			uint64_t k = 0;
			/* parked probes first, in order, when their host has room;
			 * the park is clean again only when every parked probe was
			 * tried: one the pace cut off was not, and with nothing
			 * left in flight no report would ever mark it dirty again
			 * (the pass then never ended) */
			if (s->park_dirty && s->n_park) {
				unsigned kept = 0;
				bool cut = false;
				for (unsigned i = 0; i < s->n_park; i++) {
					struct pc_scan_probe *p = &s->park[i];
					if (k >= may)
						cut = true;
					if (k < may &&
					    start_probe(ctx, s, p, now, retries, timeout_us, last_us)) {
						k++;
					} else {
						s->park[kept++] = *p;
					}
				}
				s->n_park = kept;
				s->park_dirty = cut;
			}
			while (k < may && !exhausted && s->n_park < PARK_MAX) {
				struct pc_scan_probe p;
				if (!pc_scan_next(ctx, &p)) {
					exhausted = true;
					break;
				}
				if (p.proto != PC_PROTO_TCP)
					continue;
				if (!start_probe(ctx, s, &p, now, retries, timeout_us, last_us)) {
					s->park[s->n_park++] = p;
					continue;
				}
				k++;
			}
		}
		if (s->n_batch) {
			ret = pc_syn_flush(s, st);
			if (ret < 0)
				return pc_error_set(err, ret, "cannot send: %s", strerror(-ret));
		}

		if (exhausted && s->pending == 0 && s->n_park == 0)
			break;
		/* idle: wait for a reply or the next deadline */
		if (exhausted || room == 0 || s->n_park == PARK_MAX) {
			h = pc_inflight_head(s->inflight);
			now = now_us();
			int wait_ms = 0;
			if (h && h->deadline_us > now)
				wait_ms = (int)((h->deadline_us - now + 999) / 1000);
			if (wait_ms > 50)
				wait_ms = 50;
			struct pollfd pfd = {.fd = s->rx, .events = POLLIN};
			if (wait_ms > 0 && poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
				return pc_error_set(err, -errno, "poll: %s", strerror(errno));
		}
	}
	pc_syn_drain_rx(ctx, s);
	pc_syn_count_drops(s, st);
	return 0;
}

static void *worker_thread(void *arg)
{
	struct syn_worker *s = arg;
	s->ret = worker_run(s, &s->err);
	if (s->ret < 0)
		atomic_store(&s->eng->stop, true);
	return NULL;
}

static int syn_run(struct pc_scan_ctx *ctx, void *state, struct pc_error *err)
{
	struct syn_engine *e = state;
	e->ctx = ctx;
	/* the port list's lookup arrays were built by pc_scan_run
	 * (pc_ports_seal) before any engine thread starts */
	for (unsigned i = 1; i < e->n_workers; i++) {
		int r = pthread_create(&e->w[i]->thread, NULL, worker_thread, e->w[i]);
		if (r != 0) {
			/* fewer senders is slower, not wrong: worker 0 and the
			 * started ones pull every remaining probe */
			break;
		}
		e->w[i]->started = true;
	}
	int ret = worker_run(e->w[0], err);
	if (ret < 0)
		atomic_store(&e->stop, true);
	for (unsigned i = 1; i < e->n_workers; i++) {
		if (!e->w[i]->started)
			continue;
		pthread_join(e->w[i]->thread, NULL);
		if (ret == 0 && e->w[i]->ret < 0) {
			ret = e->w[i]->ret;
			*err = e->w[i]->err;
		}
	}
	char a[PC_ADDR_STRLEN];
	for (unsigned i = 0; i < e->n_noroute; i++)
		pc_snapshot_warn(pc_scan_ctx_snapshot(ctx), "no route to %s: not probed",
				 pc_addr_format(&e->noroute[i], a, sizeof(a)));
	return ret;
}

const struct pc_scan_engine_ops pc_scan_engine_syn = {
	.name = "syn",
	.proto = PC_PROTO_TCP,
	.needs_raw = true,
	.prepare = syn_prepare,
	.run = syn_run,
	.release = syn_release,
};
