/*
 * probeloop.c - the send/settle loop shared by the raw engines (SYN and
 * UDP): see probeloop.h.
 *
 * One turn of the loop: read replies; settle the head of the ring while it
 * is answered or past its deadline (answered: it leaves; unanswered: sent
 * again, or on its last try given the engine's silent state); then start
 * new probes, parked ones first, as the pace, the ring and the per-host cap
 * allow; send the batch; and when nothing can be sent, sleep on the
 * engine's sockets until a reply or the next deadline (at most 50 ms).
 * Every probe is reported exactly once, and none is dropped: a probe that
 * cannot start now waits in the park.
 */
#include "scan/probeloop.h"
#include "scan/pace.h"
#include "scan/ports.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BATCH PC_PROBELOOP_BATCH
#define PARK_MAX PC_PROBELOOP_PARK_MAX
/* hosts with unanswered probes counted at once per sender; when more
 * are, new hosts wait in the park like hosts at their cap */
#define HOSTS_TRACKED 16384
/* In-flight ring per sender: its pages are all touched once the scan is
 * longer than the ring, so this bounds the memory (64 Ki x 40 bytes plus
 * the index: about 3 MiB). Answered probes leave from the head at once,
 * but one unanswered probe holds every later one in the ring until its
 * deadline: when silence is common, a sender sends at most 64 Ki probes
 * per timeout (65,000/s per sender at the default 1 s). */
#define RING_MAX (1u << 16)

struct pc_probeloop_deferred {
	struct pc_scan_probe probe;
	uint32_t next; /* in its path's FIFO or the free list */
};

#define NONE UINT32_MAX

static int defer_init(struct pc_probeloop *l)
{
	l->defer = calloc(PC_PROBELOOP_DEFER_MAX, sizeof(*l->defer));
	l->defer_head = malloc(PC_PACE_PATHS * sizeof(*l->defer_head));
	l->defer_tail = malloc(PC_PACE_PATHS * sizeof(*l->defer_tail));
	l->active = malloc(PC_PACE_PATHS * sizeof(*l->active));
	if (!l->defer || !l->defer_head || !l->defer_tail || !l->active)
		return PC_ENOMEM;
	for (unsigned i = 0; i < PC_PACE_PATHS; i++)
		l->defer_head[i] = l->defer_tail[i] = NONE;
	/* the pool is taken from its start as needed (defer_used), so pages
	 * a scan never needs are never touched */
	l->defer_free = NONE;
	l->defer_used = 0;
	return 0;
}

/* Hold p back until its path has a token: false when the pool is full. */
static bool defer_push(struct pc_probeloop *l, const struct pc_scan_probe *p, uint64_t now)
{
	uint32_t i;
	if (l->defer_free != NONE) {
		i = l->defer_free;
		l->defer_free = l->defer[i].next;
	} else if (l->defer_used < PC_PROBELOOP_DEFER_MAX) {
		i = l->defer_used++;
	} else {
		return false;
	}
	unsigned path = pc_pace_path_index(l->pace, &p->addr, now);
	l->defer[i].probe = *p;
	l->defer[i].next = NONE;
	if (l->defer_head[path] == NONE) {
		l->defer_head[path] = i;
		l->active[l->n_active++] = (uint16_t)path;
	} else {
		l->defer[l->defer_tail[path]].next = i;
	}
	l->defer_tail[path] = i;
	l->n_deferred++;
	return true;
}

int pc_probeloop_init(struct pc_probeloop *l, struct pc_scan_ctx *ctx, struct pc_error *err)
{
	const struct pc_scan_opts *o = pc_scan_ctx_opts(ctx);
	unsigned senders = l->n_senders ? l->n_senders : 1;
	l->ctx = ctx;
	double timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : PC_SCAN_DEFAULT_TIMEOUT_MS;
	double cooldown_ms = o->cooldown_ms > 0 ? o->cooldown_ms : PC_SCAN_DEFAULT_COOLDOWN_MS;
	/* every try waits the timeout; the last one waits the cooldown too */
	l->timeout_us = (uint64_t)(timeout_ms * 1000.0);
	l->last_us = (uint64_t)(cooldown_ms * 1000.0);
	if (l->last_us < l->timeout_us)
		l->last_us = l->timeout_us;
	l->retries = o->retries > 10 ? 10 : o->retries;
	l->cooldown_set = o->cooldown_ms > 0;
	l->pace = pc_scan_ctx_pace(ctx);
	if (l->pace && defer_init(l) < 0)
		return pc_error_set(err, PC_ENOMEM, "out of memory");

	/* enough room for every probe sent within one deadline at the rate
	 * asked (or a generous default), within bounds */
	bool unlimited = o->rate_pps == PC_SCAN_RATE_UNLIMITED;
	double rate = !o->rate_pps ? PC_SCAN_DEFAULT_RATE : unlimited ? 150000.0 : (double)o->rate_pps;
	double need = rate * (double)l->last_us / 1e6 * 1.25 / senders + BATCH * 2;
	size_t cap = need > RING_MAX ? RING_MAX : need < 4096 ? 4096 : (size_t)need;
	int ret = pc_inflight_new(cap, &l->inflight);
	if (ret < 0)
		return pc_error_set(err, ret, "out of memory for %zu probes in flight", cap);
	unsigned host_cap = o->host_inflight ? o->host_inflight : PC_SCAN_DEFAULT_HOST_INFLIGHT;
	l->host_cap = host_cap / senders;
	if (l->host_cap < 1)
		l->host_cap = 1;
	/* with no more ports per host than the cap, it can never bind:
	 * skip the counting (and the memory its table would touch) */
	l->count_hosts = pc_ports_count(o->ports, l->proto) > l->host_cap;
	if (l->count_hosts) {
		ret = pc_hostcount_new(HOSTS_TRACKED, &l->hosts);
		if (ret < 0)
			return pc_error_set(err, ret, "out of memory");
	}
	return 0;
}

void pc_probeloop_report(struct pc_probeloop *l, struct pc_inflight_entry *e, enum pc_state state,
			 uint64_t now)
{
	/* a round trip only for an answer to a probe that was sent */
	double rtt = e->tries && (state == PC_STATE_OPEN || state == PC_STATE_CLOSED)
			     ? (double)(now - e->sent_us) / 1000.0
			     : -1;
	e->done = true;
	l->pending--;
	if (l->pace && rtt >= 0) {
		/* the first send itself, not a guess from the tries: a retry
		 * its path's pace held back waited longer than a timeout, and
		 * a guess would pass an answer to a probe sent before the last
		 * cut for a new one (and cut again, down to nothing) */
		pc_pace_answer(l->pace, &e->addr, now - e->sent_us, e->first_us, e->tries > 1, now);
	}
	if (l->count_hosts)
		pc_hostcount_dec(l->hosts, &e->addr);
	if (l->ops->forget)
		l->ops->forget(l->eng, &e->addr);
	l->park_dirty = true;
	if (l->ops->verdict)
		l->ops->verdict(l->eng, &e->addr, state);
	pc_scan_result(l->ctx, &e->addr, l->proto, e->port, state, rtt);
}

void pc_probeloop_release(struct pc_probeloop *l)
{
	if (!l)
		return;
	pc_inflight_free(l->inflight);
	pc_hostcount_free(l->hosts);
	free(l->defer);
	free(l->defer_head);
	free(l->defer_tail);
	free(l->active);
}

/* How long a probe waits for its next hop (ARP) before looking again:
 * 1 ms, doubling, at most the timeout. ARP on a LAN answers within a
 * millisecond, so most probes go on their first or second look (a first
 * wait of 10 ms cost every on-link scan 9 ms of nothing); a host that
 * never answers is given up by the engine's queue callback. */
static uint64_t hop_wait(unsigned waits, uint64_t timeout_us)
{
	unsigned shift = waits > 1 ? waits - 1 : 0;
	uint64_t w = (uint64_t)1000 << (shift > 10 ? 10 : shift);
	return w < timeout_us ? w : timeout_us;
}

/* Re-sends a probe to addr gets: --retries, and two more on a path the
 * pacer saw lose answered probes (silence there may be loss, not a
 * filter: nmap too retries more where it sees drops); on such a path,
 * EXTRA_RETRIES more while its retries still bring answers (a policer
 * that dropped replies: a port is declared filtered only once re-sends at
 * the pace the path has shown it answers stop bringing new answers). */
#define EXTRA_RETRIES 4
static unsigned retries_for(const struct pc_probeloop *l, const struct pc_addr *addr)
{
	if (!l->pace)
		return l->retries;
	switch (pc_pace_loss(l->pace, addr)) {
	case PC_PACE_LOSS_NONE:
		break;
	case PC_PACE_LOSS_SEEN:
		return l->retries + 2;
	case PC_PACE_LOSS_RETRIES_ANSWER:
		return l->retries + 2 + EXTRA_RETRIES;
	}
	return l->retries;
}

/* How long a try waits for its answer. Under a fixed --rate: --timeout,
 * and the last try --cooldown too. Paced: the path's own timeout from
 * its round trips (pace.h; --timeout at most), and the last try twice
 * that, unless --cooldown was given: a LAN's silent ports are given up
 * after 200-400 ms instead of a second or two. */
static uint64_t try_wait(const struct pc_probeloop *l, const struct pc_addr *addr, bool last)
{
	if (!l->pace)
		return last ? l->last_us : l->timeout_us;
	uint64_t t = pc_pace_timeout_us(l->pace, addr, l->timeout_us);
	if (!last)
		return t;
	if (l->cooldown_set)
		return t > l->last_us ? t : l->last_us;
	return 2 * t < l->last_us ? 2 * t : l->last_us;
}

/* When a retry its path's pace held back looks again: after a few of the
 * path's token intervals (1-20 ms). */
static uint64_t token_wait(const struct pc_probeloop *l, const struct pc_addr *addr)
{
	double rate = pc_pace_path_rate(l->pace, addr);
	double us = rate > 0 ? 4e6 / rate : 20000;
	return us < 1000 ? 1000 : us > 20000 ? 20000 : (uint64_t)us;
}

/* A silent UDP probe at a target that rate-limits its ICMP errors is
 * given up only once a try went out after the pacer found the budget
 * (and so was paced to it): before, silence may be a suppressed
 * port-unreachable. At most MAX_TRIES tries in all. */
#define MAX_TRIES 16
static bool icmp_retry(const struct pc_probeloop *l, const struct pc_inflight_entry *h)
{
	if (!l->pace || l->proto != PC_PROTO_UDP || h->tries >= MAX_TRIES)
		return false;
	uint64_t since = pc_pace_icmp_since(l->pace, &h->addr);
	return since && h->sent_us < since;
}

enum started { START_PARK, START_SENT, START_DEFERRED };

/* First send of a probe: into the host's count, the ring and the batch.
 * START_PARK, doing nothing, when the host is at its cap (or too many
 * hosts are counted, or the engine cannot take it yet): the caller parks
 * it; START_DEFERRED when its path's pace holds it back (the loop keeps
 * it). have_token: the path's token was taken already. */
static enum started start_probe(struct pc_probeloop *l, const struct pc_scan_probe *p,
				uint64_t now, bool have_token)
{
	if (l->count_hosts && (pc_hostcount_get(l->hosts, &p->addr) >= l->host_cap ||
			       !pc_hostcount_inc(l->hosts, &p->addr)))
		return START_PARK;
	if (l->ops->admit && !l->ops->admit(l->eng, &p->addr)) {
		if (l->count_hosts)
			pc_hostcount_dec(l->hosts, &p->addr);
		return START_PARK;
	}
	if (l->pace && !have_token && !pc_pace_take(l->pace, &p->addr, now)) {
		/* its path is at its pace: held back until a token comes */
		if (l->count_hosts)
			pc_hostcount_dec(l->hosts, &p->addr);
		if (l->ops->forget)
			l->ops->forget(l->eng, &p->addr);
		l->paced = true;
		return defer_push(l, p, now) ? START_DEFERRED : START_PARK;
	}
	struct pc_inflight_entry *e = pc_inflight_push(l->inflight, &p->addr, p->port);
	if (!e) {
		/* cannot happen (the caller checked the room); if it did,
		 * the probe must not vanish: undo and let it be parked */
		if (l->count_hosts)
			pc_hostcount_dec(l->hosts, &p->addr);
		if (l->ops->forget)
			l->ops->forget(l->eng, &p->addr);
		return START_PARK;
	}
	l->pending++;
	switch (l->ops->queue(l->eng, &p->addr, p->port, now)) {
	case PC_QUEUED_FAIL:
		pc_probeloop_report(l, e, PC_STATE_FILTERED, now);
		return START_SENT;
	case PC_QUEUED_WAIT:
		/* asked for its next hop: look again soon */
		e->waits = 1;
		e->deadline_us = now + hop_wait(1, l->timeout_us);
		return START_SENT;
	case PC_QUEUED_SENT:
		break;
	}
	e->tries = 1;
	e->sent_us = e->first_us = now;
	e->deadline_us = now + try_wait(l, &p->addr, retries_for(l, &p->addr) == 0);
	return START_SENT;
}

/* Settle what reached its deadline: answered ones leave, unanswered ones
 * are sent again or given up. Returns how many were sent again. */
static unsigned settle_head(struct pc_probeloop *l, struct pc_scan_stats *st, uint64_t now)
{
	unsigned resend = 0;
	struct pc_inflight_entry *h;
	/* answered probes leave at once; others at their deadline */
	while ((h = pc_inflight_head(l->inflight)) && (h->done || h->deadline_us <= now)) {
		if (h->done) {
			pc_inflight_pop(l->inflight);
			continue;
		}
		if (h->tries > retries_for(l, &h->addr) && !icmp_retry(l, h)) {
			pc_probeloop_report(l, h, l->silent_state, now);
			pc_inflight_pop(l->inflight);
			continue;
		}
		if (l->n_batch == BATCH || pc_scan_pace(l->ctx, 1, 0) == 0)
			break;
		if (h->tries && l->ops->unanswered)
			l->ops->unanswered(l->eng, &h->addr, now);
		if (h->tries && l->pace && !pc_pace_take(l->pace, &h->addr, now)) {
			/* its path is at its pace: the retry waits for the
			 * path's next tokens (a wait, not a try). Not a whole
			 * timeout: when hundreds of retries fall due at once
			 * (a policer dropped a burst of answers), the path's
			 * 10 ms burst takes a few and a timeout's wait for the
			 * others let 15 retries a second through at a pace of
			 * 300 */
			h = pc_inflight_requeue(l->inflight);
			h->deadline_us = now + token_wait(l, &h->addr);
			l->paced = true;
			continue;
		}
		h = pc_inflight_requeue(l->inflight);
		struct pc_addr a = h->addr;
		uint16_t port = h->port;
		enum pc_queued q = l->ops->queue(l->eng, &a, port, now);
		if (q == PC_QUEUED_WAIT && h->waits < 250) {
			h->waits++;
			h->deadline_us = now + hop_wait(h->waits, l->timeout_us);
			continue;
		}
		if (q != PC_QUEUED_SENT) {
			pc_probeloop_report(l, h, PC_STATE_FILTERED, now);
			continue;
		}
		bool first = h->tries == 0;
		h->tries++;
		h->sent_us = now;
		if (first)
			h->first_us = now;
		else if (l->pace)
			pc_pace_resent(l->pace, &h->addr, now);
		h->deadline_us = now + try_wait(l, &h->addr, h->tries > retries_for(l, &h->addr) &&
								!icmp_retry(l, h));
		if (!first) /* a first send after ARP is not a retry */
			__atomic_fetch_add(&st->retries, 1, __ATOMIC_RELAXED);
		resend++;
	}
	return resend;
}

/* New probes, parked ones first, as the pace (may) allows. Sets
 * *exhausted when the scan has no more probes. */
static void start_new(struct pc_probeloop *l, uint64_t may, uint64_t now, bool *exhausted)
{
	uint64_t k = 0;
	/* probes held back by their path's pace first, oldest first per path,
	 * as their paths get tokens */
	for (unsigned a = 0; a < l->n_active && k < may;) {
		unsigned path = l->active[a];
		uint32_t i;
		while (k < may && (i = l->defer_head[path]) != NONE &&
		       pc_pace_take_index(l->pace, path, now)) {
			if (start_probe(l, &l->defer[i].probe, now, true) != START_SENT)
				break; /* its host is at its cap: wait (the token is spent) */
			l->defer_head[path] = l->defer[i].next;
			l->defer[i].next = l->defer_free;
			l->defer_free = i;
			l->n_deferred--;
			k++;
		}
		if (l->defer_head[path] == NONE) {
			l->defer_tail[path] = NONE;
			l->active[a] = l->active[--l->n_active];
			continue;
		}
		l->paced = true;
		a++;
	}
	/* parked probes first, in order, when their host has room; the park
	 * is clean again only when every parked probe was tried: one the
	 * pace cut off was not, and with nothing left in flight no report
	 * would ever mark it dirty again (the pass then never ended) */
	if (l->park_dirty && l->n_park) {
		unsigned kept = 0;
		bool cut = false;
		for (unsigned i = 0; i < l->n_park; i++) {
			struct pc_scan_probe *p = &l->park[i];
			if (k >= may)
				cut = true;
			enum started r = k < may ? start_probe(l, p, now, false) : START_PARK;
			if (r == START_SENT)
				k++;
			else if (r == START_PARK)
				l->park[kept++] = *p;
		}
		l->n_park = kept;
		l->park_dirty = cut || l->paced;
	}
	while (k < may && !*exhausted && l->n_park < PARK_MAX) {
		struct pc_scan_probe p;
		if (!pc_scan_next(l->ctx, &p)) {
			*exhausted = true;
			break;
		}
		if (p.proto != l->proto)
			continue;
		enum started r = start_probe(l, &p, now, false);
		if (r == START_PARK)
			l->park[l->n_park++] = p;
		if (r != START_SENT)
			continue;
		k++;
	}
}

int pc_probeloop_run(struct pc_probeloop *l, struct pc_error *err)
{
	struct pc_scan_stats *st = pc_scan_ctx_stats(l->ctx);
	bool exhausted = false;
	for (;;) {
		if (l->stop && atomic_load_explicit(l->stop, memory_order_relaxed))
			return 1;
		l->ops->drain(l->eng);
		uint64_t now = pc_probeloop_now_us();
		l->paced = false;
		unsigned resend = settle_head(l, st, now);

		/* new probes, as the pace and the ring allow */
		size_t room = pc_inflight_capacity(l->inflight) - pc_inflight_count(l->inflight);
		unsigned want = BATCH - l->n_batch;
		if (want > room)
			want = (unsigned)room;
		if (want && (!exhausted || (l->n_park && l->park_dirty) || l->n_deferred))
			start_new(l, pc_scan_pace(l->ctx, want, resend ? 0 : 1), now, &exhausted);
		if (l->n_batch) {
			int ret = l->ops->flush(l->eng);
			if (ret < 0)
				return pc_error_set(err, ret, "cannot send: %s", strerror(-ret));
		}

		if (exhausted && l->pending == 0 && l->n_park == 0 && l->n_deferred == 0)
			break;
		/* idle: wait for a reply or the next deadline */
		if (exhausted || room == 0 || l->n_park == PARK_MAX) {
			struct pc_inflight_entry *h = pc_inflight_head(l->inflight);
			now = pc_probeloop_now_us();
			int wait_ms = 0;
			if (h && h->deadline_us > now)
				wait_ms = (int)((h->deadline_us - now + 999) / 1000);
			if (wait_ms > 50)
				wait_ms = 50;
			/* held back by a path's pace: its next token is near */
			if (l->paced && wait_ms > 1)
				wait_ms = 1;
			/* for UDP, POLLERR comes with the error queue whatever
			 * the events */
			if (wait_ms > 0 && poll(l->wait_fds, l->n_wait_fds, wait_ms) < 0 &&
			    errno != EINTR)
				return pc_error_set(err, -errno, "poll: %s", strerror(errno));
		}
	}
	l->ops->drain(l->eng);
	return 0;
}
