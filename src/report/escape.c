/*
 * escape.c - the markup escaper shared by the HTML and nmap XML outputs.
 *
 * Both used to carry their own switch over & < > " (and ' for HTML); the
 * entities are the same, so one loop reads a per-format table. Bytes that
 * need nothing are written in runs, not one fputc each: an HTML report of a
 * large network is mostly plain text.
 */
#include "report/escape.h"

/* what both markups escape, the same way */
#define MARKUP_ENTITIES                                                                            \
	['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;"

const struct pc_report_escape pc_report_escape_html = {
    .entity = {MARKUP_ENTITIES, ['\''] = "&#39;"},
    .printable_only = false,
};

const struct pc_report_escape pc_report_escape_xml_attr = {
    .entity = {MARKUP_ENTITIES},
    .printable_only = true,
};

/* the replacement for byte c, or NULL when it is written as it is */
static const char *replacement(unsigned char c, const struct pc_report_escape *e)
{
	if (e->printable_only && (c < 0x20 || c >= 0x7f))
		return "?";
	return c < 128 ? e->entity[c] : NULL;
}

void pc_report_escape_write(FILE *f, const char *s, const struct pc_report_escape *e)
{
	const unsigned char *run = (const unsigned char *)(s ? s : "");
	const unsigned char *p = run;
	for (; *p; p++) {
		const char *r = replacement(*p, e);
		if (!r)
			continue;
		fwrite(run, 1, (size_t)(p - run), f);
		fputs(r, f);
		run = p + 1;
	}
	fwrite(run, 1, (size_t)(p - run), f);
}
