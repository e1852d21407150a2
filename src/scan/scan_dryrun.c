/*
 * scan_dryrun.c - `--list-targets`: every probe of the plan as
 * "ADDRESS PROTO PORT", once, in scan order, and nothing sent. The same
 * context and permutation as a real run (scan.c), so what is listed is
 * what a scan would probe; lines are formatted by hand because a /8 prints
 * millions of them.
 */
#include "scan/scan.h"
#include "scan/ports.h"
#include "scan/scan_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* IPv4 text without inet_ntop: the dry run prints millions of lines. */
static size_t format_v4(const uint8_t *b, char *out)
{
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (v >= 100)
			out[n++] = (char)('0' + v / 100);
		if (v >= 10)
			out[n++] = (char)('0' + v / 10 % 10);
		out[n++] = (char)('0' + v % 10);
		if (i < 3)
			out[n++] = '.';
	}
	return n;
}

int pc_scan_list_targets(const struct pc_scan_opts *opts, FILE *f, struct pc_error *err)
{
	int r = pc_scan_check_opts(opts, err);
	if (r < 0)
		return r;
	struct pc_scan_ctx *ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	struct pc_scan_opts fixed = *opts;
	fixed.rate_pps = PC_SCAN_RATE_UNLIMITED; /* nothing is sent */
	pc_scan_ctx_init(ctx, &fixed, NULL);
	ctx->rate = 0;
	uint64_t seed = opts->seed_set ? opts->seed : pc_scan_random_seed();
	for (int p = 0; p < 2; p++) {
		enum pc_proto proto = p ? PC_PROTO_UDP : PC_PROTO_TCP;
		if (pc_ports_count(opts->ports, proto) == 0)
			continue;
		pc_scan_pass_init(ctx, proto, seed);
		const char *tail = p ? " udp " : " tcp ";
		struct pc_scan_probe pr;
		char line[PC_ADDR_STRLEN + 16];
		while (pc_scan_next(ctx, &pr)) {
			size_t n;
			if (pr.addr.family == AF_INET) {
				n = format_v4(pr.addr.bytes, line);
			} else {
				pc_addr_format(&pr.addr, line, PC_ADDR_STRLEN);
				n = strlen(line);
			}
			memcpy(line + n, tail, 5);
			n += 5;
			char digits[6];
			size_t d = 0;
			unsigned port = pr.port;
			do {
				digits[d++] = (char)('0' + port % 10);
				port /= 10;
			} while (port);
			while (d)
				line[n++] = digits[--d];
			line[n++] = '\n';
			if (fwrite(line, 1, n, f) != n) {
				r = pc_error_set(err, PC_EIO, "writing the target list: %s",
						 strerror(errno));
				goto out;
			}
		}
	}
out:
	pc_scan_ctx_free(ctx);
	return r;
}
