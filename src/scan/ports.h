/*
 * ports.h - the TCP and UDP port lists of a scan.
 *
 * Syntax (nmap's): `-p 22,80,8000-8100,U:53,T:443`. Items are separated by
 * commas; a range is N-M, -M (from 1) or N- (to 65535); a lone `-` is every
 * port. `T:` and `U:` switch the protocol for the items that follow (TCP
 * until told otherwise). Ports are 1-65535; repeats and overlaps count once.
 * `--top-ports N` takes the N highest ranked TCP ports of our own list
 * (top_ports.c).
 *
 * A port list is two bitmaps plus the sorted arrays built from them, so
 * index -> port and port -> index are both O(1).
 */
#ifndef PC_SCAN_PORTS_H
#define PC_SCAN_PORTS_H

#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_ports;

/* An empty list. NULL on ENOMEM. */
struct pc_ports *pc_ports_new(void);
void pc_ports_free(struct pc_ports *p);
/* Add the ports of spec (the -p syntax). 0 or PC_EINVAL with a message. */
int pc_ports_add_spec(struct pc_ports *p, const char *spec, struct pc_error *err);
/* Add the n highest ranked TCP ports. PC_EINVAL when n is 0 or larger than
 * the list (the message says how long it is). */
int pc_ports_add_top(struct pc_ports *p, unsigned n, struct pc_error *err);
/* Add one port. */
void pc_ports_add(struct pc_ports *p, enum pc_proto proto, uint16_t port);

/* Build the lookup arrays now. After it returns 0 and until the next add,
 * pc_ports_at and pc_ports_index only read, so engine threads may share the
 * list. PC_ENOMEM when the arrays cannot be allocated. */
int pc_ports_seal(struct pc_ports *p);
size_t pc_ports_count(const struct pc_ports *p, enum pc_proto proto);
/* The i-th port of proto in ascending order (i < count). */
uint16_t pc_ports_at(const struct pc_ports *p, enum pc_proto proto, size_t i);
/* Index of port in the list; false when it is not in it. */
bool pc_ports_index(const struct pc_ports *p, enum pc_proto proto, uint16_t port,
		    size_t *ret_index);
bool pc_ports_has(const struct pc_ports *p, enum pc_proto proto, uint16_t port);

/* The ranked list (top_ports.c): ports in rank order, most common first. */
extern const uint16_t pc_top_tcp_ports[];
extern const size_t pc_top_tcp_ports_count;
extern const uint16_t pc_top_udp_ports[];
extern const size_t pc_top_udp_ports_count;

#endif
