/*
 * eval.c - the policy stage: judge every listener and open port of a
 * snapshot against a loaded policy (docs/policy.md, "Evaluation").
 *
 * Rules are tried in order and the first whose match holds documents the
 * endpoint; its clauses are then checked against evidence the snapshot
 * already holds, never against guesses:
 *   bind            the socket's local address (host records only);
 *   reachable_from  network-side records of this snapshot, seen from the
 *                   segment named by opts.from; without them, the bind scope
 *                   (loopback proves "nobody remote", anything else proves
 *                   nothing and says so in the reasons);
 *   auth, tls       what the probes found (service.auth, service.tls);
 *                   unknown is reported as unproven, not as compliant.
 * An endpoint no rule matches is undocumented; a rule that matched nothing is
 * stale documentation; a rule reviewed longer ago than review_max_age is due
 * for review. The last two become snapshot findings.
 *
 * Speed: a first match over 1,000 rules for each of 50,000 endpoints would be
 * 50 million match tests; the index below lists, per port, the rules that
 * name it (in rule order) beside the few rules that name no port or a wide
 * range, so each endpoint tests only its candidates, still in rule order.
 */
#include "policy/policy.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- matching ---- */

bool pc_policy_judged(const struct pc_endpoint *ep)
{
	if (ep->source == PC_SOURCE_HOST)
		return ep->state == PC_STATE_LISTEN;
	return ep->state == PC_STATE_OPEN;
}

static bool glob(const char *pattern, const char *s)
{
	if (!s)
		return false;
	/* most patterns are plain names: strcmp is ten times cheaper */
	if (!strpbrk(pattern, "*?[\\"))
		return strcmp(pattern, s) == 0;
	return fnmatch(pattern, s, 0) == 0;
}

/* What `host` matches: the snapshot's host for host records, the target
 * (name as given, else address) for network-side records. */
static const char *host_of(const struct pc_endpoint *ep, const char *host, char *buf, size_t len)
{
	if (ep->source == PC_SOURCE_HOST)
		return host;
	if (ep->hostname)
		return ep->hostname;
	return ep->addr.family ? pc_addr_format(&ep->addr, buf, len) : NULL;
}

static bool owner_matches(const struct pc_endpoint *ep, const char *process, const char *unit,
                          const char *container)
{
	/* one owner must satisfy every owner field: "sshd in unit ssh.service" */
	for (size_t i = 0; i < ep->n_owners; i++) {
		const struct pc_owner *o = &ep->owners[i];
		if (process && !glob(process, o->comm) && !glob(process, o->exe))
			continue;
		if (unit && !glob(unit, o->unit))
			continue;
		if (container && !glob(container, o->container.name) &&
		    !glob(container, o->container.image) && !glob(container, o->container.id))
			continue;
		return true;
	}
	return false;
}

bool pc_policy_match_endpoint(const struct pc_policy_match *m, const struct pc_endpoint *ep,
                              const char *host)
{
	if (m->proto >= 0 && (int)ep->proto != m->proto)
		return false;
	if (m->n_ports) {
		bool in = false;
		for (size_t i = 0; i < m->n_ports && !in; i++)
			in = m->ports[i].lo <= ep->port && ep->port <= m->ports[i].hi;
		if (!in)
			return false;
	}
	if (m->netns && !glob(m->netns, ep->netns.name))
		return false;
	if (m->host) {
		char buf[PC_ADDR_STRLEN];
		if (!glob(m->host, host_of(ep, host, buf, sizeof(buf))))
			return false;
	}
	if ((m->process || m->unit || m->container) &&
	    !owner_matches(ep, m->process, m->unit, m->container))
		return false;
	return true;
}

static bool any_glob(const char *const *globs, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (glob(globs[i], s))
			return true;
	return false;
}

bool pc_policy_in_scope(const struct pc_policy *p, const struct pc_endpoint *ep, const char *host)
{
	const struct pc_policy_scope *s = &p->scope;
	if (s->n_hosts) {
		char buf[PC_ADDR_STRLEN];
		if (!any_glob(s->hosts, s->n_hosts, host_of(ep, host, buf, sizeof(buf))))
			return false;
	}
	if (s->n_netns && !any_glob(s->netns, s->n_netns, ep->netns.name))
		return false;
	if (s->n_containers) {
		bool in = false;
		for (size_t i = 0; i < ep->n_owners && !in; i++)
			in = any_glob(s->containers, s->n_containers, ep->owners[i].container.name) ||
			     any_glob(s->containers, s->n_containers, ep->owners[i].container.image);
		if (!in)
			return false;
	}
	return true;
}

long pc_policy_first_match(const struct pc_policy *p, const struct pc_endpoint *ep,
                           const char *host)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (pc_policy_match_endpoint(&p->rules[i].match, ep, host))
			return (long)i;
	return -1;
}

/* ---- the per-port index ---- */

/* A rule naming more ports than this goes on the "wide" list, tested for
 * every endpoint: keeps the index small when a rule says 1-65535. */
#define NARROW_SPAN 64

struct pc_policy_index {
	const struct pc_policy *p;
	/* (port, rule) pairs of the narrow rules, sorted by port then rule, in
	 * two parallel arrays: a port's rules are one ascending run of rules[] */
	uint16_t *ports;
	uint32_t *rules;
	size_t n;
	uint32_t *wide; /* rules naming no port or a wide range, ascending */
	size_t n_wide;
};

static size_t rule_span(const struct pc_policy_rule *r)
{
	size_t span = 0;
	for (size_t i = 0; i < r->match.n_ports; i++)
		span += (size_t)r->match.ports[i].hi - r->match.ports[i].lo + 1;
	return span;
}

void pc_policy_index_free(struct pc_policy_index *idx)
{
	if (!idx)
		return;
	free(idx->ports);
	free(idx->rules);
	free(idx->wide);
	free(idx);
}

static int cmp_pair(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return a < b ? -1 : a > b;
}

int pc_policy_index_new(const struct pc_policy *p, struct pc_policy_index **ret_index)
{
	struct pc_policy_index *idx = calloc(1, sizeof(*idx));
	uint64_t *pairs = NULL;
	if (!idx)
		return PC_ENOMEM;
	idx->p = p;
	idx->wide = malloc((p->n_rules ? p->n_rules : 1) * sizeof(*idx->wide));
	if (!idx->wide)
		goto nomem;
	size_t total = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		size_t span = rule_span(&p->rules[i]);
		if (span == 0 || span > NARROW_SPAN)
			idx->wide[idx->n_wide++] = (uint32_t)i;
		else
			total += span;
	}
	/* port << 32 | rule: one integer sort orders by port, then rule */
	pairs = malloc((total ? total : 1) * sizeof(*pairs));
	idx->ports = malloc((total ? total : 1) * sizeof(*idx->ports));
	idx->rules = malloc((total ? total : 1) * sizeof(*idx->rules));
	if (!pairs || !idx->ports || !idx->rules)
		goto nomem;
	size_t k = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pc_policy_rule *r = &p->rules[i];
		size_t span = rule_span(r);
		if (span == 0 || span > NARROW_SPAN)
			continue;
		for (size_t x = 0; x < r->match.n_ports; x++)
			for (unsigned port = r->match.ports[x].lo; port <= r->match.ports[x].hi; port++)
				pairs[k++] = (uint64_t)port << 32 | (uint32_t)i;
	}
	qsort(pairs, k, sizeof(*pairs), cmp_pair);
	for (size_t x = 0; x < k; x++) {
		/* a rule naming one port twice ([80, 80]) is listed once */
		if (idx->n && pairs[x] == pairs[x - 1])
			continue;
		idx->ports[idx->n] = (uint16_t)(pairs[x] >> 32);
		idx->rules[idx->n] = (uint32_t)pairs[x];
		idx->n++;
	}
	free(pairs);
	*ret_index = idx;
	return 0;
nomem:
	free(pairs);
	pc_policy_index_free(idx);
	return PC_ENOMEM;
}

void pc_policy_index_candidates(const struct pc_policy_index *idx, int port, const uint32_t **ret_a,
                                size_t *ret_na, const uint32_t **ret_wide, size_t *ret_nwide)
{
	/* never NULL (rules holds at least one slot), so callers may form
	 * a + na even for an empty list */
	*ret_a = idx->rules;
	*ret_na = 0;
	if (port >= 0 && port < 65536 && idx->n) {
		/* lower bound of port in the sorted ports[] */
		size_t lo = 0, hi = idx->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (idx->ports[mid] < port)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t end = lo;
		while (end < idx->n && idx->ports[end] == port)
			end++;
		*ret_a = idx->rules + lo;
		*ret_na = end - lo;
	}
	*ret_wide = idx->wide;
	*ret_nwide = idx->n_wide;
}

long pc_policy_index_first(const struct pc_policy_index *idx, const struct pc_endpoint *ep,
                           const char *host)
{
	const struct pc_policy *p = idx->p;
	const uint32_t *a, *b;
	size_t na, nb;
	pc_policy_index_candidates(idx, ep->port, &a, &na, &b, &nb);
	const uint32_t *a_end = a + na, *b_end = b + nb;
	/* merge the two ascending lists: the first rule that matches wins */
	while (a < a_end || b < b_end) {
		uint32_t i;
		if (b >= b_end || (a < a_end && *a < *b))
			i = *a++;
		else
			i = *b++;
		if (pc_policy_match_endpoint(&p->rules[i].match, ep, host))
			return (long)i;
	}
	return -1;
}

/* ---- clauses ---- */

#define MAX_REASONS 8

struct judge {
	struct pc_snapshot *snap;
	const char *reasons[MAX_REASONS];
	size_t n;
	bool violation;
	bool nomem;
};

static void reason(struct judge *J, bool violation, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reason(struct judge *J, bool violation, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (violation)
		J->violation = true;
	if (J->n >= MAX_REASONS)
		return;
	const char *s = pc_snapshot_strdup(J->snap, buf);
	if (!s) {
		J->nomem = true;
		return;
	}
	J->reasons[J->n++] = s;
}

/* "any", "loopback 127.0.0.1" or the address, as a person reads a bind. */
static const char *bind_text(const struct pc_endpoint *ep, char *buf, size_t len)
{
	if (ep->bind == PC_BIND_ANY)
		return "any";
	return pc_addr_format(&ep->addr, buf, len);
}

/* "app, 198.18.5.0/24" */
static void sources_text(const struct pc_policy *p, const struct pc_policy_rule *r, char *buf,
                         size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_reachable && off < len; i++) {
		const struct pc_policy_source *s = &r->reachable[i];
		char c[PC_ADDR_STRLEN + 8];
		const char *t = c;
		if (s->segment >= 0)
			t = p->segments[s->segment].name;
		else
			pc_policy_cidr_format(&s->cidr, c, sizeof(c));
		int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", t);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* Where the network-side records were seen from. */
struct vantage {
	bool known;
	int segment; /* index, or -1 for a CIDR */
	struct pc_policy_cidr cidr;
	const char *text; /* "segment ops" or "198.18.20.0/24" */
};

static bool cidr_within(const struct pc_policy_cidr *inner, const struct pc_policy_cidr *outer)
{
	return inner->plen >= outer->plen && pc_policy_cidr_contains(outer, &inner->addr);
}

static bool cidr_allowed(const struct pc_policy *p, const struct pc_policy_rule *r,
                         const struct pc_policy_cidr *c)
{
	for (size_t i = 0; i < r->n_reachable; i++) {
		const struct pc_policy_source *s = &r->reachable[i];
		if (s->segment < 0) {
			if (cidr_within(c, &s->cidr))
				return true;
			continue;
		}
		const struct pc_policy_segment *seg = &p->segments[s->segment];
		for (size_t k = 0; k < seg->n_cidrs; k++)
			if (cidr_within(c, &seg->cidrs[k]))
				return true;
	}
	return false;
}

static bool vantage_allowed(const struct pc_policy *p, const struct pc_policy_rule *r,
                            const struct vantage *v)
{
	if (v->segment < 0)
		return cidr_allowed(p, r, &v->cidr);
	for (size_t i = 0; i < r->n_reachable; i++)
		if (r->reachable[i].segment == v->segment)
			return true;
	/* a segment every CIDR of which the rule allows some other way */
	const struct pc_policy_segment *seg = &p->segments[v->segment];
	if (seg->n_cidrs == 0)
		return false;
	for (size_t k = 0; k < seg->n_cidrs; k++)
		if (!cidr_allowed(p, r, &seg->cidrs[k]))
			return false;
	return true;
}

static void check_reach(struct judge *J, const struct pc_policy *p, const struct pc_policy_rule *r,
                        const struct pc_endpoint *ep, const struct vantage *v, bool seen_open)
{
	if (!r->has_reachable)
		return;
	char allowed[256];
	sources_text(p, r, allowed, sizeof(allowed));
	if (ep->source == PC_SOURCE_HOST && ep->bind == PC_BIND_LOOPBACK)
		return; /* nobody beyond the host reaches it: any reachable_from holds */
	if (seen_open && v->known) {
		if (vantage_allowed(p, r, v))
			return;
		if (r->n_reachable == 0)
			reason(J, true, "reachable from %s, policy allows no remote client",
			       v->text);
		else
			reason(J, true, "reachable from %s, policy allows %s only", v->text,
			       allowed);
		return;
	}
	if (seen_open) {
		reason(J, false,
		       "reachable from the network, from a segment not named (give --from); "
		       "policy allows %s",
		       r->n_reachable ? allowed : "no remote client");
		return;
	}
	char b[PC_ADDR_STRLEN];
	if (r->n_reachable == 0) {
		reason(J, true, "bound to %s, policy allows no remote client",
		       bind_text(ep, b, sizeof(b)));
		return;
	}
	reason(J, false,
	       "reachable_from %s not proven: bound to %s and no network-side scan in this "
	       "audit (policy enforce makes it true)",
	       allowed, bind_text(ep, b, sizeof(b)));
}

static void check_bind(struct judge *J, const struct pc_policy_rule *r,
                       const struct pc_endpoint *ep)
{
	if (ep->source != PC_SOURCE_HOST || r->bind == PC_POLICY_BIND_UNSET ||
	    r->bind == PC_POLICY_BIND_ANY)
		return;
	char b[PC_ADDR_STRLEN];
	if (r->bind == PC_POLICY_BIND_LOOPBACK) {
		if (ep->bind != PC_BIND_LOOPBACK)
			reason(J, true, "bound to %s, policy says loopback",
			       bind_text(ep, b, sizeof(b)));
		return;
	}
	if (ep->bind != PC_BIND_ANY)
		for (size_t i = 0; i < r->n_bind_cidrs; i++)
			if (pc_policy_cidr_contains(&r->bind_cidrs[i], &ep->addr))
				return;
	char want[256] = "";
	size_t off = 0;
	for (size_t i = 0; i < r->n_bind_cidrs && off < sizeof(want); i++) {
		char c[PC_ADDR_STRLEN + 8];
		pc_policy_cidr_format(&r->bind_cidrs[i], c, sizeof(c));
		int w = snprintf(want + off, sizeof(want) - off, "%s%s", i ? ", " : "", c);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	reason(J, true, "bound to %s, policy says %s", bind_text(ep, b, sizeof(b)), want);
}

static void check_service(struct judge *J, const struct pc_policy_rule *r,
                          const struct pc_endpoint *ep)
{
	const struct pc_service *s = ep->service;
	if (r->auth_required) {
		if (s && s->auth == PC_AUTH_NONE)
			reason(J, true, "no authentication, policy requires it");
		else if (!s || s->auth != PC_AUTH_REQUIRED)
			reason(J, false, "authentication not proven (unknown), policy requires it");
	}
	if (r->tls_required) {
		if (s && s->tls == PC_TRI_FALSE)
			reason(J, true, "no TLS, policy requires it");
		else if (!s || s->tls != PC_TRI_TRUE)
			reason(J, false, "TLS not proven (unknown), policy requires it");
	}
}

static const char *owner_text(const struct pc_endpoint *ep)
{
	for (size_t i = 0; i < ep->n_owners; i++) {
		const struct pc_owner *o = &ep->owners[i];
		if (o->unit)
			return o->unit;
		if (o->container.name)
			return o->container.name;
		if (o->comm)
			return o->comm;
	}
	return NULL;
}

static int set_verdict(struct pc_snapshot *snap, struct pc_endpoint *ep,
                       const struct pc_policy_rule *r, enum pc_verdict verdict, struct judge *J)
{
	struct pc_policy_verdict *v = pc_arena_alloc(&snap->arena, sizeof(*v));
	const char **reasons = pc_arena_alloc(&snap->arena, (J->n ? J->n : 1) * sizeof(*reasons));
	if (!v || !reasons || J->nomem)
		return PC_ENOMEM;
	memcpy(reasons, J->reasons, J->n * sizeof(*reasons));
	*v = (struct pc_policy_verdict){
	    .rule = r ? r->name : NULL,
	    .verdict = verdict,
	    .reasons = reasons,
	    .n_reasons = J->n,
	    .owner = r ? r->owner : NULL,
	    .doc = r ? r->doc : NULL,
	};
	ep->policy = v;
	return 0;
}

static int resolve_from(const struct pc_policy *p, const char *from, struct vantage *v,
                        struct pc_snapshot *snap, struct pc_error *err)
{
	*v = (struct vantage){.segment = -1};
	if (!from)
		return 0;
	for (size_t i = 0; i < p->n_segments; i++)
		if (strcmp(p->segments[i].name, from) == 0) {
			v->known = true;
			v->segment = (int)i;
			v->text = pc_arena_printf(&snap->arena, "segment %s", from);
			return v->text ? 0 : PC_ENOMEM;
		}
	if (pc_policy_parse_cidr(from, &v->cidr) < 0)
		return pc_error_set(err, PC_EINVAL,
		                    "--from '%s' is neither a segment of the policy nor a CIDR",
		                    from);
	v->known = true;
	v->text = pc_snapshot_strdup(snap, from);
	return v->text ? 0 : PC_ENOMEM;
}

static int add_rule_findings(struct pc_snapshot *snap, const struct pc_policy *p,
                             const uint8_t *hit, int64_t today, struct pc_policy_result *res)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pc_policy_rule *r = &p->rules[i];
		char msg[512];
		int rc;
		if (!hit[i]) {
			snprintf(msg, sizeof(msg),
			         "rule '%s' (%s line %d) matched no listener: stale documentation",
			         r->name, p->file, r->pos.line);
			rc = pc_snapshot_add_finding(snap, "stale_rule", PC_SEV_LOW, r->name, msg);
			if (rc < 0)
				return rc;
			res->stale++;
		}
		if (p->review_max_age <= 0)
			continue;
		if (r->reviewed_day < 0) {
			snprintf(msg, sizeof(msg),
			         "rule '%s' has no reviewed date (review_max_age %d days): due "
			         "for review",
			         r->name, p->review_max_age);
		} else if (today - r->reviewed_day > p->review_max_age) {
			char d[16];
			pc_policy_format_date(r->reviewed_day, d, sizeof(d));
			snprintf(msg, sizeof(msg),
			         "rule '%s' was last reviewed on %s, %lld days ago (review_max_age "
			         "%d): due for review",
			         r->name, d, (long long)(today - r->reviewed_day),
			         p->review_max_age);
		} else {
			continue;
		}
		rc = pc_snapshot_add_finding(snap, "review_due", PC_SEV_INFO, r->name, msg);
		if (rc < 0)
			return rc;
		res->review_due++;
	}
	return 0;
}

int pc_policy_eval(struct pc_snapshot *snap, const struct pc_policy *p,
                   const struct pc_policy_eval_opts *opts, struct pc_policy_result *ret_result,
                   struct pc_error *err)
{
	struct pc_policy_result res = {
	    .undocumented_fails = p->unlisted == PC_POLICY_UNLISTED_VIOLATION,
	};
	struct vantage v;
	int r = resolve_from(p, opts ? opts->from : NULL, &v, snap, err);
	if (r < 0)
		return r == PC_ENOMEM ? pc_error_set(err, r, "out of memory") : r;
	struct pc_policy_index *idx = NULL;
	uint8_t *hit = calloc(p->n_rules ? p->n_rules : 1, 1);
	const char **documented = calloc(p->n_rules ? p->n_rules : 1, sizeof(*documented));
	/* (proto, port) pairs a network-side record saw open: evidence of
	 * reachability for host records of this snapshot */
	uint8_t *net_open = calloc(2 * 65536 / 8, 1);
	r = pc_policy_index_new(p, &idx);
	if (r < 0 || !hit || !net_open || !documented) {
		r = pc_error_set(err, PC_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->source != PC_SOURCE_HOST && ep->state == PC_STATE_OPEN) {
			size_t bit = (size_t)ep->proto * 65536 + ep->port;
			net_open[bit / 8] |= (uint8_t)(1u << (bit % 8));
		}
	}
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		struct pc_endpoint *ep = &snap->endpoints[i];
		if (!pc_policy_judged(ep) || !pc_policy_in_scope(p, ep, snap->host))
			continue;
		struct judge J = {.snap = snap};
		long m = pc_policy_index_first(idx, ep, snap->host);
		if (m < 0) {
			if (p->unlisted == PC_POLICY_UNLISTED_IGNORE)
				continue;
			const char *who = owner_text(ep);
			reason(&J, false, "no rule documents %s/%u%s%s%s", pc_proto_name(ep->proto),
			       ep->port, who ? " (" : "", who ? who : "", who ? ")" : "");
			if (p->unlisted == PC_POLICY_UNLISTED_WARNING)
				reason(&J, false, "defaults.unlisted is warning: not a violation");
			r = set_verdict(snap, ep, NULL, PC_VERDICT_UNDOCUMENTED, &J);
			if (r < 0)
				goto nomem;
			res.undocumented++;
			continue;
		}
		const struct pc_policy_rule *rule = &p->rules[m];
		hit[m] = 1;
		size_t bit = (size_t)ep->proto * 65536 + ep->port;
		bool seen_open =
		    ep->source != PC_SOURCE_HOST || (net_open[bit / 8] & (1u << (bit % 8))) != 0;
		check_bind(&J, rule, ep);
		check_reach(&J, p, rule, ep, &v, seen_open);
		check_service(&J, rule, ep);
		if (!J.violation) {
			/* one copy per rule, shared by every endpoint it allows */
			if (!documented[m])
				documented[m] = pc_arena_printf(
				    &snap->arena, "documented by rule '%s'", rule->name);
			if (!documented[m])
				goto nomem;
			if (J.n < MAX_REASONS)
				J.reasons[J.n++] = documented[m];
		}
		r = set_verdict(snap, ep, rule,
		                J.violation ? PC_VERDICT_VIOLATION : PC_VERDICT_ALLOWED, &J);
		if (r < 0)
			goto nomem;
		if (J.violation)
			res.violation++;
		else
			res.allowed++;
	}
	int64_t now = opts && opts->now_ms ? opts->now_ms : pc_now_ms();
	r = add_rule_findings(snap, p, hit, pc_policy_day_of_ms(now), &res);
	if (r < 0)
		goto nomem;
	if (ret_result)
		*ret_result = res;
	r = 0;
	goto out;
nomem:
	r = pc_error_set(err, PC_ENOMEM, "out of memory judging the policy");
out:
	pc_policy_index_free(idx);
	free(hit);
	free(documented);
	free(net_open);
	return r;
}
