/*
 * escape.h - one table-driven escaper for the markup formats.
 *
 * HTML element text (html.c, svg.c, fleet's page) and nmap XML attributes
 * (nmap_xml.c) escape the same metacharacters with the same entities; they
 * differ only in which bytes they touch, so each is a table, not a loop.
 */
#ifndef PC_REPORT_ESCAPE_H
#define PC_REPORT_ESCAPE_H

#include <stdbool.h>
#include <stdio.h>

struct pc_report_escape {
	/* What an ASCII byte becomes; NULL writes the byte itself. */
	const char *entity[128];
	/* Whether every byte outside printable ASCII (0x20..0x7e) becomes '?'
	 * (XML: one control byte would make the file invalid). */
	bool printable_only;
};

/* & < > " ' as entities; other bytes as they are (the text was cleaned
 * by pc_report_doc_clean() first). */
extern const struct pc_report_escape pc_report_escape_html;
/* & < > " as entities, bytes outside printable ASCII as '?'. */
extern const struct pc_report_escape pc_report_escape_xml_attr;

/* Write s (NULL reads as "") to f, escaped by table e. */
void pc_report_escape_write(FILE *f, const char *s, const struct pc_report_escape *e);

#endif
