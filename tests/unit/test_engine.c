/*
 * test_engine.c - the probe engine's scheduling, without sockets: the
 * shared host table (core/hostmap) and deadline heap (core/heap) against
 * plain reference models, and the scheduler (probe/engine_sched.c) driven
 * by a simulated loop that ends jobs in a pseudo-random order. What a user
 * would notice: every wanted endpoint is probed exactly once, no host ever
 * has more jobs in flight than its limit, hosts take turns, a capped host
 * has exactly the cap probed (its highest ranked ports), the rest carry
 * probe_skipped, and there is one warning per capped host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/heap.h"
#include "core/hostmap.h"
#include "probe/engine.h"
#include "scan/ports.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rnd(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

static struct pc_addr v4(uint32_t i)
{
	struct pc_addr a;
	pc_addr_from_v4(&a, 0xc6120000u | (i & 0xffff));
	return a;
}

/* ---- core/hostmap ---- */

static void test_hostmap_model(void **state)
{
	(void)state;
	struct pc_hostmap *m;
	assert_int_equal(pc_hostmap_new(4, &m), 0);
	/* keys: 600 addresses x 2 namespaces, the v6 form of some */
	enum { K = 1200 };
	int64_t model[K]; /* value, or -1 absent */
	for (int i = 0; i < K; i++)
		model[i] = -1;
	uint32_t x = 7;
	size_t present = 0;
	for (int step = 0; step < 100000; step++) {
		uint32_t k = rnd(&x) % K;
		struct pc_addr a = v4(k / 2);
		if (k % 5 == 0) { /* same bytes, other family: another host */
			a.family = AF_INET6;
		}
		uint64_t kns = k % 2; /* two namespaces */
		uint32_t op = rnd(&x) % 3;
		if (op == 0) {
			uint32_t *v;
			int r = pc_hostmap_put(m, kns, &a, &v);
			assert_true(r >= 0);
			assert_int_equal(r, model[k] < 0);
			if (r) {
				present++;
				*v = k * 3;
			}
			model[k] = k * 3;
		} else if (op == 1) {
			pc_hostmap_remove(m, kns, &a);
			if (model[k] >= 0)
				present--;
			model[k] = -1;
		}
		uint32_t *v = pc_hostmap_get(m, kns, &a);
		if (model[k] < 0)
			assert_null(v);
		else
			assert_int_equal(*v, model[k]);
		assert_int_equal(pc_hostmap_count(m), present);
		if (step % 4999 == 0)
			for (int i = 0; i < K; i++) {
				struct pc_addr b = v4((uint32_t)i / 2);
				if (i % 5 == 0)
					b.family = AF_INET6;
				uint32_t *w = pc_hostmap_get(m, (uint64_t)(i % 2), &b);
				if (model[i] < 0)
					assert_null(w);
				else
					assert_int_equal(*w, model[i]);
			}
	}
	pc_hostmap_free(m);
	pc_hostmap_free(NULL);
}

/* ---- core/heap ---- */

static void test_heap_model(void **state)
{
	(void)state;
	enum { N = 300 };
	struct pc_heap h;
	assert_int_equal(pc_heap_init(&h, N), 0);
	double model[N]; /* key, or -1 absent */
	for (int i = 0; i < N; i++)
		model[i] = -1;
	uint32_t x = 99;
	for (int step = 0; step < 200000; step++) {
		uint32_t id = rnd(&x) % N, op = rnd(&x) % 4;
		if (op < 2) {
			double key = (double)(rnd(&x) % 1000); /* ties on purpose */
			pc_heap_set(&h, id, key);
			model[id] = key;
		} else if (op == 2) {
			pc_heap_remove(&h, id);
			model[id] = -1;
		} else {
			uint32_t top;
			double key;
			if (pc_heap_top(&h, &top, &key)) {
				pc_heap_remove(&h, top);
				assert_true(model[top] == key);
				model[top] = -1;
			}
		}
		assert_int_equal(pc_heap_contains(&h, id), model[id] >= 0);
		double min = -1;
		size_t n = 0;
		for (int i = 0; i < N; i++)
			if (model[i] >= 0) {
				n++;
				if (min < 0 || model[i] < min)
					min = model[i];
			}
		assert_int_equal(h.n, n);
		uint32_t top;
		double key;
		if (n) {
			assert_true(pc_heap_top(&h, &top, &key));
			assert_true(key == min && model[top] == min);
		} else {
			assert_false(pc_heap_top(&h, &top, &key));
		}
	}
	pc_heap_free(&h);
}

/* ---- the scheduler ---- */

struct sim_ep {
	enum pc_source source;
	enum pc_proto proto;
	uint32_t host; /* v4(host) */
	uint64_t ns;
	uint16_t port;
	enum pc_state state;
};

static struct pc_endpoint *add(struct pc_snapshot *snap, const struct sim_ep *s)
{
	struct pc_endpoint *ep = pc_snapshot_add_endpoint(snap);
	assert_non_null(ep);
	ep->source = s->source;
	ep->proto = s->proto;
	ep->addr = v4(s->host);
	ep->port = s->port;
	ep->state = s->state;
	ep->netns.inode = s->ns;
	return ep;
}

static size_t rank_of(uint16_t port)
{
	for (size_t i = 0; i < pc_top_tcp_ports_count; i++)
		if (pc_top_tcp_ports[i] == port)
			return i;
	return pc_top_tcp_ports_count + port;
}

/* What a simulated run did: starts per endpoint, endpoints in start order. */
struct sim {
	unsigned *starts;
	size_t *order;
	size_t started;
};

static void sim_free(struct sim *r)
{
	free(r->starts);
	free(r->order);
}

/* Run the scheduler over snap with `parallel` slots; ends jobs in a
 * pseudo-random order, checking the per-host limits on the way. */
static struct sim simulate(struct pc_snapshot *snap, unsigned parallel, unsigned host_inflight,
			   unsigned cap)
{
	struct sim r = {
		.starts = calloc(snap->n_endpoints, sizeof(*r.starts)),
		.order = calloc(snap->n_endpoints, sizeof(*r.order)),
	};
	assert_non_null(r.starts);
	assert_non_null(r.order);
	unsigned *starts = r.starts;
	size_t *order = r.order;
	struct pc_probe_sched s;
	assert_int_equal(pc_probe_sched_init(&s, snap, host_inflight, parallel, cap), 0);
	size_t *slots = calloc(parallel, sizeof(*slots));
	unsigned *inflight = calloc(s.n_hosts ? s.n_hosts : 1, sizeof(*inflight));
	assert_non_null(slots);
	assert_non_null(inflight);
	size_t n_slots = 0, started = 0;
	uint32_t x = 4242;
	for (;;) {
		size_t ep;
		while (n_slots < parallel && pc_probe_sched_next(&s, &ep)) {
			assert_true(ep < snap->n_endpoints);
			starts[ep]++;
			order[started++] = ep;
			uint32_t h = s.host_of[ep];
			assert_true(h < s.n_hosts);
			inflight[h]++;
			assert_true(inflight[h] <= s.hosts[h].limit);
			slots[n_slots++] = ep;
		}
		if (n_slots == 0)
			break;
		/* one to three jobs end */
		unsigned k = 1 + rnd(&x) % 3;
		while (k-- && n_slots) {
			size_t i = rnd(&x) % n_slots;
			size_t ep_done = slots[i];
			slots[i] = slots[--n_slots];
			inflight[s.host_of[ep_done]]--;
			pc_probe_sched_done(&s, ep_done);
		}
	}
	assert_int_equal(s.ring_n, 0);
	free(slots);
	free(inflight);
	pc_probe_sched_free(&s);
	r.started = started;
	return r;
}

static void test_sched_cap_and_fairness(void **state)
{
	(void)state;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	assert_non_null(snap);
	/* host 1: a tarpit, 2,000 open ports (1..2000, shuffled order) */
	uint16_t ports[2000];
	for (int i = 0; i < 2000; i++)
		ports[i] = (uint16_t)(i + 1);
	uint32_t x = 1;
	for (int i = 1999; i > 0; i--) {
		int j = (int)(rnd(&x) % (uint32_t)(i + 1));
		uint16_t t = ports[i];
		ports[i] = ports[j];
		ports[j] = t;
	}
	for (int i = 0; i < 2000; i++)
		add(snap, &(struct sim_ep){PC_SOURCE_SCAN, PC_PROTO_TCP, 1, 0, ports[i],
					   PC_STATE_OPEN});
	/* hosts 2 and 3: ordinary, interleaved with the tarpit's records */
	for (int i = 0; i < 5; i++)
		add(snap, &(struct sim_ep){PC_SOURCE_SCAN, PC_PROTO_TCP, 2, 0, (uint16_t)(8000 + i),
					   PC_STATE_OPEN});
	for (int i = 0; i < 3; i++)
		add(snap, &(struct sim_ep){PC_SOURCE_IMPORT, PC_PROTO_UDP, 3, 0,
					   (uint16_t)(160 + i), PC_STATE_OPEN_FILTERED});
	/* host records: 300 listeners on one address in each of two
	 * namespaces, never capped (two hosts, not one) */
	for (int n = 0; n < 2; n++)
		for (int i = 0; i < 300; i++)
			add(snap, &(struct sim_ep){PC_SOURCE_HOST, PC_PROTO_TCP, 4, 100 + (uint64_t)n,
						   (uint16_t)(20000 + i), PC_STATE_OPEN});
	/* not wanted: closed, already identified, multicast */
	add(snap, &(struct sim_ep){PC_SOURCE_SCAN, PC_PROTO_TCP, 2, 0, 9999, PC_STATE_CLOSED});
	struct pc_endpoint *known = add(snap, &(struct sim_ep){PC_SOURCE_SCAN, PC_PROTO_TCP, 2, 0,
								  9998, PC_STATE_OPEN});
	known->service = pc_snapshot_service(snap);
	struct pc_endpoint *mc = add(snap, &(struct sim_ep){PC_SOURCE_SCAN, PC_PROTO_UDP, 0, 0,
							       5353, PC_STATE_OPEN});
	pc_addr_from_v4(&mc->addr, 0xe00000fbu); /* 224.0.0.251 */
	size_t n = snap->n_endpoints;

	enum { CAP = 100, PAR = 16, PER_HOST = 3 };
	struct sim r = simulate(snap, PAR, PER_HOST, CAP);
	unsigned *starts = r.starts;
	size_t *order = r.order;
	assert_int_equal(r.started, CAP + 5 + 3 + 600);

	/* fairness: the first starts go to five different hosts */
	uint32_t seen[5];
	for (int i = 0; i < 5; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[order[i]];
		seen[i] = (uint32_t)(pc_addr_v4(&ep->addr) & 0xffff) * 1000 +
			  (uint32_t)ep->netns.inode;
		for (int k = 0; k < i; k++)
			assert_true(seen[k] != seen[i]);
	}

	/* every wanted endpoint exactly once; the tarpit's top CAP by rank */
	size_t ranks[2000], n_probed = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		bool tarpit = i < 2000;
		if (i >= 2000 + 5 + 3 + 600) {
			assert_int_equal(starts[i], 0); /* not wanted */
			assert_null(ep->probe_skipped);
			continue;
		}
		if (!tarpit) {
			assert_int_equal(starts[i], 1);
			assert_null(ep->probe_skipped);
			continue;
		}
		assert_true(starts[i] <= 1);
		if (starts[i]) {
			assert_null(ep->probe_skipped);
			ranks[n_probed++] = rank_of(ep->port);
		} else {
			assert_string_equal(ep->probe_skipped, "per-host cap");
		}
	}
	assert_int_equal(n_probed, CAP);
	/* the probed ranks are the CAP smallest among ports 1..2000 */
	size_t worse = 0, max_probed_rank = 0;
	for (size_t i = 0; i < n_probed; i++)
		if (ranks[i] > max_probed_rank)
			max_probed_rank = ranks[i];
	for (uint16_t p = 1; p <= 2000; p++)
		if (rank_of(p) <= max_probed_rank)
			worse++;
	assert_int_equal(worse, CAP);
	/* port 22 (rank 0) is among them */
	assert_int_equal(rank_of(22), 0);

	/* one warning, for the tarpit only */
	assert_int_equal(snap->n_warnings, 1);
	assert_string_equal(snap->warnings[0],
			    "198.18.0.1: 2000 open ports, probed the 100 most common "
			    "(--max-probed-ports); the other 1900 are reported open but unprobed");
	sim_free(&r);
	pc_snapshot_free(snap);
}

/* No cap (0): everything wanted is probed once; the host limit holds. */
static void test_sched_no_cap(void **state)
{
	(void)state;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	assert_non_null(snap);
	for (int h = 1; h <= 7; h++)
		for (int i = 0; i < 40 * h; i++)
			add(snap, &(struct sim_ep){PC_SOURCE_SCAN, PC_PROTO_TCP, (uint32_t)h, 0,
						   (uint16_t)(1 + i), PC_STATE_OPEN});
	struct sim r = simulate(snap, 5, 2, 0);
	assert_int_equal(r.started, snap->n_endpoints);
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		assert_int_equal(r.starts[i], 1);
		assert_null(snap->endpoints[i].probe_skipped);
	}
	assert_int_equal(snap->n_warnings, 0);
	sim_free(&r);
	pc_snapshot_free(snap);
}

/* An empty snapshot and one of only unwanted records: nothing to start. */
static void test_sched_empty(void **state)
{
	(void)state;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	assert_non_null(snap);
	struct pc_probe_sched s;
	size_t ep;
	assert_int_equal(pc_probe_sched_init(&s, snap, 4, 32, 256), 0);
	assert_false(pc_probe_sched_next(&s, &ep));
	pc_probe_sched_free(&s);
	add(snap, &(struct sim_ep){PC_SOURCE_SCAN, PC_PROTO_TCP, 1, 0, 80, PC_STATE_FILTERED});
	assert_int_equal(pc_probe_sched_init(&s, snap, 4, 32, 256), 0);
	assert_false(pc_probe_sched_next(&s, &ep));
	pc_probe_sched_free(&s);
	pc_snapshot_free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostmap_model),
		cmocka_unit_test(test_heap_model),
		cmocka_unit_test(test_sched_cap_and_fairness),
		cmocka_unit_test(test_sched_no_cap),
		cmocka_unit_test(test_sched_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
