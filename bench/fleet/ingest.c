/*
 * ingest.c - the fleet benchmark's writer: HOSTS simulated agent hosts,
 * each one snapshot of ENDPOINTS listeners, stored into one ledger (the
 * central PostgreSQL one) by WORKERS processes at once, each with its own
 * connection, as agents do.
 *
 * usage: fleet_ingest LEDGER HOSTS ENDPOINTS WORKERS
 *
 * Prints one line: hosts, endpoints, total seconds, snapshots per second,
 * and per-snapshot store latency (mean, p50, p95, max, ms). Host h is
 * "bench-h" with host id "bench-h"; its listeners are spread over 20
 * namespaces, a tenth of them in containers of one of five images, with
 * services and risks of every severity, so the fleet questions have work.
 * Nothing here sends a packet: the addresses are only text.
 */
#include "core/model.h"
#include "ledger/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct pc_snapshot *host_snapshot(unsigned long h, unsigned long n_eps)
{
	static const char *const exes[] = {"/usr/sbin/nginx", "/usr/bin/redis-server",
					   "/usr/sbin/sshd", "/usr/lib/postgresql/bin/postgres"};
	static const char *const services[] = {"http", "redis", "ssh", "postgresql"};
	static const char *const images[] = {"registry.lab/web:1.4", "registry.lab/api:2.0",
					     "redis:7", "postgres:15", "registry.lab/batch:0.9"};
	static const char *reasons[] = {"bench reason"};
	struct pc_snapshot *s = pc_snapshot_new("fleet_ingest");
	if (!s)
		return NULL;
	char name[32];
	snprintf(name, sizeof(name), "bench-%lu", h);
	s->host = pc_snapshot_strdup(s, name);
	s->started_at_ms = pc_now_ms();
	s->finished_at_ms = s->started_at_ms + 500;
	pc_snapshot_add_finding(s, "bench", (enum pc_severity)(h % PC_SEV_COUNT), "bench-rule",
				"a finding per host");
	for (unsigned long i = 0; i < n_eps; i++) {
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		char addr[64], ns[32];
		if (!e || !s->host)
			goto oom;
		snprintf(addr, sizeof(addr), "198.18.%lu.%lu", h % 256, i % 250 + 1);
		snprintf(ns, sizeof(ns), "ns-%lu", i % 20);
		pc_addr_parse(addr, &e->addr);
		e->port = (uint16_t)(1000 + i);
		e->bind = i % 7 ? PC_BIND_SPECIFIC : PC_BIND_LOOPBACK;
		e->state = PC_STATE_LISTEN;
		e->netns.inode = 4026531840u + i % 20;
		e->netns.name = pc_snapshot_strdup(s, ns);
		e->owners = pc_snapshot_owners(s, 1);
		struct pc_service *sv = pc_snapshot_service(s);
		struct pc_risk *r = pc_arena_alloc(&s->arena, sizeof(*r));
		if (!e->owners || !e->netns.name || !sv || !r)
			goto oom;
		e->n_owners = 1;
		struct pc_owner *o = &e->owners[0];
		o->pid = (int)(1000 + i);
		o->comm = "daemon";
		o->exe = exes[i % 4];
		o->user = "root";
		o->unit = "daemon.service";
		if (i % 10 == 0) {
			o->container.id = "0123456789abcdef0123456789abcdef";
			o->container.runtime = "containerd";
			o->container.name = "app";
			o->container.image = images[(h + i) % 5];
		}
		sv->name = services[i % 4];
		sv->auth = i % 3 ? PC_AUTH_REQUIRED : PC_AUTH_NONE;
		e->service = sv;
		*r = (struct pc_risk){.severity = (enum pc_severity)(i % PC_SEV_COUNT),
				      .score = (double)(i % 10), .category = "bench",
				      .reasons = reasons, .n_reasons = 1};
		e->risk = r;
	}
	pc_snapshot_sort(s);
	return s;
oom:
	pc_snapshot_free(s);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: fleet_ingest LEDGER HOSTS ENDPOINTS WORKERS\n");
		return 2;
	}
	unsigned long hosts = strtoul(argv[2], NULL, 10), eps = strtoul(argv[3], NULL, 10);
	unsigned long workers = strtoul(argv[4], NULL, 10);
	if (!hosts || !workers || workers > 256) {
		fprintf(stderr, "fleet_ingest: HOSTS >= 1, 1 <= WORKERS <= 256\n");
		return 2;
	}
	/* each worker writes its latencies to a pipe: one double per snapshot */
	int fds[2];
	if (pipe(fds) != 0)
		return 3;
	double t0 = pc_monotonic_ms();
	for (unsigned long w = 0; w < workers; w++) {
		pid_t pid = fork();
		if (pid < 0)
			return 3;
		if (pid > 0)
			continue;
		close(fds[0]);
		struct pc_ledger *l;
		struct pc_error err = {0};
		if (pc_ledger_open(argv[1], true, &l, &err) < 0) {
			fprintf(stderr, "fleet_ingest: %s\n", err.msg);
			_exit(3);
		}
		for (unsigned long h = w; h < hosts; h += workers) {
			struct pc_snapshot *s = host_snapshot(h, eps);
			char id[32];
			snprintf(id, sizeof(id), "bench-%lu", h);
			struct pc_ledger_meta meta = {.kind = "audit", .scope = "host", .host_id = id};
			int64_t sid;
			double a = pc_monotonic_ms();
			int r = s ? l->ops->store(l, s, &meta, &sid, &err) : PC_ENOMEM;
			double dt = pc_monotonic_ms() - a;
			pc_snapshot_free(s);
			if (r < 0) {
				fprintf(stderr, "fleet_ingest: host %lu: %s\n", h, err.msg);
				_exit(3);
			}
			if (write(fds[1], &dt, sizeof(dt)) != (ssize_t)sizeof(dt))
				_exit(3);
		}
		pc_ledger_close(l);
		_exit(0);
	}
	close(fds[1]);
	double *lat = calloc(hosts, sizeof(*lat));
	size_t n = 0;
	double v;
	while (lat && n < hosts && read(fds[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
		lat[n++] = v;
	int failed = 0, st;
	while (wait(&st) > 0)
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	double total = (pc_monotonic_ms() - t0) / 1000.0;
	if (failed || n != hosts) {
		fprintf(stderr, "fleet_ingest: %zu of %lu snapshots stored\n", n, hosts);
		free(lat);
		return 3;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += lat[i];
	printf("hosts=%lu endpoints=%lu workers=%lu total_s=%.2f snapshots_per_s=%.1f"
	       " latency_ms mean=%.1f p50=%.1f p95=%.1f max=%.1f\n",
	       hosts, eps, workers, total, (double)hosts / total, sum / (double)n, lat[n / 2],
	       lat[n * 95 / 100], lat[n - 1]);
	free(lat);
	return 0;
}
