/*
 * fuzz_rtaddr.c - the RTM_GETADDR parser (src/inventory/rtaddr.c) on
 * arbitrary bytes, as if one recv() from NETLINK_ROUTE returned them. The
 * bytes are copied so ASan sees any read past their end; the dump's
 * sequence number is taken from the first message, so seeds cut from real
 * replies keep theirs. Every record handed out must carry an IP family.
 */
#include "core/error.h"
#include "inventory/rtaddr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *ctx, const struct pc_rtaddr *a)
{
	const struct pc_addr *own = pc_rtaddr_own(a);
	if (own->family != AF_INET && own->family != AF_INET6)
		abort();
	(*(size_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	uint32_t seq = 0;
	if (size >= 12)
		memcpy(&seq, buf + 8, 4);
	size_t n = 0;
	bool done = false;
	(void)pc_rtaddr_parse(buf, size, seq, check, &n, &done);
	free(buf);
	return 0;
}
