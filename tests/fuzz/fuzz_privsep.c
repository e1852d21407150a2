/*
 * fuzz_privsep.c - the parent's side of the privilege split (privsep.c,
 * msg.c) on hostile bytes: a datagram from a compromised worker, decoded
 * and applied to a snapshot of four endpoints (host and imported) inside a
 * scan of 198.18.0.0/30 ports 80 and U:53. Whatever is accepted must leave
 * the snapshot consistent: no endpoint added by an update, every enum in
 * range, every string NUL-free and within the cap.
 */
#include "privsep/privsep.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_found(void *ctx, const struct pc_privsep_found *f, struct pc_error *err)
{
	(void)ctx;
	/* what scan.c checks next: the decoder already bounded these */
	if (f->proto > PC_PROTO_UDP || (f->addr.family != AF_INET && f->addr.family != AF_INET6))
		abort();
	return f->port == 0 ? pc_error_set(err, PC_EPARSE, "port 0") : 0;
}

static void on_stats(void *ctx, const struct pc_privsep_stats *s, bool progress)
{
	(void)ctx;
	(void)progress;
	if (!(s->duration_s >= 0) || !(s->rate_pps >= 0))
		abort();
}

static void check_str(const char *s)
{
	if (s && strlen(s) > PC_PRIVSEP_STR_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > PC_PRIVSEP_DGRAM_MAX)
		return 0; /* the kernel never delivers more (MSG_TRUNC) */
	struct pc_snapshot *s = pc_snapshot_new("fuzz");
	if (!s)
		return 0;
	for (int i = 0; i < 4; i++) {
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		if (!e)
			abort();
		e->source = i < 2 ? PC_SOURCE_HOST : PC_SOURCE_IMPORT;
		e->state = i < 2 ? PC_STATE_LISTEN : PC_STATE_OPEN;
	}
	struct pc_privsep_hooks h = {
		.on_found = on_found, .max_found = 8, .on_stats = on_stats,
	};
	struct pc_privsep_parent *p = pc_privsep_parent_new(s, &h);
	if (!p)
		abort();
	struct pc_error err = {0};
	if (pc_privsep_parent_feed(p, data, size, &err) == 0)
		pc_privsep_parent_result(p, &err);
	if (s->n_endpoints != 4)
		abort();
	for (size_t i = 0; i < s->n_endpoints; i++) {
		const struct pc_endpoint *e = &s->endpoints[i];
		if (e->state > PC_STATE_FORWARDED || e->recheck > PC_RECHECK_DIFFERENT)
			abort();
		if (e->source == PC_SOURCE_HOST && e->state != PC_STATE_LISTEN)
			abort();
		check_str(e->verified.error);
		check_str(e->recheck_reason);
		if (e->service) {
			check_str(e->service->name);
			check_str(e->service->banner);
			if (e->service->auth > PC_AUTH_REQUIRED ||
			    e->service->n_auth_methods > PC_PRIVSEP_AUTH_METHODS_MAX)
				abort();
			for (size_t k = 0; k < e->service->n_auth_methods; k++)
				if (!e->service->auth_methods[k])
					abort();
		}
	}
	pc_privsep_parent_free(p);
	pc_snapshot_free(s);
	return 0;
}
