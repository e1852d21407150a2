/*
 * diff.c - `portcensus diff [A [B]]`: drift between two stored snapshots.
 *
 * The store computes the changes (a join of the two snapshots on the
 * endpoints' identity key, ledger/identity.c); this file picks the two
 * snapshots and writes the changes as a table, json, jsonl (one change per
 * line with its `action`) or md. Exit 1 when there is drift, so a pipeline
 * can react; 0 when there is none.
 */
#include "cli/cli.h"
#include "cli/ledger_opts.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: portcensus diff [A [B]] [--db PATH] [--format table|json|jsonl|md]\n"
	"\n"
	"Show what changed from snapshot A to snapshot B: each endpoint added,\n"
	"removed, or changed (executable, unit, container image, service, auth,\n"
	"bind scope, state, severity, policy verdict: before -> after). A pid\n"
	"alone is not drift. Endpoints are matched on a stable identity: host,\n"
	"pod, namespace or container name, proto, bind address, port; network-\n"
	"side records on scanned address, proto, port.\n"
	"\n"
	"Without A and B: the latest snapshot against the one before it of the\n"
	"same host and scope (everything is added when there is none). With A\n"
	"only, B is the latest. A and B are ids, latest, latest~N, times\n"
	"(2026-12-01, 2026-12-01T10:00:00Z: the last snapshot started at or\n"
	"before it) or ages (-7d, -12h).\n"
	"\n"
	"Exit status: 0 no drift, 1 drift, 2 usage, 3 ledger failure.\n"
	"\n"
	"Options:\n"
	"  --db PATH         the ledger (default as for `audit`)\n";

enum diff_format { DF_TABLE, DF_JSON, DF_JSONL, DF_MD };

static void json_change(struct pc_json *j, const struct pc_ledger_change *c)
{
	pc_json_begin_object(j);
	pc_json_key(j, "action");
	pc_json_string(j, pc_ledger_action_name(c->action));
	pc_json_key(j, "identity");
	pc_json_string(j, c->ident);
	pc_json_key(j, "source");
	pc_json_string(j, c->source);
	pc_json_key(j, "host");
	pc_json_string(j, c->host);
	pc_json_key(j, "namespace");
	pc_json_string(j, c->namespace_id);
	pc_json_key(j, "proto");
	pc_json_string(j, c->proto);
	pc_json_key(j, "address");
	pc_json_string(j, c->address);
	pc_json_key(j, "port");
	pc_json_uint(j, c->port);
	if (c->hostname) {
		pc_json_key(j, "hostname");
		pc_json_string(j, c->hostname);
	}
	pc_json_key(j, "owner");
	pc_json_string(j, c->now.owner);
	pc_json_key(j, "values");
	pc_json_begin_object(j);
	for (int f = 0; f < PC_DRIFT_COUNT; f++) {
		pc_json_key(j, pc_ledger_drift_name((enum pc_ledger_drift_field)f));
		pc_json_string(j, c->now.v[f]);
	}
	pc_json_end_object(j);
	if (c->action == PC_CHANGE_CHANGED) {
		pc_json_key(j, "changes");
		pc_json_begin_object(j);
		for (int f = 0; f < PC_DRIFT_COUNT; f++) {
			if (!c->differs[f])
				continue;
			pc_json_key(j, pc_ledger_drift_name((enum pc_ledger_drift_field)f));
			pc_json_begin_object(j);
			pc_json_key(j, "before");
			pc_json_string(j, c->before.v[f]);
			pc_json_key(j, "after");
			pc_json_string(j, c->now.v[f]);
			pc_json_end_object(j);
		}
		pc_json_end_object(j);
	}
	pc_json_end_object(j);
}

/* "tcp 0.0.0.0:22" with brackets for IPv6 */
static const char *where(const struct pc_ledger_change *c, char *buf, size_t len)
{
	char a[128];
	pc_text_sanitize(c->address ? c->address : "-", a, sizeof(a));
	if (strchr(a, ':'))
		snprintf(buf, len, "%s [%s]:%u", c->proto, a, c->port);
	else
		snprintf(buf, len, "%s %s:%u", c->proto, a, c->port);
	return buf;
}

/* Copy clean (already sanitized) into buf, with '|' escaped for md;
 * returns the length written. */
static size_t escape_md(const char *clean, bool md, char *buf, size_t len)
{
	size_t k = 0;
	for (const char *p = clean; *p && k + 2 < len; p++) {
		if (md && *p == '|')
			buf[k++] = '\\';
		buf[k++] = *p;
	}
	buf[k] = '\0';
	return k;
}

/* What changed, "exe: /a -> /b; image: x -> y", or for added/removed the
 * service; sanitized for a terminal, '|' escaped for md. */
static const char *details(const struct pc_ledger_change *c, bool md, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = '\0';
	if (c->action != PC_CHANGE_CHANGED) {
		const char *svc = c->now.v[PC_DRIFT_SERVICE];
		const char *sev = c->now.v[PC_DRIFT_SEVERITY];
		snprintf(buf, len, "%s%s%s", svc ? svc : "-", sev ? ", " : "", sev ? sev : "");
	} else {
		for (int f = 0; f < PC_DRIFT_COUNT && k < len; f++) {
			if (!c->differs[f])
				continue;
			const char *b = c->before.v[f], *a = c->now.v[f];
			int n = snprintf(buf + k, len - k, "%s%s: %s -> %s", k ? "; " : "",
					 pc_ledger_drift_name((enum pc_ledger_drift_field)f),
					 b ? b : "-", a ? a : "-");
			if (n < 0)
				break;
			k += (size_t)n;
		}
	}
	char clean[1024];
	pc_text_sanitize(buf, clean, sizeof(clean));
	escape_md(clean, md, buf, len);
	return buf;
}

static const char *clean_md(const char *s, bool md, char *buf, size_t len)
{
	char clean[512];
	pc_text_sanitize(s ? s : "", clean, sizeof(clean));
	size_t k = escape_md(clean, md, buf, len);
	if (!k && len > 1)
		snprintf(buf, len, "-");
	return buf;
}

static void write_text(FILE *f, const struct pc_ledger_diff *d, const size_t n[3], bool md)
{
	if (md) {
		fprintf(f, "# Drift: snapshot %lld -> %lld\n\n", (long long)d->a, (long long)d->b);
		fprintf(f, "%zu added, %zu removed, %zu changed\n\n", n[0], n[1], n[2]);
		if (!d->n_changes)
			return;
		fputs("| Action | Endpoint | Namespace | Owner | What |\n"
		      "|---|---|---|---|---|\n",
		      f);
	} else if (d->n_changes) {
		fprintf(f, "%-8s %-28s %-16s %-20s %s\n", "ACTION", "ENDPOINT", "NAMESPACE",
			"OWNER", "WHAT");
	}
	for (size_t i = 0; i < d->n_changes; i++) {
		const struct pc_ledger_change *c = &d->changes[i];
		char w[200], ns[200], owner[200], det[1024];
		where(c, w, sizeof(w));
		clean_md(c->source && strcmp(c->source, "host") == 0 ? c->namespace_id : c->source,
			 md, ns, sizeof(ns));
		clean_md(c->now.owner, md, owner, sizeof(owner));
		details(c, md, det, sizeof(det));
		if (md)
			fprintf(f, "| %s | %s | %s | %s | %s |\n", pc_ledger_action_name(c->action),
				w, ns, owner, det);
		else
			fprintf(f, "%-8s %-28s %-16s %-20s %s\n", pc_ledger_action_name(c->action),
				w, ns, owner, det);
	}
	if (!md) {
		if (d->n_changes)
			fprintf(f, "\n");
		fprintf(f, "snapshot %lld -> %lld: %zu added, %zu removed, %zu changed\n",
			(long long)d->a, (long long)d->b, n[0], n[1], n[2]);
	}
}

static void write_json(FILE *f, const struct pc_ledger_diff *d, const size_t n[3])
{
	struct pc_json j;
	pc_report_json_begin(&j, f, PC_VERSION, NULL);
	pc_json_key(&j, "from");
	if (d->a)
		pc_json_int(&j, d->a);
	else
		pc_json_null(&j);
	pc_json_key(&j, "to");
	pc_json_int(&j, d->b);
	pc_json_key(&j, "summary");
	pc_json_begin_object(&j);
	pc_json_key(&j, "added");
	pc_json_uint(&j, n[0]);
	pc_json_key(&j, "removed");
	pc_json_uint(&j, n[1]);
	pc_json_key(&j, "changed");
	pc_json_uint(&j, n[2]);
	pc_json_end_object(&j);
	pc_json_key(&j, "changes");
	pc_json_begin_array(&j);
	for (size_t i = 0; i < d->n_changes; i++)
		json_change(&j, &d->changes[i]);
	pc_json_end_array(&j);
	pc_json_end_object(&j);
	fputc('\n', f);
}

static int run(struct pc_cli *cli, int argc, char **argv)
{
	const char *db = NULL;
	int arc = pc_cli_ledger_args(cli, argc, argv, usage, &db, NULL);
	if (arc >= 0)
		return arc;
	if (argc - optind > 2)
		return pc_cli_usage_error(cli, "diff takes at most two snapshots (got '%s' too)",
					  argv[optind + 2]);
	const char *format = cli->format ? cli->format : "table";
	enum diff_format df;
	if (strcmp(format, "table") == 0)
		df = DF_TABLE;
	else if (strcmp(format, "json") == 0)
		df = DF_JSON;
	else if (strcmp(format, "jsonl") == 0)
		df = DF_JSONL;
	else if (strcmp(format, "md") == 0)
		df = DF_MD;
	else
		return pc_cli_usage_error(cli, "diff writes table, json, jsonl or md, not '%s'",
					  format);
	struct pc_error err = {0};
	int64_t now = pc_now_ms();
	struct pc_ledger_find qa = {0}, qb = {.kind = PC_LEDGER_FIND_NTH_LATEST};
	bool have_a = optind < argc;
	if (have_a && pc_ledger_parse_selector(argv[optind], now, &qa, &err) < 0)
		return pc_cli_fail(cli, &err);
	if (argc - optind == 2 && pc_ledger_parse_selector(argv[optind + 1], now, &qb, &err) < 0)
		return pc_cli_fail(cli, &err);

	struct pc_ledger *l;
	int rc = pc_cli_ledger_open(cli, db, &l);
	if (rc)
		return rc;
	int64_t a = 0, b = 0;
	struct pc_ledger_diff d;
	pc_ledger_diff_init(&d);
	int r = pc_ledger_resolve(l, &qb, &b, &err);
	if (r == 0 && have_a) {
		r = pc_ledger_resolve(l, &qa, &a, &err);
	} else if (r == 0) {
		struct pc_ledger_find prev = {.kind = PC_LEDGER_FIND_PREV_SCOPE, .id = b};
		r = l->ops->find(l, &prev, &a, &err);
		if (r == -ENOENT) { /* the first audit of its scope: all is new */
			a = 0;
			r = 0;
		}
	}
	if (r == 0)
		r = l->ops->diff(l, a, b, &d, &err);
	pc_ledger_close(l);
	if (r < 0) {
		pc_ledger_diff_free(&d);
		return pc_cli_fail(cli, &err);
	}
	size_t n[3] = {0};
	for (size_t i = 0; i < d.n_changes; i++)
		n[d.changes[i].action]++;
	FILE *f = pc_cli_open_output(cli);
	if (!f) {
		pc_ledger_diff_free(&d);
		return PC_EXIT_RUNTIME;
	}
	switch (df) {
	case DF_TABLE:
	case DF_MD:
		write_text(f, &d, n, df == DF_MD);
		break;
	case DF_JSON:
		write_json(f, &d, n);
		break;
	case DF_JSONL:
		for (size_t i = 0; i < d.n_changes; i++) {
			struct pc_json j;
			pc_json_init(&j, f, false);
			json_change(&j, &d.changes[i]);
			fputc('\n', f);
		}
		break;
	}
	rc = d.n_changes ? PC_EXIT_FINDINGS : PC_EXIT_OK;
	pc_ledger_diff_free(&d);
	/* close keeps the file only on 0; drift is a result, not a failure */
	int crc = pc_cli_finish_output(cli, f, NULL, NULL, 0);
	return crc ? crc : rc;
}

const struct pc_cli_command pc_cmd_diff = {
	.name = "diff",
	.summary = "drift between two stored snapshots (exit 1 on drift)",
	.usage = usage,
	.run = run,
};
