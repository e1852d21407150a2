/*
 * md.c - the "md" format: the port inventory a team commits next to its
 * infrastructure code (GitHub-flavoured Markdown).
 *
 * Layout: a title and the snapshot's own times; "Needs attention" (policy
 * violations, undocumented listeners, then each kind of snapshot finding:
 * stale documentation, rules due for review, ...); the counts per severity
 * and per verdict; then one table per host and namespace listing every
 * listener with its owner, service, auth, severity, policy verdict, rule,
 * rule owner and doc link, followed by the reasons behind each verdict.
 *
 * Built for diffs: listeners are sorted by protocol, address and port (not
 * by severity, which moves when a rule changes), owners are named without
 * their pid (which changes on every restart), and nothing depends on the
 * clock but the snapshot's own times.
 *
 * Trust: every string is cleaned (pc_report_doc_clean: controls, invalid
 * UTF-8, bidi and line separators) and then escaped for Markdown, so a
 * process name or banner cannot open a table cell, a link, emphasis, inline
 * HTML or code. Data is never put in a code span (a backtick cannot be
 * escaped there). A doc link becomes a link only when it is a plain http(s)
 * URL made of characters that cannot end the link; otherwise it is text.
 */
#include "report/document.h"

#include <string.h>

#define MD_SPECIAL "\\`*_[]<>|~&$#!"

/* Markdown text: one line, every character that could start markup
 * backslash-escaped (CommonMark allows a backslash before any ASCII
 * punctuation). */
static void md_text(FILE *f, const char *raw)
{
	char clean[PC_DOC_CELL];
	pc_report_doc_clean(raw, clean);
	if (!clean[0]) {
		fputc('-', f);
		return;
	}
	for (const char *p = clean; *p;) {
		size_t run = strcspn(p, MD_SPECIAL);
		fwrite(p, 1, run, f);
		p += run;
		if (*p) {
			fputc('\\', f);
			fputc(*p++, f);
		}
	}
}

static bool plain_url(const char *s)
{
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return false;
	if (strlen(s) > 512)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-._~:/?#@!$&+,;=%", *p)))
			return false;
	return true;
}

static void md_link(FILE *f, const char *url)
{
	if (url && plain_url(url))
		fprintf(f, "<%s>", url);
	else
		md_text(f, url);
}

static void md_reasons(FILE *f, const char *const *reasons, size_t n, const char *sep)
{
	for (size_t i = 0; i < n; i++) {
		fputs(i ? sep : "", f);
		md_text(f, reasons[i]);
	}
}

/* One violation or undocumented listener, with the broken clauses. */
static void md_verdict_row(FILE *f, const struct pc_report_doc_group *g,
                           const struct pc_endpoint *ep)
{
	char b[PC_DOC_CELL];
	fputs("- **", f);
	md_text(f, pc_report_doc_endpoint(ep, b, sizeof(b)));
	fputs("** on ", f);
	md_text(f, g->host);
	fputs(", ", f);
	md_text(f, g->netns);
	fputs(" (", f);
	md_text(f, pc_report_doc_owner(ep, false, b, sizeof(b)));
	fputs(")", f);
	if (ep->policy->rule) {
		fputs(": rule ", f);
		md_text(f, ep->policy->rule);
	}
	if (ep->policy->n_reasons) {
		fputs(": ", f);
		md_reasons(f, ep->policy->reasons, ep->policy->n_reasons, "; ");
	}
	fputc('\n', f);
}

static size_t md_verdicts(FILE *f, const struct pc_report_doc *doc, enum pc_verdict v,
                          const char *title)
{
	size_t n = v == PC_VERDICT_VIOLATION ? doc->violations : doc->undocumented;
	if (!n)
		return 0;
	fprintf(f, "### %s (%zu)\n\n", title, n);
	pc_report_doc_each_verdict(f, doc, v, md_verdict_row);
	fputc('\n', f);
	return n;
}

/* Snapshot findings, one heading per kind. */
static void md_findings(FILE *f, const struct pc_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_findings; i++) {
		size_t count = pc_report_doc_kind_first(snap, i);
		if (!count)
			continue;
		fputs("### ", f);
		md_text(f, pc_report_doc_finding_title(snap->findings[i].kind));
		fprintf(f, " (%zu)\n\n", count);
		for (size_t j = i; j < snap->n_findings; j++) {
			const struct pc_finding *x = &snap->findings[j];
			if (!pc_report_doc_same_kind(x, &snap->findings[i]))
				continue;
			fprintf(f, "- %s", pc_severity_name(x->severity));
			if (x->rule) {
				fputs(", rule **", f);
				md_text(f, x->rule);
				fputs("**", f);
			}
			fputs(": ", f);
			md_text(f, x->message);
			fputc('\n', f);
		}
		fputc('\n', f);
	}
}

static void md_summary(FILE *f, const struct pc_report_doc *doc)
{
	fputs("## Summary\n\n| Severity | Listeners |\n|---|---:|\n", f);
	for (int s = PC_SEV_CRITICAL; s >= PC_SEV_INFO; s--)
		fprintf(f, "| %s | %zu |\n", pc_severity_name((enum pc_severity)s),
		        doc->by_severity[s]);
	if (doc->unclassified)
		fprintf(f, "| not classified | %zu |\n", doc->unclassified);
	fputs("\n| Policy | Listeners |\n|---|---:|\n", f);
	static const enum pc_verdict order[] = {PC_VERDICT_VIOLATION, PC_VERDICT_UNDOCUMENTED,
	                                        PC_VERDICT_ALLOWED};
	for (size_t i = 0; i < 3; i++)
		fprintf(f, "| %s | %zu |\n", pc_verdict_name(order[i]), doc->by_verdict[order[i]]);
	if (doc->by_verdict[PC_VERDICT_NONE])
		fprintf(f, "| not judged | %zu |\n", doc->by_verdict[PC_VERDICT_NONE]);
	fputc('\n', f);
}

static void md_cell(FILE *f, const char *s)
{
	fputs(" ", f);
	md_text(f, s);
	fputs(" |", f);
}

static void md_group(FILE *f, const struct pc_report_doc_group *g)
{
	char b[PC_DOC_CELL];
	fputs("## ", f);
	md_text(f, g->host);
	fputs(" / ", f);
	md_text(f, g->netns);
	fprintf(f, "\n\n%zu listener%s.\n\n", g->n, g->n == 1 ? "" : "s");
	fputs("| Proto | Address | Owner | Service | Auth | Severity | Policy | Rule | Rule owner "
	      "| Doc |\n|---|---|---|---|---|---|---|---|---|---|\n",
	      f);
	bool details = false;
	for (size_t i = 0; i < g->n; i++) {
		const struct pc_endpoint *ep = g->eps[i];
		const struct pc_policy_verdict *pv = ep->policy;
		fputc('|', f);
		md_cell(f, pc_proto_name(ep->proto));
		md_cell(f, pc_report_hostport(&ep->addr, ep->port, b, sizeof(b)));
		md_cell(f, pc_report_doc_owner(ep, false, b, sizeof(b)));
		md_cell(f, pc_report_doc_service(ep, b, sizeof(b)));
		md_cell(f, pc_report_doc_auth(ep));
		md_cell(f, pc_report_doc_severity(ep));
		md_cell(f, pc_report_doc_verdict(ep));
		md_cell(f, pv ? pv->rule : NULL);
		md_cell(f, pv ? pv->owner : NULL);
		fputc(' ', f);
		md_link(f, pv ? pv->doc : NULL);
		fputs(" |\n", f);
		details |= (ep->risk && (ep->risk->n_reasons || ep->risk->remediation)) ||
		           (pv && pv->n_reasons);
	}
	fputc('\n', f);
	if (!details)
		return;
	fputs("Why:\n\n", f);
	for (size_t i = 0; i < g->n; i++) {
		const struct pc_endpoint *ep = g->eps[i];
		const struct pc_risk *r = ep->risk;
		const struct pc_policy_verdict *pv = ep->policy;
		bool risk = r && (r->n_reasons || r->remediation);
		if (!risk && !(pv && pv->n_reasons))
			continue;
		fputs("- **", f);
		md_text(f, pc_report_doc_endpoint(ep, b, sizeof(b)));
		fputs("**", f);
		if (risk) {
			snprintf(b, sizeof(b), "%s, score %.1f", pc_severity_name(r->severity),
			         r->score);
			fputs(" (", f);
			md_text(f, b);
			if (r->category) {
				fputs(", ", f);
				md_text(f, r->category);
			}
			fputs("): ", f);
			md_reasons(f, r->reasons, r->n_reasons, " ");
			if (r->remediation) {
				fputs(r->n_reasons ? " Remediation: " : "Remediation: ", f);
				md_text(f, r->remediation);
			}
		}
		if (pv && pv->n_reasons) {
			fprintf(f, "%sPolicy (%s): ", risk ? " " : ": ",
			        pc_verdict_name(pv->verdict));
			md_reasons(f, pv->reasons, pv->n_reasons, "; ");
		}
		fputc('\n', f);
	}
	fputc('\n', f);
}

static int write_md(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
                    bool streamed)
{
	(void)streamed;
	struct pc_report_doc doc;
	int r = pc_report_doc_build(snap, PC_DOC_BY_ADDRESS, &doc);
	if (r < 0)
		return r;
	char t1[40], t2[40];
	fputs("# Port inventory: ", f);
	md_text(f, snap->host ? snap->host : "this host");
	fputs("\n\nGenerated by portcensus ", f);
	md_text(f, opts && opts->version ? opts->version : "?");
	fputs(" from ", f);
	md_text(f, snap->command);
	fprintf(f, ", started %s, finished %s. %zu listener%s in %zu group%s (host and namespace).",
	        pc_report_doc_time(snap->started_at_ms, t1, sizeof(t1)),
	        pc_report_doc_time(snap->finished_at_ms, t2, sizeof(t2)), doc.n_eps,
	        doc.n_eps == 1 ? "" : "s", doc.n_groups, doc.n_groups == 1 ? "" : "s");
	if (doc.established)
		fprintf(f, " %zu established connection%s not listed.", doc.established,
		        doc.established == 1 ? "" : "s");
	fputs("\n\n## Needs attention\n\n", f);
	bool judged = pc_report_doc_judged(snap, &doc);
	size_t flagged = md_verdicts(f, &doc, PC_VERDICT_VIOLATION, "Violations");
	flagged += md_verdicts(f, &doc, PC_VERDICT_UNDOCUMENTED, "Undocumented listeners");
	md_findings(f, snap);
	if (!judged)
		fputs("No policy was evaluated (`--policy FILE`): no listener is judged "
		      "documented or not.\n\n",
		      f);
	else if (!flagged && !snap->n_findings)
		fputs("Nothing: every listener is documented and allowed, no rule is stale or "
		      "due for review.\n\n",
		      f);
	if (!pc_report_doc_classified(&doc) && doc.n_eps)
		fputs("No listener is classified: severities are unknown, not low.\n\n", f);
	md_summary(f, &doc);
	for (size_t g = 0; g < doc.n_groups; g++)
		md_group(f, &doc.groups[g]);
	if (!doc.n_groups)
		fputs("## Listeners\n\nNone.\n\n", f);
	if (snap->n_warnings) {
		fputs("## Warnings\n\n", f);
		for (size_t i = 0; i < snap->n_warnings; i++) {
			fputs("- ", f);
			md_text(f, snap->warnings[i]);
			fputc('\n', f);
		}
		fputc('\n', f);
	}
	pc_report_doc_free(&doc);
	return 0;
}

const struct pc_report_ops pc_report_md = {
    .name = "md",
    .description = "Markdown inventory per host and namespace, for a repository",
    .write = write_md,
};
