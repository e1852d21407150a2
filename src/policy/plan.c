/*
 * plan.c - what `policy enforce` will do, independent of the firewall
 * syntax: one entry per (proto, port) the host listens on beyond loopback,
 * sorted, saying who may reach it. Both emitters print this plan, so nftables
 * and iptables output can never disagree about a port.
 *
 * Per port (several sockets may share one: IPv4 and IPv6, two addresses):
 *   - a documenting rule without reachable_from leaves it open (OPEN);
 *   - documenting rules with reachable_from allow the union of their
 *     sources, everything else is dropped (RESTRICT; DROP when the union is
 *     empty, `reachable_from: []`);
 *   - no documenting rule: dropped (DROP) unless defaults.unlisted is ignore
 *     or the listener is out of the policy's scope (left alone), or it is SSH
 *     (port 22, service ssh, or sshd): SSH is cut only by a rule that names
 *     it, so an incomplete policy cannot lock the operator out (KEEP_SSH).
 * Loopback-bound sockets get no entry: loopback traffic is never touched.
 */
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>

struct port_acc {
	bool seen, in_scope_undoc, ssh, open, documented;
	const struct pc_policy_rule *rule;
	uint8_t *segments;
	const struct pc_policy_cidr **cidrs;
	size_t n_cidrs, cap_cidrs;
};

static bool is_ssh(const struct pc_endpoint *ep)
{
	if (ep->proto != PC_PROTO_TCP)
		return false;
	if (ep->port == 22)
		return true;
	if (ep->service && ep->service->name && strcmp(ep->service->name, "ssh") == 0)
		return true;
	for (size_t i = 0; i < ep->n_owners; i++)
		if (ep->owners[i].comm && strcmp(ep->owners[i].comm, "sshd") == 0)
			return true;
	return false;
}

static int add_cidr(struct pc_policy_plan *plan, struct port_acc *a, const struct pc_policy_cidr *c)
{
	for (size_t i = 0; i < a->n_cidrs; i++)
		if (a->cidrs[i] == c)
			return 0;
	if (a->n_cidrs == a->cap_cidrs) {
		size_t n = a->cap_cidrs ? a->cap_cidrs * 2 : 4;
		const struct pc_policy_cidr **v = pc_arena_alloc(&plan->arena, n * sizeof(*v));
		if (!v)
			return PC_ENOMEM;
		if (a->n_cidrs)
			memcpy(v, a->cidrs, a->n_cidrs * sizeof(*v));
		a->cidrs = v;
		a->cap_cidrs = n;
	}
	a->cidrs[a->n_cidrs++] = c;
	return 0;
}

void pc_policy_plan_free(struct pc_policy_plan *plan)
{
	if (!plan)
		return;
	pc_arena_free(&plan->arena);
	*plan = (struct pc_policy_plan){0};
}

int pc_policy_plan_build(const struct pc_policy *p, const struct pc_snapshot *snap,
                         struct pc_policy_plan *ret_plan)
{
	struct pc_policy_plan plan = {0};
	pc_arena_init(&plan.arena);
	struct pc_policy_index *idx = NULL;
	/* 2 x 65536 accumulators, allocated in one block */
	struct port_acc *acc = calloc(2 * 65536, sizeof(*acc));
	int r = pc_policy_index_new(p, &idx);
	if (r < 0 || !acc) {
		r = PC_ENOMEM;
		goto out;
	}
	size_t n = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->source != PC_SOURCE_HOST || ep->state != PC_STATE_LISTEN ||
		    ep->bind == PC_BIND_LOOPBACK)
			continue;
		struct port_acc *a = &acc[(size_t)ep->proto * 65536 + ep->port];
		if (!a->seen)
			n++;
		a->seen = true;
		if (!pc_policy_in_scope(p, ep, snap->host)) {
			a->open = true; /* not the policy's business */
			continue;
		}
		long m = pc_policy_index_first(idx, ep, snap->host);
		if (m < 0) {
			if (p->unlisted == PC_POLICY_UNLISTED_IGNORE)
				a->open = true;
			a->ssh = a->ssh || is_ssh(ep);
			continue;
		}
		const struct pc_policy_rule *rule = &p->rules[m];
		if (!a->rule)
			a->rule = rule;
		a->documented = true;
		if (!rule->has_reachable) {
			a->open = true;
			continue;
		}
		if (!a->segments && p->n_segments) {
			a->segments = pc_arena_alloc(&plan.arena, p->n_segments);
			if (!a->segments) {
				r = PC_ENOMEM;
				goto out;
			}
		}
		for (size_t k = 0; k < rule->n_reachable; k++) {
			const struct pc_policy_source *s = &rule->reachable[k];
			if (s->segment >= 0)
				a->segments[s->segment] = 1;
			else if ((r = add_cidr(&plan, a, &s->cidr)) < 0)
				goto out;
		}
	}
	plan.entries = pc_arena_alloc(&plan.arena, (n ? n : 1) * sizeof(*plan.entries));
	if (!plan.entries) {
		r = PC_ENOMEM;
		goto out;
	}
	for (size_t key = 0; key < 2 * 65536; key++) {
		struct port_acc *a = &acc[key];
		if (!a->seen)
			continue;
		struct pc_policy_plan_entry *e = &plan.entries[plan.n++];
		*e = (struct pc_policy_plan_entry){
		    .proto = (enum pc_proto)(key / 65536),
		    .port = (uint16_t)(key % 65536),
		    .rule = a->rule,
		    .segments = a->segments,
		    .cidrs = a->cidrs,
		    .n_cidrs = a->n_cidrs,
		};
		bool any_source = a->n_cidrs > 0;
		for (size_t s = 0; a->segments && s < p->n_segments; s++)
			any_source = any_source || a->segments[s];
		if (a->open)
			e->action = PC_PLAN_OPEN;
		else if (!a->documented && a->ssh)
			e->action = PC_PLAN_KEEP_SSH;
		else if (a->documented && any_source)
			e->action = PC_PLAN_RESTRICT;
		else
			e->action = PC_PLAN_DROP;
	}
	*ret_plan = plan;
	plan = (struct pc_policy_plan){0};
	r = 0;
out:
	pc_policy_plan_free(&plan);
	pc_policy_index_free(idx);
	free(acc);
	return r;
}

const struct pc_policy_emitter *pc_policy_emitter_find(const char *name)
{
	for (size_t i = 0; pc_policy_emitters[i]; i++)
		if (strcmp(pc_policy_emitters[i]->name, name) == 0)
			return pc_policy_emitters[i];
	return NULL;
}

static int cmp_cidr(const void *pa, const void *pb)
{
	const struct pc_policy_cidr *a = *(const struct pc_policy_cidr *const *)pa;
	const struct pc_policy_cidr *b = *(const struct pc_policy_cidr *const *)pb;
	int c = pc_addr_compare(&a->addr, &b->addr);
	if (c)
		return c;
	return (int)a->plen - (int)b->plen;
}

size_t pc_policy_cidrs_reduce(const struct pc_policy_cidr *const *in, size_t n, int family,
                              const struct pc_policy_cidr **out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i]->addr.family != family)
			continue;
		bool inside = false;
		for (size_t j = 0; j < n && !inside; j++) {
			if (j == i || in[j]->addr.family != family || in[j]->plen > in[i]->plen)
				continue;
			if (!pc_policy_cidr_contains(in[j], &in[i]->addr))
				continue;
			/* equal ones: keep the first */
			inside = in[j]->plen < in[i]->plen || j < i;
		}
		if (!inside)
			out[k++] = in[i];
	}
	qsort(out, k, sizeof(*out), cmp_cidr);
	return k;
}

const struct pc_policy_emitter *const pc_policy_emitters[] = {
    &pc_policy_emit_nft,
    &pc_policy_emit_iptables,
    &pc_policy_emit_ip6tables,
    NULL,
};
