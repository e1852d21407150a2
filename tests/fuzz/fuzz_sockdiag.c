/*
 * fuzz_sockdiag.c - the inet_diag reply parser (src/inventory/sockdiag.c)
 * on arbitrary bytes, as if one recv() from NETLINK_SOCK_DIAG returned them.
 * The first byte picks the protocol the "dump" asked for; the rest is the
 * buffer, copied so ASan sees any read past its end.
 */
#include "inventory/sockdiag.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *ctx, const struct pc_sock_rec *rec)
{
	size_t *n = ctx;
	/* a record always has an inet family and matching addresses */
	if ((rec->family != 2 && rec->family != 10) || rec->local.family != rec->family)
		abort();
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t proto = data[0] & 1 ? IPPROTO_UDP : IPPROTO_TCP;
	size_t len = size - 1;
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	size_t n = 0;
	struct pc_sockdiag_status st = {0};
	pc_sockdiag_parse(buf, len, 1, proto, check, &n, &st);
	if (n != st.records)
		abort();
	free(buf);
	return 0;
}
