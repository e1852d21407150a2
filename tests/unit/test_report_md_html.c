/*
 * test_report_md_html.c - the md and html formats: golden files for a
 * hand-built snapshot (report_sample.c), clean output when nothing is
 * classified or judged, hostile strings that must never reach either
 * document unescaped, and the CSP hashes of the page's own style and script.
 *
 * PC_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing (then
 * read the diff before committing it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/report.h"
#include "report_sample.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(const char *fmt, const struct pc_snapshot *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	const struct pc_report_ops *ops = pc_report_find(fmt);
	assert_non_null(ops);
	struct pc_report_opts ro = {.view = PC_VIEW_AUDIT, .version = "0.test"};
	assert_int_equal(ops->write(f, s, &ro, false), 0);
	assert_int_equal(fclose(f), 0);
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static void golden(const char *fmt, const char *file)
{
	struct pc_snapshot *s = pc_test_report_sample(false);
	char *out = render(fmt, s);
	char *again = render(fmt, s);
	assert_string_equal(out, again); /* deterministic */
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", PC_TEST_DATA, file);
	const char *update = getenv("PC_UPDATE_GOLDEN");
	if (update && strcmp(update, "1") == 0) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fputs(out, f);
		assert_int_equal(fclose(f), 0);
	}
	char *want = slurp(path);
	assert_non_null(want);
	if (strcmp(want, out) != 0) {
		/* name the first differing line, so a failure is readable */
		size_t line = 1, i = 0;
		while (want[i] && want[i] == out[i])
			line += want[i++] == '\n';
		fail_msg("%s differs from %s at line %zu", fmt, path, line);
	}
	free(want);
	free(out);
	free(again);
	pc_snapshot_free(s);
}

static void test_md_golden(void **state)
{
	(void)state;
	golden("md", "report_sample.md");
}

static void test_html_golden(void **state)
{
	(void)state;
	golden("html", "report_sample.html");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* No C0 control but \n, no DEL, no C1 control, no bidi or line separator,
 * valid UTF-8 only. */
static void assert_plain_text(const char *out)
{
	const unsigned char *p = (const unsigned char *)out;
	for (size_t i = 0; p[i]; i++) {
		if (p[i] < 0x20 && p[i] != '\n')
			fail_msg("control byte 0x%02x at offset %zu", p[i], i);
		if (p[i] == 0x7f)
			fail_msg("DEL at offset %zu", i);
		if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] < 0xa0)
			fail_msg("C1 control at offset %zu", i);
		if (p[i] == 0xe2 && p[i + 1] == 0x80 && p[i + 2] >= 0xa8 && p[i + 2] <= 0xae)
			fail_msg("bidi override or line separator at offset %zu", i);
		if (p[i] == 0xe2 && p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)
			fail_msg("bidi isolate at offset %zu", i);
	}
}

static void test_md_hostile(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_test_report_sample(true);
	char *out = render("md", s);
	assert_plain_text(out);
	/* the hostile text, escaped: every markup character behind a backslash,
	 * the controls and bidi characters replaced by '?' */
	const char *escaped =
	    "\\<script\\>alert(1)\\</script\\>\"' onerror=x \\|\\`x\\`\\*\\_\\[a\\](b)"
	    "\\&amp;?\\[31m????\\#\\$\\~\\\\";
	assert_true(count(out, escaped) >= 10);
	/* the container's image follows its (capped) name, escaped the same way */
	char img[512];
	snprintf(img, sizeof(img), " (%s)", escaped);
	assert_int_equal(count(out, img), 2); /* needs attention, listeners table */
	/* a '<' is escaped, or opens one of our own autolinks */
	for (const char *p = strchr(out, '<'); p; p = strchr(p + 1, '<'))
		if (p[-1] != '\\' && strncmp(p, "<https://wiki.example.internal/", 31) != 0)
			fail_msg("unescaped '<' at offset %td", p - out);
	/* every table row of a listener group has exactly its 11 unescaped
	 * pipes, whatever the cells held */
	for (char *line = out; line && *line;) {
		char *end = strchr(line, '\n');
		if (line[0] == '|' && strncmp(line, "| Proto", 7) == 0) {
			/* header: the rows below it */
			line = strchr(end + 1, '\n') + 1;
			while (line[0] == '|') {
				size_t pipes = 0;
				/* a cell never ends in a backslash: a space follows it */
				for (char *p = line; *p != '\n'; p++)
					pipes += *p == '|' && (p == line || p[-1] != '\\');
				assert_int_equal(pipes, 11);
				line = strchr(line, '\n') + 1;
			}
			continue;
		}
		line = end ? end + 1 : NULL;
	}
	/* a backtick never appears unescaped (no code span can open) */
	for (const char *p = strchr(out, '`'); p; p = strchr(p + 1, '`'))
		assert_int_equal(p[-1], '\\');
	/* the javascript: doc link stays text; the https one is a link */
	assert_null(strstr(out, "<javascript:"));
	assert_non_null(strstr(out, "javascript:alert(1)"));
	assert_non_null(strstr(out, "<https://wiki.example.internal/ports/redis>"));
	free(out);
	pc_snapshot_free(s);
}

/* Every tag in the page is one html.c or svg.c writes, and none has an
 * event handler attribute: no text became markup. */
static void assert_tags_allowed(const char *out)
{
	static const char *const allowed[] = {
	    "!DOCTYPE", "html",   "head",   "meta",   "title",  "style",  "body",
	    "header",   "h1",     "h2",     "h3",     "p",      "main",   "section",
	    "div",      "span",   "table",  "thead",  "tbody",  "tr",     "th",
	    "td",       "ul",     "li",     "b",      "br",     "code",   "label",
	    "input",    "select", "option", "svg",    "defs",   "marker", "path",
	    "text",     "g",      "rect",   "footer", "script", NULL};
	for (const char *p = strchr(out, '<'); p; p = strchr(p + 1, '<')) {
		const char *n = p + 1 + (p[1] == '/');
		size_t len =
		    strspn(n, "!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
		if (len == 0)
			continue; /* "<" in the script or a style: not a tag */
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strlen(allowed[i]) == len && strncmp(allowed[i], n, len) == 0;
		if (!ok)
			fail_msg("unexpected tag <%.*s> at offset %td", (int)len, n, p - out);
		const char *end = strchr(p, '>');
		assert_non_null(end);
		for (const char *q = p; q < end; q++)
			if (q[0] == ' ' && q[1] == 'o' && q[2] == 'n' && q + 3 < end &&
			    strspn(q + 3, "abcdefghijklmnopqrstuvwxyz") > 0 &&
			    q[3 + strspn(q + 3, "abcdefghijklmnopqrstuvwxyz")] == '=')
				fail_msg("event handler attribute in <%.*s> at offset %td",
				         (int)len, n, q - out);
	}
}

static void test_html_hostile(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_test_report_sample(true);
	char *out = render("html", s);
	assert_plain_text(out);
	const char *escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39; onerror=x "
	                      "|`x`*_[a](b)&amp;amp;?[31m????#$~\\";
	/* host (title, h1, groups), comm, product, container, hostname, rule,
	 * reason, finding, warning */
	assert_true(count(out, escaped) >= 10);
	char img[512];
	snprintf(img, sizeof(img), " (%s)</td>", escaped);
	assert_int_equal(count(out, img), 2); /* needs attention, listeners table */
	assert_int_equal(count(out, "<script"), 1); /* ours, at the end */
	assert_tags_allowed(out);
	assert_null(strstr(out, "onerror=x>"));
	assert_null(strstr(out, "\"' onerror"));
	assert_null(strstr(out, "href="));
	assert_null(strstr(out, "src="));
	assert_null(strstr(out, "http://"));
	assert_non_null(strstr(out, "<td>javascript:alert(1)</td>"));
	/* the map's edge through NAT: its tooltip names the namespace that
	 * translated it (the hostile name, escaped); the label on the arrow
	 * holds only the front's address and the kind */
	char tip[512];
	snprintf(tip, sizeof(tip), "(dnat), translated in netns %s; the server saw", escaped);
	assert_int_equal(count(out, tip), 1);
	assert_int_equal(count(out, ">via 198.18.60.1:8080 (dnat)</text>"), 1);
	free(out);
	pc_snapshot_free(s);
}

/* The map draws an edge joined through NAT with its front, as dot does: a
 * label at the middle of the arrow and a tooltip (<title> in the path) that
 * adds where it was translated and what the server saw; a direct edge has
 * neither. (The golden file holds the whole picture; this says what in it
 * matters.) */
static void test_html_map_via(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_test_report_sample(false);
	char *out = render("html", s);
	const char *map = strstr(out, "<svg id=\"connections\"");
	assert_non_null(map);
	assert_non_null(strstr(map, "<path class=\"edge nat\" "));
	assert_non_null(strstr(map, "marker-end=\"url(#arrow)\"><title>via 198.18.60.1:8080 "
	                            "(dnat), translated in netns gw; the server saw the client "
	                            "as 198.18.61.1</title></path><text class=\"via\" "));
	assert_non_null(strstr(map, "paint-order=\"stroke\">via 198.18.60.1:8080 (dnat)</text>"));
	/* one edge through NAT among three: one via, one tooltip (the other
	 * <title> is the page's) */
	assert_int_equal(count(map, "class=\"edge"), 3);
	assert_int_equal(count(map, "class=\"via\""), 1);
	assert_int_equal(count(out, "<title>"), 2);
	/* its client is php-fpm in app, its server httpd in web, not a half */
	assert_non_null(strstr(map, ">httpd (pid 1400)</text>"));
	assert_null(strstr(map, "198.18.60.1:8080, "));
	free(out);
	pc_snapshot_free(s);
}

/* A snapshot nobody classified or judged renders "not classified" and
 * "not judged", never a severity or a verdict it does not have. */
static void test_unjudged(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("portcensus listeners");
	s->host = "h1";
	s->started_at_ms = 1796000000000;
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	pc_addr_parse("127.0.0.1", &e->addr);
	e->port = 25;
	char *md = render("md", s);
	assert_non_null(strstr(md, "| tcp | 127.0.0.1:25 | - | - | - | not classified | not judged "
	                           "| - | - | - |"));
	assert_non_null(strstr(md, "No policy was evaluated"));
	assert_non_null(strstr(md, "No listener is classified"));
	assert_non_null(strstr(md, "| not classified | 1 |"));
	assert_non_null(strstr(md, "finished -."));
	char *html = render("html", s);
	assert_non_null(strstr(html, "<span class=\"sev\">not classified</span>"));
	assert_non_null(strstr(html, "<td class=\"nw\">not judged</td>"));
	assert_non_null(strstr(html, "id=\"map-empty\""));
	assert_null(strstr(html, "<svg"));
	free(md);
	free(html);
	pc_snapshot_free(s);

	s = pc_snapshot_new("portcensus listeners");
	s->host = "empty";
	md = render("md", s);
	html = render("html", s);
	assert_non_null(strstr(md, "## Listeners\n\nNone."));
	assert_non_null(strstr(html, "<p>No listener.</p>"));
	free(md);
	free(html);
	pc_snapshot_free(s);
}

static void sha256_b64(const char *s, size_t len, char out[64])
{
	unsigned char md[32];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(s, len, md, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	EVP_EncodeBlock((unsigned char *)out, md, 32);
}

/* The CSP allows the page's own <style> and <script> by hash: both must
 * match the bytes written, or the browser would refuse them. */
static void test_csp_hashes(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_test_report_sample(false);
	char *out = render("html", s);
	const char *tags[2][3] = {{"<style>", "</style>", "style-src 'sha256-"},
	                          {"<script>", "</script>", "script-src 'sha256-"}};
	for (int t = 0; t < 2; t++) {
		char *a = strstr(out, tags[t][0]);
		assert_non_null(a);
		a += strlen(tags[t][0]);
		char *b = strstr(a, tags[t][1]);
		assert_non_null(b);
		char want[64], csp[80];
		sha256_b64(a, (size_t)(b - a), want);
		snprintf(csp, sizeof(csp), "%s%s'", tags[t][2], want);
		if (!strstr(out, csp))
			fail_msg("the CSP does not allow the page's %s (sha256 %s)", tags[t][0],
			         want);
	}
	assert_non_null(strstr(out, "default-src 'none'"));
	free(out);
	pc_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_md_golden),    cmocka_unit_test(test_html_golden),
	    cmocka_unit_test(test_md_hostile),   cmocka_unit_test(test_html_hostile),
	    cmocka_unit_test(test_unjudged),     cmocka_unit_test(test_csp_hashes),
	    cmocka_unit_test(test_html_map_via),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
