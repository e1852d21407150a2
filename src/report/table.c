/*
 * table.c - the "table" format, for people: aligned columns chosen by the
 * command's view, then the warnings and a one-line summary.
 *
 * Every cell goes through pc_text_sanitize(), so no byte from a peer or a
 * process name can reach the terminal as a control sequence.
 *
 * In the audit, scan and verify views the rows are ordered by risk, worst
 * first (a stable sort over the snapshot's order, which the writer does not
 * change), so the endpoint to fix first is the first line a person reads.
 */
#include "core/error.h"
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

#define CELL 160
#define V(x) (1u << (x))

typedef void (*cell_fn)(const struct pc_endpoint *e, char *buf, size_t len);

struct column {
	const char *header;
	unsigned views;
	cell_fn cell;
	bool only_if_any; /* hidden when every cell is "-" */
};

static void c_severity(const struct pc_endpoint *e, char *b, size_t n)
{
	if (e->risk)
		snprintf(b, n, "%s %.1f", pc_severity_name(e->risk->severity), e->risk->score);
	else
		snprintf(b, n, "-");
}

static void c_proto(const struct pc_endpoint *e, char *b, size_t n)
{
	snprintf(b, n, "%s", pc_proto_name(e->proto));
}

static void c_local(const struct pc_endpoint *e, char *b, size_t n)
{
	pc_report_hostport(&e->addr, e->port, b, n);
}

static void c_address(const struct pc_endpoint *e, char *b, size_t n)
{
	char a[PC_ADDR_STRLEN];
	pc_addr_format(&e->addr, a, sizeof(a));
	if (e->hostname)
		snprintf(b, n, "%s (%s)", e->hostname, a);
	else
		snprintf(b, n, "%s", a);
}

static void c_port(const struct pc_endpoint *e, char *b, size_t n)
{
	snprintf(b, n, "%u", (unsigned)e->port);
}

static void c_state(const struct pc_endpoint *e, char *b, size_t n)
{
	snprintf(b, n, "%s", pc_state_name(e->state));
}

static void c_bind(const struct pc_endpoint *e, char *b, size_t n)
{
	const char *s = pc_bind_name(e->bind);
	snprintf(b, n, "%s", s ? s : "-");
}

static void c_netns(const struct pc_endpoint *e, char *b, size_t n)
{
	if (e->netns.name)
		snprintf(b, n, "%s", e->netns.name);
	else if (e->netns.inode)
		snprintf(b, n, "%llu", (unsigned long long)e->netns.inode);
	else
		snprintf(b, n, "-");
}

static void c_owner(const struct pc_endpoint *e, char *b, size_t n)
{
	pc_report_owner_short(e, b, n);
}

static void c_user(const struct pc_endpoint *e, char *b, size_t n)
{
	const struct pc_owner *o = e->n_owners ? &e->owners[0] : NULL;
	if (o && o->user)
		snprintf(b, n, "%s", o->user);
	else if (o && o->uid >= 0)
		snprintf(b, n, "%ld", o->uid);
	else
		snprintf(b, n, "-");
}

static void c_where(const struct pc_endpoint *e, char *b, size_t n)
{
	const struct pc_owner *o = e->n_owners ? &e->owners[0] : NULL;
	if (o && o->container.id) {
		/* the name people gave it, and the image it runs: "web (pcweb:1)" */
		const struct pc_container *c = &o->container;
		char who[96];
		if (c->pod && c->name)
			snprintf(who, sizeof(who), "%s/%s/%s", c->pod_namespace ? c->pod_namespace : "",
				 c->pod, c->name);
		else if (c->name)
			snprintf(who, sizeof(who), "%s", c->name);
		else
			snprintf(who, sizeof(who), "%s:%.12s", c->runtime ? c->runtime : "container",
				 c->id);
		if (c->image)
			snprintf(b, n, "%s (%s)", who, c->image);
		else
			snprintf(b, n, "%s", who);
	} else if (o && o->unit) {
		snprintf(b, n, "%s", o->unit);
	} else {
		snprintf(b, n, "-");
	}
}

static void c_peer(const struct pc_endpoint *e, char *b, size_t n)
{
	if (e->has_peer)
		pc_report_hostport(&e->peer_addr, e->peer_port, b, n);
	else
		snprintf(b, n, "-");
}

static void c_reach(const struct pc_endpoint *e, char *b, size_t n)
{
	if (!e->verified.done)
		snprintf(b, n, "-");
	else if (e->verified.reachable && e->verified.rtt_ms >= 0)
		snprintf(b, n, "yes %.2fms", e->verified.rtt_ms);
	else if (e->verified.reachable)
		snprintf(b, n, "yes");
	else
		snprintf(b, n, "no%s%s%s", e->verified.error ? " (" : "",
			 e->verified.error ? e->verified.error : "", e->verified.error ? ")" : "");
}

static void c_rtt(const struct pc_endpoint *e, char *b, size_t n)
{
	if (e->rtt_ms >= 0)
		snprintf(b, n, "%.2fms", e->rtt_ms);
	else
		snprintf(b, n, "-");
}

static void c_service(const struct pc_endpoint *e, char *b, size_t n)
{
	const struct pc_service *s = e->service;
	if (!s && e->probe_skipped) {
		snprintf(b, n, "(unprobed)");
		return;
	}
	if (!s || !s->name) {
		snprintf(b, n, "-");
		return;
	}
	snprintf(b, n, "%s%s%s%s%s", s->name, s->product ? " " : "", s->product ? s->product : "",
		 s->version ? " " : "", s->version ? s->version : "");
}

static void c_auth(const struct pc_endpoint *e, char *b, size_t n)
{
	snprintf(b, n, "%s", e->service ? pc_auth_name(e->service->auth) : "-");
}

static void c_tls(const struct pc_endpoint *e, char *b, size_t n)
{
	if (!e->service || e->service->tls == PC_TRI_UNKNOWN)
		snprintf(b, n, "-");
	else
		snprintf(b, n, "%s", e->service->tls ? "yes" : "no");
}

static void c_claimed(const struct pc_endpoint *e, char *b, size_t n)
{
	snprintf(b, n, "%s", e->claimed_service ? e->claimed_service : "-");
}

static void c_recheck(const struct pc_endpoint *e, char *b, size_t n)
{
	const char *s = pc_recheck_name(e->recheck);
	snprintf(b, n, "%s", s ? s : "-");
}

static void c_reason(const struct pc_endpoint *e, char *b, size_t n)
{
	snprintf(b, n, "%s", e->recheck_reason ? e->recheck_reason : "-");
}

static void c_forward(const struct pc_endpoint *e, char *b, size_t n)
{
	pc_report_forward_brief(e, b, n);
}

static const struct column columns[] = {
	{"SEVERITY", V(PC_VIEW_AUDIT) | V(PC_VIEW_SCAN) | V(PC_VIEW_VERIFY), c_severity, true},
	{"PROTO", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT) | V(PC_VIEW_SCAN) | V(PC_VIEW_VERIFY),
	 c_proto, false},
	{"LOCAL", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT), c_local, false},
	{"ADDRESS", V(PC_VIEW_SCAN) | V(PC_VIEW_VERIFY), c_address, false},
	{"PORT", V(PC_VIEW_SCAN) | V(PC_VIEW_VERIFY), c_port, false},
	{"STATE", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT) | V(PC_VIEW_SCAN) | V(PC_VIEW_VERIFY),
	 c_state, false},
	{"PEER", V(PC_VIEW_LISTENERS), c_peer, true},
	{"BIND", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT), c_bind, false},
	{"NETNS", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT), c_netns, false},
	{"OWNER", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT), c_owner, false},
	{"USER", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT), c_user, false},
	{"UNIT/CONTAINER", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT), c_where, true},
	{"FORWARD", V(PC_VIEW_LISTENERS) | V(PC_VIEW_AUDIT), c_forward, true},
	{"RTT", V(PC_VIEW_SCAN), c_rtt, true},
	{"REACHABLE", V(PC_VIEW_AUDIT), c_reach, false},
	{"CLAIMED", V(PC_VIEW_VERIFY), c_claimed, false},
	{"RECHECK", V(PC_VIEW_VERIFY), c_recheck, false},
	{"SERVICE", V(PC_VIEW_AUDIT) | V(PC_VIEW_SCAN) | V(PC_VIEW_VERIFY), c_service, true},
	{"AUTH", V(PC_VIEW_AUDIT) | V(PC_VIEW_SCAN) | V(PC_VIEW_VERIFY), c_auth, true},
	{"TLS", V(PC_VIEW_AUDIT) | V(PC_VIEW_SCAN) | V(PC_VIEW_VERIFY), c_tls, true},
	{"REASON", V(PC_VIEW_VERIFY), c_reason, true},
};
#define NCOL (sizeof(columns) / sizeof(columns[0]))

static void cell(const struct column *c, const struct pc_endpoint *e, char *out, size_t len)
{
	char raw[CELL];
	c->cell(e, raw, sizeof(raw));
	pc_text_sanitize(raw, out, len);
}

/* Worst risk first; endpoints without a risk last; otherwise the
 * snapshot's order (the index breaks ties, which makes qsort stable). */
static int cmp_risk(const void *a, const void *b, void *ctx)
{
	const struct pc_snapshot *sort_snap = ctx;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	const struct pc_risk *ra = sort_snap->endpoints[ia].risk;
	const struct pc_risk *rb = sort_snap->endpoints[ib].risk;
	int sa = ra ? (int)ra->severity : -1, sb = rb ? (int)rb->severity : -1;
	if (sa != sb)
		return sb - sa;
	if (ra && rb && ra->score != rb->score)
		return ra->score < rb->score ? 1 : -1;
	return ia < ib ? -1 : ia > ib;
}

static int write_table(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
		       bool streamed)
{
	(void)streamed;
	size_t *order = malloc((snap->n_endpoints ? snap->n_endpoints : 1) * sizeof(*order));
	if (!order)
		return PC_ENOMEM;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		order[i] = i;
	if (opts->view != PC_VIEW_LISTENERS) {
		qsort_r(order, snap->n_endpoints, sizeof(*order), cmp_risk, (void *)snap);
	}
	size_t width[NCOL] = {0};
	bool shown[NCOL] = {false};
	for (size_t c = 0; c < NCOL; c++) {
		if (!(columns[c].views & V(opts->view)))
			continue;
		shown[c] = !columns[c].only_if_any;
		width[c] = strlen(columns[c].header);
	}
	char buf[CELL];
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		for (size_t c = 0; c < NCOL; c++) {
			if (!(columns[c].views & V(opts->view)))
				continue;
			cell(&columns[c], &snap->endpoints[i], buf, sizeof(buf));
			size_t w = strlen(buf); /* bytes; good enough for column width */
			if (w > width[c])
				width[c] = w;
			if (strcmp(buf, "-") != 0)
				shown[c] = true;
		}
	}
	size_t last = 0;
	for (size_t c = 0; c < NCOL; c++)
		if (shown[c])
			last = c;
	for (size_t c = 0; c < NCOL; c++) {
		if (!shown[c])
			continue;
		if (c == last)
			fprintf(f, "%s\n", columns[c].header);
		else
			fprintf(f, "%-*s  ", (int)width[c], columns[c].header);
	}
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		for (size_t c = 0; c < NCOL; c++) {
			if (!shown[c])
				continue;
			cell(&columns[c], &snap->endpoints[order[i]], buf, sizeof(buf));
			if (c == last)
				fprintf(f, "%s\n", buf);
			else
				fprintf(f, "%-*s  ", (int)width[c], buf);
		}
	}
	for (size_t i = 0; i < snap->n_warnings; i++) {
		char w[1024];
		fprintf(f, "warning: %s\n", pc_text_sanitize(snap->warnings[i], w, sizeof(w)));
	}
	free(order);
	fprintf(f, "%zu endpoint%s", snap->n_endpoints, snap->n_endpoints == 1 ? "" : "s");
	size_t sev[PC_SEV_COUNT] = {0};
	bool any = false;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if (snap->endpoints[i].risk &&
		    (unsigned)snap->endpoints[i].risk->severity < PC_SEV_COUNT) {
			sev[snap->endpoints[i].risk->severity]++;
			any = true;
		}
	if (any && opts->view != PC_VIEW_LISTENERS)
		for (int s = PC_SEV_COUNT - 1; s >= 0; s--)
			fprintf(f, "%s%zu %s", s == PC_SEV_COUNT - 1 ? ": " : ", ", sev[s],
				pc_severity_name((enum pc_severity)s));
	fputc('\n', f);
	if (opts->view == PC_VIEW_VERIFY) {
		size_t k[PC_RECHECK_DIFFERENT + 1] = {0};
		for (size_t i = 0; i < snap->n_endpoints; i++)
			if ((size_t)snap->endpoints[i].recheck <= PC_RECHECK_DIFFERENT)
				k[snap->endpoints[i].recheck]++;
		fprintf(f, "verify: %zu confirmed, %zu closed now, %zu filtered now, %zu different "
			   "service\n",
			k[PC_RECHECK_CONFIRMED], k[PC_RECHECK_CLOSED], k[PC_RECHECK_FILTERED],
			k[PC_RECHECK_DIFFERENT]);
	}
	return 0;
}

const struct pc_report_ops pc_report_table = {
	.name = "table",
	.description = "aligned columns for people (the default)",
	.write = write_table,
};
