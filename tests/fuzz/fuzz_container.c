/*
 * fuzz_container.c - the container-name readers (src/inventory/container.c):
 * docker's config.v2.json "Name" and the kubelet's pod directory names, on
 * arbitrary bytes. A name that comes out is short printable text.
 */
#include "inventory/container.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char out[64], uid[37];
	if (pc_container_docker_name(buf, size, out, sizeof(out)) == 0)
		check_name(out);
	if (pc_container_pod_dir(buf, out, sizeof(out), uid) == 0) {
		if (!strchr(out, '/') || strlen(uid) != 36)
			abort();
	}
	free(buf);
	return 0;
}
