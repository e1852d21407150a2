/*
 * syn.h - the raw-socket engines: SYN scan (syn.c) and UDP scan (udp.c),
 * as entries for the engine registry in scan.c.
 */
#ifndef PC_SCAN_SYN_H
#define PC_SCAN_SYN_H

#include "scan/scan.h"

/* TCP half-open scan; needs CAP_NET_RAW until prepare() returns. */
extern const struct pc_scan_engine_ops pc_scan_engine_syn;
/* UDP scan with protocol payloads; kernel UDP sockets, no privilege. */
extern const struct pc_scan_engine_ops pc_scan_engine_udp;

#endif
