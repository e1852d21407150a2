/*
 * report.h - output formats. Each format is one file exporting one
 * `const struct pc_report_ops`, listed in the registry in report.c.
 *
 * Writers only read the snapshot. They write to a FILE the CLI opened
 * (stdout or -o FILE) and return 0 or a negative PC_E* code; the caller checks
 * ferror() and fclose() for I/O errors.
 */
#ifndef PC_REPORT_REPORT_H
#define PC_REPORT_REPORT_H

#include "core/json.h"
#include "core/model.h"

#include <stdbool.h>
#include <stdio.h>

/* What the command was, so the table can choose its columns. */
enum pc_report_view {
	PC_VIEW_LISTENERS = 0, /* host inventory */
	PC_VIEW_AUDIT,         /* inventory + verification + service */
	PC_VIEW_SCAN,          /* network-side records */
	PC_VIEW_VERIFY,        /* re-check of imported results */
};

/* Changes counted by the last diff (ledger), for --format prom. */
struct pc_report_drift {
	uint64_t added, removed, changed;
};

struct pc_report_opts {
	enum pc_report_view view;
	bool color;  /* table only: ANSI colours allowed (terminal, no NO_COLOR) */
	const char *version;
	/* prom only: the drift of this snapshot against the previous one, or
	 * NULL when no diff was made (the drift metric is then absent) */
	const struct pc_report_drift *drift;
};

struct pc_report_ops {
	const char *name;
	const char *description;
	/*
	 * Write the whole snapshot. When the endpoints were already written one
	 * by one through stream_endpoint, `streamed` is true and the writer
	 * writes only what comes after them (or nothing).
	 */
	int (*write)(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
		     bool streamed);
	/*
	 * Optional. Write one endpoint as soon as it is known, for streaming
	 * formats (jsonl). NULL for formats that need the whole snapshot.
	 */
	int (*stream_endpoint)(FILE *f, const struct pc_snapshot *snap,
			       const struct pc_endpoint *ep, const struct pc_report_opts *opts);
};

/* NULL when no format has that name. */
const struct pc_report_ops *pc_report_find(const char *name);
/* Registry in display order, NULL-terminated. */
extern const struct pc_report_ops *const pc_report_registry[];

/* A forwarded port in a few words for table and csv cells:
 * "dnat -> 198.18.71.2:8080 (+1)", "proxy", or "-" when not forwarded. */
void pc_report_forward_brief(const struct pc_endpoint *e, char *buf, size_t len);

/* The endpoint object of the JSON contract (docs/formats.md), shared by the
 * json and jsonl writers. */
void pc_report_json_endpoint(struct pc_json *j, const struct pc_endpoint *ep);
/* The same, with the snapshot ep belongs to, so forward.backends can name
 * the listeners behind a forwarded port. */
void pc_report_json_endpoint_of(struct pc_json *j, const struct pc_snapshot *snap,
				const struct pc_endpoint *ep);
/* The netns object of the endpoint contract ({inode, name} or null). */
void pc_report_json_netns(struct pc_json *j, const struct pc_netns *ns);
/* One owner object of the endpoint contract (for the connection edges). */
void pc_report_json_owner(struct pc_json *j, const struct pc_owner *o);
/* The snapshot metadata object ("snapshot": {...}). */
void pc_report_json_snapshot(struct pc_json *j, const struct pc_snapshot *snap);
/* Start a pretty JSON document of ours on f: the object, "portcensus":
 * version and, when snap is not NULL, "snapshot": {...}. The caller adds
 * its own members and ends the object. */
void pc_report_json_begin(struct pc_json *j, FILE *f, const char *version,
			  const struct pc_snapshot *snap);
/* The summary object. */
void pc_report_json_summary(struct pc_json *j, const struct pc_snapshot *snap);

/* Owner in one short line, "pid/comm" or "pid/comm (+2)"; "-" when none. */
const char *pc_report_owner_short(const struct pc_endpoint *ep, char *buf, size_t len);
/* "addr:port", with brackets for IPv6. */
const char *pc_report_hostport(const struct pc_addr *a, uint16_t port, char *buf, size_t len);
/* One CSV field (RFC 4180) and its separator (',' or, when last, '\n'):
 * sanitised, quoted when needed, a would-be formula defused; NULL is an
 * empty field (csv.c). */
void pc_report_csv_field(FILE *f, const char *s, bool last);

extern const struct pc_report_ops pc_report_table;
extern const struct pc_report_ops pc_report_json;
extern const struct pc_report_ops pc_report_jsonl;
extern const struct pc_report_ops pc_report_csv;
extern const struct pc_report_ops pc_report_nmap_xml;
extern const struct pc_report_ops pc_report_dot;
extern const struct pc_report_ops pc_report_md;
extern const struct pc_report_ops pc_report_html;
extern const struct pc_report_ops pc_report_prom;

#endif
