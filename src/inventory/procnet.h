/*
 * procnet.h - the /proc/net/{tcp,tcp6,udp,udp6} fallback: used only when
 * NETLINK_SOCK_DIAG is unavailable (or forced, for tests).
 *
 * The parser is pure (a buffer of text in, records out) so tests and the
 * fuzzer can feed it anything; the reader streams a file through it in
 * chunks, so a host with a million sockets never needs the file in memory.
 */
#ifndef PC_INVENTORY_PROCNET_H
#define PC_INVENTORY_PROCNET_H

#include "inventory/sockdiag.h"

#include <stddef.h>
#include <stdint.h>

/* Longest line we accept; the kernel's are 150 (tcp) to 180 (tcp6) bytes. */
#define PC_PROCNET_LINE_MAX 512

/*
 * Parse one line (without its newline) of a file of the given family
 * (AF_INET: tcp/udp, AF_INET6: tcp6/udp6). Returns 1 and fills ret_rec for a
 * socket line, 0 for the header line or a blank line, PC_EPARSE otherwise.
 */
int pc_procnet_parse_line(const char *line, size_t len, uint8_t family, uint8_t protocol,
			  struct pc_sock_rec *ret_rec);

/*
 * Parse a whole buffer of lines; the last line need not end in a newline.
 * Calls fn for each socket line (fn returns 0 to go on). Returns 0, the
 * callback's value, or PC_EPARSE with *ret_line (when not NULL) set to the
 * 1-based number of the bad line.
 */
int pc_procnet_parse(const char *buf, size_t len, uint8_t family, uint8_t protocol,
		     pc_sock_rec_fn fn, void *ctx, size_t *ret_line);

/* Stream the already opened file fd through the parser. Returns as
 * pc_procnet_parse, or -errno on a read error. Does not close fd. */
int pc_procnet_read_fd(int fd, uint8_t family, uint8_t protocol, pc_sock_rec_fn fn, void *ctx,
		       size_t *ret_line);

#endif
