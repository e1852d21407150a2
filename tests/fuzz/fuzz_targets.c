/*
 * fuzz_targets.c - target specs from hostile bytes (command line, -iL).
 * Host names go to a fake resolver: a fuzzer must never reach DNS. After a
 * successful finish, index -> address -> index must round-trip.
 */
#include "scan/targets.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int fake_resolve(void *ctx, const char *name, struct pc_addr *ret)
{
	(void)ctx;
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	if (h & 1)
		return PC_EINVAL;
	pc_addr_from_v4(ret, 0xc6120000u | (h >> 16)); /* inside 198.18.0.0/15 */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	bool allow_public = data[0] & 1;
	bool as_file = data[0] & 2;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	struct pc_targets *t = pc_targets_new();
	pc_targets_set_resolver(t, fake_resolve, NULL);
	struct pc_error err = {0};
	int r = as_file ? pc_targets_add_text(t, "fuzz", (const char *)data + 1, size - 1, false, &err)
			: pc_targets_add(t, s, &err);
	if (r == 0)
		r = pc_targets_finish(t, allow_public, &err);
	if (r == 0) {
		uint64_t n = pc_targets_count(t);
		if (n == 0 || n > PC_TARGETS_MAX_ADDRS)
			abort();
		for (uint64_t i = 0; i < n; i += 1 + n / 64) {
			struct pc_addr a;
			uint64_t back;
			pc_targets_at(t, i, &a);
			if (!pc_targets_index(t, &a, &back) || back != i)
				abort();
		}
	} else if (err.msg[0] == '\0') {
		abort(); /* every failure says why */
	}
	pc_targets_free(t);
	free(s);
	return 0;
}
