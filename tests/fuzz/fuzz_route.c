/*
 * fuzz_route.c - the rtnetlink route reply parser (route.c) on hostile
 * bytes: whatever parses must name a known family and a prefix length
 * that fits it.
 */
#include "scan/route.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* netlink messages are 4-byte aligned in the kernel's buffer */
	uint32_t buf[1024];
	if (size > sizeof(buf))
		size = sizeof(buf);
	memcpy(buf, data, size);
	struct pc_route r;
	if (pc_route_parse_reply(buf, size, &r) == 0) {
		if (r.dst.family != AF_INET && r.dst.family != AF_INET6)
			abort();
		if (r.dst_len > (r.dst.family == AF_INET ? 32u : 128u))
			abort();
	}
	return 0;
}
