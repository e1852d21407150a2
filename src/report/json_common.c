/*
 * json_common.c - the JSON shape of snapshots and endpoints, shared by the
 * json and jsonl formats so the two can never drift apart. Every key of the
 * contract is always present; unknown values are null.
 */
#include "report/report.h"
#include "scan/pace.h"

#include <stdio.h>
#include <string.h>

static void json_addr(struct pc_json *j, const struct pc_addr *a)
{
	char buf[PC_ADDR_STRLEN];
	if (a->family == 0)
		pc_json_null(j);
	else
		pc_json_string(j, pc_addr_format(a, buf, sizeof(buf)));
}

static void json_owner(struct pc_json *j, const struct pc_owner *o)
{
	pc_json_begin_object(j);
	pc_json_key(j, "pid");
	pc_json_int(j, o->pid);
	pc_json_key(j, "comm");
	pc_json_string(j, o->comm);
	pc_json_key(j, "exe");
	pc_json_string(j, o->exe);
	pc_json_key(j, "uid");
	if (o->uid < 0)
		pc_json_null(j);
	else
		pc_json_int(j, o->uid);
	pc_json_key(j, "user");
	pc_json_string(j, o->user);
	pc_json_key(j, "unit");
	pc_json_string(j, o->unit);
	pc_json_key(j, "container");
	const struct pc_container *c = &o->container;
	if (!c->id && !c->runtime && !c->pod_uid && !c->name && !c->image && !c->pod) {
		pc_json_null(j);
	} else {
		pc_json_begin_object(j);
		pc_json_key(j, "id");
		pc_json_string(j, c->id);
		pc_json_key(j, "runtime");
		pc_json_string(j, c->runtime);
		pc_json_key(j, "pod_uid");
		pc_json_string(j, c->pod_uid);
		pc_json_key(j, "name");
		pc_json_string(j, c->name);
		pc_json_key(j, "image");
		pc_json_string(j, c->image);
		pc_json_key(j, "image_id");
		pc_json_string(j, c->image_id);
		pc_json_key(j, "pod");
		pc_json_string(j, c->pod);
		pc_json_key(j, "namespace");
		pc_json_string(j, c->pod_namespace);
		pc_json_end_object(j);
	}
	pc_json_end_object(j);
}

void pc_report_json_owner(struct pc_json *j, const struct pc_owner *o)
{
	json_owner(j, o);
}

static void json_tri(struct pc_json *j, enum pc_tristate t)
{
	if (t == PC_TRI_UNKNOWN)
		pc_json_null(j);
	else
		pc_json_bool(j, t == PC_TRI_TRUE);
}

static void json_service(struct pc_json *j, const struct pc_service *s)
{
	pc_json_begin_object(j);
	pc_json_key(j, "name");
	pc_json_string(j, s->name);
	pc_json_key(j, "product");
	pc_json_string(j, s->product);
	pc_json_key(j, "version");
	pc_json_string(j, s->version);
	pc_json_key(j, "tls");
	json_tri(j, s->tls);
	pc_json_key(j, "auth");
	pc_json_string(j, pc_auth_name(s->auth));
	pc_json_key(j, "evidence");
	pc_json_string(j, s->evidence);
	pc_json_key(j, "banner");
	pc_json_string(j, s->banner);
	if (s->tls_info) {
		const struct pc_tls_info *t = s->tls_info;
		pc_json_key(j, "tls_info");
		pc_json_begin_object(j);
		pc_json_key(j, "version");
		pc_json_string(j, t->version);
		pc_json_key(j, "cipher");
		pc_json_string(j, t->cipher);
		pc_json_key(j, "subject");
		pc_json_string(j, t->subject);
		pc_json_key(j, "issuer");
		pc_json_string(j, t->issuer);
		pc_json_key(j, "not_after");
		pc_json_string(j, t->not_after);
		pc_json_key(j, "self_signed");
		json_tri(j, t->self_signed);
		pc_json_end_object(j);
	}
	/* SSH: what the server offers after a "none" request, and its host key
	 * (probe/ssh_auth.c); absent for other services */
	if (s->n_auth_methods) {
		pc_json_key(j, "auth_methods");
		pc_json_begin_array(j);
		for (size_t i = 0; i < s->n_auth_methods; i++)
			pc_json_string(j, s->auth_methods[i]);
		pc_json_end_array(j);
	}
	if (s->ssh_info) {
		pc_json_key(j, "ssh");
		pc_json_begin_object(j);
		pc_json_key(j, "hostkey_type");
		pc_json_string(j, s->ssh_info->hostkey_type);
		pc_json_key(j, "hostkey_fingerprint");
		pc_json_string(j, s->ssh_info->hostkey_fingerprint);
		pc_json_end_object(j);
	}
	pc_json_end_object(j);
}

static void json_strings(struct pc_json *j, const char *const *v, size_t n)
{
	pc_json_begin_array(j);
	for (size_t i = 0; i < n; i++)
		pc_json_string(j, v[i]);
	pc_json_end_array(j);
}

static void json_risk(struct pc_json *j, const struct pc_risk *r)
{
	pc_json_begin_object(j);
	pc_json_key(j, "severity");
	pc_json_string(j, pc_severity_name(r->severity));
	pc_json_key(j, "score");
	pc_json_double(j, r->score, 1);
	pc_json_key(j, "category");
	pc_json_string(j, r->category);
	pc_json_key(j, "reasons");
	json_strings(j, r->reasons, r->n_reasons);
	pc_json_key(j, "remediation");
	pc_json_string(j, r->remediation);
	pc_json_end_object(j);
}

/* "policy": what the policy stage said (null when no policy judged it). */
static void json_policy_verdict(struct pc_json *j, const struct pc_policy_verdict *v)
{
	pc_json_key(j, "policy");
	if (!v) {
		pc_json_null(j);
		return;
	}
	pc_json_begin_object(j);
	pc_json_key(j, "rule");
	pc_json_string(j, v->rule);
	pc_json_key(j, "verdict");
	pc_json_string(j, pc_verdict_name(v->verdict));
	pc_json_key(j, "reasons");
	json_strings(j, v->reasons, v->n_reasons);
	pc_json_key(j, "owner");
	pc_json_string(j, v->owner);
	pc_json_key(j, "doc");
	pc_json_string(j, v->doc);
	pc_json_end_object(j);
}

/* "findings": what is not one endpoint's (stale rules, reviews due, ...). */
static void json_findings(struct pc_json *j, const struct pc_snapshot *snap)
{
	pc_json_key(j, "findings");
	pc_json_begin_array(j);
	for (size_t i = 0; i < snap->n_findings; i++) {
		const struct pc_finding *f = &snap->findings[i];
		pc_json_begin_object(j);
		pc_json_key(j, "kind");
		pc_json_string(j, f->kind);
		pc_json_key(j, "severity");
		pc_json_string(j, pc_severity_name(f->severity));
		pc_json_key(j, "rule");
		pc_json_string(j, f->rule);
		pc_json_key(j, "message");
		pc_json_string(j, f->message);
		pc_json_end_object(j);
	}
	pc_json_end_array(j);
}

/* summary.policy: endpoints by verdict, and the rule findings. */
static void json_policy_summary(struct pc_json *j, const struct pc_snapshot *snap)
{
	size_t by[PC_VERDICT_UNDOCUMENTED + 1] = {0};
	size_t stale = 0, review = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_policy_verdict *v = snap->endpoints[i].policy;
		if (v && (size_t)v->verdict <= PC_VERDICT_UNDOCUMENTED)
			by[v->verdict]++;
	}
	for (size_t i = 0; i < snap->n_findings; i++) {
		const char *k = snap->findings[i].kind;
		stale += k && strcmp(k, "stale_rule") == 0;
		review += k && strcmp(k, "review_due") == 0;
	}
	pc_json_key(j, "policy");
	pc_json_begin_object(j);
	for (int v = PC_VERDICT_ALLOWED; v <= PC_VERDICT_UNDOCUMENTED; v++) {
		pc_json_key(j, pc_verdict_name((enum pc_verdict)v));
		pc_json_uint(j, by[v]);
	}
	pc_json_key(j, "stale_rules");
	pc_json_uint(j, stale);
	pc_json_key(j, "review_due");
	pc_json_uint(j, review);
	pc_json_end_object(j);
	pc_json_key(j, "findings");
	pc_json_uint(j, snap->n_findings);
}

void pc_report_json_netns(struct pc_json *j, const struct pc_netns *ns)
{
	if (ns->inode == 0 && !ns->name) {
		pc_json_null(j);
		return;
	}
	pc_json_begin_object(j);
	pc_json_key(j, "inode");
	if (ns->inode)
		pc_json_uint(j, ns->inode);
	else
		pc_json_null(j);
	pc_json_key(j, "name");
	pc_json_string(j, ns->name);
	pc_json_end_object(j);
}

static const char *forward_kind_name(enum pc_forward_kind k);

void pc_report_forward_brief(const struct pc_endpoint *e, char *b, size_t n)
{
	const struct pc_forward *f = e->forward;
	if (!f) {
		snprintf(b, n, "-");
		return;
	}
	if (f->n_to == 0) {
		snprintf(b, n, "%s", forward_kind_name(f->kind));
		return;
	}
	char to[PC_ADDR_STRLEN + 8];
	pc_report_hostport(&f->to[0].addr, f->to[0].port, to, sizeof(to));
	if (f->n_to > 1)
		snprintf(b, n, "%s -> %s (+%zu)", forward_kind_name(f->kind), to, f->n_to - 1);
	else
		snprintf(b, n, "%s -> %s", forward_kind_name(f->kind), to);
}

static const char *forward_kind_name(enum pc_forward_kind k)
{
	switch (k) {
	case PC_FORWARD_DNAT:
		return "dnat";
	case PC_FORWARD_REDIRECT:
		return "redirect";
	case PC_FORWARD_IPVS:
		return "ipvs";
	case PC_FORWARD_PROXY:
		return "proxy";
	}
	return "dnat";
}

/* `forward`: where the port leads, and the listener behind each target
 * (snap may be NULL when a writer has only the endpoint: backends are then
 * null, as for a backend elsewhere). */
static void json_forward(struct pc_json *j, const struct pc_snapshot *snap,
			 const struct pc_forward *f)
{
	pc_json_begin_object(j);
	pc_json_key(j, "kind");
	pc_json_string(j, forward_kind_name(f->kind));
	pc_json_key(j, "rule");
	pc_json_string(j, f->rule);
	pc_json_key(j, "to");
	pc_json_begin_array(j);
	for (size_t i = 0; i < f->n_to; i++) {
		pc_json_begin_object(j);
		pc_json_key(j, "address");
		json_addr(j, &f->to[i].addr);
		pc_json_key(j, "port");
		pc_json_uint(j, f->to[i].port);
		pc_json_key(j, "weight");
		if (f->to[i].weight < 0)
			pc_json_null(j);
		else
			pc_json_double(j, f->to[i].weight, 4);
		pc_json_end_object(j);
	}
	pc_json_end_array(j);
	pc_json_key(j, "backends");
	pc_json_begin_array(j);
	for (size_t i = 0; i < f->n_to; i++) {
		long b = f->to[i].backend_index;
		if (!snap || b < 0 || (size_t)b >= snap->n_endpoints) {
			pc_json_null(j);
			continue;
		}
		const struct pc_endpoint *be = &snap->endpoints[b];
		pc_json_begin_object(j);
		pc_json_key(j, "netns");
		pc_report_json_netns(j, &be->netns);
		pc_json_key(j, "address");
		json_addr(j, &be->addr);
		pc_json_key(j, "port");
		pc_json_uint(j, be->port);
		pc_json_key(j, "owners");
		pc_json_begin_array(j);
		for (size_t k = 0; k < be->n_owners; k++)
			json_owner(j, &be->owners[k]);
		pc_json_end_array(j);
		pc_json_end_object(j);
	}
	pc_json_end_array(j);
	pc_json_end_object(j);
}

void pc_report_json_endpoint(struct pc_json *j, const struct pc_endpoint *ep)
{
	pc_report_json_endpoint_of(j, NULL, ep);
}

void pc_report_json_endpoint_of(struct pc_json *j, const struct pc_snapshot *snap,
				const struct pc_endpoint *ep)
{
	pc_json_begin_object(j);
	pc_json_key(j, "source");
	pc_json_string(j, pc_source_name(ep->source));
	pc_json_key(j, "proto");
	pc_json_string(j, pc_proto_name(ep->proto));
	pc_json_key(j, "address");
	json_addr(j, &ep->addr);
	pc_json_key(j, "port");
	pc_json_uint(j, ep->port);
	pc_json_key(j, "state");
	pc_json_string(j, pc_state_name(ep->state));
	if (ep->hostname) {
		pc_json_key(j, "hostname");
		pc_json_string(j, ep->hostname);
	}
	pc_json_key(j, "bind");
	pc_json_string(j, pc_bind_name(ep->bind));
	pc_json_key(j, "netns");
	pc_report_json_netns(j, &ep->netns);
	pc_json_key(j, "owners");
	pc_json_begin_array(j);
	for (size_t i = 0; i < ep->n_owners; i++)
		json_owner(j, &ep->owners[i]);
	pc_json_end_array(j);
	pc_json_key(j, "peer");
	if (ep->has_peer) {
		pc_json_begin_object(j);
		pc_json_key(j, "address");
		json_addr(j, &ep->peer_addr);
		pc_json_key(j, "port");
		pc_json_uint(j, ep->peer_port);
		pc_json_end_object(j);
	} else {
		pc_json_null(j);
	}
	if (ep->source != PC_SOURCE_HOST) {
		pc_json_key(j, "rtt_ms");
		if (ep->rtt_ms < 0)
			pc_json_null(j);
		else
			pc_json_double(j, ep->rtt_ms, 3);
	}
	pc_json_key(j, "verified");
	if (ep->verified.done) {
		pc_json_begin_object(j);
		pc_json_key(j, "reachable");
		pc_json_bool(j, ep->verified.reachable);
		pc_json_key(j, "rtt_ms");
		if (ep->verified.rtt_ms < 0)
			pc_json_null(j);
		else
			pc_json_double(j, ep->verified.rtt_ms, 3);
		pc_json_key(j, "error");
		pc_json_string(j, ep->verified.error);
		pc_json_end_object(j);
	} else {
		pc_json_null(j);
	}
	pc_json_key(j, "forward");
	if (ep->forward)
		json_forward(j, snap, ep->forward);
	else
		pc_json_null(j);
	pc_json_key(j, "service");
	if (ep->service)
		json_service(j, ep->service);
	else
		pc_json_null(j);
	if (ep->probe_skipped) {
		/* only where it happened: every other record stays as it was */
		pc_json_key(j, "probe_skipped");
		pc_json_string(j, ep->probe_skipped);
	}
	if (ep->recheck != PC_RECHECK_NONE) {
		pc_json_key(j, "recheck");
		pc_json_begin_object(j);
		pc_json_key(j, "status");
		pc_json_string(j, pc_recheck_name(ep->recheck));
		pc_json_key(j, "claimed_service");
		pc_json_string(j, ep->claimed_service);
		pc_json_key(j, "reason");
		pc_json_string(j, ep->recheck_reason);
		pc_json_end_object(j);
	}
	/* null for endpoints that take no risk (established, closed,
	 * filtered) and when nothing classified the snapshot */
	pc_json_key(j, "risk");
	if (ep->risk)
		json_risk(j, ep->risk);
	else
		pc_json_null(j);
	json_policy_verdict(j, ep->policy);
	pc_json_end_object(j);
}

/* scan.covered: the target ranges and port ranges of the scan, and its shard */
static void json_covered(struct pc_json *j, const struct pc_scan_stats *s)
{
	static const char *const keys[] = {"addresses", "tcp", "udp"};
	pc_json_key(j, "covered");
	pc_json_begin_object(j);
	for (int k = PC_COVER_ADDRESSES; k <= PC_COVER_UDP; k++) {
		pc_json_key(j, keys[k]);
		pc_json_begin_array(j);
		for (size_t i = 0; i < s->n_cover; i++) {
			const struct pc_scan_range *r = &s->cover[i];
			if ((int)r->kind != k)
				continue;
			char a[2 * PC_ADDR_STRLEN + 2];
			if (k == PC_COVER_ADDRESSES) {
				pc_addr_format(&r->first, a, PC_ADDR_STRLEN);
				if (!pc_addr_equal(&r->first, &r->last)) {
					size_t n = strlen(a);
					a[n++] = '-';
					pc_addr_format(&r->last, a + n, sizeof(a) - n);
				}
			} else if (r->port_first == r->port_last) {
				snprintf(a, sizeof(a), "%u", r->port_first);
			} else {
				snprintf(a, sizeof(a), "%u-%u", r->port_first, r->port_last);
			}
			pc_json_string(j, a);
		}
		pc_json_end_array(j);
	}
	pc_json_key(j, "shard");
	if (s->shard_count) {
		char sh[32];
		snprintf(sh, sizeof(sh), "%u/%u", s->shard_index, s->shard_count);
		pc_json_string(j, sh);
	} else {
		pc_json_null(j);
	}
	pc_json_end_object(j);
}

/* snapshot.addresses: every visited namespace's own addresses */
static void json_addresses(struct pc_json *j, const struct pc_snapshot *snap)
{
	pc_json_key(j, "addresses");
	pc_json_begin_array(j);
	for (size_t i = 0; i < snap->n_addresses; i++) {
		const struct pc_ns_address *a = &snap->addresses[i];
		char t[PC_ADDR_STRLEN];
		pc_json_begin_object(j);
		pc_json_key(j, "address");
		pc_json_string(j, pc_addr_format(&a->addr, t, sizeof(t)));
		pc_json_key(j, "prefix_len");
		pc_json_uint(j, a->prefix_len);
		pc_json_key(j, "netns");
		pc_json_string(j, a->netns_name);
		pc_json_key(j, "netns_inode");
		pc_json_uint(j, a->netns_inode);
		pc_json_end_object(j);
	}
	pc_json_end_array(j);
}

void pc_report_json_snapshot(struct pc_json *j, const struct pc_snapshot *snap)
{
	char t[40];
	pc_json_begin_object(j);
	pc_json_key(j, "host");
	pc_json_string(j, snap->host);
	pc_json_key(j, "started_at");
	pc_json_string(j, pc_format_time(snap->started_at_ms, t, sizeof(t)));
	pc_json_key(j, "finished_at");
	if (snap->finished_at_ms)
		pc_json_string(j, pc_format_time(snap->finished_at_ms, t, sizeof(t)));
	else
		pc_json_null(j);
	pc_json_key(j, "command");
	pc_json_string(j, snap->command);
	pc_json_key(j, "warnings");
	json_strings(j, snap->warnings, snap->n_warnings);
	json_findings(j, snap);
	if (snap->n_addresses)
		json_addresses(j, snap);
	if (snap->scan.present) {
		const struct pc_scan_stats *s = &snap->scan;
		pc_json_key(j, "scan");
		pc_json_begin_object(j);
		pc_json_key(j, "engine");
		pc_json_string(j, s->engine);
		pc_json_key(j, "targets");
		pc_json_uint(j, s->targets);
		pc_json_key(j, "ports");
		pc_json_uint(j, s->ports);
		pc_json_key(j, "probes_planned");
		pc_json_uint(j, s->probes_planned);
		pc_json_key(j, "sent");
		pc_json_uint(j, s->sent);
		pc_json_key(j, "replies");
		pc_json_uint(j, s->replies);
		pc_json_key(j, "retries");
		pc_json_uint(j, s->retries);
		pc_json_key(j, "capture_drops");
		pc_json_uint(j, s->capture_drops);
		pc_json_key(j, "duration_s");
		pc_json_double(j, s->duration_s, 3);
		pc_json_key(j, "rate_pps");
		pc_json_double(j, s->rate_pps, 0);
		/* adaptive pacing: the pace at the end, what limited it, and
		 * the achieved rate over time in n steps of step_s seconds */
		pc_json_key(j, "pace_pps");
		pc_json_double(j, s->pace_pps, 0);
		pc_json_key(j, "limit");
		pc_json_string(j, pc_pace_limit_name((enum pc_pace_limit)s->limit));
		pc_json_key(j, "limit_on");
		if (s->limit_prefix) {
			char a[PC_ADDR_STRLEN + 8];
			pc_addr_format(&s->limit_net, a, PC_ADDR_STRLEN);
			size_t n = strlen(a);
			snprintf(a + n, sizeof(a) - n, "/%u", s->limit_prefix);
			pc_json_string(j, a);
		} else {
			pc_json_null(j);
		}
		pc_json_key(j, "rate_history");
		pc_json_begin_object(j);
		pc_json_key(j, "step_s");
		pc_json_double(j, s->rate_step_s, 1);
		pc_json_key(j, "pps");
		pc_json_begin_array(j);
		for (uint32_t i = 0; i < s->n_rate_hist && i < PC_SCAN_RATE_HIST; i++)
			pc_json_uint(j, s->rate_hist[i]);
		pc_json_end_array(j);
		pc_json_end_object(j);
		if (s->n_cover)
			json_covered(j, s);
		pc_json_end_object(j);
	}
	pc_json_end_object(j);
}

void pc_report_json_begin(struct pc_json *j, FILE *f, const char *version,
			  const struct pc_snapshot *snap)
{
	pc_json_init(j, f, true);
	pc_json_begin_object(j);
	pc_json_key(j, "portcensus");
	pc_json_string(j, version);
	if (snap) {
		pc_json_key(j, "snapshot");
		pc_report_json_snapshot(j, snap);
	}
}

void pc_report_json_summary(struct pc_json *j, const struct pc_snapshot *snap)
{
	size_t by_state[PC_STATE_FORWARDED + 1] = {0};
	size_t tcp = 0, udp = 0, reachable = 0, unreachable = 0, identified = 0, noauth = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *e = &snap->endpoints[i];
		if ((size_t)e->state < sizeof(by_state) / sizeof(by_state[0]))
			by_state[e->state]++;
		if (e->proto == PC_PROTO_TCP)
			tcp++;
		else
			udp++;
		if (e->verified.done) {
			if (e->verified.reachable)
				reachable++;
			else
				unreachable++;
		}
		if (e->service && e->service->name) {
			identified++;
			if (e->service->auth == PC_AUTH_NONE)
				noauth++;
		}
	}
	pc_json_begin_object(j);
	pc_json_key(j, "endpoints");
	pc_json_uint(j, snap->n_endpoints);
	pc_json_key(j, "tcp");
	pc_json_uint(j, tcp);
	pc_json_key(j, "udp");
	pc_json_uint(j, udp);
	pc_json_key(j, "by_state");
	pc_json_begin_object(j);
	for (int s = 0; s <= PC_STATE_FORWARDED; s++) {
		if (!by_state[s])
			continue;
		pc_json_key(j, pc_state_name((enum pc_state)s));
		pc_json_uint(j, by_state[s]);
	}
	pc_json_end_object(j);
	pc_json_key(j, "reachable");
	pc_json_uint(j, reachable);
	pc_json_key(j, "unreachable");
	pc_json_uint(j, unreachable);
	pc_json_key(j, "identified");
	pc_json_uint(j, identified);
	pc_json_key(j, "no_auth");
	pc_json_uint(j, noauth);
	pc_json_key(j, "warnings");
	pc_json_uint(j, snap->n_warnings);
	/* every severity, worst first, zeros included, so a consumer can read
	 * summary.severity.critical without checking that the key exists */
	size_t sev[PC_SEV_COUNT] = {0};
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_risk *r = snap->endpoints[i].risk;
		if (r && (unsigned)r->severity < PC_SEV_COUNT)
			sev[r->severity]++;
	}
	pc_json_key(j, "severity");
	pc_json_begin_object(j);
	for (int s = PC_SEV_COUNT - 1; s >= 0; s--) {
		pc_json_key(j, pc_severity_name((enum pc_severity)s));
		pc_json_uint(j, sev[s]);
	}
	pc_json_end_object(j);
	/* verify: how many claims held */
	size_t k[PC_RECHECK_DIFFERENT + 1] = {0};
	bool any = false;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		enum pc_recheck r = snap->endpoints[i].recheck;
		if (r != PC_RECHECK_NONE && (size_t)r <= PC_RECHECK_DIFFERENT) {
			k[r]++;
			any = true;
		}
	}
	if (any) {
		pc_json_key(j, "recheck");
		pc_json_begin_object(j);
		for (int r = PC_RECHECK_CONFIRMED; r <= PC_RECHECK_DIFFERENT; r++) {
			pc_json_key(j, pc_recheck_name((enum pc_recheck)r));
			pc_json_uint(j, k[r]);
		}
		pc_json_end_object(j);
	}
	json_policy_summary(j, snap);
	pc_json_end_object(j);
}
