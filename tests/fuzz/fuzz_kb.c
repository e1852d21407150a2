/*
 * fuzz_kb.c - the knowledge-base loader (src/classify/kb.c) over arbitrary
 * bytes, loaded on top of a small base as `--kb FILE` is on top of the
 * built-in one (the built-in file itself is a seed; parsing all of it on
 * every input would slow the fuzzer tenfold). Invariants: a
 * failed load leaves the base exactly as it was (same entries, same
 * pointers); a successful one leaves a sorted base in which every entry has
 * a valid category, severity, and printable, capped strings; an error
 * always names a position inside the input; and whatever was loaded
 * classifies a small snapshot without trouble.
 */
#include "classify/classify.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct pc_kb_service *s)
{
	bool cat = false;
	for (size_t i = 0; pc_kb_categories[i]; i++)
		if (strcmp(s->category, pc_kb_categories[i]) == 0)
			cat = true;
	if (!cat || (unsigned)s->severity >= PC_SEV_COUNT || !s->why || !s->remediation)
		abort();
	if (strlen(s->name) > PC_KB_MAX_NAME || strlen(s->why) > PC_KB_MAX_TEXT ||
	    strlen(s->remediation) > PC_KB_MAX_TEXT)
		abort();
	for (const unsigned char *p = (const unsigned char *)s->why; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char base[] = "version: 1\n"
				   "services:\n"
				   "  redis: {category: cache, severity: high, why: W, remediation: R}\n"
				   "  unknown: {category: unknown, severity: medium, why: W, remediation: "
				   "R}\n"
				   "  http: {category: web, severity: low, why: W, remediation: R, "
				   "plaintext: false}\n";
	struct pc_kb *kb = pc_kb_new();
	struct pc_error err = {0};
	if (!kb || pc_kb_load_buffer(kb, "base.yaml", base, sizeof(base) - 1, &err) < 0)
		abort();
	size_t n = kb->n;
	struct pc_kb_service *before = malloc(n * sizeof(*before));
	if (!before)
		abort();
	memcpy(before, kb->services, n * sizeof(*before));
	int r = pc_kb_load_buffer(kb, "fuzz.yaml", (const char *)data, size, &err);
	if (r < 0) {
		if (kb->n != n || memcmp(before, kb->services, n * sizeof(*before)) != 0)
			abort();
		if (r == PC_EPARSE && (err.line < 1 || err.col < 1))
			abort();
	} else {
		for (size_t i = 0; i < kb->n; i++) {
			check_entry(&kb->services[i]);
			if (i && strcmp(kb->services[i - 1].name, kb->services[i].name) >= 0)
				abort();
			if (pc_kb_find(kb, kb->services[i].name) != &kb->services[i])
				abort();
		}
		struct pc_snapshot *snap = pc_snapshot_new("fuzz");
		if (snap) {
			for (size_t i = 0; i < kb->n && i < 8; i++) {
				struct pc_endpoint *e = pc_snapshot_add_endpoint(snap);
				if (!e)
					break;
				pc_addr_parse("198.18.1.1", &e->addr);
				e->port = (uint16_t)(1000 + i);
				e->bind = PC_BIND_SPECIFIC;
				e->service = pc_snapshot_service(snap);
				if (e->service) {
					e->service->name = kb->services[i].name;
					e->service->auth = (enum pc_auth)(i % 3);
				}
			}
			if (pc_classify_run(snap, kb, NULL, &err) < 0)
				abort();
			pc_snapshot_free(snap);
		}
	}
	free(before);
	pc_kb_free(kb);
	return 0;
}
