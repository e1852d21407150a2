/*
 * fill.c - store synthetic snapshots in a ledger, through the product's own
 * storing path (pc_ledger_record: open, migrate, one BEGIN IMMEDIATE
 * transaction, retention, close), for the ledger benchmark and for the
 * kill -9 test (tests/e2e/ledger_kill.sh), which kills it mid-write.
 *
 * usage: ledger_fill DB COUNT ENDPOINTS [FIRST]
 *
 * Snapshot n (counting from FIRST, default 0) has ENDPOINTS host-side
 * listeners spread over 50 named namespaces, with owners, services, risks
 * and some container images; from one snapshot to the next about 1 % of the
 * listeners change executable, and a few appear and disappear, so a diff of
 * the last two has real work. Snapshot n started n hours after a fixed
 * epoch. Prints one line: snapshots stored, mean and worst store time (ms).
 * Nothing here sends a packet: the addresses are only text.
 */
#include "core/model.h"
#include "ledger/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pc_snapshot *synthetic(unsigned long n, unsigned long count)
{
	struct pc_snapshot *s = pc_snapshot_new("ledger_fill");
	if (!s)
		return NULL;
	s->host = "bench-host";
	s->started_at_ms = 1790000000000LL + (int64_t)n * 3600000;
	s->finished_at_ms = s->started_at_ms + 1234;
	pc_snapshot_warn(s, "synthetic snapshot %lu", n);
	static const char *const exes[] = {"/usr/sbin/nginx", "/usr/bin/redis-server",
					   "/usr/sbin/sshd", "/usr/lib/postgresql/bin/postgres"};
	static const char *const services[] = {"http", "redis", "ssh", "postgresql"};
	static const char *reasons[] = {"synthetic reason"};
	for (unsigned long i = 0; i < count; i++) {
		/* a few listeners come and go: i in a window that moves with n */
		unsigned long id = i + (i % 97 == 0 ? n % 7 : 0) * 100000;
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		if (!e)
			goto oom;
		char addr[64], ns[32];
		snprintf(addr, sizeof(addr), "198.18.%lu.%lu", (id / 250) % 256, id % 250 + 1);
		snprintf(ns, sizeof(ns), "ns-%lu", id % 50);
		pc_addr_parse(addr, &e->addr);
		e->port = (uint16_t)(1024 + id % 60000);
		e->bind = PC_BIND_SPECIFIC;
		e->state = PC_STATE_LISTEN;
		e->netns.inode = 4026531840u + id % 50;
		e->netns.name = pc_snapshot_strdup(s, ns);
		e->owners = pc_snapshot_owners(s, 1);
		if (!e->owners || !e->netns.name)
			goto oom;
		e->n_owners = 1;
		struct pc_owner *o = &e->owners[0];
		o->pid = (int)(1000 + (id * 7 + n) % 30000); /* pids change: no drift */
		o->comm = "daemon";
		/* 1 % of the listeners change executable each snapshot */
		o->exe = exes[(id + (id % 100 == n % 100 ? n : 0)) % 4];
		o->uid = 0;
		o->user = "root";
		o->unit = "daemon.service";
		if (id % 10 == 0) {
			o->container.id = "0123456789abcdef0123456789abcdef";
			o->container.runtime = "containerd";
			o->container.name = "app";
			o->container.image = "registry.lab/app:1.0";
		}
		e->verified = (struct pc_verified){.done = true, .reachable = true, .rtt_ms = 0.1};
		struct pc_service *sv = pc_snapshot_service(s);
		if (!sv)
			goto oom;
		sv->name = services[id % 4];
		sv->tls = PC_TRI_FALSE;
		sv->auth = id % 3 ? PC_AUTH_REQUIRED : PC_AUTH_NONE;
		sv->evidence = "synthetic";
		e->service = sv;
		struct pc_risk *r = pc_arena_alloc(&s->arena, sizeof(*r));
		if (!r)
			goto oom;
		*r = (struct pc_risk){.severity = (enum pc_severity)(id % PC_SEV_COUNT),
				      .score = (double)(id % 10), .category = "synthetic",
				      .reasons = reasons, .n_reasons = 1};
		e->risk = r;
	}
	pc_snapshot_sort(s);
	return s;
oom:
	pc_snapshot_free(s);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: ledger_fill DB COUNT ENDPOINTS [FIRST]\n");
		return 2;
	}
	unsigned long count = strtoul(argv[2], NULL, 10);
	unsigned long eps = strtoul(argv[3], NULL, 10);
	unsigned long first = argc > 4 ? strtoul(argv[4], NULL, 10) : 0;
	struct pc_ledger_request req = {
		.path = argv[1],
		.meta = {.kind = "audit", .scope = "host"},
	};
	double total = 0, worst = 0;
	for (unsigned long n = first; n < first + count; n++) {
		struct pc_snapshot *s = synthetic(n, eps);
		if (!s) {
			fprintf(stderr, "ledger_fill: out of memory\n");
			return 3;
		}
		struct pc_ledger_result res;
		double t0 = pc_monotonic_ms();
		int r = pc_ledger_record(s, &req, &res);
		double dt = pc_monotonic_ms() - t0;
		pc_snapshot_free(s);
		if (r < 0) {
			char msg[1024];
			pc_error_format(&res.err, msg, sizeof(msg));
			fprintf(stderr, "ledger_fill: %s\n", msg);
			return 3;
		}
		total += dt;
		if (dt > worst)
			worst = dt;
	}
	printf("stored %lu snapshots of %lu endpoints: mean %.1f ms, worst %.1f ms\n", count, eps,
	       count ? total / (double)count : 0.0, worst);
	return 0;
}
