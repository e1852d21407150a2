/*
 * fuzz_ipvs.c - the IPVS generic netlink parsers (src/inventory/ipvs.c) on
 * arbitrary bytes, as if one recv() from NETLINK_GENERIC returned them.
 * The first byte picks the parser (0: family lookup, 1: services, 2: real
 * servers); the next two are the generic netlink family id the dump is
 * for; the rest is the buffer, copied so ASan sees any read past its end.
 * The sequence number is taken from the first message.
 */
#include "inventory/ipvs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_svc(void *ctx, const struct pc_ipvs_service *s)
{
	/* a service always has an inet family, and its name is terminated */
	if ((s->af != 2 && s->af != 10) || strnlen(s->sched, sizeof(s->sched)) == sizeof(s->sched))
		abort();
	(*(size_t *)ctx)++;
	return 0;
}

static int on_dest(void *ctx, const struct pc_ipvs_dest *d)
{
	if (d->addr.family != 0 && d->addr.family != 2 && d->addr.family != 10)
		abort();
	(*(size_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t which = data[0] % 3;
	uint16_t family;
	memcpy(&family, data + 1, 2);
	size_t len = size - 3;
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 3, len);
	uint32_t seq = 0;
	if (len >= 12)
		memcpy(&seq, buf + 8, 4);
	size_t n = 0;
	struct pc_nl_status st = {0};
	if (which == 0) {
		uint16_t id;
		pc_ipvs_parse_family(buf, len, seq, &id);
	} else if (which == 1) {
		pc_ipvs_parse_services(buf, len, seq, family, on_svc, &n, &st);
	} else {
		pc_ipvs_parse_dests(buf, len, seq, family, on_dest, &n, &st);
	}
	if (which != 0 && n > st.rules)
		abort();
	free(buf);
	return 0;
}
