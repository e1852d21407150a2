/*
 * syn.c - the SYN scan engine (CAP_NET_RAW), its glue: prepare (sockets
 * and source ports, while the privilege lasts), run (one sender per CPU,
 * each running the loop shared with UDP, probeloop.c, through the
 * callbacks below), release.
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
	pc_probeloop_release(&s->loop);
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


/* ---- the loop's callbacks (probeloop.h) ---- */

static void cb_drain(void *eng)
{
	struct syn_worker *s = eng;
	pc_syn_drain_rx(s->eng->ctx, s);
}

static enum pc_queued cb_queue(void *eng, const struct pc_addr *addr, uint16_t port, uint64_t now)
{
	return pc_syn_queue_probe(eng, addr, port, now);
}

static int cb_flush(void *eng)
{
	struct syn_worker *s = eng;
	return pc_syn_flush(s, pc_scan_ctx_stats(s->eng->ctx));
}

/* An on-link host takes a slot of the neighbour table: while as many
 * on-link hosts are pending as it holds, the probe waits in the park. */
static bool cb_admit(void *eng, const struct pc_addr *addr)
{
	struct syn_worker *s = eng;
	struct pc_route rt;
	uint8_t mac[6];
	return !(pc_syn_on_link(s, addr, &rt, mac) && pc_syn_neigh_ref(s, addr) == 1);
}

static void cb_forget(void *eng, const struct pc_addr *addr)
{
	struct syn_worker *s = eng;
	if (s->neigh && addr->family == AF_INET)
		pc_syn_neigh_unref(s, addr);
}

static const struct pc_probeloop_ops syn_loop_ops = {
	.drain = cb_drain,
	.queue = cb_queue,
	.flush = cb_flush,
	.admit = cb_admit,
	.forget = cb_forget,
};

static int worker_run(struct syn_worker *s, struct pc_error *err)
{
	struct pc_probeloop *l = &s->loop;
	l->ops = &syn_loop_ops;
	l->eng = s;
	l->proto = PC_PROTO_TCP;
	l->silent_state = PC_STATE_FILTERED;
	l->n_senders = s->eng->n_workers;
	l->stop = &s->eng->stop;
	l->wait_fds[0] = (struct pollfd){.fd = s->rx, .events = POLLIN};
	l->n_wait_fds = 1;
	int ret = pc_probeloop_init(l, s->eng->ctx, err);
	if (ret < 0)
		return ret;
	s->arp_interval_us = l->timeout_us;
	s->arp_tries_max = ARP_TRIES * (l->retries + 1);
	ret = pc_probeloop_run(l, err);
	if (ret == 1)
		return 0; /* another sender failed: its error is the one reported */
	if (ret == 0)
		pc_syn_count_drops(s, pc_scan_ctx_stats(s->eng->ctx));
	return ret;
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
