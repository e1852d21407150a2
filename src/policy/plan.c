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
	bool ssh, open, documented;
	const struct pc_policy_rule *rule;
	uint8_t *segments;
	const struct pc_policy_cidr **cidrs;
	size_t n_cidrs, cap_cidrs;
};

/* One listener beyond loopback: its (proto, port) key and where it is. */
struct keyed {
	uint32_t key; /* proto * 65536 + port */
	uint32_t ep;
};

static int cmp_keyed(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->ep < b->ep ? -1 : a->ep > b->ep;
}

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

/* Fold one listener into its port's accumulator. */
static int accumulate(struct pc_policy_plan *plan, const struct pc_policy *p,
                      const struct pc_policy_index *idx, const struct pc_snapshot *snap,
                      const struct pc_endpoint *ep, struct port_acc *a)
{
	if (!pc_policy_in_scope(p, ep, snap->host)) {
		a->open = true; /* not the policy's business */
		return 0;
	}
	long m = pc_policy_index_first(idx, ep, snap->host);
	if (m < 0) {
		if (p->unlisted == PC_POLICY_UNLISTED_IGNORE)
			a->open = true;
		a->ssh = a->ssh || is_ssh(ep);
		return 0;
	}
	const struct pc_policy_rule *rule = &p->rules[m];
	if (!a->rule)
		a->rule = rule;
	a->documented = true;
	if (!rule->has_reachable) {
		a->open = true;
		return 0;
	}
	if (!a->segments && p->n_segments) {
		a->segments = pc_arena_alloc(&plan->arena, p->n_segments);
		if (!a->segments)
			return PC_ENOMEM;
	}
	for (size_t k = 0; k < rule->n_reachable; k++) {
		const struct pc_policy_source *s = &rule->reachable[k];
		if (s->segment >= 0)
			a->segments[s->segment] = 1;
		else if (add_cidr(plan, a, &s->cidr) < 0)
			return PC_ENOMEM;
	}
	return 0;
}

static enum pc_policy_plan_action action_of(const struct pc_policy *p, const struct port_acc *a)
{
	bool any_source = a->n_cidrs > 0;
	for (size_t s = 0; a->segments && s < p->n_segments; s++)
		any_source = any_source || a->segments[s];
	if (a->open)
		return PC_PLAN_OPEN;
	if (!a->documented && a->ssh)
		return PC_PLAN_KEEP_SSH;
	if (a->documented && any_source)
		return PC_PLAN_RESTRICT;
	return PC_PLAN_DROP;
}

int pc_policy_plan_build(const struct pc_policy *p, const struct pc_snapshot *snap,
                         struct pc_policy_plan *ret_plan)
{
	struct pc_policy_plan plan = {0};
	pc_arena_init(&plan.arena);
	struct pc_policy_index *idx = NULL;
	/* listeners sorted by (proto, port): each run of one key is one entry,
	 * in the order the emitters print */
	struct keyed *keys = malloc((snap->n_endpoints ? snap->n_endpoints : 1) * sizeof(*keys));
	int r = pc_policy_index_new(p, &idx);
	if (r < 0 || !keys) {
		r = PC_ENOMEM;
		goto out;
	}
	size_t n = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->source != PC_SOURCE_HOST || ep->state != PC_STATE_LISTEN ||
		    ep->bind == PC_BIND_LOOPBACK)
			continue;
		keys[n++] = (struct keyed){(uint32_t)ep->proto * 65536 + ep->port, (uint32_t)i};
	}
	qsort(keys, n, sizeof(*keys), cmp_keyed);
	plan.entries = pc_arena_alloc(&plan.arena, (n ? n : 1) * sizeof(*plan.entries));
	if (!plan.entries) {
		r = PC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n;) {
		struct port_acc a = {0};
		size_t k = i;
		for (; k < n && keys[k].key == keys[i].key; k++)
			if ((r = accumulate(&plan, p, idx, snap, &snap->endpoints[keys[k].ep], &a)) < 0)
				goto out;
		plan.entries[plan.n++] = (struct pc_policy_plan_entry){
		    .proto = (enum pc_proto)(keys[i].key / 65536),
		    .port = (uint16_t)(keys[i].key % 65536),
		    .action = action_of(p, &a),
		    .rule = a.rule,
		    .segments = a.segments,
		    .cidrs = a.cidrs,
		    .n_cidrs = a.n_cidrs,
		};
		i = k;
	}
	*ret_plan = plan;
	plan = (struct pc_policy_plan){0};
	r = 0;
out:
	pc_policy_plan_free(&plan);
	pc_policy_index_free(idx);
	free(keys);
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
