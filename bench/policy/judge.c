/*
 * judge.c - the in-process half of bench/policy/run: generate a 1,000-rule
 * policy and a 50,000-endpoint snapshot, then time (median of RUNS) the
 * policy stage judging every endpoint, and the nftables emitter writing the
 * rules for 5,000 listeners. Linked against the build's libportcensus.a.
 *
 * The inputs are deterministic (a fixed LCG), shaped like a large estate:
 * 20 segments, rules naming one to three ports and usually a process, some a
 * namespace glob or a container, 2 % naming no port at all (the slow path:
 * tested for every endpoint); endpoints on documented and undocumented
 * ports, on loopback and on any, across 200 namespaces.
 *
 * Usage: judge POLICY_OUT NFT_OUT [RUNS]   writes the generated policy and
 * the emitted nft file (for `nft -c`), prints the figures.
 */
#include "classify/classify.h"
#include "classify/kb.h"
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RULES 1000
#define ENDPOINTS 50000
#define LISTENERS 5000
#define SEGMENTS 20

static uint64_t seed = 42;
static unsigned rnd(unsigned n)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((seed >> 33) % n);
}

static char *make_policy(size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fprintf(f, "version: 1\nsegments:\n");
	for (int s = 0; s < SEGMENTS; s++)
		fprintf(f, "  seg%d: [198.18.%d.0/24, \"fd00:198:18:%x::/64\"]\n", s, s, s);
	fprintf(f, "defaults: {unlisted: violation, review_max_age: 365}\nlisteners:\n");
	for (int i = 0; i < RULES; i++) {
		fprintf(f, "  - name: svc-%d\n    match:\n", i);
		if (i % 50 != 49) {
			/* rule i owns ports 20000 + 3i .. + 2 (one to three of them) */
			int n = 1 + i % 3;
			fprintf(f, "      ports: [");
			for (int k = 0; k < n; k++)
				fprintf(f, "%s%d", k ? ", " : "", 20000 + 3 * i + k);
			fprintf(f, "]\n      proto: tcp\n");
		} else {
			fprintf(f, "      unit: \"batch-%d.service\"\n", i);
		}
		if (i % 4 != 3)
			fprintf(f, "      process: \"svc%d\"\n", i % 97);
		if (i % 10 == 0)
			fprintf(f, "      netns: \"ns-%d*\"\n", i % 200);
		if (i % 5 == 0)
			fprintf(f, "    bind: loopback\n");
		else
			fprintf(f, "    reachable_from: [seg%d, seg%d]\n", i % SEGMENTS,
			        (i + 7) % SEGMENTS);
		if (i % 3 == 0)
			fprintf(f, "    auth: required\n");
		fprintf(f,
		        "    owner: team-%d\n    doc: https://wiki.example.internal/svc/%d\n"
		        "    reviewed: 2026-%02d-01\n",
		        i % 40, i, 1 + i % 12);
	}
	fclose(f);
	*ret_len = len;
	return buf;
}

static struct pc_snapshot *make_snapshot(size_t n)
{
	struct pc_snapshot *s = pc_snapshot_new("bench");
	s->host = "bench01";
	static char comms[97][8], names[200][12];
	for (int i = 0; i < 97; i++)
		snprintf(comms[i], sizeof(comms[i]), "svc%d", i);
	for (int i = 0; i < 200; i++)
		snprintf(names[i], sizeof(names[i]), "ns-%d", i);
	for (size_t i = 0; i < n; i++) {
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		e->source = PC_SOURCE_HOST;
		e->proto = rnd(10) ? PC_PROTO_TCP : PC_PROTO_UDP;
		e->state = PC_STATE_LISTEN;
		/* 80 % on a documented port, the rest anywhere */
		unsigned rule = rnd(RULES);
		e->port =
		    (uint16_t)(rnd(5) ? 20000 + 3 * rule + rnd(1 + rule % 3) : 1 + rnd(65535));
		pc_addr_from_v4(&e->addr, rnd(4) ? 0 : 0x7f000001);
		e->bind = pc_bind_of(&e->addr);
		e->netns.inode = 4026531840u + rnd(200);
		e->netns.name = names[e->netns.inode - 4026531840u];
		e->owners = pc_snapshot_owners(s, 1);
		e->n_owners = 1;
		e->owners[0].pid = (int)(1000 + i);
		e->owners[0].comm = comms[rule % 97];
	}
	return s;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: judge POLICY_OUT NFT_OUT [RUNS]\n");
		return 2;
	}
	int runs = argc > 3 ? atoi(argv[3]) : 5; /* NOLINT: bench argument */
	if (runs < 1 || runs > 100)
		runs = 5;
	size_t len;
	char *text = make_policy(&len);
	FILE *pf = fopen(argv[1], "we");
	if (!pf || fwrite(text, 1, len, pf) != len || fclose(pf) != 0) {
		fprintf(stderr, "cannot write %s\n", argv[1]);
		return 3;
	}
	double t_load[100], t_eval[100], t_emit[100], c_eval[100], c_emit[100];
	double t_both[100], c_both[100];
	struct pc_policy *p = NULL;
	for (int r = 0; r < runs; r++) {
		struct pc_policy_diags d = {0};
		struct pc_error err = {0};
		double t0 = pc_monotonic_ms();
		if (p)
			pc_policy_free(p);
		if (pc_policy_parse("bench.yaml", text, len, &p, &d, &err) < 0 ||
		    pc_policy_lint(p, &d) != 0) {
			fprintf(stderr, "generated policy does not lint: %d:%d %s\n",
			        d.n ? d.items[0].pos.line : 0, d.n ? d.items[0].pos.col : 0,
			        d.n ? d.items[0].msg : err.msg);
			return 1;
		}
		t_load[r] = pc_monotonic_ms() - t0;
		pc_policy_diags_free(&d);
	}
	size_t allowed = 0, violation = 0, undocumented = 0;
	for (int r = 0; r < runs; r++) {
		struct pc_snapshot *s = make_snapshot(ENDPOINTS);
		struct pc_policy_eval_opts o = {.now_ms = 1796515200000LL};
		struct pc_policy_result res;
		struct pc_error err = {0};
		double t0 = pc_monotonic_ms(), c0 = cpu_ms();
		if (pc_policy_eval(s, p, &o, &res, &err) < 0)
			return 3;
		t_eval[r] = pc_monotonic_ms() - t0;
		c_eval[r] = cpu_ms() - c0;
		allowed = res.allowed;
		violation = res.violation;
		undocumented = res.undocumented;
		pc_snapshot_free(s);
	}
	/* the figure: classified (built-in knowledge base) and judged,
	 * the two stages audit runs over every endpoint, back to back */
	struct pc_kb *kb = NULL;
	{
		struct pc_error err = {0};
		if (pc_kb_builtin(&kb, &err) < 0) {
			fprintf(stderr, "knowledge base: %s\n", err.msg);
			return 3;
		}
	}
	for (int r = 0; r < runs; r++) {
		struct pc_snapshot *s = make_snapshot(ENDPOINTS);
		struct pc_policy_eval_opts o = {.now_ms = 1796515200000LL};
		struct pc_classify_opts co = {.now_ms = 1796515200000LL};
		struct pc_policy_result res;
		struct pc_error err = {0};
		double t0 = pc_monotonic_ms(), c0 = cpu_ms();
		if (pc_classify_run(s, kb, &co, &err) < 0 || pc_policy_eval(s, p, &o, &res, &err) < 0)
			return 3;
		t_both[r] = pc_monotonic_ms() - t0;
		c_both[r] = cpu_ms() - c0;
		pc_snapshot_free(s);
	}
	pc_kb_free(kb);
	struct pc_snapshot *ls = make_snapshot(LISTENERS);
	size_t bytes = 0;
	for (int r = 0; r < runs; r++) {
		FILE *f = fopen(argv[2], "we");
		if (!f)
			return 3;
		double t0 = pc_monotonic_ms(), c0 = cpu_ms();
		if (pc_policy_emit_nft.write(f, p, ls, NULL) < 0)
			return 3;
		bytes = (size_t)ftell(f);
		fclose(f);
		t_emit[r] = pc_monotonic_ms() - t0;
		c_emit[r] = cpu_ms() - c0;
	}
	printf("policy: %d rules, %zu bytes of YAML: load + lint %.1f ms (median of %d)\n", RULES,
	       len, median(t_load, runs), runs);
	printf("judge: %d endpoints: %.1f ms wall, %.1f ms CPU (median of %d); %zu allowed, "
	       "%zu violations, %zu undocumented\n",
	       ENDPOINTS, median(t_eval, runs), median(c_eval, runs), runs, allowed, violation,
	       undocumented);
	printf("classify + judge: %d endpoints: %.1f ms wall, %.1f ms CPU (median of %d)\n",
	       ENDPOINTS, median(t_both, runs), median(c_both, runs), runs);
	printf("enforce: nft rules for %d listeners: %.1f ms wall, %.1f ms CPU (median of %d), "
	       "%zu bytes\n",
	       LISTENERS, median(t_emit, runs), median(c_emit, runs), runs, bytes);
	pc_snapshot_free(ls);
	pc_policy_free(p);
	free(text);
	return 0;
}
