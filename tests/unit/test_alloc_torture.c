/*
 * test_alloc_torture.c - every allocation of the importers (nmap XML,
 * masscan -oL/-oJ, our JSON and JSON Lines), of the JSON reader and of the
 * probe replay fails in turn, and each failure must end in a clean error:
 * no crash, no leak, an honest code and a message.
 *
 * How: this program is linked with -Wl,--wrap=malloc,... (tests/unit/
 * meson.build), so every call the library's objects make to malloc, calloc,
 * realloc, strdup, strndup and XML_ParserCreate comes here first. libc's and
 * expat's own allocations are not wrapped (--wrap renames references in the
 * objects linked into this program only), so the failure is always one the
 * product code must handle. For each input the call under test runs once
 * unarmed to count its K allocations; then for N = 1..K it runs with the
 * Nth allocation failing, once alone ("one-shot": the next ones succeed,
 * as when memory comes back) and once with every later one failing too
 * ("sticky": the cleanup path must not need memory). The product code is
 * not changed for this: no hook, no #ifdef.
 *
 * What is checked after each run: the result is the unarmed result, or
 * PC_ENOMEM with a message (a success is allowed only when the unarmed run
 * succeeded too: an optional allocation whose failure was handled); for
 * probes, the unarmed verdict or NOMATCH. Leaks: under ASan (scripts/check
 * runs the unit tests in build-asan too) the leak checker runs after every
 * input, so a leak is pinned to the input that caused it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/jsonparse.h"
#include "import/import.h"
#include "probe/probe_ops.h"
#include "probe_samples.h"

#include <dirent.h>
#include <expat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WITH_ASAN 1
#endif
#endif
#ifdef WITH_ASAN
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the wrapped allocators ---------------------------------------- */

static struct {
	bool counting;         /* inside the call under test */
	unsigned long calls;   /* allocations counted so far */
	unsigned long fail_at; /* 0: none fails */
	bool sticky;           /* every allocation after fail_at fails too */
	unsigned long failed;  /* allocations refused */
} t;

static bool refuse(void)
{
	if (!t.counting)
		return false;
	t.calls++;
	if (t.fail_at && (t.calls == t.fail_at || (t.sticky && t.calls > t.fail_at))) {
		t.failed++;
		return true;
	}
	return false;
}

/* __real_NAME is the allocator itself; __wrap_NAME, which the library's
 * calls reach, refuses when armed */
#define WRAP(ret, name, params, args)                                                         \
	ret __real_##name params;                                                             \
	ret __wrap_##name params;                                                             \
	ret __wrap_##name params                                                              \
	{                                                                                     \
		return refuse() ? NULL : __real_##name args;                                  \
	}

WRAP(void *, malloc, (size_t n), (n))
WRAP(void *, calloc, (size_t n, size_t size), (n, size))
WRAP(void *, realloc, (void *p, size_t n), (p, n))
WRAP(char *, strdup, (const char *s), (s))
WRAP(char *, strndup, (const char *s, size_t n), (s, n))
WRAP(XML_Parser, XML_ParserCreate, (const XML_Char *encoding), (encoding))

static void count_begin(void)
{
	t.calls = 0;
	t.failed = 0;
	t.counting = true;
}

static void count_end(void)
{
	t.counting = false;
}

/* ---- inputs ------------------------------------------------------------ */

struct input {
	char label[128];
	char path[512]; /* the file it came from, or "" */
	char *data;
	size_t len;
};

#define MAX_INPUTS 64
static struct input inputs[MAX_INPUTS];
static size_t n_inputs;

static void add_input(const char *label, const char *path, const char *data, size_t len)
{
	if (n_inputs == MAX_INPUTS)
		fail_msg("more than %d inputs", MAX_INPUTS);
	struct input *in = &inputs[n_inputs++];
	snprintf(in->label, sizeof(in->label), "%s", label);
	snprintf(in->path, sizeof(in->path), "%s", path ? path : "");
	in->data = __real_malloc(len + 1);
	assert_non_null(in->data);
	memcpy(in->data, data, len);
	in->data[len] = '\0';
	in->len = len;
}

static void add_file(const char *dir, const char *name)
{
	char path[512];
	if (snprintf(path, sizeof(path), "%.400s/%.100s", dir, name) >= (int)sizeof(path))
		fail_msg("path too long: %s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s", path);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	char *buf = __real_malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	char label[128];
	snprintf(label, sizeof(label), "%.60s/%.60s", strrchr(dir, '/') + 1, name);
	add_input(label, path, buf, (size_t)st.st_size);
	free(buf);
}

/* every file of corpus/DIR, in name order (readdir's order is not stable) */
static void add_corpus(const char *sub)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/%s", PC_TEST_CORPUS, sub);
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		fail_msg("cannot read %s", dir);
	int added = 0;
	for (int i = 0; i < n; i++) {
		/* the committed, hand-named seeds; not the 40-hex names that
		 * a fuzz campaign adds */
		if (names[i]->d_name[0] != '.' && strlen(names[i]->d_name) != 40) {
			add_file(dir, names[i]->d_name);
			added++;
		}
		free(names[i]);
	}
	free(names);
	if (!added)
		fail_msg("no inputs in %s", dir);
}

#define ADD_TEXT(label, text) add_input(label, NULL, text, sizeof(text) - 1)

static void load_inputs(void)
{
	if (n_inputs)
		return;
	add_corpus("nmap_xml");
	add_corpus("masscan");
	add_corpus("jsonparse");
	/* malformed files: the error paths allocate too */
	ADD_TEXT("bad/trunc.xml", "<?xml version=\"1.0\"?>\n<nmaprun><host>\n"
				  "<address addr=\"198.18.2.2\" addrtype=\"ipv4\"/>");
	ADD_TEXT("bad/port.list", "#masscan\nopen tcp 80 198.18.2.2 1\nopen tcp 70000 198.18.2.2 1\n");
	ADD_TEXT("bad/comma.json", "[\n{\"ip\": \"198.18.2.2\", \"ports\": [{\"port\": 80, "
				   "\"proto\": \"tcp\", \"status\": \"open\"},]}\n]\n");
	ADD_TEXT("bad/type.jsonl",
		 "{\"proto\":\"tcp\",\"address\":\"198.18.2.2\",\"port\":80,\"state\":\"open\"}\n"
		 "{\"proto\":\"tcp\",\"address\":\"198.18.2.2\",\"port\":\"80\",\"state\":\"open\"}\n");
	ADD_TEXT("bad/dup.json", "{\"a\": 1, \"a\": 2}");
}

/* ---- the walk -------------------------------------------------------- */

struct outcome {
	int r;           /* 0 or a negative code; for probes the verdict */
	char msg[512];   /* the error message, if any */
};

/* run(in, out): one call under test, allocations counted between
 * count_begin() and count_end(), everything it made freed afterwards */
typedef void (*run_fn)(const struct input *in, struct outcome *out);

static unsigned long total_runs, total_allocs;

/* judge: may an armed run end with got, when the unarmed one gave base? */
typedef bool (*judge_fn)(const struct outcome *base, const struct outcome *got);

static bool judge_code(const struct outcome *base, const struct outcome *got)
{
	if (got->r == base->r)
		return true;
	return got->r == PC_ENOMEM && got->msg[0] != '\0';
}

static void walk(const char *what, const struct input *in, run_fn run, judge_fn judge)
{
	struct outcome base = {0};
	t.fail_at = 0;
	run(in, &base);
	unsigned long k = t.calls;
	if (k == 0)
		fail_msg("%s %s: no allocation counted (is the wrap linked?)", what, in->label);
	total_allocs += k;
	for (int sticky = 0; sticky <= 1; sticky++) {
		for (unsigned long n = 1; n <= k; n++) {
			struct outcome got = {0};
			t.fail_at = n;
			t.sticky = sticky;
			run(in, &got);
			t.fail_at = 0;
			total_runs++;
			if (t.failed == 0)
				fail_msg("%s %s: allocation %lu of %lu was never made (not deterministic?)",
					 what, in->label, n, k);
			if (!judge(&base, &got))
				fail_msg("%s %s: allocation %lu of %lu failing (%s) gave %d \"%s\"; "
					 "unarmed: %d \"%s\"",
					 what, in->label, n, k, sticky ? "and all after it" : "alone",
					 got.r, got.msg, base.r, base.msg);
		}
	}
#ifdef WITH_ASAN
	if (__lsan_do_recoverable_leak_check())
		fail_msg("%s %s: leaks (see the report above)", what, in->label);
#endif
}

/* ---- the calls under test ---------------------------------------------- */

/* pc_import_buffer on the input's bytes, or pc_import_file on its path */
static void run_import(const struct input *in, struct outcome *out, bool from_file)
{
	struct pc_snapshot *snap = pc_snapshot_new("torture");
	assert_non_null(snap);
	struct pc_import_stats st = {0};
	struct pc_error err = {0};
	struct pc_import_opts o = {.name = from_file ? in->path : in->label};
	count_begin();
	out->r = from_file ? pc_import_file(snap, in->path, &o, &st, &err)
			   : pc_import_buffer(snap, in->data, in->len, &o, &st, &err);
	count_end();
	if (out->r < 0)
		snprintf(out->msg, sizeof(out->msg), "%s", err.msg);
	pc_import_stats_free(&st);
	pc_snapshot_free(snap);
}

static void run_import_buffer(const struct input *in, struct outcome *out)
{
	run_import(in, out, false);
}

static void run_import_file(const struct input *in, struct outcome *out)
{
	run_import(in, out, true);
}

static int count_element(void *ctx, const struct pc_jval *elem)
{
	(void)elem;
	(*(size_t *)ctx)++;
	return 0;
}

static void run_jparse(const struct input *in, struct outcome *out, bool stream)
{
	struct pc_jdoc *doc = NULL;
	struct pc_error err = {0};
	size_t elements = 0;
	struct pc_jparse_opts o = {
		.file = in->label,
		.allow_trailing = true, /* JSON Lines: the first line */
		.max_values = PC_IMPORT_MAX_JSON_VALUES,
	};
	if (stream) {
		o.on_element = count_element;
		o.element_ctx = &elements;
		o.stream_key = memchr(in->data, '{', in->len) &&
					       (!memchr(in->data, '[', in->len) ||
						(char *)memchr(in->data, '{', in->len) <
							(char *)memchr(in->data, '[', in->len))
				       ? "endpoints"
				       : NULL;
	}
	count_begin();
	out->r = pc_jparse(in->data, in->len, &o, &doc, NULL, &err);
	count_end();
	if (out->r < 0)
		snprintf(out->msg, sizeof(out->msg), "%s", err.msg);
	else if (!doc)
		fail_msg("%s: pc_jparse succeeded without a document", in->label);
	pc_jdoc_free(doc);
}

static void run_jparse_tree(const struct input *in, struct outcome *out)
{
	run_jparse(in, out, false);
}

static void run_jparse_stream(const struct input *in, struct outcome *out)
{
	run_jparse(in, out, true);
}

/* the probe samples travel as inputs whose data is the sample index */
static const struct probe_sample *samples;
static size_t n_samples;

static void run_probe(const struct input *in, struct outcome *out)
{
	const struct probe_sample *s = &samples[in->len];
	const struct pc_probe_ops *ops = pc_probe_find(s->probe);
	assert_non_null(ops);
	struct pc_probe_result res;
	count_begin();
	out->r = pc_probe_replay(ops, s->port, s->tls, s->segs, s->n_segs, 0, 0, &res);
	count_end();
	if (out->r == PC_PROBE_MATCH)
		snprintf(out->msg, sizeof(out->msg), "%s", res.name);
}

/* a failed allocation in the replay harness is no answer: NOMATCH */
static bool judge_probe(const struct outcome *base, const struct outcome *got)
{
	if (got->r == PC_PROBE_NOMATCH)
		return true;
	return got->r == base->r && strcmp(got->msg, base->msg) == 0;
}

/* ---- tests ------------------------------------------------------------- */

static bool is_import_input(const struct input *in)
{
	/* jsonparse/values.json is not a results file */
	return strcmp(in->label, "jsonparse/values.json") != 0 &&
	       strcmp(in->label, "bad/dup.json") != 0;
}

static void test_importers(void **state)
{
	(void)state;
	load_inputs();
	size_t walked = 0;
	for (size_t i = 0; i < n_inputs; i++) {
		if (!is_import_input(&inputs[i]))
			continue;
		walk("pc_import_buffer", &inputs[i], run_import_buffer, judge_code);
		if (inputs[i].path[0])
			walk("pc_import_file", &inputs[i], run_import_file, judge_code);
		walked++;
	}
	assert_true(walked >= 12);
}

static void test_jsonparse(void **state)
{
	(void)state;
	load_inputs();
	size_t walked = 0;
	for (size_t i = 0; i < n_inputs; i++) {
		const char *l = inputs[i].label;
		if (strncmp(l, "jsonparse/", 10) && !strstr(l, ".json") && !strstr(l, ".ndjson"))
			continue;
		walk("pc_jparse", &inputs[i], run_jparse_tree, judge_code);
		walk("pc_jparse (streaming)", &inputs[i], run_jparse_stream, judge_code);
		walked++;
	}
	assert_true(walked >= 8);
}

static void test_probe_samples(void **state)
{
	(void)state;
	samples = probe_samples(&n_samples);
	assert_true(n_samples >= 60);
	for (size_t i = 0; i < n_samples; i++) {
		struct input in = {0};
		snprintf(in.label, sizeof(in.label), "%s", samples[i].label);
		in.len = i;
		walk("pc_probe_replay", &in, run_probe, judge_probe);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_importers),
		cmocka_unit_test(test_jsonparse),
		cmocka_unit_test(test_probe_samples),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "alloc torture: %lu allocations counted, %lu failing runs\n", total_allocs,
		total_runs);
	for (size_t i = 0; i < n_inputs; i++)
		free(inputs[i].data);
	return r;
}
