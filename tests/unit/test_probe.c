/*
 * test_probe.c - every protocol probe over recorded answers
 * (probe_samples.c): the expected name, product, version, auth verdict and
 * evidence; the same result with the first answer split at every byte
 * boundary and with every answer fed one byte at a time (TCP may cut the
 * stream anywhere); no probe claims another protocol's answer; hostile
 * input (endless banners, NULs, escapes) ends in a verdict; and the shared
 * helpers (banner excerpt, line assembler, BER header).
 *
 * `test_probe --write-corpus DIR` writes the samples as seeds for the
 * fuzz target (tests/fuzz/fuzz_probe.c), in its input format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe/probe_ops.h"
#include "probe_samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct pc_probe_ops *probe(const char *name)
{
	const struct pc_probe_ops *p = pc_probe_find(name);
	if (!p)
		fail_msg("no probe named %s", name);
	return p;
}

static void same_result(const char *label, size_t split, const struct pc_probe_result *a,
			const struct pc_probe_result *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->product, b->product) ||
	    strcmp(a->version, b->version) || a->auth != b->auth ||
	    strcmp(a->evidence, b->evidence) || strcmp(a->banner, b->banner))
		fail_msg("%s: split at %zu gives another result:\n  whole: %s|%s|%s|%d|%s|%s\n"
			 "  split: %s|%s|%s|%d|%s|%s",
			 label, split, a->name, a->product, a->version, a->auth, a->evidence,
			 a->banner, b->name, b->product, b->version, b->auth, b->evidence,
			 b->banner);
}

/* The shared split helper: the recorded answer whole, its first segment
 * split in two at every boundary, and every segment fed byte by byte must
 * all give the same verdict and result. */
static enum pc_probe_verdict replay_all_splits(const struct probe_sample *s,
					       struct pc_probe_result *ret)
{
	const struct pc_probe_ops *ops = probe(s->probe);
	enum pc_probe_verdict v = pc_probe_replay(ops, s->port, s->tls, s->segs, s->n_segs, 0, 0, ret);
	if (ops->flags & PC_PROBE_F_UDP)
		return v; /* datagrams are never split */
	struct pc_probe_result r;
	size_t first = s->n_segs ? s->segs[0].len : 0;
	for (size_t split = 1; split < first; split++) {
		enum pc_probe_verdict v2 =
			pc_probe_replay(ops, s->port, s->tls, s->segs, s->n_segs, split, 0, &r);
		if (v2 != v)
			fail_msg("%s: split at %zu: verdict %d, whole: %d", s->label, split, v2, v);
		same_result(s->label, split, ret, &r);
	}
	enum pc_probe_verdict v3 = pc_probe_replay(ops, s->port, s->tls, s->segs, s->n_segs, 0, 1, &r);
	if (v3 != v)
		fail_msg("%s: byte by byte: verdict %d, whole: %d", s->label, v3, v);
	same_result(s->label, 1, ret, &r);
	return v;
}

static void test_samples(void **state)
{
	(void)state;
	size_t n;
	const struct probe_sample *all = probe_samples(&n);
	assert_true(n >= 60);
	for (size_t i = 0; i < n; i++) {
		const struct probe_sample *s = &all[i];
		struct pc_probe_result r;
		enum pc_probe_verdict v = replay_all_splits(s, &r);
		if (!s->match) {
			if (v != PC_PROBE_NOMATCH)
				fail_msg("%s: expected no match, got %s", s->label, r.name);
			continue;
		}
		if (v != PC_PROBE_MATCH)
			fail_msg("%s: expected a match, got verdict %d", s->label, v);
#define CHECK(field)                                                                          \
	if (s->field && strcmp(s->field, r.field) != 0)                                       \
		fail_msg("%s: " #field " is \"%s\", expected \"%s\"", s->label, r.field, s->field);
		CHECK(name);
		CHECK(product);
		CHECK(version);
#undef CHECK
		if (s->auth != r.auth)
			fail_msg("%s: auth %d, expected %d (evidence: %s)", s->label, r.auth, s->auth,
				 r.evidence);
		if (s->evidence && !strstr(r.evidence, s->evidence))
			fail_msg("%s: evidence \"%s\" lacks \"%s\"", s->label, r.evidence, s->evidence);
		if (s->evidence_absent && strstr(r.evidence, s->evidence_absent))
			fail_msg("%s: evidence \"%s\" has \"%s\"", s->label, r.evidence,
				 s->evidence_absent);
		if (!r.evidence[0])
			fail_msg("%s: no evidence", s->label);
	}
}

/* Probes that may legitimately recognise each other's samples. */
static bool same_family(const char *a, const char *b)
{
	static const char *const fam[][2] = {
		{ "dns-tcp", "dns-udp" },
		{ "memcached", "memcached-udp" },
	};
	if (strcmp(a, b) == 0)
		return true;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		if ((!strcmp(fam[i][0], a) && !strcmp(fam[i][1], b)) ||
		    (!strcmp(fam[i][1], a) && !strcmp(fam[i][0], b)))
			return true;
	return false;
}

/* No probe may claim another protocol's answer: that is what lets the
 * engine try probes in any order on any port. */
static void test_no_cross_match(void **state)
{
	(void)state;
	size_t n;
	const struct probe_sample *all = probe_samples(&n);
	for (size_t i = 0; i < n; i++) {
		const struct probe_sample *s = &all[i];
		if (!s->match)
			continue; /* another protocol's bytes by design */
		for (size_t k = 0; k < pc_probe_registry_len; k++) {
			const struct pc_probe_ops *ops = pc_probe_registry[k];
			if (!ops->feed || same_family(ops->name, s->probe))
				continue;
			struct pc_probe_result r;
			enum pc_probe_verdict v =
				pc_probe_replay(ops, 40000, s->tls, s->segs, s->n_segs, 0, 0, &r);
			if (v == PC_PROBE_MATCH)
				fail_msg("probe %s claims sample %s (as %s: %s)", ops->name, s->label,
					 r.name, r.evidence);
		}
	}
}

/* Hostile peers: every probe ends with a verdict, never reads out of
 * bounds (ASan), and leaves printable banners. */
static void test_hostile_input(void **state)
{
	(void)state;
	static uint8_t buf[PC_PROBE_READ_CAP];
	const char *kinds[] = { "endless", "nul", "escape", "script", "utf8", "ff" };
	for (size_t kind = 0; kind < sizeof(kinds) / sizeof(kinds[0]); kind++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			switch (kind) {
			case 0: buf[i] = 'A'; break;
			case 1: buf[i] = 0; break;
			case 2: buf[i] = "\x1b[2J\x1b]0;pwned\x07\r\n"[i % 15]; break;
			case 3: buf[i] = "<script>alert(1)</script>\n"[i % 26]; break;
			case 4: buf[i] = (uint8_t)(0xc0 + i % 64); break;
			default: buf[i] = 0xff; break;
			}
		}
		struct pc_probe_segment seg = { buf, sizeof(buf) };
		for (size_t k = 0; k < pc_probe_registry_len; k++) {
			const struct pc_probe_ops *ops = pc_probe_registry[k];
			if (!ops->feed)
				continue;
			struct pc_probe_result r;
			pc_probe_replay(ops, 1, false, &seg, 1, 0, 1000, &r);
			size_t bl = strlen(r.banner);
			for (size_t i = 0; i < bl;) {
				size_t w = pc_probe_printable((const uint8_t *)r.banner + i, bl - i);
				assert_true(w > 0);
				i += w;
			}
			assert_true(strlen(r.banner) <= PC_PROBE_BANNER_MAX);
		}
	}
}

static void test_registry(void **state)
{
	(void)state;
	assert_true(pc_probe_registry_len >= 24);
	for (size_t i = 0; i < pc_probe_registry_len; i++) {
		const struct pc_probe_ops *p = pc_probe_registry[i];
		assert_non_null(p->name);
		assert_ptr_equal(pc_probe_find(p->name), p);
		if (p->flags & PC_PROBE_F_HANDSHAKE)
			continue;
		assert_non_null(p->feed);
		/* banner probes wait for the peer; active ones send */
		struct pc_probe_ctx ctx;
		struct pc_probe_result res;
		memset(&ctx, 0, sizeof(ctx));
		ctx.res = &res;
		void *st = calloc(1, p->state_size ? p->state_size : 1);
		assert_non_null(st);
		if (p->start)
			assert_int_equal(p->start(st, &ctx), 0);
		if (p->flags & PC_PROBE_F_BANNER)
			assert_int_equal(ctx.out_len, 0);
		else
			assert_true(ctx.out_len > 0);
		free(st);
	}
	for (size_t i = 0; i < pc_probe_registry_len; i++)
		for (size_t k = i + 1; k < pc_probe_registry_len; k++)
			assert_string_not_equal(pc_probe_registry[i]->name, pc_probe_registry[k]->name);
}

static void test_helpers(void **state)
{
	(void)state;
	struct pc_probe_result r;
	struct pc_probe_ctx ctx = { .res = &r };
	memset(&r, 0, sizeof(r));
	pc_probe_banner(&ctx, (const uint8_t *)"a\x1b[31mb\r\n\tc\xff\x00z", 14);
	assert_string_equal(r.banner, "a.[31mb c..z");
	/* valid UTF-8 stays; C1 controls, bidi overrides and broken bytes go */
	static const char mixed[] = "caf\xc3\xa9 \xc2\x9b" "1m \xe2\x80\xae" "evil \xe2\x82";
	pc_probe_banner(&ctx, (const uint8_t *)mixed, sizeof(mixed) - 1);
	assert_string_equal(r.banner, "caf\xc3\xa9 ..1m ...evil ..");
	/* the cap never cuts a character in two */
	uint8_t wide[3 * 100];
	for (size_t i = 0; i < sizeof(wide); i += 3)
		memcpy(wide + i, "\xe2\x82\xac", 3); /* EURO SIGN */
	pc_probe_banner(&ctx, wide, sizeof(wide));
	assert_int_equal(strlen(r.banner), 198);
	uint8_t big[1000];
	memset(big, 'x', sizeof(big));
	pc_probe_banner(&ctx, big, sizeof(big));
	assert_int_equal(strlen(r.banner), PC_PROBE_BANNER_MAX);

	struct pc_probe_line line = { .len = 0 };
	size_t used;
	assert_int_equal(pc_probe_line_feed(&line, (const uint8_t *)"ab", 2, &used), 0);
	assert_int_equal(pc_probe_line_feed(&line, (const uint8_t *)"c\r\nrest", 7, &used), 1);
	assert_int_equal(used, 3);
	assert_string_equal(line.buf, "abc");
	memset(&line, 0, sizeof(line));
	assert_int_equal(pc_probe_line_feed(&line, big, sizeof(big), &used), -1);

	uint8_t tag;
	size_t hdr, len;
	assert_int_equal(pc_probe_ber_header((const uint8_t *)"\x30\x82\x01", 3, &tag, &hdr, &len), 1);
	assert_int_equal(pc_probe_ber_header((const uint8_t *)"\x30\x82\x01\x00", 4, &tag, &hdr, &len), 0);
	assert_int_equal(len, 256);
	assert_int_equal(hdr, 4);
	assert_int_equal(pc_probe_ber((const uint8_t *)"\x30\x82\x01\x00", 4, &tag, &hdr, &len), -1);
	assert_int_equal(pc_probe_ber_header((const uint8_t *)"\x30\x85\x01\x00\x00\x00\x00", 7, &tag,
					     &hdr, &len),
			 -1);
	assert_int_equal(pc_probe_ber_header((const uint8_t *)"\x30\x80", 2, &tag, &hdr, &len), -1);

	char f[8];
	pc_probe_setn(f, sizeof(f), "abc\r\ndef", 8);
	assert_string_equal(f, "abc");
	pc_probe_setn(f, sizeof(f), "0123456789", 10);
	assert_string_equal(f, "0123456");
	assert_null(pc_probe_memcasemem((const uint8_t *)"ab\0cd", 5, "CDE"));
	assert_non_null(pc_probe_memcasemem((const uint8_t *)"ab\0cd", 5, "CD"));
}

/* Seeds for the fuzz target: [probe index][flags][segment]["\xffSEG"]... */
static int write_corpus(const char *dir)
{
	size_t n;
	const struct probe_sample *all = probe_samples(&n);
	for (size_t i = 0; i < n; i++) {
		const struct probe_sample *s = &all[i];
		size_t idx = 0;
		while (idx < pc_probe_registry_len && strcmp(pc_probe_registry[idx]->name, s->probe))
			idx++;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, s->label);
		FILE *f = fopen(path, "wb");
		if (!f)
			return 1;
		fputc((int)idx, f);
		fputc(s->tls ? 1 : 0, f);
		for (size_t k = 0; k < s->n_segs; k++) {
			if (k)
				fwrite("\xffSEG", 1, 4, f);
			fwrite(s->segs[k].data, 1, s->segs[k].len, f);
		}
		if (fclose(f) != 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
		return write_corpus(argv[2]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),     cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_samples),      cmocka_unit_test(test_no_cross_match),
		cmocka_unit_test(test_hostile_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
