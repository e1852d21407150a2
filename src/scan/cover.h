/*
 * cover.h - what a scan covered (the targets and ports, as ranges), for
 * snapshot.scan.cover and the ledger's "was this scanned?" (see cover.c).
 */
#ifndef PC_SCAN_COVER_H
#define PC_SCAN_COVER_H

#include "core/model.h"
#include "scan/ports.h"
#include "scan/targets.h"

#include <stdbool.h>

/* Record the ranges of targets and ports (both finished) in snap->scan,
 * with the shard (count 0 or 1: none). 0 or PC_ENOMEM. */
int pc_scan_cover_record(struct pc_snapshot *snap, const struct pc_targets *targets,
			 const struct pc_ports *ports, unsigned shard_index, unsigned shard_count);

#endif
