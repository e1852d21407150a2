/*
 * document.c - the model the "md" and "html" formats render: listeners
 * grouped per host and namespace, summary counts, plain-text cells, and the
 * cleaning step every string takes before a format escapes it.
 *
 * Why one module: the inventory a team commits (md) and the page a person
 * reads (html) must say the same thing about the same snapshot; only the
 * escaping differs. Sorting uses only what is in the snapshot (labels,
 * addresses, ports), never a pointer or the clock, so the same snapshot
 * always renders to the same bytes.
 *
 * Trust: every string of the snapshot may come from a process name, a
 * banner or an imported file. Nothing here escapes; pc_report_doc_clean()
 * (the terminal sanitizer, core/text.c) makes the text one line of
 * printable characters in a stable order, and each format then escapes its
 * own metacharacters.
 */
#include "report/document.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const char *pc_report_doc_clean(const char *s, char out[PC_DOC_CELL])
{
	return pc_text_sanitize(s, out, PC_DOC_CELL);
}

struct keyed {
	const struct pc_endpoint *ep;
	bool network; /* network-side record: grouped by target, after the host's */
	int rank;     /* severity when sorting by it (-1 unclassified), else 0 */
	bool starts;  /* first of its group once sorted */
	char host[PC_DOC_LABEL];
	char netns[PC_DOC_LABEL];
};

/* over pointers: a key is two labels long, too large to move while sorting */
static int cmp_keyed(const void *pa, const void *pb)
{
	const struct keyed *a = *(const struct keyed *const *)pa;
	const struct keyed *b = *(const struct keyed *const *)pb;
	if (a->network != b->network)
		return a->network ? 1 : -1;
	int c;
	if (a->network && (c = pc_addr_compare(&a->ep->addr, &b->ep->addr)) != 0)
		return c;
	if ((c = strcmp(a->host, b->host)) != 0 || (c = strcmp(a->netns, b->netns)) != 0)
		return c;
	const struct pc_endpoint *x = a->ep, *y = b->ep;
	if (a->rank != b->rank)
		return a->rank > b->rank ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if ((c = pc_addr_compare(&x->addr, &y->addr)) != 0)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	/* the same socket seen twice (two sources): keep the snapshot's order */
	return x < y ? -1 : x > y;
}

static void label(const struct pc_snapshot *snap, const struct pc_endpoint *ep, struct keyed *k)
{
	k->ep = ep;
	k->network = ep->source != PC_SOURCE_HOST;
	if (k->network) {
		char a[PC_ADDR_STRLEN];
		pc_addr_format(&ep->addr, a, sizeof(a));
		if (ep->hostname)
			snprintf(k->host, sizeof(k->host), "%s (%s)", ep->hostname, a);
		else
			snprintf(k->host, sizeof(k->host), "%s", a);
		snprintf(k->netns, sizeof(k->netns), "network-side");
		return;
	}
	snprintf(k->host, sizeof(k->host), "%s", snap->host ? snap->host : "this host");
	if (ep->netns.name)
		snprintf(k->netns, sizeof(k->netns), "%s", ep->netns.name);
	else if (ep->netns.inode)
		snprintf(k->netns, sizeof(k->netns), "netns %llu",
		         (unsigned long long)ep->netns.inode);
	else
		snprintf(k->netns, sizeof(k->netns), "namespace unknown");
}

int pc_report_doc_build(const struct pc_snapshot *snap, enum pc_doc_order order,
                        struct pc_report_doc *ret)
{
	struct pc_report_doc doc = {0};
	size_t n = snap->n_endpoints;
	struct keyed *keys = calloc(n ? n : 1, sizeof(*keys));
	struct keyed **sorted = calloc(n ? n : 1, sizeof(*sorted));
	doc.eps = calloc(n ? n : 1, sizeof(*doc.eps));
	if (!keys || !sorted || !doc.eps)
		goto nomem;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->state == PC_STATE_ESTABLISHED) {
			doc.established++;
			continue;
		}
		/* a closed or filtered port (scan --show) is nobody's listener */
		if (ep->state == PC_STATE_CLOSED || ep->state == PC_STATE_FILTERED)
			continue;
		label(snap, ep, &keys[k]);
		if (order == PC_DOC_BY_SEVERITY)
			keys[k].rank = ep->risk ? (int)ep->risk->severity : -1;
		sorted[k] = &keys[k];
		k++;
		if (ep->risk && (unsigned)ep->risk->severity < PC_SEV_COUNT)
			doc.by_severity[ep->risk->severity]++;
		else
			doc.unclassified++;
		enum pc_verdict v = ep->policy ? ep->policy->verdict : PC_VERDICT_NONE;
		doc.by_verdict[(unsigned)v < 4 ? v : PC_VERDICT_NONE]++;
	}
	if (k > 1)
		qsort(sorted, k, sizeof(*sorted), cmp_keyed);
	size_t groups = 0;
	for (size_t i = 0; i < k; i++) {
		struct keyed *a = sorted[i];
		const struct keyed *b = i ? sorted[i - 1] : NULL;
		/* starts a group: differs from the previous one in host or namespace */
		a->starts = !b || a->network != b->network || strcmp(a->host, b->host) != 0 ||
		            strcmp(a->netns, b->netns) != 0;
		groups += a->starts;
	}
	doc.groups = calloc(groups ? groups : 1, sizeof(*doc.groups));
	if (!doc.groups)
		goto nomem;
	for (size_t i = 0; i < k; i++) {
		doc.eps[i] = sorted[i]->ep;
		if (sorted[i]->starts) {
			struct pc_report_doc_group *g = &doc.groups[doc.n_groups++];
			memcpy(g->host, sorted[i]->host, sizeof(g->host));
			memcpy(g->netns, sorted[i]->netns, sizeof(g->netns));
			g->eps = &doc.eps[i];
		}
		doc.groups[doc.n_groups - 1].n++;
	}
	doc.n_eps = k;
	doc.undocumented = doc.by_verdict[PC_VERDICT_UNDOCUMENTED];
	doc.violations = doc.by_verdict[PC_VERDICT_VIOLATION];
	free(keys);
	free(sorted);
	*ret = doc;
	return 0;
nomem:
	free(keys);
	free(sorted);
	pc_report_doc_free(&doc);
	return PC_ENOMEM;
}

void pc_report_doc_free(struct pc_report_doc *doc)
{
	if (!doc)
		return;
	free(doc->groups);
	free(doc->eps);
	doc->groups = NULL;
	doc->eps = NULL;
}

const char *pc_report_doc_owner(const struct pc_endpoint *ep, bool with_pid, char *buf, size_t len)
{
	if (ep->n_owners == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	const struct pc_owner *o = &ep->owners[0];
	char pid[24] = "", user[80] = "", where[360] = "", more[32] = "", image[140] = "";
	if (with_pid && o->pid > 0)
		snprintf(pid, sizeof(pid), "%d/", o->pid);
	if (o->user)
		snprintf(user, sizeof(user), " as %s", o->user);
	else if (o->uid >= 0)
		snprintf(user, sizeof(user), " as uid %ld", o->uid);
	/* the image is what changes on a deploy: "container podman:web (pcweb:2)" */
	if (o->container.image)
		snprintf(image, sizeof(image), " (%.128s)", o->container.image);
	if (o->container.id || o->container.name)
		snprintf(where, sizeof(where), ", container %s%s%.64s%s",
		         o->container.runtime ? o->container.runtime : "",
		         o->container.runtime ? ":" : "",
		         o->container.name ? o->container.name : o->container.id, image);
	else if (o->unit)
		snprintf(where, sizeof(where), ", unit %s", o->unit);
	if (ep->n_owners > 1)
		snprintf(more, sizeof(more), " (+%zu)", ep->n_owners - 1);
	snprintf(buf, len, "%s%s%s%s%s", pid, o->comm && *o->comm ? o->comm : "?", more, user,
	         where);
	return buf;
}

const char *pc_report_doc_service(const struct pc_endpoint *ep, char *buf, size_t len)
{
	const struct pc_service *s = ep->service;
	if (!s || !s->name) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(buf, len, "%s%s%s%s%s%s", s->name, s->product ? " (" : "",
	         s->product ? s->product : "", s->product && s->version ? " " : "",
	         s->product && s->version ? s->version : "", s->product ? ")" : "");
	return buf;
}

const char *pc_report_doc_auth(const struct pc_endpoint *ep)
{
	return ep->service ? pc_auth_name(ep->service->auth) : "-";
}

const char *pc_report_doc_severity(const struct pc_endpoint *ep)
{
	return ep->risk ? pc_severity_name(ep->risk->severity) : "not classified";
}

const char *pc_report_doc_verdict(const struct pc_endpoint *ep)
{
	if (!ep->policy || ep->policy->verdict == PC_VERDICT_NONE)
		return "not judged";
	return pc_verdict_name(ep->policy->verdict);
}

const char *pc_report_doc_endpoint(const struct pc_endpoint *ep, char *buf, size_t len)
{
	char hp[PC_ADDR_STRLEN + 16];
	snprintf(buf, len, "%s %s", pc_proto_name(ep->proto),
	         pc_report_hostport(&ep->addr, ep->port, hp, sizeof(hp)));
	return buf;
}

const char *pc_report_doc_finding_title(const char *kind)
{
	if (!kind)
		return "Finding";
	if (strcmp(kind, "stale_rule") == 0)
		return "Stale documentation";
	if (strcmp(kind, "review_due") == 0)
		return "Due for review";
	return kind;
}

bool pc_report_doc_same_kind(const struct pc_finding *a, const struct pc_finding *b)
{
	return strcmp(a->kind ? a->kind : "", b->kind ? b->kind : "") == 0;
}

size_t pc_report_doc_kind_first(const struct pc_snapshot *snap, size_t i)
{
	/* quadratic, over a handful of findings per audit */
	for (size_t j = 0; j < i; j++)
		if (pc_report_doc_same_kind(&snap->findings[j], &snap->findings[i]))
			return 0;
	size_t n = 0;
	for (size_t j = i; j < snap->n_findings; j++)
		n += pc_report_doc_same_kind(&snap->findings[j], &snap->findings[i]);
	return n;
}

void pc_report_doc_each_verdict(FILE *f, const struct pc_report_doc *doc, enum pc_verdict v,
                                pc_report_doc_row_fn row)
{
	for (size_t g = 0; g < doc->n_groups; g++)
		for (size_t i = 0; i < doc->groups[g].n; i++)
			if (doc->groups[g].eps[i]->policy &&
			    doc->groups[g].eps[i]->policy->verdict == v)
				row(f, &doc->groups[g], doc->groups[g].eps[i]);
}

bool pc_report_doc_judged(const struct pc_snapshot *snap, const struct pc_report_doc *doc)
{
	return snap->n_findings > 0 || doc->by_verdict[PC_VERDICT_NONE] < doc->n_eps;
}

bool pc_report_doc_classified(const struct pc_report_doc *doc)
{
	return doc->unclassified < doc->n_eps;
}

const char *pc_report_doc_time(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	return pc_format_time(ms, buf, len);
}
