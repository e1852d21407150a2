/*
 * document.h - what the two document formats (md.c, html.c) share: the
 * listeners grouped per host and namespace, the counts of the summary, the
 * plain-text cells, and the cleaning every string goes through before a
 * format escapes it.
 *
 * Internal to src/report: the formats themselves are pc_report_ops entries
 * (report.h). Every text here is raw (it may hold any byte a process, a peer
 * or an imported file put there); a writer must pass it through
 * pc_report_doc_clean() and then its own escaping before writing it.
 */
#ifndef PC_REPORT_DOCUMENT_H
#define PC_REPORT_DOCUMENT_H

#include "core/error.h"
#include "core/text.h"
#include "report/report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A cleaned cell is at most this many bytes; longer input is cut. */
#define PC_DOC_CELL 2048
/* Room for a host or namespace label (a hostname is capped at import). */
#define PC_DOC_LABEL 320

/* The listeners of one host and namespace, in display order. */
struct pc_report_doc_group {
	char host[PC_DOC_LABEL];  /* snapshot host, or a network-side target */
	char netns[PC_DOC_LABEL]; /* namespace name, "netns INODE", or "network" */
	const struct pc_endpoint **eps;
	size_t n;
};

struct pc_report_doc {
	struct pc_report_doc_group *groups;
	size_t n_groups;
	const struct pc_endpoint **eps; /* every listed endpoint, group by group */
	size_t n_eps;
	size_t established; /* connections: not listed, drawn in a map */
	size_t by_severity[PC_SEV_COUNT];
	size_t unclassified;             /* listed endpoints with no risk */
	size_t by_verdict[4];            /* indexed by enum pc_verdict; NONE: not judged */
	size_t undocumented, violations; /* = by_verdict[...], for readability */
};

enum pc_doc_order {
	PC_DOC_BY_ADDRESS = 0, /* proto, address, port: small diffs between audits */
	PC_DOC_BY_SEVERITY,    /* worst first, then by address */
};

/*
 * Group the listed endpoints of snap (listening or open: not established,
 * closed or filtered) per host
 * and namespace, each group in the given order, and count them. 0 or
 * PC_ENOMEM; *ret is only filled on success. Points into snap: free the
 * document before the snapshot.
 */
int pc_report_doc_build(const struct pc_snapshot *snap, enum pc_doc_order order,
                        struct pc_report_doc *ret);
void pc_report_doc_free(struct pc_report_doc *doc);

/*
 * The one cleaning step before any format escaping: the terminal sanitizer
 * (pc_text_sanitize, core/text.c: C0 and C1 controls, DEL, bidi
 * embeddings, overrides, isolates and marks, U+2028/U+2029 and invalid
 * UTF-8 each become '?'), so a cell is one line that reads in the order it
 * is written. NULL becomes "". Returns out, which holds at most
 * PC_DOC_CELL - 1 bytes, cut on a character boundary.
 */
const char *pc_report_doc_clean(const char *s, char out[PC_DOC_CELL]);

/* Plain-text cells, "-" (or the given wording) when unknown. */
const char *pc_report_doc_owner(const struct pc_endpoint *ep, bool with_pid, char *buf, size_t len);
const char *pc_report_doc_service(const struct pc_endpoint *ep, char *buf, size_t len);
const char *pc_report_doc_auth(const struct pc_endpoint *ep);
const char *pc_report_doc_severity(const struct pc_endpoint *ep); /* or "not classified" */
const char *pc_report_doc_verdict(const struct pc_endpoint *ep);  /* or "not judged" */
/* "tcp 0.0.0.0:6379" */
const char *pc_report_doc_endpoint(const struct pc_endpoint *ep, char *buf, size_t len);
/* The heading of a finding kind: "Stale documentation", "Due for review",
 * or the kind itself. */
const char *pc_report_doc_finding_title(const char *kind);
/* Snapshot findings are shown grouped by kind, kinds in the order they
 * first appear: the number of findings of findings[i]'s kind when i is the
 * first of them (the writer opens a heading), else 0. */
size_t pc_report_doc_kind_first(const struct pc_snapshot *snap, size_t i);
bool pc_report_doc_same_kind(const struct pc_finding *a, const struct pc_finding *b);
/* Call row for every listed endpoint whose verdict is v, in document order. */
typedef void (*pc_report_doc_row_fn)(FILE *f, const struct pc_report_doc_group *g,
                                     const struct pc_endpoint *ep);
void pc_report_doc_each_verdict(FILE *f, const struct pc_report_doc *doc, enum pc_verdict v,
                                pc_report_doc_row_fn row);
/* Whether a policy or the classifier ran: any verdict, finding or risk. */
bool pc_report_doc_judged(const struct pc_snapshot *snap, const struct pc_report_doc *doc);
bool pc_report_doc_classified(const struct pc_report_doc *doc);
/* "2026-11-27T01:02:03.456Z" of the snapshot's own times ("-" when 0). */
const char *pc_report_doc_time(int64_t ms, char *buf, size_t len);

/* HTML text escaping (& < > " '), after pc_report_doc_clean(); html.c and
 * the connection map (svg.c) share it. */
void pc_report_html_text(FILE *f, const char *s);

/* The service-connection map as an inline <svg> element (svg.c). 0 or
 * PC_ENOMEM. */
int pc_report_svg_map(FILE *f, const struct pc_snapshot *snap);

#endif
