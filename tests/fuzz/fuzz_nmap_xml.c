/*
 * fuzz_nmap_xml.c - the nmap -oX importer (expat, entity refusal, depth cap,
 * per-host port buffering) over arbitrary bytes.
 */
#include "import/import.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_snapshot *snap = pc_snapshot_new("fuzz");
	if (!snap)
		return 0;
	struct pc_import_opts o = {.name = "fuzz.xml", .format = PC_IMPORT_NMAP_XML,
				   .max_endpoints = 4096, .allow_public = true};
	struct pc_import_stats st = {0};
	struct pc_error err = {0};
	pc_import_buffer(snap, (const char *)data, size, &o, &st, &err);
	pc_import_stats_free(&st);
	pc_snapshot_free(snap);
	return 0;
}
