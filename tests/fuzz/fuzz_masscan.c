/*
 * fuzz_masscan.c - the masscan importers (-oL lines, -oJ array, -oD JSON
 * lines) through format detection, over arbitrary bytes. Every endpoint
 * that comes out must be an open TCP/UDP port 1-65535.
 */
#include "import/import.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_snapshot *snap = pc_snapshot_new("fuzz");
	if (!snap)
		return 0;
	struct pc_import_opts o = {.name = "fuzz", .max_endpoints = 4096, .allow_public = true};
	struct pc_import_stats st = {0};
	struct pc_error err = {0};
	if (pc_import_buffer(snap, (const char *)data, size, &o, &st, &err) == 0) {
		for (size_t i = 0; i < snap->n_endpoints; i++) {
			const struct pc_endpoint *e = &snap->endpoints[i];
			if (e->port == 0 || e->state != PC_STATE_OPEN ||
			    (e->proto != PC_PROTO_TCP && e->proto != PC_PROTO_UDP))
				abort();
		}
		if (st.imported != snap->n_endpoints)
			abort();
	}
	pc_import_stats_free(&st);
	pc_snapshot_free(snap);
	return 0;
}
