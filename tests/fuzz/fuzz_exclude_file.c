/*
 * fuzz_exclude_file.c - an --exclude-file (or -iL file) from hostile bytes:
 * comments, whitespace, NULs, long lines. Excluded addresses must never
 * come out of the finished set, and errors carry a file position.
 */
#include "scan/targets.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int no_resolve(void *ctx, const char *name, struct pc_addr *ret)
{
	(void)ctx;
	(void)name;
	(void)ret;
	return PC_EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	struct pc_targets *t = pc_targets_new();
	pc_targets_set_resolver(t, no_resolve, NULL);
	struct pc_targets *ex = pc_targets_new();
	pc_targets_set_resolver(ex, no_resolve, NULL);
	struct pc_error err = {0};
	pc_targets_add(t, "198.18.0.0/20", &err);
	int r = pc_targets_add_text(t, "exclude.txt", (const char *)data, size, true, &err);
	if (r != 0 && (strcmp(err.file, "exclude.txt") != 0 || err.line < 1 || err.col < 0))
		abort();
	/* the same bytes as an include list: what they name */
	int r2 = pc_targets_add_text(ex, "x", (const char *)data, size, false, &err);
	if (r == 0 && pc_targets_finish(t, false, &err) == 0) {
		bool check = r2 == 0 && pc_targets_finish(ex, true, &err) == 0;
		uint64_t n = pc_targets_count(t);
		if (n > 4096)
			abort();
		for (uint64_t i = 0; i < n; i++) {
			struct pc_addr a;
			uint64_t idx;
			pc_targets_at(t, i, &a);
			if (check && pc_targets_index(ex, &a, &idx))
				abort(); /* an excluded address survived */
		}
	}
	pc_targets_free(t);
	pc_targets_free(ex);
	return 0;
}
