/*
 * fuzz_ports.c - the -p syntax from hostile bytes. A failed spec must leave
 * the list empty; a good one must give sorted, distinct ports that index
 * back to themselves.
 */
#include "scan/ports.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct pc_ports *p = pc_ports_new();
	struct pc_error err = {0};
	int r = pc_ports_add_spec(p, s, &err);
	for (int k = 0; k < 2; k++) {
		enum pc_proto proto = k ? PC_PROTO_UDP : PC_PROTO_TCP;
		size_t n = pc_ports_count(p, proto);
		if (r != 0 && n != 0)
			abort();
		for (size_t i = 0; i < n; i++) {
			uint16_t port = pc_ports_at(p, proto, i);
			size_t back;
			if (port == 0 || (i && port <= pc_ports_at(p, proto, i - 1)) ||
			    !pc_ports_index(p, proto, port, &back) || back != i)
				abort();
		}
	}
	if (r != 0 && err.msg[0] == '\0')
		abort();
	pc_ports_free(p);
	free(s);
	return 0;
}
