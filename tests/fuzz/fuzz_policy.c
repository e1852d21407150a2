/*
 * fuzz_policy.c - the policy loader over arbitrary bytes, and everything
 * that reads what it accepts: lint, evaluation of a small fixed snapshot and
 * both firewall emitters. Invariants: a clean load has no diagnostics and
 * a failed one has at least one, each with a position inside the input's
 * line count (or none); every diagnostic fits its buffers; the emitters
 * write the same bytes twice.
 */
#include "policy/policy.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pc_snapshot *fixed_snapshot(void)
{
	static const struct {
		const char *addr;
		uint16_t port;
		enum pc_proto proto;
		const char *comm;
	} l[] = {
	    {"0.0.0.0", 22, PC_PROTO_TCP, "sshd"},
	    {"127.0.0.1", 6379, PC_PROTO_TCP, "redis-server"},
	    {"::", 5432, PC_PROTO_TCP, "postgres"},
	    {"198.18.1.1", 8080, PC_PROTO_TCP, NULL},
	    {"0.0.0.0", 53, PC_PROTO_UDP, "dnsmasq"},
	};
	struct pc_snapshot *s = pc_snapshot_new("fuzz");
	if (!s)
		abort();
	s->host = "db01";
	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		e->proto = l[i].proto;
		e->state = PC_STATE_LISTEN;
		pc_addr_parse(l[i].addr, &e->addr);
		e->port = l[i].port;
		e->bind = pc_bind_of(&e->addr);
		e->netns.name = i % 2 ? "lab-a" : NULL;
		if (l[i].comm) {
			e->owners = pc_snapshot_owners(s, 1);
			e->n_owners = 1;
			e->owners[0].comm = l[i].comm;
			e->owners[0].unit = i == 0 ? "ssh.service" : NULL;
		}
	}
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_SCAN;
	e->state = PC_STATE_OPEN;
	pc_addr_parse("198.18.1.1", &e->addr);
	e->port = 6379;
	return s;
}

static void emit_twice(const struct pc_policy_emitter *em, const struct pc_policy *p,
                       const struct pc_snapshot *s)
{
	char *out[2] = {NULL, NULL};
	size_t len[2] = {0, 0};
	for (int k = 0; k < 2; k++) {
		FILE *f = open_memstream(&out[k], &len[k]);
		if (!f)
			abort();
		if (em->write(f, p, s, NULL) < 0)
			abort();
		fclose(f);
	}
	if (len[0] != len[1] || memcmp(out[0], out[1], len[0]) != 0)
		abort();
	free(out[0]);
	free(out[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r';
	struct pc_policy *p = NULL;
	struct pc_policy_diags d = {0};
	struct pc_error err = {0};
	int r = pc_policy_parse_partial("fuzz.yaml", (const char *)data, size, &p, &d, &err);
	if (r == 0 && d.n)
		abort();
	if (r == PC_EINVAL && d.n + d.dropped == 0)
		abort();
	if (p) {
		int found = pc_policy_lint(p, &d);
		if (found < 0)
			abort();
	}
	for (size_t i = 0; i < d.n; i++) {
		if (d.items[i].pos.line < 0 || d.items[i].pos.line > lines + 1)
			abort();
		if (strnlen(d.items[i].msg, sizeof(d.items[i].msg)) >= sizeof(d.items[i].msg))
			abort();
	}
	if (r == 0 && d.n == 0) {
		struct pc_snapshot *s = fixed_snapshot();
		struct pc_policy_eval_opts o = {.now_ms = 1764979200000LL};
		struct pc_policy_result res;
		if (pc_policy_eval(s, p, &o, &res, &err) < 0)
			abort();
		for (size_t i = 0; pc_policy_emitters[i]; i++)
			emit_twice(pc_policy_emitters[i], p, s);
		pc_snapshot_free(s);
	}
	pc_policy_free(p);
	pc_policy_diags_free(&d);
	return 0;
}
