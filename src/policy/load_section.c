/*
 * load_section.c - the policy's sections other than the rules: segments
 * (name -> CIDRs), scope (host, namespace and container globs) and
 * defaults (unlisted, review_max_age).
 *
 * Split from load.c: these are the settings a rule is read against (a
 * rule's reachable_from resolves segment names, so load.c reads segments
 * before the listeners whatever the key order). A segment is kept even
 * with a bad CIDR, so rules naming it are not also reported as naming an
 * undefined segment.
 */
#include "policy/load_int.h"

#include <string.h>

void pc_policy_load_segments(struct loader *L, const yaml_node_t *n)
{
	if (!pc_policy_node_mapping(L, n, "segments: name -> list of CIDRs"))
		return;
	size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count > PC_POLICY_MAX_SEGMENTS) {
		pc_policy_node_bad(L, n, "%zu segments (expected at most %u)", count,
		                   PC_POLICY_MAX_SEGMENTS);
		return;
	}
	struct pc_policy *p = L->p;
	p->segments = pc_policy_node_alloc(L, count, sizeof(*p->segments));
	if (!p->segments)
		return;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = pc_policy_node_visit(L, pr->key, n);
		if (!k)
			continue;
		yaml_node_t *v = pc_policy_node_visit(L, pr->value, k);
		const char *name = pc_policy_node_text(L, k, "a segment name");
		if (!name || !v)
			continue;
		bool dup = false;
		for (size_t i = 0; i < p->n_segments; i++)
			if (strcmp(p->segments[i].name, name) == 0)
				dup = true;
		if (dup) {
			pc_policy_node_bad(
			    L, k, "segment '%s' is defined twice (expected unique segment names)",
			    name);
			continue;
		}
		struct pc_policy_segment *s = &p->segments[p->n_segments];
		s->name = name;
		s->pos = pc_policy_node_pos(k);
		/* kept even with a bad CIDR, so rules naming it are not also
		 * reported as naming an undefined segment */
		pc_policy_node_cidr_list(L, v, "the segment's CIDRs", &s->cidrs, &s->n_cidrs);
		p->n_segments++;
	}
}

static const char **glob_list(struct loader *L, const yaml_node_t *n, const char *what,
                              size_t *ret_n)
{
	if (!pc_policy_node_sequence(L, n, what))
		return NULL;
	size_t count = SEQ_COUNT(n);
	const char **out = pc_policy_node_alloc(L, count, sizeof(*out));
	if (!out)
		return NULL;
	size_t k = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = pc_policy_node_visit(L, *it, n);
		const char *g = item ? pc_policy_node_text(L, item, "a name or glob") : NULL;
		if (g)
			out[k++] = g;
	}
	*ret_n = k;
	return out;
}

static const char *const scope_keys[] = {"hosts", "netns", "containers"};

static void scope_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)ctx;
	(void)k;
	struct pc_policy_scope *s = &L->p->scope;
	if (key == 0)
		s->hosts = glob_list(L, v, "host names or globs", &s->n_hosts);
	else if (key == 1)
		s->netns = glob_list(L, v, "namespace names or globs", &s->n_netns);
	else
		s->containers = glob_list(L, v, "container names or globs", &s->n_containers);
}

static const char *const defaults_keys[] = {"unlisted", "review_max_age"};

static void defaults_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)ctx;
	(void)k;
	const char *s = pc_policy_node_scalar(
	    L, v, key == 0 ? "violation, warning or ignore" : "a number of days");
	if (!s)
		return;
	if (key == 0) {
		if (strcmp(s, "violation") == 0)
			L->p->unlisted = PC_POLICY_UNLISTED_VIOLATION;
		else if (strcmp(s, "warning") == 0)
			L->p->unlisted = PC_POLICY_UNLISTED_WARNING;
		else if (strcmp(s, "ignore") == 0)
			L->p->unlisted = PC_POLICY_UNLISTED_IGNORE;
		else
			pc_policy_node_bad(L, v, "unlisted must be violation, warning or ignore");
		return;
	}
	unsigned long days;
	if (!pc_policy_parse_uint(s, 36500, &days) || days == 0) {
		pc_policy_node_bad(L, v,
		                   "review_max_age must be a number of days (expected 1 to 36500)");
		return;
	}
	L->p->review_max_age = (int)days;
}

void pc_policy_load_scope(struct loader *L, const yaml_node_t *n)
{
	if (pc_policy_node_mapping(L, n, "scope"))
		pc_policy_node_each_key(
		    L, n, scope_keys, sizeof(scope_keys) / sizeof(scope_keys[0]), NULL, scope_key);
}

void pc_policy_load_defaults(struct loader *L, const yaml_node_t *n)
{
	if (pc_policy_node_mapping(L, n, "defaults"))
		pc_policy_node_each_key(L, n, defaults_keys,
		                        sizeof(defaults_keys) / sizeof(defaults_keys[0]), NULL,
		                        defaults_key);
}
