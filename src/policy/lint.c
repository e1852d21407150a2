/*
 * lint.c - what a well-formed policy can still get wrong: a reachable_from
 * that names no segment, two rules with one name, and a rule that can never
 * match because an earlier rule matches everything it matches (rules are
 * tried in order and the first match wins, so the later one is dead
 * documentation that nobody notices).
 *
 * "Everything it matches" is decided field by field, conservatively: rule B
 * is shadowed by an earlier rule A when every field A constrains, B
 * constrains at least as narrowly (B's ports inside A's, the same proto, the
 * same glob or a literal that A's glob matches). A pair that is only
 * shadowed through a cleverer glob argument is not reported: lint never
 * calls a live rule dead.
 */
#include "policy/policy.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* Is every value glob b can match also matched by glob a? */
static bool glob_covers(const char *a, const char *b)
{
	if (!a)
		return true; /* a does not constrain */
	if (!b)
		return false; /* b matches anything there, a does not */
	if (strcmp(a, b) == 0 || strcmp(a, "*") == 0)
		return true;
	return !has_glob(b) && fnmatch(a, b, 0) == 0;
}

static bool ports_cover(const struct pc_policy_match *a, const struct pc_policy_match *b)
{
	if (a->n_ports == 0)
		return true;
	if (b->n_ports == 0)
		return false;
	for (size_t i = 0; i < b->n_ports; i++) {
		/* walk b's range through a's ranges */
		unsigned cur = b->ports[i].lo;
		while (cur <= b->ports[i].hi) {
			bool moved = false;
			for (size_t k = 0; k < a->n_ports; k++)
				if (a->ports[k].lo <= cur && cur <= a->ports[k].hi) {
					cur = (unsigned)a->ports[k].hi + 1;
					moved = true;
					break;
				}
			if (!moved)
				return false;
		}
	}
	return true;
}

static bool match_covers(const struct pc_policy_match *a, const struct pc_policy_match *b)
{
	if (a->proto >= 0 && a->proto != b->proto)
		return false;
	return ports_cover(a, b) && glob_covers(a->process, b->process) &&
	       glob_covers(a->unit, b->unit) && glob_covers(a->container, b->container) &&
	       glob_covers(a->netns, b->netns) && glob_covers(a->host, b->host);
}

static void report_undefined(const struct pc_policy *p, const struct pc_policy_rule *r,
                             struct pc_policy_diags *d)
{
	for (size_t k = 0; k < r->n_reachable; k++) {
		const struct pc_policy_source *s = &r->reachable[k];
		if (s->segment >= 0 || !s->segment_name)
			continue;
		char list[256] = "";
		size_t off = 0;
		for (size_t j = 0; j < p->n_segments && off < sizeof(list); j++) {
			int w = snprintf(list + off, sizeof(list) - off, "%s%s", j ? ", " : "",
			                 p->segments[j].name);
			if (w < 0)
				break;
			off += (size_t)w;
		}
		pc_policy_diag_at(d, s->pos, r->name,
		                  "undefined segment '%s' in reachable_from (expected a "
		                  "CIDR or one of the segments: %s)",
		                  s->segment_name, p->n_segments ? list : "none defined");
	}
}

static const struct pc_policy *sort_policy; /* qsort has no context argument */

static int cmp_name(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const char *na = sort_policy->rules[a].name, *nb = sort_policy->rules[b].name;
	int c = strcmp(na ? na : "", nb ? nb : "");
	if (c)
		return c;
	return a < b ? -1 : a > b;
}

/* Duplicate names, by sorting (n log n: a policy may hold 20,000 rules). */
static int report_duplicates(const struct pc_policy *p, struct pc_policy_diags *d)
{
	size_t *order = malloc((p->n_rules ? p->n_rules : 1) * sizeof(*order));
	if (!order)
		return PC_ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++)
		order[i] = i;
	sort_policy = p;
	qsort(order, p->n_rules, sizeof(*order), cmp_name);
	for (size_t i = 1; i < p->n_rules; i++) {
		const struct pc_policy_rule *r = &p->rules[order[i]];
		size_t first = i;
		while (first > 0 && p->rules[order[first - 1]].name && r->name &&
		       strcmp(p->rules[order[first - 1]].name, r->name) == 0)
			first--;
		if (first == i || !r->name)
			continue;
		pc_policy_diag_at(d, r->pos, r->name,
		                  "duplicate rule name, first used at line %d "
		                  "(expected unique names)",
		                  p->rules[order[first]].pos.line);
	}
	free(order);
	return 0;
}

/* The first earlier rule that matches everything rule i matches: only the
 * rules naming i's first port, or no port or a wide range, can. */
static long shadowing_rule(const struct pc_policy *p, const struct pc_policy_index *idx, size_t i)
{
	const struct pc_policy_rule *r = &p->rules[i];
	const uint32_t *a, *w;
	size_t na, nw;
	pc_policy_index_candidates(idx, r->match.n_ports ? r->match.ports[0].lo : -1, &a, &na, &w,
	                           &nw);
	const uint32_t *a_end = a + na, *w_end = w + nw;
	while (a < a_end || w < w_end) {
		uint32_t j;
		if (w >= w_end || (a < a_end && *a < *w))
			j = *a++;
		else
			j = *w++;
		if (j >= i)
			break; /* both lists ascend */
		if (match_covers(&p->rules[j].match, &r->match))
			return (long)j;
	}
	return -1;
}

int pc_policy_lint(const struct pc_policy *p, struct pc_policy_diags *d)
{
	size_t before = d->n + d->dropped;
	struct pc_policy_index *idx = NULL;
	if (pc_policy_index_new(p, &idx) < 0 || report_duplicates(p, d) < 0) {
		pc_policy_index_free(idx);
		return PC_ENOMEM;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pc_policy_rule *r = &p->rules[i];
		report_undefined(p, r, d);
		long j = shadowing_rule(p, idx, i);
		if (j >= 0) {
			const struct pc_policy_rule *a = &p->rules[j];
			pc_policy_diag_at(d, r->match_pos.line ? r->match_pos : r->pos, r->name,
			                  "unreachable: rule '%s' at line %d matches "
			                  "everything this rule matches (expected this rule "
			                  "before it, or a narrower match there)",
			                  a->name ? a->name : "?", a->pos.line);
		}
	}
	pc_policy_index_free(idx);
	size_t after = d->n + d->dropped;
	return (int)(after - before);
}

void pc_policy_diags_sort(struct pc_policy_diags *d)
{
	/* insertion sort: stable, and lists are capped at PC_POLICY_MAX_DIAGS */
	for (size_t i = 1; i < d->n; i++) {
		struct pc_policy_diag cur = d->items[i];
		size_t j = i;
		while (j > 0 && (d->items[j - 1].pos.line > cur.pos.line ||
		                 (d->items[j - 1].pos.line == cur.pos.line &&
		                  d->items[j - 1].pos.col > cur.pos.col))) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = cur;
	}
}

int pc_policy_open(const char *file, struct pc_policy **ret_policy, struct pc_policy_diags *diags,
                   struct pc_error *err)
{
	struct pc_policy *p = NULL;
	*ret_policy = NULL;
	size_t first = diags->n;
	int r = pc_policy_load_partial(file, &p, diags, err);
	if (r < 0 && r != PC_EINVAL)
		return r;
	if (p && pc_policy_lint(p, diags) < 0) {
		pc_policy_free(p);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	if (diags->n + diags->dropped == 0 && r == 0) {
		*ret_policy = p;
		return 0;
	}
	pc_policy_free(p);
	pc_policy_diags_sort(diags);
	if (first < diags->n) {
		const struct pc_policy_diag *g = &diags->items[first];
		pc_error_set_at(err, PC_EINVAL, file, g->pos.line, g->pos.col, "%s%s%s%s",
		                g->rule[0] ? "rule '" : "", g->rule, g->rule[0] ? "': " : "",
		                g->msg);
	}
	return PC_EINVAL;
}
