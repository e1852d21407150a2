/*
 * fuzz_procnet.c - the /proc/net/{tcp,tcp6,udp,udp6} parser
 * (src/inventory/procnet.c) on arbitrary text, read as both an IPv4 and an
 * IPv6 file, from a copy of exactly the input's size.
 */
#include "inventory/procnet.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *ctx, const struct pc_sock_rec *rec)
{
	uint8_t *family = ctx;
	if (rec->family != *family || rec->local.family != *family)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	uint8_t families[] = {AF_INET, AF_INET6};
	for (size_t i = 0; i < 2; i++) {
		size_t line = 0;
		int r = pc_procnet_parse(buf, size, families[i], IPPROTO_TCP, check, &families[i],
					 &line);
		if (r < 0 && line == 0)
			abort(); /* an error always names its line */
	}
	free(buf);
	return 0;
}
