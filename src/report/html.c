/*
 * html.c - the "html" format: one self-contained page for a person with a
 * browser: a severity summary, what needs attention (violations,
 * undocumented listeners, stale and due-for-review rules), one sortable and
 * filterable table per host and namespace, and the service-connection map
 * as inline SVG (svg.c).
 *
 * Self-contained means the page loads nothing: no font, image, script or
 * style from anywhere, and a Content-Security-Policy that forbids every
 * load (default-src 'none') and allows only this file's own style and
 * script, by their SHA-256 (a script injected into the page would not run
 * even if escaping failed). Doc links of the policy are shown as text, not
 * links: the page never points the browser at an address taken from input.
 *
 * Trust: every string of the snapshot goes through pc_report_doc_clean()
 * and is HTML-escaped (& < > " '), and only ever lands in element text,
 * never in an attribute, a URL, a style or the script. The script holds no
 * data: it reads the table cells from the DOM. Attributes carry only this
 * file's own words (severity names) and numbers.
 *
 * The script: clicking a column header sorts that table; a text box and a
 * severity menu filter every table. The same can be asked in the URL
 * fragment (#q=redis&sev=critical&sort=port&dir=desc), applied on load;
 * when it has run, <html> carries data-pc-script="ready" (the Chromium lab
 * test reads that back).
 */
#include "report/document.h"
#include "report/escape.h"

#include <string.h>

/* The hashes in the CSP are those of STYLE and SCRIPT, byte for byte;
 * tests/unit/test_report_md_html.c recomputes them, so an edit of either
 * without its hash fails there instead of in a browser. */
#define STYLE_SHA256 "9WZEs/HrjbX8pQiLjHsNPJ9A4enoCUeYN86RMeEzWss="
#define SCRIPT_SHA256 "+3RbdTYbmY7Lmy+RfW0So+Yga5uZRvcoQGKZR2riXPQ="

/* one CSS rule or script statement per source line */
/* clang-format off */
static const char STYLE[] =
	"\n:root{--fg:#1d2430;--mut:#5b6576;--line:#d9dee7;--bg:#f6f7f9;--crit:#b3123a;"
	"--high:#d9480f;--med:#b98900;--low:#2f7d32;--info:#43618c;--none:#7b8494}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
	"color:var(--fg);background:var(--bg)}\n"
	"header,main>section{max-width:1400px;margin:0 auto;padding:0 24px}\n"
	"header{padding-top:18px}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:22px 0 8px}"
	"h3{font-size:15px;margin:16px 0 6px}\n"
	".meta{color:var(--mut);margin:0;overflow-wrap:break-word}\n"
	".cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0}\n"
	".card{background:#fff;border:1px solid var(--line);border-left:6px solid var(--none);"
	"border-radius:6px;padding:8px 14px;min-width:120px}\n"
	".card .n{display:block;font-size:24px;font-weight:700}.card .l{color:var(--mut)}\n"
	".card.sev-critical{border-left-color:var(--crit)}.card.sev-high{border-left-color:var(--high)}"
	".card.sev-medium{border-left-color:var(--med)}.card.sev-low{border-left-color:var(--low)}"
	".card.sev-info{border-left-color:var(--info)}.card.v-violation{border-left-color:var(--crit)}"
	".card.v-undocumented{border-left-color:var(--high)}.card.v-allowed{border-left-color:var(--low)}\n"
	".sev{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:12px;"
	"font-weight:600;background:var(--none)}\n"
	".sev-critical .sev,.sev.sev-critical{background:var(--crit)}.sev.sev-high{background:var(--high)}"
	".sev.sev-medium{background:var(--med)}.sev.sev-low{background:var(--low)}"
	".sev.sev-info{background:var(--info)}\n"
	"table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);"
	"font-size:13px}\n"
	"th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}\n"
	"th{background:#eef1f5;position:sticky;top:0;white-space:nowrap}\n"
	"table.ep th{cursor:pointer;user-select:none}\n"
	"th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}\n"
	"td{overflow-wrap:anywhere}td.nw{white-space:nowrap}"
	"td.num{text-align:right;white-space:nowrap}\n"
	"td.why{color:var(--mut);min-width:220px;max-width:420px}\n"
	"tr.v-violation td:first-child{box-shadow:inset 3px 0 var(--crit)}\n"
	"ul.findings{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 8px 8px 28px}\n"
	".controls{display:flex;gap:16px;align-items:center;margin:4px 0 8px}\n"
	".controls input{width:280px;padding:4px 6px}\n"
	".ns{color:var(--mut);font-weight:400}.muted{color:var(--mut)}\n"
	"svg{background:#fff;border:1px solid var(--line);border-radius:6px;max-width:100%;height:auto}\n"
	"footer{max-width:1400px;margin:24px auto;padding:0 24px;color:var(--mut);font-size:12px}\n";

static const char SCRIPT[] =
	"\n(function () {\n"
	"\"use strict\";\n"
	"var d = document;\n"
	"function rows() { return d.querySelectorAll(\"table.ep tbody tr\"); }\n"
	"function apply() {\n"
	"  var q = d.getElementById(\"q\").value.toLowerCase();\n"
	"  var s = d.getElementById(\"sev\").value;\n"
	"  var shown = 0, total = 0;\n"
	"  rows().forEach(function (r) {\n"
	"    total++;\n"
	"    var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) &&\n"
	"      (!s || r.getAttribute(\"data-sev\") === s);\n"
	"    r.hidden = !ok;\n"
	"    if (ok) shown++;\n"
	"  });\n"
	"  d.querySelectorAll(\"section.group\").forEach(function (g) {\n"
	"    g.hidden = g.querySelector(\"tbody tr:not([hidden])\") === null;\n"
	"  });\n"
	"  d.getElementById(\"count\").textContent = shown + \" of \" + total + \" shown\";\n"
	"}\n"
	"function key(c) {\n"
	"  var k = c.getAttribute(\"data-key\");\n"
	"  return k === null ? c.textContent.toLowerCase() : Number(k);\n"
	"}\n"
	"function sortTable(t, col, desc) {\n"
	"  var ths = t.tHead.rows[0].cells, i = -1;\n"
	"  for (var j = 0; j < ths.length; j++) {\n"
	"    ths[j].removeAttribute(\"aria-sort\");\n"
	"    if (ths[j].getAttribute(\"data-col\") === col) i = j;\n"
	"  }\n"
	"  if (i < 0) return false;\n"
	"  ths[i].setAttribute(\"aria-sort\", desc ? \"descending\" : \"ascending\");\n"
	"  var b = t.tBodies[0], rs = Array.prototype.slice.call(b.rows);\n"
	"  rs.sort(function (x, y) {\n"
	"    var a = key(x.cells[i]), c = key(y.cells[i]);\n"
	"    var r = typeof a === \"number\" && typeof c === \"number\" ? a - c :\n"
	"      String(a).localeCompare(String(c));\n"
	"    return desc ? -r : r;\n"
	"  });\n"
	"  rs.forEach(function (r) { b.appendChild(r); });\n"
	"  return true;\n"
	"}\n"
	"d.querySelectorAll(\"table.ep\").forEach(function (t) {\n"
	"  Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th) {\n"
	"    th.addEventListener(\"click\", function () {\n"
	"      sortTable(t, th.getAttribute(\"data-col\"),\n"
	"        th.getAttribute(\"aria-sort\") === \"ascending\");\n"
	"    });\n"
	"  });\n"
	"});\n"
	"d.getElementById(\"q\").addEventListener(\"input\", apply);\n"
	"d.getElementById(\"sev\").addEventListener(\"change\", apply);\n"
	"var p = new URLSearchParams(location.hash.replace(/^#/, \"\"));\n"
	"if (p.get(\"q\")) d.getElementById(\"q\").value = p.get(\"q\");\n"
	"if (p.get(\"sev\")) d.getElementById(\"sev\").value = p.get(\"sev\");\n"
	"var col = p.get(\"sort\");\n"
	"if (col) {\n"
	"  var ok = false;\n"
	"  d.querySelectorAll(\"table.ep\").forEach(function (t) {\n"
	"    ok = sortTable(t, col, p.get(\"dir\") === \"desc\") || ok;\n"
	"  });\n"
	"  if (ok) d.documentElement.setAttribute(\"data-pc-sort\", col);\n"
	"}\n"
	"apply();\n"
	"d.documentElement.setAttribute(\"data-pc-script\", \"ready\");\n"
	"})();\n";
/* clang-format on */

void pc_report_html_text(FILE *f, const char *raw)
{
	char clean[PC_DOC_CELL];
	pc_report_doc_clean(raw, clean);
	pc_report_escape_write(f, clean, &pc_report_escape_html);
}

/* <tag>text</tag>, "-" for an empty or NULL text */
static void html_elem(FILE *f, const char *open, const char *raw, const char *close)
{
	fputs(open, f);
	if (raw && *raw)
		pc_report_html_text(f, raw);
	else
		fputc('-', f);
	fputs(close, f);
}

static const char *sev_class(const struct pc_endpoint *ep)
{
	return ep->risk ? pc_severity_name(ep->risk->severity) : "none";
}

static void html_card(FILE *f, const char *cls, size_t n, const char *what)
{
	fprintf(f,
	        "<div class=\"card %s\"><span class=\"n\">%zu</span><span "
	        "class=\"l\">%s</span></div>\n",
	        cls, n, what);
}

static void html_summary(FILE *f, const struct pc_report_doc *doc)
{
	char cls[40];
	fputs("<section id=\"summary\"><h2>Summary</h2>\n<div class=\"cards\" id=\"severity\">\n",
	      f);
	for (int s = PC_SEV_CRITICAL; s >= PC_SEV_INFO; s--) {
		const char *name = pc_severity_name((enum pc_severity)s);
		snprintf(cls, sizeof(cls), "sev-%s", name);
		html_card(f, cls, doc->by_severity[s], name);
	}
	if (doc->unclassified)
		html_card(f, "sev-none", doc->unclassified, "not classified");
	fputs("</div>\n<div class=\"cards\" id=\"verdicts\">\n", f);
	html_card(f, "v-violation", doc->violations, "violations");
	html_card(f, "v-undocumented", doc->undocumented, "undocumented");
	html_card(f, "v-allowed", doc->by_verdict[PC_VERDICT_ALLOWED], "allowed");
	if (doc->by_verdict[PC_VERDICT_NONE])
		html_card(f, "v-none", doc->by_verdict[PC_VERDICT_NONE], "not judged");
	fputs("</div>\n</section>\n", f);
}

static void html_reasons(FILE *f, const char *const *reasons, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs("<br>", f);
		pc_report_html_text(f, reasons[i]);
	}
}

static void html_verdict_row(FILE *f, const struct pc_report_doc_group *g,
                             const struct pc_endpoint *ep)
{
	char b[PC_DOC_CELL];
	html_elem(f, "<tr><td class=\"nw\">", pc_report_doc_endpoint(ep, b, sizeof(b)), "</td>");
	html_elem(f, "<td>", g->host, " / ");
	html_elem(f, "", g->netns, "</td>");
	html_elem(f, "<td>", pc_report_doc_owner(ep, true, b, sizeof(b)), "</td>");
	html_elem(f, "<td>", ep->policy->rule, "</td><td>");
	html_reasons(f, ep->policy->reasons, ep->policy->n_reasons);
	fputs("</td></tr>\n", f);
}

static void html_verdicts(FILE *f, const struct pc_report_doc *doc, enum pc_verdict v,
                          const char *title, const char *id)
{
	size_t n = v == PC_VERDICT_VIOLATION ? doc->violations : doc->undocumented;
	if (!n)
		return;
	fprintf(f,
	        "<h3>%s (%zu)</h3>\n<table class=\"list\" id=\"%s\"><thead><tr><th>Listener</th>"
	        "<th>Host / namespace</th><th>Owner</th><th>Rule</th><th>Why</th></tr></thead>"
	        "<tbody>\n",
	        title, n, id);
	pc_report_doc_each_verdict(f, doc, v, html_verdict_row);
	fputs("</tbody></table>\n", f);
}

static void html_findings(FILE *f, const struct pc_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_findings; i++) {
		if (!pc_report_doc_kind_first(snap, i))
			continue;
		html_elem(f, "<h3>", pc_report_doc_finding_title(snap->findings[i].kind),
		          "</h3>\n<ul class=\"findings\">\n");
		for (size_t j = i; j < snap->n_findings; j++) {
			const struct pc_finding *x = &snap->findings[j];
			if (!pc_report_doc_same_kind(x, &snap->findings[i]))
				continue;
			const char *sev = pc_severity_name(x->severity);
			fprintf(f, "<li><span class=\"sev sev-%s\">%s</span> ", sev, sev);
			if (x->rule)
				html_elem(f, "rule <b>", x->rule, "</b>: ");
			html_elem(f, "", x->message, "</li>\n");
		}
		fputs("</ul>\n", f);
	}
}

static void html_attention(FILE *f, const struct pc_snapshot *snap, const struct pc_report_doc *doc)
{
	fputs("<section id=\"attention\"><h2>Needs attention</h2>\n", f);
	html_verdicts(f, doc, PC_VERDICT_VIOLATION, "Violations", "violations");
	html_verdicts(f, doc, PC_VERDICT_UNDOCUMENTED, "Undocumented listeners", "undocumented");
	html_findings(f, snap);
	if (!pc_report_doc_judged(snap, doc))
		fputs("<p class=\"muted\">No policy was evaluated (<code>--policy FILE</code>): no "
		      "listener is judged documented or not.</p>\n",
		      f);
	else if (!doc->violations && !doc->undocumented && !snap->n_findings)
		fputs("<p>Nothing: every listener is documented and allowed, no rule is stale or "
		      "due for review.</p>\n",
		      f);
	if (!pc_report_doc_classified(doc) && doc->n_eps)
		fputs("<p class=\"muted\">No listener is classified: severities are unknown, not "
		      "low.</p>\n",
		      f);
	fputs("</section>\n", f);
}

static const char *const columns[][2] = {
    {"severity", "Severity"},
    {"proto", "Proto"},
    {"address", "Address"},
    {"port", "Port"},
    {"owner", "Owner"},
    {"service", "Service"},
    {"auth", "Auth"},
    {"tls", "TLS"},
    {"policy", "Policy"},
    {"rule", "Rule"},
    {"rule_owner", "Rule owner"},
    {"doc", "Doc"},
    {"why", "Why"},
};

static void html_row(FILE *f, const struct pc_endpoint *ep)
{
	char b[PC_DOC_CELL], a[PC_ADDR_STRLEN];
	const struct pc_risk *r = ep->risk;
	const struct pc_policy_verdict *pv = ep->policy;
	const char *sev = sev_class(ep);
	const char *verdict =
	    pv && pv->verdict != PC_VERDICT_NONE ? pc_verdict_name(pv->verdict) : "none";
	fprintf(f, "<tr data-sev=\"%s\" class=\"v-%s\">", sev, verdict);
	/* severity sorts by rank, unclassified below info */
	if (r)
		fprintf(f,
		        "<td class=\"nw\" data-key=\"%d\"><span class=\"sev sev-%s\">%s</span> "
		        "%.1f</td>",
		        (int)r->severity, sev, sev, r->score);
	else
		fputs("<td class=\"nw\" data-key=\"-1\"><span class=\"sev\">not classified</span>"
		      "</td>",
		      f);
	fprintf(f, "<td>%s</td>", pc_proto_name(ep->proto));
	html_elem(f, "<td class=\"nw\">", pc_addr_format(&ep->addr, a, sizeof(a)), "</td>");
	fprintf(f, "<td class=\"num\" data-key=\"%u\">%u</td>", (unsigned)ep->port,
	        (unsigned)ep->port);
	html_elem(f, "<td>", pc_report_doc_owner(ep, true, b, sizeof(b)), "</td>");
	html_elem(f, "<td>", pc_report_doc_service(ep, b, sizeof(b)), "</td>");
	html_elem(f, "<td class=\"nw\">", pc_report_doc_auth(ep), "</td>");
	fprintf(f, "<td>%s</td>",
	        !ep->service || ep->service->tls == PC_TRI_UNKNOWN ? "-"
	        : ep->service->tls                                 ? "yes"
	                                                           : "no");
	html_elem(f, "<td class=\"nw\">", pc_report_doc_verdict(ep), "</td>");
	html_elem(f, "<td>", pv ? pv->rule : NULL, "</td>");
	html_elem(f, "<td>", pv ? pv->owner : NULL, "</td>");
	html_elem(f, "<td>", pv ? pv->doc : NULL, "</td>");
	fputs("<td class=\"why\">", f);
	bool any = false;
	if (r) {
		html_reasons(f, r->reasons, r->n_reasons);
		if (r->remediation)
			html_elem(f, r->n_reasons ? "<br><b>Fix:</b> " : "<b>Fix:</b> ",
			          r->remediation, "");
		any = r->n_reasons || r->remediation;
	}
	if (pv && pv->n_reasons) {
		fputs(any ? "<br><b>Policy:</b> " : "<b>Policy:</b> ", f);
		html_reasons(f, pv->reasons, pv->n_reasons);
		any = true;
	}
	if (!any)
		fputc('-', f);
	fputs("</td></tr>\n", f);
}

static void html_groups(FILE *f, const struct pc_report_doc *doc)
{
	fputs("<section id=\"listeners\"><h2>Listeners</h2>\n<div class=\"controls\">"
	      "<label>Filter <input id=\"q\" type=\"search\" placeholder=\"text in any column\">"
	      "</label><label>Severity <select id=\"sev\"><option value=\"\">any</option>",
	      f);
	for (int s = PC_SEV_CRITICAL; s >= PC_SEV_INFO; s--) {
		const char *name = pc_severity_name((enum pc_severity)s);
		fprintf(f, "<option value=\"%s\">%s</option>", name, name);
	}
	fputs("<option value=\"none\">not classified</option></select></label>"
	      "<span id=\"count\" class=\"muted\"></span></div>\n",
	      f);
	if (!doc->n_groups)
		fputs("<p>No listener.</p>\n", f);
	for (size_t g = 0; g < doc->n_groups; g++) {
		const struct pc_report_doc_group *grp = &doc->groups[g];
		html_elem(f, "<section class=\"group\"><h3>", grp->host, " <span class=\"ns\">/ ");
		html_elem(f, "", grp->netns, "</span> ");
		fprintf(f, "<span class=\"ns\">(%zu)</span></h3>\n<table class=\"ep\"><thead><tr>",
		        grp->n);
		for (size_t c = 0; c < sizeof(columns) / sizeof(columns[0]); c++)
			fprintf(f, "<th data-col=\"%s\">%s</th>", columns[c][0], columns[c][1]);
		fputs("</tr></thead>\n<tbody>\n", f);
		for (size_t i = 0; i < grp->n; i++)
			html_row(f, grp->eps[i]);
		fputs("</tbody></table></section>\n", f);
	}
	fputs("</section>\n", f);
}

static int write_html(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
                      bool streamed)
{
	(void)streamed;
	struct pc_report_doc doc;
	int r = pc_report_doc_build(snap, PC_DOC_BY_SEVERITY, &doc);
	if (r < 0)
		return r;
	const char *host = snap->host ? snap->host : "this host";
	char t1[40], t2[40];
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'sha256-" STYLE_SHA256 "'; script-src 'sha256-" SCRIPT_SHA256 "'; "
	      "img-src 'none'; base-uri 'none'; form-action 'none'\">\n"
	      "<meta name=\"referrer\" content=\"no-referrer\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
	      f);
	html_elem(f, "<title>portcensus: ", host, "</title>\n");
	fprintf(f, "<style>%s</style>\n</head>\n<body>\n<header>\n", STYLE);
	html_elem(f, "<h1>Port audit of ", host, "</h1>\n");
	html_elem(f, "<p class=\"meta\">portcensus ", opts && opts->version ? opts->version : "?",
	          " &middot; ");
	html_elem(f, "", snap->command, "");
	fprintf(f,
	        " &middot; started %s &middot; finished %s &middot; %zu listener%s in %zu "
	        "group%s",
	        pc_report_doc_time(snap->started_at_ms, t1, sizeof(t1)),
	        pc_report_doc_time(snap->finished_at_ms, t2, sizeof(t2)), doc.n_eps,
	        doc.n_eps == 1 ? "" : "s", doc.n_groups, doc.n_groups == 1 ? "" : "s");
	if (doc.established)
		fprintf(f, " &middot; %zu established connection%s", doc.established,
		        doc.established == 1 ? "" : "s");
	fputs("</p>\n</header>\n<main>\n", f);
	html_summary(f, &doc);
	html_attention(f, snap, &doc);
	html_groups(f, &doc);
	fputs("<section id=\"map\"><h2>Service connections</h2>\n", f);
	r = pc_report_svg_map(f, snap);
	fputs("</section>\n", f);
	if (snap->n_warnings) {
		fputs("<section id=\"warnings\"><h2>Warnings</h2>\n<ul>\n", f);
		for (size_t i = 0; i < snap->n_warnings; i++)
			html_elem(f, "<li>", snap->warnings[i], "</li>\n");
		fputs("</ul>\n</section>\n", f);
	}
	fputs("</main>\n<footer>Written by portcensus. This page is self-contained: it loads "
	      "nothing from any address; sorting and filtering run in the page.</footer>\n",
	      f);
	fprintf(f, "<script>%s</script>\n</body>\n</html>\n", SCRIPT);
	pc_report_doc_free(&doc);
	return r;
}

const struct pc_report_ops pc_report_html = {
    .name = "html",
    .description = "self-contained HTML page: summary, findings, sortable tables, map",
    .write = write_html,
};
