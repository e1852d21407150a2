/*
 * sources.h - our own source addresses for the raw SYN and UDP engines
 * (--source-ip ADDR|A-B|CIDR, like masscan's --source-ip and nmap's -S).
 *
 * Why several: a target limits the ICMP errors it sends per peer (Linux:
 * a burst of ~6, then one a second per destination address), so a UDP scan
 * gets about one "closed" verdict a second per source address; N addresses
 * get N. Every address must be one of this host's own (on the interface
 * that reaches the targets): the kernel then receives the replies as it
 * does for the default source, and nothing else changes.
 */
#ifndef PC_SCAN_SOURCES_H
#define PC_SCAN_SOURCES_H

#include "core/addr.h"
#include "core/error.h"

#include <stddef.h>

/* At most this many source addresses in one scan. */
#define PC_SCAN_SOURCES_MAX 1024

/* Append the addresses of spec (one address, A-B of one family, or a
 * CIDR) to *list (n so far, grown with realloc; the caller frees it).
 * 0, PC_EINVAL (bad spec; err says why) or PC_ETOOBIG (over
 * PC_SCAN_SOURCES_MAX in all) or PC_ENOMEM. */
int pc_scan_sources_parse(const char *spec, struct pc_addr **list, size_t *n, struct pc_error *err);

/* Each address must be one of this host's: a UDP socket can bind to it.
 * 0 or PC_EINVAL naming the first that is not. */
int pc_scan_sources_check(const struct pc_addr *list, size_t n, struct pc_error *err);

/* The i-th source address for a target of family, rotating over those of
 * that family; NULL when there is none of it (the kernel's choice then).
 * list must come from pc_scan_sources_parse (IPv4 first). */
const struct pc_addr *pc_scan_sources_pick(const struct pc_addr *list, size_t n, int family,
                                           uint64_t i);

#endif
