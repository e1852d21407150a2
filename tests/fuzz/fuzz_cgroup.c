/*
 * fuzz_cgroup.c - the /proc/PID/cgroup parser (src/inventory/cgroup.c) on
 * arbitrary text: never a crash, and whatever it returns is well formed.
 */
#include "inventory/cgroup.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct pc_cgroup_info info;
	pc_cgroup_parse(buf, size, &info);
	size_t idlen = strnlen(info.id, sizeof(info.id));
	if (idlen != 0 && idlen != 64)
		abort();
	for (size_t i = 0; i < idlen; i++)
		if (!is_hex(info.id[i]))
			abort();
	size_t podlen = strnlen(info.pod_uid, sizeof(info.pod_uid));
	if (podlen != 0 && podlen != 36)
		abort();
	if (strnlen(info.unit, sizeof(info.unit)) == sizeof(info.unit))
		abort();
	free(buf);
	return 0;
}
