/*
 * fleet_table.c - the table every `fleet` question fills, and its writers.
 *
 * Why it is its own file: the questions (fleet.c) are SQL and column lists;
 * how a row becomes a table cell, a markdown cell, a JSON member, an HTML
 * cell or a Prometheus sample is the same for all of them, so it lives
 * here once. Cells are arena strings or references to strings the caller
 * keeps alive until the table is written (exposure's rows), so a question
 * with 100,000 rows copies nothing it does not have to.
 */
#include "cli/fleet_table.h"
#include "core/json.h"
#include "core/text.h"
#include "report/document.h"

#include <stdlib.h>
#include <string.h>

char **pc_fleet_ft_add(struct ftable *t)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		char **p = realloc(t->rows, nc * sizeof(*p));
		if (!p)
			return NULL;
		t->rows = p;
		t->cap = nc;
	}
	char **row = pc_arena_alloc(&t->arena, (size_t)(t->ncols + t->hidden) * sizeof(*row));
	if (row)
		t->rows[t->n++] = (char *)row;
	return row;
}

int pc_fleet_ft_set(struct ftable *t, char **row, int c, const char *v)
{
	row[c] = pc_arena_strdup(&t->arena, v ? v : "");
	return row[c] ? 0 : PC_ENOMEM;
}

/* A cell that is v itself, not a copy: for strings that live as long as
 * the table (its arena, static text, argv). Cells are never written to
 * once set, so the cast only lets them share the row type. */
void pc_fleet_ft_ref(char **row, int c, const char *v)
{
	row[c] = (char *)(v ? v : "");
}

char **pc_fleet_ft_row(const struct ftable *t, size_t i)
{
	return (char **)t->rows[i];
}

/* v as pc_text_sanitize(v, buf, n) would give it, without the copy when
 * that is v itself: printable ASCII (which it keeps) shorter than n. The
 * table writer asks twice per cell (widths, then text), 85,600 rows x 10
 * for `fleet exposure`. */
static const char *cell_text(const char *v, char *buf, size_t n)
{
	if (!v)
		v = "";
	size_t i = 0;
	while (i < n && v[i] >= 0x20 && v[i] < 0x7f)
		i++;
	return !v[i] && i < n ? v : pc_text_sanitize(v, buf, n);
}

/* s, then spaces up to width, then sep (printf's "%-*s%s" without the
 * format parsing) */
static void put_padded(FILE *f, const char *s, size_t width, const char *sep)
{
	static const char spaces[] = "                                ";
	size_t n = strlen(s);
	fwrite_unlocked(s, 1, n, f);
	while (n < width) {
		size_t k = width - n < sizeof(spaces) - 1 ? width - n : sizeof(spaces) - 1;
		fwrite_unlocked(spaces, 1, k, f);
		n += k;
	}
	fputs_unlocked(sep, f);
}

void pc_fleet_write_table(FILE *f, const struct ftable *t)
{
	size_t w[PC_FLEET_MAX_COLS];
	char cell[256];
	for (int c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->names[c]);
		for (size_t i = 0; i < t->n; i++) {
			size_t n = strlen(cell_text(pc_fleet_ft_row(t, i)[c], cell, 64));
			if (n > w[c])
				w[c] = n;
		}
	}
	for (int c = 0; c < t->ncols; c++)
		put_padded(f, t->names[c], c + 1 < t->ncols ? w[c] : 0,
			   c + 1 < t->ncols ? "  " : "\n");
	/* the last column (a reason) is not padded: it may be longer */
	for (size_t i = 0; i < t->n; i++)
		for (int c = 0; c < t->ncols; c++)
			put_padded(f,
				   cell_text(pc_fleet_ft_row(t, i)[c], cell,
					     c + 1 < t->ncols ? 64 : sizeof(cell)),
				   c + 1 < t->ncols ? w[c] : 0, c + 1 < t->ncols ? "  " : "\n");
}

/* A Markdown cell: sanitized, with | and backslash escaped. */
static void md_cell(FILE *f, const char *s)
{
	char cell[512];
	pc_text_sanitize(s, cell, sizeof(cell));
	for (const char *p = cell; *p; p++) {
		if (*p == '|' || *p == '\\' || *p == '`' || *p == '*' || *p == '_' || *p == '<')
			fputc('\\', f);
		fputc(*p, f);
	}
}

void pc_fleet_write_md(FILE *f, const struct ftable *t)
{
	fputs("|", f);
	for (int c = 0; c < t->ncols; c++)
		fprintf(f, " %s |", t->names[c]);
	fputs("\n|", f);
	for (int c = 0; c < t->ncols; c++)
		fputs(t->numeric[c] ? "---:|" : "---|", f);
	fputc('\n', f);
	for (size_t i = 0; i < t->n; i++) {
		fputs("|", f);
		for (int c = 0; c < t->ncols; c++) {
			fputc(' ', f);
			md_cell(f, pc_fleet_ft_row(t, i)[c]);
			fputs(" |", f);
		}
		fputc('\n', f);
	}
}

void pc_fleet_write_json(FILE *f, const struct ftable *t)
{
	struct pc_json j;
	pc_json_init(&j, f, true);
	/* the keys, lower case, once for all rows */
	char keys[PC_FLEET_MAX_COLS][64];
	size_t key_len[PC_FLEET_MAX_COLS];
	for (int c = 0; c < t->ncols; c++) {
		size_t k = 0;
		for (const char *p = t->names[c]; *p && k + 1 < sizeof(keys[c]); p++)
			keys[c][k++] = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
		keys[c][k] = '\0';
		key_len[c] = k;
	}
	pc_json_begin_array(&j);
	for (size_t i = 0; i < t->n; i++) {
		pc_json_begin_object(&j);
		for (int c = 0; c < t->ncols; c++) {
			pc_json_keyn(&j, keys[c], key_len[c]);
			const char *v = pc_fleet_ft_row(t, i)[c];
			if (t->numeric[c] && *v)
				pc_json_int(&j, strtoll(v, NULL, 10));
			else
				pc_json_string(&j, v);
		}
		pc_json_end_object(&j);
	}
	pc_json_end_array(&j);
	fputc('\n', f);
}

/* A page for a browser: one table, every cell escaped (document.h). */
void pc_fleet_write_html(FILE *f, const struct ftable *t, const char *question)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
	fputs("portcensus fleet ", f);
	pc_report_html_text(f, question);
	fputs("</title>\n<style>body{font-family:sans-serif}table{border-collapse:collapse}"
	      "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
	      "td.n{text-align:right}</style>\n</head><body>\n<h1>portcensus fleet ",
	      f);
	pc_report_html_text(f, question);
	fprintf(f, "</h1>\n<p>%zu row(s)</p>\n<table>\n<thead><tr>", t->n);
	for (int c = 0; c < t->ncols; c++) {
		fputs("<th>", f);
		pc_report_html_text(f, t->names[c]);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (size_t i = 0; i < t->n; i++) {
		fputs("<tr>", f);
		for (int c = 0; c < t->ncols; c++) {
			fputs(t->numeric[c] ? "<td class=\"n\">" : "<td>", f);
			pc_report_html_text(f, pc_fleet_ft_row(t, i)[c]);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n</body></html>\n", f);
}

/* A Prometheus label value: sanitized, with \\, " and newline escaped. */
static void prom_label(FILE *f, const char *s)
{
	char clean[256];
	pc_text_sanitize(s, clean, sizeof(clean));
	for (const char *p = clean; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', f);
		fputc(*p, f);
	}
}

/* The text exposition format: for hosts, one sample per host of its last
 * audit time, audits and staleness; for the other questions, how many
 * rows each host (the first column) has. */
void pc_fleet_write_prom(FILE *f, const struct ftable *t, const char *question, bool hosts)
{
	if (hosts) {
		static const struct {
			const char *name, *help;
			int col;
		} m[] = {
			{"portcensus_fleet_last_audit_timestamp_seconds", "Start of the host's last audit.", 5},
			{"portcensus_fleet_audits", "Audits of the host in the ledger.", 3},
			{"portcensus_fleet_host_stale", "1 when the host is silent longer than --stale.", 6},
		};
		for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
			fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", m[k].name, m[k].help, m[k].name);
			for (size_t i = 0; i < t->n; i++) {
				char **row = pc_fleet_ft_row(t, i);
				fprintf(f, "%s{host_id=\"", m[k].name);
				prom_label(f, row[0]);
				fputs("\",host=\"", f);
				prom_label(f, row[1]);
				fprintf(f, "\"} %s\n", row[m[k].col]);
			}
		}
		return;
	}
	fputs("# HELP portcensus_fleet_rows Rows of a fleet question, by host.\n"
	      "# TYPE portcensus_fleet_rows gauge\n",
	      f);
	/* rows come sorted by the first column for every question but drift
	 * and findings: count runs after a stable pass over the table */
	for (size_t i = 0; i < t->n; i++) {
		const char *key = pc_fleet_ft_row(t, i)[0];
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(pc_fleet_ft_row(t, j)[0], key) == 0;
		if (seen)
			continue;
		size_t n = 0;
		for (size_t j = i; j < t->n; j++)
			n += strcmp(pc_fleet_ft_row(t, j)[0], key) == 0;
		fputs("portcensus_fleet_rows{question=\"", f);
		prom_label(f, question);
		fprintf(f, "\",%s=\"",
			strcmp(t->names[0], "HOST") == 0      ? "host"
			: strcmp(t->names[0], "HOST_ID") == 0 ? "host_id"
							      : "address");
		prom_label(f, key);
		fprintf(f, "\"} %zu\n", n);
	}
}
