/*
 * load_rule.c - the policy's listeners: one rule each (name, match, bind,
 * reachable_from, auth, tls, owner, doc, reviewed), into struct
 * pc_policy_rule.
 *
 * Split from load.c along the format's own seam: a rule is the part of a
 * policy that people edit most, and its keys are checked for type and
 * shape only (ports, protocols, CIDRs, dates, URLs); whether a rule
 * shadows another or names an undefined segment is lint.c's job. The name
 * is read first so every diagnostic of the rule can name it.
 */
#include "policy/load_int.h"

#include <string.h>

static bool port_item(struct loader *L, const yaml_node_t *n, struct pc_policy_port_range *r)
{
	const char *s = pc_policy_node_scalar(L, n, "a port or a range such as 8000-8100");
	if (!s)
		return false;
	char buf[16];
	const char *dash = strchr(s, '-');
	unsigned long lo, hi;
	bool ok;
	if (dash) {
		size_t l = (size_t)(dash - s);
		ok = l < sizeof(buf);
		if (ok) {
			memcpy(buf, s, l);
			buf[l] = '\0';
			ok = pc_policy_parse_uint(buf, 65535, &lo) &&
			     pc_policy_parse_uint(dash + 1, 65535, &hi) && lo <= hi;
		}
	} else {
		ok = pc_policy_parse_uint(s, 65535, &lo);
		hi = lo;
	}
	if (!ok || lo == 0) {
		char clean[40];
		pc_text_sanitize(s, clean, sizeof(clean));
		pc_policy_node_bad(
		    L, n, "bad port '%s' (expected a port 1-65535 or a range such as 8000-8100)",
		    clean);
		return false;
	}
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return true;
}

static const char *const match_keys[] = {"ports",     "proto", "process", "unit",
                                         "container", "netns", "host"};

static void match_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)k;
	struct pc_policy_match *m = ctx;
	switch (key) {
	case 0: {
		size_t count = 1;
		if (v->type == YAML_SEQUENCE_NODE) {
			if (!pc_policy_node_sequence(L, v, "ports"))
				return;
			count = SEQ_COUNT(v);
			if (count == 0) {
				pc_policy_node_bad(L, v,
				                   "empty ports list (expected at least one port)");
				return;
			}
		}
		m->ports = pc_policy_node_alloc(L, count, sizeof(*m->ports));
		if (!m->ports)
			return;
		if (v->type != YAML_SEQUENCE_NODE) {
			if (port_item(L, v, &m->ports[0]))
				m->n_ports = 1;
			return;
		}
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = pc_policy_node_visit(L, *it, v);
			if (item && port_item(L, item, &m->ports[m->n_ports]))
				m->n_ports++;
		}
		return;
	}
	case 1: {
		const char *s = pc_policy_node_scalar(L, v, "tcp or udp");
		if (!s)
			return;
		if (strcmp(s, "tcp") == 0)
			m->proto = PC_PROTO_TCP;
		else if (strcmp(s, "udp") == 0)
			m->proto = PC_PROTO_UDP;
		else
			pc_policy_node_bad(L, v, "proto must be tcp or udp");
		return;
	}
	case 2:
		m->process = pc_policy_node_text(L, v, "a process name or exe glob");
		return;
	case 3:
		m->unit = pc_policy_node_text(L, v, "a systemd unit name or glob");
		return;
	case 4:
		m->container = pc_policy_node_text(L, v, "a container name or glob");
		return;
	case 5:
		m->netns = pc_policy_node_text(L, v, "a namespace name or glob");
		return;
	case 6:
		m->host = pc_policy_node_text(L, v, "a host name or glob");
		return;
	}
}

static const char *const rule_keys[] = {"name", "match", "bind", "reachable_from", "auth",
                                        "tls",  "owner", "doc",  "reviewed"};

static void rule_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)k;
	struct pc_policy_rule *r = ctx;
	const char *s;
	switch (key) {
	case 0: /* read before the others, see load_rule */
		return;
	case 1:
		r->match_pos = pc_policy_node_pos(v);
		if (pc_policy_node_mapping(L, v, "match"))
			pc_policy_node_each_key(L, v, match_keys,
			                        sizeof(match_keys) / sizeof(match_keys[0]),
			                        &r->match, match_key);
		return;
	case 2:
		if (v->type == YAML_SEQUENCE_NODE) {
			if (pc_policy_node_cidr_list(L, v, "bind CIDRs", &r->bind_cidrs,
			                             &r->n_bind_cidrs)) {
				if (r->n_bind_cidrs == 0)
					pc_policy_node_bad(
					    L, v,
					    "empty bind list (expected loopback, any or "
					    "a list of CIDRs)");
				else
					r->bind = PC_POLICY_BIND_CIDRS;
			}
			return;
		}
		s = pc_policy_node_scalar(L, v, "loopback, any or a list of CIDRs");
		if (!s)
			return;
		if (strcmp(s, "loopback") == 0)
			r->bind = PC_POLICY_BIND_LOOPBACK;
		else if (strcmp(s, "any") == 0)
			r->bind = PC_POLICY_BIND_ANY;
		else
			pc_policy_node_bad(L, v, "bind must be loopback, any or a list of CIDRs");
		return;
	case 3: {
		if (!pc_policy_node_sequence(L, v, "reachable_from: segment names or CIDRs"))
			return;
		size_t count = SEQ_COUNT(v);
		r->reachable = pc_policy_node_alloc(L, count, sizeof(*r->reachable));
		if (!r->reachable)
			return;
		r->has_reachable = true;
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = pc_policy_node_visit(L, *it, v);
			const char *t =
			    item ? pc_policy_node_text(L, item, "a segment name or a CIDR") : NULL;
			if (!t)
				continue;
			struct pc_policy_source *src = &r->reachable[r->n_reachable];
			src->pos = pc_policy_node_pos(item);
			src->segment = -1;
			/* a CIDR has a '/' or parses as an address; anything else
			 * names a segment (lint checks that it exists) */
			if (strchr(t, '/') || strchr(t, ':') ||
			    (t[0] >= '0' && t[0] <= '9' && strchr(t, '.'))) {
				if (!pc_policy_node_cidr(L, item, &src->cidr))
					continue;
			} else {
				src->segment_name = t;
				for (size_t i = 0; i < L->p->n_segments; i++)
					if (strcmp(L->p->segments[i].name, t) == 0)
						src->segment = (int)i;
			}
			r->n_reachable++;
		}
		return;
	}
	case 4:
	case 5:
		s = pc_policy_node_scalar(L, v, "required or any");
		if (!s)
			return;
		if (strcmp(s, "required") != 0 && strcmp(s, "any") != 0) {
			pc_policy_node_bad(L, v, "%s must be required or any",
			                   key == 4 ? "auth" : "tls");
			return;
		}
		if (key == 4)
			r->auth_required = strcmp(s, "required") == 0;
		else
			r->tls_required = strcmp(s, "required") == 0;
		return;
	case 6:
		r->owner = pc_policy_node_text(L, v, "an owner (team or person)");
		return;
	case 7:
		s = pc_policy_node_text(L, v, "a URL");
		if (s && strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) {
			pc_policy_node_bad(L, v,
			                   "doc must be a URL (expected http:// or https://...)");
			return;
		}
		r->doc = s;
		return;
	case 8:
		s = pc_policy_node_scalar(L, v, "a date YYYY-MM-DD");
		if (!s)
			return;
		r->reviewed_day = pc_policy_parse_date(s);
		r->reviewed_pos = pc_policy_node_pos(v);
		if (r->reviewed_day < 0) {
			char clean[40];
			pc_text_sanitize(s, clean, sizeof(clean));
			pc_policy_node_bad(L, v, "bad date '%s' (expected reviewed: YYYY-MM-DD)",
			                   clean);
		}
		return;
	}
}

static void load_rule(struct loader *L, yaml_node_t *n, struct pc_policy_rule *r)
{
	*r = (struct pc_policy_rule){
	    .reviewed_day = -1, .match = {.proto = -1}, .pos = pc_policy_node_pos(n)};
	L->rule = NULL;
	if (!pc_policy_node_mapping(L, n, "a rule"))
		return;
	/* the name first, so every diagnostic of the rule can name it */
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		if (k && v && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "name") == 0 &&
		    v->type == YAML_SCALAR_NODE && pr->value >= 1 &&
		    (size_t)pr->value <= L->n_nodes && !L->seen[pr->value - 1]) {
			r->name = pc_policy_node_text(L, v, "a rule name");
			break;
		}
	}
	L->rule = r->name;
	pc_policy_node_each_key(L, n, rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0]), r,
	                        rule_key);
	if (!r->name)
		pc_policy_node_bad(L, n, "rule without a name (expected name: ...)");
	if (r->match_pos.line == 0)
		pc_policy_node_bad(
		    L, n, "rule without a match (expected match: {ports: ..., process: ...})");
	L->rule = NULL;
}

void pc_policy_load_listeners(struct loader *L, yaml_node_t *n)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		pc_policy_node_bad(L, n, "expected listeners (a list of rules), found %s",
		                   pc_yaml_node_kind(n));
		return;
	}
	size_t count = SEQ_COUNT(n);
	if (count > PC_POLICY_MAX_RULES) {
		pc_policy_node_bad(L, n, "%zu rules (expected at most %u)", count,
		                   PC_POLICY_MAX_RULES);
		return;
	}
	struct pc_policy *p = L->p;
	p->rules = pc_policy_node_alloc(L, count, sizeof(*p->rules));
	if (!p->rules)
		return;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = pc_policy_node_visit(L, *it, n);
		if (!item)
			continue;
		load_rule(L, item, &p->rules[p->n_rules++]);
	}
}
