/*
 * engine_sched.c - which endpoint the probe engine starts next: per-host
 * queues, the per-host in-flight limit, the per-host cap on ports probed,
 * and round-robin fairness between hosts, each decision in O(1).
 *
 * Why it is built this way: a tarpit (a host that accepts a connection on
 * every port) hands the engine 65,535 "open" endpoints of one address. The
 * engine used to walk every endpoint, and for each one every job, to find
 * one it may start; with one host at its in-flight limit that walk was
 * O(endpoints x jobs) on every turn of the loop. Now the endpoints are
 * grouped by host once (one shared hash table, core/hostmap.h, finds the
 * host), each host's endpoints sit in a contiguous slice of one array with
 * a cursor, and the hosts that may start something now wait in a ring. A
 * host leaves the ring when it reaches its in-flight limit or runs out of
 * endpoints and comes back when one of its jobs ends; starting a job takes
 * the ring's head and puts it back at the tail, so hosts take turns.
 *
 * The cap: a network-side host with more wanted endpoints than
 * max_probed_ports has its endpoints ranked by data/top-ports.txt (the
 * ports real internal services use, most common first; unranked ports
 * after them, lowest first) and only the first max_probed_ports are
 * probed. The rest keep their state (open) and get probe_skipped, and the
 * snapshot gets one warning for the host. Host-side records are never
 * capped: each is a socket the kernel listed, not a guess from the wire.
 * A capped host has shown it accepts anything (the scan already held tens
 * to hundreds of connections to it at once), so its in-flight limit is the
 * engine's whole parallelism instead of host_inflight; the ring still
 * gives every other host its turn.
 */
#include "probe/engine.h"
#include "scan/ports.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

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
uint64_t pc_probe_sched_ns(const struct pc_endpoint *ep)
{
	return ep->source == PC_SOURCE_HOST ? ep->netns.inode : 0;
}

void pc_probe_sched_addr(const struct pc_endpoint *ep, struct pc_addr *ret_addr)
{
	if (ep->state == PC_STATE_LISTEN)
		pc_endpoint_dial_addr(ep, ret_addr);
	else
		*ret_addr = ep->addr;
}

static void ring_push(struct pc_probe_sched *s, uint32_t h)
{
	s->ring[(s->ring_head + s->ring_n) % s->n_hosts] = h;
	s->ring_n++;
	s->hosts[h].queued = true;
}

static bool runnable(const struct sched_host *h)
{
	return h->next < h->end && h->inflight < h->limit;
}

/* Rank of (proto, port) in data/top-ports.txt; unranked ports after every
 * ranked one, in port order. */
static uint32_t *rank_table(void)
{
	uint32_t *r = malloc(2 * 65536 * sizeof(*r));
	if (!r)
		return NULL;
	for (uint32_t p = 0; p < 65536; p++)
		r[p] = r[65536 + p] = 65536 + p;
	for (size_t i = 0; i < pc_top_tcp_ports_count; i++)
		r[pc_top_tcp_ports[i]] = (uint32_t)i;
	for (size_t i = 0; i < pc_top_udp_ports_count; i++)
		r[65536 + pc_top_udp_ports[i]] = (uint32_t)i;
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Put the host's most likely endpoints first, keep max of them and mark
 * the rest. */
static int cap_host(struct pc_probe_sched *s, struct pc_snapshot *snap, struct sched_host *h,
		    unsigned max, const uint32_t *rank)
{
	size_t n = h->end - h->first;
	uint64_t *keys = malloc(n * sizeof(*keys));
	if (!keys)
		return PC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[s->order[h->first + i]];
		uint32_t r = rank[(ep->proto == PC_PROTO_UDP ? 65536 : 0) + ep->port];
		/* rank, then TCP before UDP, then snapshot order (unique) */
		keys[i] = (uint64_t)r << 33 | (uint64_t)(ep->proto == PC_PROTO_UDP) << 32 |
			  s->order[h->first + i];
	}
	qsort(keys, n, sizeof(*keys), cmp_u64);
	for (size_t i = 0; i < n; i++)
		s->order[h->first + i] = (uint32_t)keys[i];
	free(keys);
	h->end = h->first + max;
	for (uint32_t i = h->end; i < h->first + n; i++)
		snap->endpoints[s->order[i]].probe_skipped = "per-host cap";
	char a[PC_ADDR_STRLEN];
	pc_addr_format(&h->addr, a, sizeof(a));
	pc_snapshot_warn(snap,
			 "%s: %zu open ports, probed the %u most common (--max-probed-ports); "
			 "the other %zu are reported open but unprobed",
			 a, n, max, n - max);
	if (s->parallel > h->limit)
		h->limit = s->parallel;
	return 0;
}

int pc_probe_sched_init(struct pc_probe_sched *s, struct pc_snapshot *snap,
			unsigned host_inflight, unsigned parallel, unsigned max_probed)
{
	memset(s, 0, sizeof(*s));
	s->parallel = parallel;
	size_t n = snap->n_endpoints;
	if (n >= NONE)
		return PC_EINVAL;
	int r = PC_ENOMEM;
	uint32_t *rank = NULL;
	s->host_of = malloc((n ? n : 1) * sizeof(*s->host_of));
	s->order = malloc((n ? n : 1) * sizeof(*s->order));
	if (!s->host_of || !s->order || pc_hostmap_new(16, &s->map) < 0)
		goto fail;
	/* pass 1: the host of each wanted endpoint, and how many each has */
	size_t cap_hosts = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		s->host_of[i] = NONE;
		if (!wanted(ep))
			continue;
		struct pc_addr a;
		pc_probe_sched_addr(ep, &a);
		uint64_t ns = pc_probe_sched_ns(ep);
		uint32_t *v;
		int added = pc_hostmap_put(s->map, ns, &a, &v);
		if (added < 0)
			goto fail;
		if (added) {
			if (s->n_hosts == cap_hosts) {
				size_t c = cap_hosts ? cap_hosts * 2 : 16;
				struct sched_host *nh = realloc(s->hosts, c * sizeof(*nh));
				if (!nh)
					goto fail;
				s->hosts = nh;
				cap_hosts = c;
			}
			*v = (uint32_t)s->n_hosts;
			s->hosts[s->n_hosts++] = (struct sched_host){
				.addr = a,
				.ns = ns,
				.limit = host_inflight,
				.network = ep->source != PC_SOURCE_HOST,
			};
		}
		s->host_of[i] = *v;
		s->hosts[*v].end++; /* a count until pass 2 */
	}
	/* pass 2: each host's slice of order, in snapshot order */
	uint32_t at = 0;
	for (size_t h = 0; h < s->n_hosts; h++) {
		uint32_t count = s->hosts[h].end;
		s->hosts[h].first = s->hosts[h].next = s->hosts[h].end = at;
		at += count;
	}
	for (size_t i = 0; i < n; i++)
		if (s->host_of[i] != NONE)
			s->order[s->hosts[s->host_of[i]].end++] = (uint32_t)i;
	/* the cap */
	for (size_t h = 0; max_probed && h < s->n_hosts; h++) {
		struct sched_host *sh = &s->hosts[h];
		if (!sh->network || sh->end - sh->first <= max_probed)
			continue;
		if (!rank && !(rank = rank_table()))
			goto fail;
		if (cap_host(s, snap, sh, max_probed, rank) < 0)
			goto fail;
	}
	free(rank);
	rank = NULL;
	s->ring = malloc((s->n_hosts ? s->n_hosts : 1) * sizeof(*s->ring));
	if (!s->ring)
		goto fail;
	for (uint32_t h = 0; h < s->n_hosts; h++)
		if (runnable(&s->hosts[h]))
			ring_push(s, h);
	return 0;
fail:
	free(rank);
	pc_probe_sched_free(s);
	return r;
}

void pc_probe_sched_free(struct pc_probe_sched *s)
{
	pc_hostmap_free(s->map);
	free(s->hosts);
	free(s->order);
	free(s->host_of);
	free(s->ring);
	memset(s, 0, sizeof(*s));
}

bool pc_probe_sched_next(struct pc_probe_sched *s, size_t *ret_ep)
{
	if (s->ring_n == 0)
		return false;
	uint32_t hi = s->ring[s->ring_head];
	s->ring_head = (s->ring_head + 1) % s->n_hosts;
	s->ring_n--;
	struct sched_host *h = &s->hosts[hi];
	h->queued = false;
	*ret_ep = s->order[h->next++];
	h->inflight++;
	if (runnable(h))
		ring_push(s, hi); /* its turn again after every other host's */
	return true;
}

void pc_probe_sched_done(struct pc_probe_sched *s, size_t ep)
{
	uint32_t hi = s->host_of[ep];
	if (hi == NONE)
		return;
	struct sched_host *h = &s->hosts[hi];
	if (h->inflight)
		h->inflight--;
	if (!h->queued && runnable(h))
		ring_push(s, hi);
}
