/*
 * test_report.c - the output formats: JSON contract keys and nulls, jsonl
 * one object per line, CSV quoting and formula injection, and hostile
 * strings (every class the terminal sanitizer replaces, in a process name,
 * a container name, a banner and an imported host name) through the table,
 * CSV, dot and nmap-xml writers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/escape.h"
#include "report/report.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pc_snapshot *sample(void)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus listeners");
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	pc_addr_parse("0.0.0.0", &e->addr);
	e->port = 6379;
	e->bind = PC_BIND_ANY;
	e->netns.inode = 4026531840u;
	e->n_owners = 1;
	e->owners = pc_snapshot_owners(s, 1);
	e->owners[0].pid = 42;
	e->owners[0].comm = pc_snapshot_strdup(s, "evil\x1b[2J\"name");
	e->owners[0].uid = 0;
	e->owners[0].user = "root";
	e = pc_snapshot_add_endpoint(s);
	e->proto = PC_PROTO_TCP;
	e->state = PC_STATE_ESTABLISHED;
	pc_addr_parse("fd00:198:18::1", &e->addr);
	e->port = 5432;
	e->bind = PC_BIND_SPECIFIC;
	e->has_peer = true;
	pc_addr_parse("fd00:198:18::2", &e->peer_addr);
	e->peer_port = 40000;
	pc_snapshot_warn(s, "cannot read /proc/1/fd: permission denied");
	pc_snapshot_finish(s);
	return s;
}

static char *render(const char *fmt, const struct pc_snapshot *s, enum pc_report_view view)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const struct pc_report_ops *ops = pc_report_find(fmt);
	assert_non_null(ops);
	struct pc_report_opts ro = {.view = view, .version = "0.test"};
	assert_int_equal(ops->write(f, s, &ro, false), 0);
	fclose(f);
	return out;
}

static void test_json(void **state)
{
	(void)state;
	struct pc_snapshot *s = sample();
	char *out = render("json", s, PC_VIEW_LISTENERS);
	assert_non_null(strstr(out, "\"portcensus\": \"0.test\""));
	assert_non_null(strstr(out, "\"comm\": \"evil\\u001b[2J\\\"name\""));
	assert_non_null(strstr(out, "\"peer\": null"));
	assert_non_null(strstr(out, "\"address\": \"fd00:198:18::2\""));
	assert_non_null(strstr(out, "\"warnings\": [\n"));
	assert_non_null(strstr(out, "\"unit\": null"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_snapshot_free(s);
}

static void test_jsonl(void **state)
{
	(void)state;
	struct pc_snapshot *s = sample();
	char *out = render("jsonl", s, PC_VIEW_LISTENERS);
	size_t lines = 0;
	for (char *p = out; *p; p++)
		if (*p == '\n')
			lines++;
	assert_int_equal(lines, 2);
	assert_int_equal(out[0], '{');
	assert_non_null(strstr(out, "\"state\":\"established\""));
	free(out);
	pc_snapshot_free(s);
}

static void test_csv(void **state)
{
	(void)state;
	struct pc_snapshot *s = sample();
	char *out = render("csv", s, PC_VIEW_LISTENERS);
	assert_true(strncmp(out, "source,proto,address,port,", 26) == 0);
	assert_non_null(strstr(out, "\"evil?[2J\"\"name\""));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_snapshot_free(s);
}

static void test_table(void **state)
{
	(void)state;
	struct pc_snapshot *s = sample();
	char *out = render("table", s, PC_VIEW_LISTENERS);
	assert_non_null(strstr(out, "PROTO"));
	assert_non_null(strstr(out, "0.0.0.0:6379"));
	assert_non_null(strstr(out, "[fd00:198:18::1]:5432"));
	assert_non_null(strstr(out, "42/evil?[2J\"name"));
	assert_non_null(strstr(out, "warning: cannot read /proc/1/fd"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_snapshot_free(s);
}

/* ---- hostile strings ---- */

/* One sample of each class that must never reach a terminal or a
 * spreadsheet, each behind a visible letter so a test can find it. */
static const char *const hostile_classes[] = {
	"C\x1b[2J",          /* C0: ESC */
	"T\t\r\n",           /* C0: tab, CR, LF */
	"D\x7f",             /* DEL */
	"K\xc2\x9b" "31m",   /* C1: CSI */
	"O\xc2\x9d" "0;x",   /* C1: OSC */
	"R\xe2\x80\xae" "cod", /* RLO */
	"E\xe2\x80\xaa",     /* LRE */
	"I\xe2\x81\xa6" "x\xe2\x81\xa9", /* LRI ... PDI */
	"L\xe2\x80\xa8" "P\xe2\x80\xa9", /* line and paragraph separators */
	"B\xff\xfe\xc3",     /* invalid UTF-8 */
};

static char *hostile(struct pc_snapshot *s, const char *what)
{
	char buf[256];
	size_t o = (size_t)snprintf(buf, sizeof(buf), "%s", what);
	for (size_t i = 0; i < sizeof(hostile_classes) / sizeof(*hostile_classes); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", hostile_classes[i]);
	return pc_snapshot_strdup(s, buf);
}

/* Independent of the sanitizer: walk out as UTF-8 and fail on anything a
 * terminal or a spreadsheet could act on (only '\n' ends lines). */
static void assert_terminal_safe(const char *what, const char *out, bool layout_tabs)
{
	const unsigned char *p = (const unsigned char *)out;
	while (*p) {
		unsigned cp = 0, n = 1;
		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1fu;
			n = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0fu;
			n = 3;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07u;
			n = 4;
		} else {
			fail_msg("%s: invalid UTF-8 byte 0x%02x at %zu", what, *p,
				 (size_t)(p - (const unsigned char *)out));
		}
		for (unsigned i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				fail_msg("%s: broken UTF-8 at %zu", what,
					 (size_t)(p - (const unsigned char *)out));
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		bool bad = (cp < 0x20 && cp != '\n' && !(cp == '\t' && layout_tabs)) || (cp >= 0x7f && cp <= 0x9f) ||
			   (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
			   cp == 0x2028 || cp == 0x2029 || (cp >= 0xd800 && cp <= 0xdfff);
		if (bad)
			fail_msg("%s: U+%04X at %zu", what, cp, (size_t)(p - (const unsigned char *)out));
		p += n;
	}
}

/* A local TCP socket on 198.18.0.1:port owned by pid, in a container. */
static struct pc_endpoint *owned(struct pc_snapshot *s, enum pc_state state, uint16_t port,
				 int pid, const char *comm, const char *ctr_id, const char *ctr)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->proto = PC_PROTO_TCP;
	e->state = state;
	pc_addr_parse("198.18.0.1", &e->addr);
	e->port = port;
	e->bind = PC_BIND_SPECIFIC;
	e->netns.inode = 4026531840u;
	e->n_owners = 1;
	e->owners = pc_snapshot_owners(s, 1);
	e->owners[0].pid = pid;
	e->owners[0].uid = 0;
	e->owners[0].comm = hostile(s, comm);
	e->owners[0].container.id = ctr_id;
	e->owners[0].container.runtime = "docker";
	e->owners[0].container.name = hostile(s, ctr);
	return e;
}

/* A snapshot whose every free-text field is hostile: a listener owned by a
 * process in a container, a client of it (for dot's edges), and a scanned
 * endpoint with an imported host name and a banner. */
static struct pc_snapshot *hostile_sample(void)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus \x1b]0;t\x07");
	struct pc_endpoint *e =
		owned(s, PC_STATE_LISTEN, 5432, 42, "proc", "0123456789abcdef", "ctr");
	e->netns.name = hostile(s, "ns");
	e->owners[0].user = hostile(s, "user");
	e = owned(s, PC_STATE_ESTABLISHED, 40000, 43, "client", "fedcba9876543210", "ctr2");
	e->has_peer = true;
	pc_addr_parse("198.18.0.1", &e->peer_addr);
	e->peer_port = 5432;
	e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_IMPORT;
	e->proto = PC_PROTO_TCP;
	e->state = PC_STATE_OPEN;
	pc_addr_parse("198.18.0.9", &e->addr);
	e->port = 6379;
	e->hostname = hostile(s, "host");
	e->claimed_service = hostile(s, "claim");
	e->recheck = PC_RECHECK_DIFFERENT;
	e->recheck_reason = hostile(s, "reason");
	e->service = pc_snapshot_service(s);
	e->service->name = "redis";
	e->service->product = hostile(s, "banner");
	e->service->version = hostile(s, "ver");
	e->service->banner = hostile(s, "raw");
	pc_snapshot_warn(s, "%s", hostile(s, "warn"));
	pc_snapshot_finish(s);
	return s;
}

static void test_hostile_text(void **state)
{
	(void)state;
	struct pc_snapshot *s = hostile_sample();
	static const struct {
		const char *fmt;
		enum pc_report_view view;
		const char *const want[6]; /* visible, cleaned, in the output */
	} cases[] = {
		{"table", PC_VIEW_LISTENERS, {"42/procC?[2J", "ctrC?[2JT", "userC?[2J"}},
		{"table", PC_VIEW_AUDIT, {"42/procC?[2J", "ctrC?[2JT", "ns"}},
		{"table", PC_VIEW_VERIFY, {"hostC?[2JT???D?K?31mO?0;xR?codE?I?x?L?P?B???",
					   "bannerC?[2J", "claimC?[2J", "reasonC?[2J",
					   "warning: warnC?[2J"}},
		{"csv", PC_VIEW_VERIFY, {"procC?[2J", "bannerC?[2JT???D?K?31m", "verC?[2J",
					 "reasonC?[2J"}},
		/* dot indents with tabs: the hostile tab must still be a '?' */
		{"dot", PC_VIEW_LISTENERS, {"clientC?[2JT???D?K?31mO?0;xR?codE?I?x?L?P?B???",
					    "docker:ctr2C?[2JT"}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = render(cases[i].fmt, s, cases[i].view);
		char what[64];
		snprintf(what, sizeof(what), "%s (view %d)", cases[i].fmt, (int)cases[i].view);
		assert_terminal_safe(what, out, strcmp(cases[i].fmt, "dot") == 0);
		for (size_t k = 0; k < 6 && cases[i].want[k]; k++)
			if (!strstr(out, cases[i].want[k]))
				fail_msg("%s lacks '%s':\n%s", what, cases[i].want[k], out);
		free(out);
	}
	pc_snapshot_free(s);
}

/* A cell that a spreadsheet would evaluate is quoted and made text. */
static void test_csv_formula(void **state)
{
	(void)state;
	static const struct {
		const char *in, *cell;
	} cases[] = {
		{"=cmd|' /C calc'!A0", ",\"'=cmd|' /C calc'!A0\","},
		{"+1+1", ",\"'+1+1\","},
		{"-2+3", ",\"'-2+3\","},
		{"@SUM(A1)", ",\"'@SUM(A1)\","},
		{"\t=1+1", ",?=1+1,"},   /* tab: replaced, so no longer first */
		{"\r=1+1", ",?=1+1,"},   /* CR likewise */
		{"=a,\"b\"", ",\"'=a,\"\"b\"\"\","},
		{"plain", ",plain,"},
		{"a=b", ",a=b,"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pc_snapshot *s = pc_snapshot_new("t");
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		pc_addr_parse("198.18.0.1", &e->addr);
		e->port = 80;
		e->n_owners = 1;
		e->owners = pc_snapshot_owners(s, 1);
		e->owners[0].pid = 7;
		e->owners[0].comm = pc_snapshot_strdup(s, cases[i].in);
		pc_snapshot_finish(s);
		char *out = render("csv", s, PC_VIEW_LISTENERS);
		if (!strstr(out, cases[i].cell))
			fail_msg("'%s' should be written as %s:\n%s", cases[i].in, cases[i].cell, out);
		/* no line of the output starts a cell with a formula character */
		for (char *p = out; *p; p++)
			if ((p == out || p[-1] == ',' || p[-1] == '\n') && strchr("=+-@\t\r", *p))
				fail_msg("a cell starts with '%c':\n%s", *p, out);
		free(out);
		pc_snapshot_free(s);
	}
}

/* nmap-xml: hostile strings must leave a well-formed document (parsed
 * here by expat) with nothing outside printable ASCII in it. */
struct xml_seen {
	int hosts, ports;
	char product[256], hostname[256], args[256];
};

static void XMLCALL xml_start(void *ud, const XML_Char *el, const XML_Char **attr)
{
	struct xml_seen *x = ud;
	x->hosts += strcmp(el, "host") == 0;
	x->ports += strcmp(el, "port") == 0;
	for (size_t i = 0; attr[i]; i += 2) {
		if (strcmp(el, "service") == 0 && strcmp(attr[i], "product") == 0)
			snprintf(x->product, sizeof(x->product), "%s", attr[i + 1]);
		if (strcmp(el, "hostname") == 0 && strcmp(attr[i], "name") == 0)
			snprintf(x->hostname, sizeof(x->hostname), "%s", attr[i + 1]);
		if (strcmp(el, "nmaprun") == 0 && strcmp(attr[i], "args") == 0)
			snprintf(x->args, sizeof(x->args), "%s", attr[i + 1]);
	}
}

static void XMLCALL xml_end(void *ud, const XML_Char *el)
{
	(void)ud;
	(void)el;
}

static void test_nmap_xml_hostile(void **state)
{
	(void)state;
	struct pc_snapshot *s = hostile_sample();
	/* markup in every attribute a peer or a file controls */
	s->endpoints[2].service->product =
		pc_snapshot_strdup(s, "<script>\"a\" & 'b'</script>]]><!--\x1b\xff\xe2\x80\xae");
	s->endpoints[2].hostname = pc_snapshot_strdup(s, "h\"/><host addr=\"8.8.8.8\"/>&amp;\x01");
	char *out = render("nmap-xml", s, PC_VIEW_VERIFY);
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p >= 0x7f)
			fail_msg("byte 0x%02x in nmap-xml at %zu", *p,
				 (size_t)(p - (const unsigned char *)out));
	XML_Parser xp = XML_ParserCreate(NULL);
	struct xml_seen seen = {0};
	XML_SetUserData(xp, &seen);
	XML_SetElementHandler(xp, xml_start, xml_end);
	if (XML_Parse(xp, out, (int)strlen(out), XML_TRUE) != XML_STATUS_OK)
		fail_msg("nmap-xml is not well-formed: %s at line %lu\n%s",
			 XML_ErrorString(XML_GetErrorCode(xp)),
			 (unsigned long)XML_GetCurrentLineNumber(xp), out);
	XML_ParserFree(xp);
	assert_int_equal(seen.hosts, 1); /* the injected <host> stayed text */
	assert_int_equal(seen.ports, 1);
	assert_string_equal(seen.product, "<script>\"a\" & 'b'</script>]]><!--?????");
	assert_non_null(strstr(seen.hostname, "h\"/><host addr=\"8.8.8.8\"/>&amp;?"));
	assert_null(strchr(seen.args, '\x1b'));
	free(out);
	pc_snapshot_free(s);
}

static void test_registry(void **state)
{
	(void)state;
	assert_null(pc_report_find("nope"));
	for (size_t i = 0; pc_report_registry[i]; i++) {
		assert_non_null(pc_report_registry[i]->write);
		assert_ptr_equal(pc_report_find(pc_report_registry[i]->name), pc_report_registry[i]);
	}
}

/* pc_report_escape_write through a memory stream */
static char *escaped(const char *in, const struct pc_report_escape *e)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	pc_report_escape_write(f, in, e);
	assert_int_equal(fclose(f), 0);
	return out;
}

/* The one escaper behind HTML text and nmap XML attributes: each table
 * touches exactly its bytes, in runs or alone, at either end. */
static void test_escape(void **state)
{
	(void)state;
	static const struct {
		const char *in, *html, *xml;
	} cases[] = {
	    {"", "", ""},
	    {"plain text", "plain text", "plain text"},
	    {"<a href=\"x\">&'</a>", "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;",
	     "&lt;a href=&quot;x&quot;&gt;&amp;'&lt;/a&gt;"},
	    {"&&", "&amp;&amp;", "&amp;&amp;"},
	    {"caf\xc3\xa9 \x7f\x01\ttab", "caf\xc3\xa9 \x7f\x01\ttab", "caf?? ???tab"},
	    {"'", "&#39;", "'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *h = escaped(cases[i].in, &pc_report_escape_html);
		char *x = escaped(cases[i].in, &pc_report_escape_xml_attr);
		assert_string_equal(h, cases[i].html);
		assert_string_equal(x, cases[i].xml);
		free(h);
		free(x);
	}
	char *n = escaped(NULL, &pc_report_escape_html);
	assert_string_equal(n, "");
	free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),  cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_csv),   cmocka_unit_test(test_table),
		cmocka_unit_test(test_registry), cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_csv_formula), cmocka_unit_test(test_nmap_xml_hostile),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
