/*
 * test_jsonparse.c - the strict JSON reader: what it accepts, what it
 * refuses, and that every refusal points at the right line and column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/jsonparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pc_jdoc *ok(const char *text)
{
	struct pc_jdoc *doc = NULL;
	struct pc_error err = {0};
	int r = pc_jparse(text, strlen(text), NULL, &doc, NULL, &err);
	if (r < 0)
		fail_msg("'%s' refused: %d:%d: %s", text, err.line, err.col, err.msg);
	assert_non_null(doc);
	return doc;
}

/* text must be refused at line:col with a message containing what */
static void bad(const char *text, size_t len, int line, int col, const char *what)
{
	struct pc_jdoc *doc = NULL;
	struct pc_error err = {0};
	struct pc_jparse_opts o = {.file = "t.json"};
	int r = pc_jparse(text, len, &o, &doc, NULL, &err);
	if (r >= 0)
		fail_msg("'%s' accepted", text);
	assert_null(doc);
	assert_int_equal(r, PC_EPARSE);
	assert_string_equal(err.file, "t.json");
	if (err.line != line || err.col != col || !strstr(err.msg, what))
		fail_msg("'%s': got %d:%d: %s, want %d:%d: ...%s...", text, err.line, err.col,
			 err.msg, line, col, what);
}

#define BAD(text, line, col, what) bad(text, sizeof(text) - 1, line, col, what)

static void test_values(void **state)
{
	(void)state;
	struct pc_jdoc *d = ok(" {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {}} ");
	const struct pc_jval *r = d->root;
	assert_int_equal(r->type, PC_JOBJECT);
	assert_int_equal(r->n, 2);
	const struct pc_jval *a = pc_jval_get(r, "a");
	assert_non_null(a);
	assert_int_equal(a->type, PC_JARRAY);
	assert_int_equal(a->n, 6);
	assert_int_equal(a->kids[0].type, PC_JNUMBER);
	assert_string_equal(a->kids[1].str, "-2.5e3");
	assert_true(a->kids[2].boolean);
	assert_false(a->kids[3].boolean);
	assert_int_equal(a->kids[4].type, PC_JNULL);
	assert_string_equal(pc_jval_str(&a->kids[5]), "x");
	assert_int_equal(pc_jval_get(r, "b")->n, 0);
	assert_null(pc_jval_get(r, "c"));
	assert_null(pc_jval_get(a, "a")); /* not an object */
	uint64_t v;
	assert_true(pc_jval_uint(&a->kids[0], 10, &v));
	assert_int_equal(v, 1);
	assert_false(pc_jval_uint(&a->kids[1], 100000, &v)); /* negative, exponent */
	pc_jdoc_free(d);
	pc_jdoc_free(NULL);
}

static void test_positions(void **state)
{
	(void)state;
	struct pc_jdoc *d = ok("{\n  \"port\": 80,\n  \"x\":\n\t\"y\"\n}");
	const struct pc_jval *p = pc_jval_get(d->root, "port");
	assert_int_equal(p->line, 2);
	assert_int_equal(p->col, 11);
	assert_int_equal(p->key_line, 2);
	assert_int_equal(p->key_col, 3);
	const struct pc_jval *x = pc_jval_get(d->root, "x");
	assert_int_equal(x->line, 4);
	assert_int_equal(x->col, 2);
	pc_jdoc_free(d);
	/* first_line: positions in a JSON Lines file */
	struct pc_jparse_opts o = {.first_line = 41};
	struct pc_error err = {0};
	assert_int_equal(pc_jparse("{\"a\" 1}", 7, &o, &d, NULL, &err), PC_EPARSE);
	assert_int_equal(err.line, 41);
	assert_int_equal(err.col, 6);
}

static void test_strings(void **state)
{
	(void)state;
	struct pc_jdoc *d = ok("[\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\\ud83d\\ude00\", "
			       "\"caf\xc3\xa9\", \"nul\\u0000x\"]");
	const struct pc_jval *a = d->root;
	assert_string_equal(a->kids[0].str, "a\"\\/\b\f\n\r\t");
	assert_string_equal(a->kids[1].str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_string_equal(a->kids[2].str, "caf\xc3\xa9");
	assert_int_equal(a->kids[3].len, 5);
	assert_null(pc_jval_str(&a->kids[3])); /* holds a NUL: not a C string */
	pc_jdoc_free(d);
}

static void test_strictness(void **state)
{
	(void)state;
	BAD("", 1, 1, "empty input");
	BAD("   \n  ", 2, 3, "empty input");
	BAD("[1,]", 1, 4, "trailing comma");
	BAD("{\"a\":1,}", 1, 8, "trailing comma");
	BAD("[01]", 1, 2, "leading zero");
	BAD("[-]", 1, 3, "expected a digit");
	BAD("[1.]", 1, 4, "after '.'");
	BAD("[1e]", 1, 4, "exponent");
	BAD("[NaN]", 1, 2, "unexpected 'N'");
	BAD("[+1]", 1, 2, "unexpected '+'");
	BAD("{a:1}", 1, 2, "a string key");
	BAD("{\"a\" 1}", 1, 6, "':' after key");
	BAD("{\"a\":1 \"b\":2}", 1, 8, "',' or '}'");
	BAD("[1 2]", 1, 4, "',' or ']'");
	BAD("[1] x", 1, 5, "end of input after the JSON value");
	BAD("// c\n[1]", 1, 1, "unexpected '/'");
	BAD("[tru]", 1, 2, "a JSON value");
	BAD("\"abc", 1, 1, "unterminated string");
	BAD("[\"a\tb\"]", 1, 4, "control character");
	BAD("[\"a\nb\"]", 1, 4, "control character");
	BAD("[\"\\x\"]", 1, 3, "invalid escape");
	BAD("[\"\\u12\"]", 1, 3, "4 hex digits");
	BAD("[\"\\udc00\"]", 1, 3, "lone low surrogate");
	BAD("[\"\\ud800x\"]", 1, 3, "high surrogate");
	BAD("[\"\\ud800\\u0041\"]", 1, 3, "high surrogate");
	BAD("[\"\xff\"]", 1, 3, "invalid UTF-8");
	BAD("[\"\xc0\xaf\"]", 1, 3, "invalid UTF-8"); /* overlong '/' */
	BAD("[\"\xed\xa0\x80\"]", 1, 3, "invalid UTF-8"); /* encoded surrogate */
	BAD("{\"a\":1,\n \"b\":2,\n \"a\":3}", 3, 2, "duplicate key 'a'");
	BAD("[1,\n\n   {\"p\": }]", 3, 10, "a JSON value");
	bad("[1,\0 2]", 7, 1, 4, "unexpected byte 0x00");
}

static void test_depth_and_size(void **state)
{
	(void)state;
	/* nesting: 64 levels pass, 65 fail (default cap) */
	char deep[200];
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	struct pc_jdoc *d = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_jparse(deep, 128, NULL, &d, NULL, &err), 0);
	pc_jdoc_free(d);
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	bad(deep, 130, 1, 65, "nesting deeper than 64");
	/* a very deep input fails fast instead of using the stack */
	size_t n = 1000000;
	char *huge = malloc(n);
	assert_non_null(huge);
	memset(huge, '[', n);
	bad(huge, n, 1, 65, "nesting deeper");
	free(huge);
	/* size cap */
	struct pc_jparse_opts o = {.max_size = 4};
	assert_int_equal(pc_jparse("[1,2]", 5, &o, &d, NULL, &err), PC_ETOOBIG);
	/* numbers: long digit strings are refused, huge values are text */
	char num[300];
	memset(num, '9', sizeof(num));
	bad(num, sizeof(num), 1, 1, "number too long");
	d = ok("[184467440737095516160]");
	uint64_t v;
	assert_false(pc_jval_uint(&d->root->kids[0], UINT64_MAX, &v)); /* overflow */
	pc_jdoc_free(d);
	d = ok("[18446744073709551615]");
	assert_true(pc_jval_uint(&d->root->kids[0], UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
	pc_jdoc_free(d);
}

static void test_trailing(void **state)
{
	(void)state;
	struct pc_jparse_opts o = {.allow_trailing = true};
	struct pc_jdoc *d = NULL;
	struct pc_error err = {0};
	size_t used = 0;
	const char *t = "{\"a\":1}\n{\"a\":2}\n";
	assert_int_equal(pc_jparse(t, strlen(t), &o, &d, &used, &err), 0);
	assert_int_equal(used, 7);
	pc_jdoc_free(d);
}

static void test_many_members(void **state)
{
	(void)state;
	/* 20,000 distinct keys: the duplicate check must stay fast */
	size_t cap = 20000 * 16 + 16;
	char *t = malloc(cap);
	assert_non_null(t);
	size_t o = 0;
	t[o++] = '{';
	for (int i = 0; i < 20000; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s\"k%d\":%d", i ? "," : "", i, i);
	t[o++] = '}';
	struct pc_jdoc *d = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_jparse(t, o, NULL, &d, NULL, &err), 0);
	assert_int_equal(d->root->n, 20000);
	pc_jdoc_free(d);
	free(t);
}

struct seen {
	size_t n;
	uint64_t sum;
	int fail_at;
	struct pc_error *err;
};

static int on_elem(void *ctx, const struct pc_jval *e)
{
	struct seen *s = ctx;
	s->n++;
	uint64_t v = 0;
	const struct pc_jval *x = pc_jval_get(e, "x");
	if (x && pc_jval_uint(x, 1000000, &v))
		s->sum += v;
	if (s->fail_at && (int)s->n == s->fail_at)
		return pc_error_set_at(s->err, PC_EPARSE, "t", e->line, e->col, "stop here");
	return 0;
}

static void test_streaming(void **state)
{
	(void)state;
	struct pc_error err = {0};
	struct seen s = {.err = &err};
	/* root array: 300,000 elements of 2 values each, with a cap of 100
	 * values held at once: only streaming can pass */
	size_t n = 300000, cap = n * 16 + 16, o = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	t[o++] = '[';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s{\"x\":%zu}", i ? "," : "", i % 10);
	t[o++] = ']';
	struct pc_jparse_opts opts = {.max_values = 100, .on_element = on_elem, .element_ctx = &s};
	struct pc_jdoc *d = NULL;
	assert_int_equal(pc_jparse(t, o, &opts, &d, NULL, &err), 0);
	assert_int_equal(s.n, n);
	assert_int_equal(s.sum, 45 * (n / 10));
	assert_int_equal(d->root->type, PC_JARRAY);
	assert_int_equal(d->root->n, 0);
	pc_jdoc_free(d);
	/* without streaming the same cap refuses it */
	struct pc_jparse_opts nostream = {.max_values = 100};
	assert_int_equal(pc_jparse(t, o, &nostream, &d, NULL, &err), PC_ETOOBIG);
	assert_true(strstr(err.msg, "more than 100 JSON values") != NULL);
	free(t);

	/* a member of the root object; other members stay in the tree */
	const char *doc = "{\"meta\": {\"x\": 1},\n \"items\": [{\"x\": 2},\n {\"x\": 3}],\n"
			  " \"other\": [{\"x\": 100}]}";
	s = (struct seen){.err = &err};
	struct pc_jparse_opts k = {.on_element = on_elem, .element_ctx = &s, .stream_key = "items"};
	assert_int_equal(pc_jparse(doc, strlen(doc), &k, &d, NULL, &err), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.sum, 5);
	assert_int_equal(pc_jval_get(d->root, "items")->n, 0);
	assert_int_equal(pc_jval_get(d->root, "other")->n, 1);
	pc_jdoc_free(d);
	/* the callback's error stops the parse, with its position */
	s = (struct seen){.err = &err, .fail_at = 2};
	assert_int_equal(pc_jparse(doc, strlen(doc), &k, &d, NULL, &err), PC_EPARSE);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 2);
	assert_string_equal(err.msg, "stop here");
	/* a syntax error inside a streamed element */
	s = (struct seen){.err = &err};
	const char *bad = "[{\"x\":1},\n{\"x\":}]";
	struct pc_jparse_opts r = {.on_element = on_elem, .element_ctx = &s};
	assert_int_equal(pc_jparse(bad, strlen(bad), &r, &d, NULL, &err), PC_EPARSE);
	assert_int_equal(s.n, 1);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),     cmocka_unit_test(test_positions),
		cmocka_unit_test(test_strings),    cmocka_unit_test(test_strictness),
		cmocka_unit_test(test_depth_and_size), cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_many_members), cmocka_unit_test(test_streaming),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
