/*
 * probe.h - service identification: what really answers on an open port,
 * whether it demands authentication, whether it speaks TLS.
 *
 * The engine (engine.c) connects, tries the probes most likely for the port
 * first, then a passive banner read, then the rest by likelihood, until one
 * matches. A probe is one file in src/probe/ exporting one
 * `const struct pc_probe_ops`, listed in the registry (registry.c). Probes
 * are read-only, capped (64 KiB) and bounded by a deadline; their parsers are
 * resumable state machines over whatever bytes the peer sends.
 */
#ifndef PC_PROBE_PROBE_H
#define PC_PROBE_PROBE_H

#include "core/error.h"
#include "core/model.h"

#include <limits.h>
#include <stdbool.h>

/* How to make a socket for an endpoint: host records are probed from inside
 * their own network namespace. Returns an fd or a negative errno. */
typedef int (*pc_socket_fn)(void *ctx, const struct pc_endpoint *ep, int domain, int type,
			    int protocol);

/* Default per-host cap on endpoints probed: far above what a real host
 * listens on, far below a tarpit's 65,535. */
#define PC_PROBE_DEFAULT_MAX_PORTS 256
#define PC_PROBE_NO_CAP UINT_MAX

struct pc_probe_run_opts {
	double timeout_ms;   /* per probe exchange; default 2000 */
	unsigned parallel;   /* endpoints in flight; default 32 */
	unsigned host_inflight; /* per host; default 4 */
	/* per network-side host (address): endpoints probed at most, the most
	 * common ports first (data/top-ports.txt); the rest keep their state
	 * and get probe_skipped. 0: PC_PROBE_DEFAULT_MAX_PORTS; PC_PROBE_NO_CAP:
	 * no cap. */
	unsigned max_probed_ports;
	pc_socket_fn make_socket; /* NULL: socket() in the caller's namespace */
	void *socket_ctx;
};

/*
 * Identify every open TCP endpoint (state LISTEN or OPEN; for LISTEN,
 * dial pc_endpoint_dial_addr()) and every UDP endpoint in snap, filling
 * ep->service. Endpoints that do not answer keep service NULL; endpoints
 * beyond a host's cap keep service NULL and get probe_skipped, and the
 * snapshot one warning per capped host.
 */
int pc_probe_run(struct pc_snapshot *snap, const struct pc_probe_run_opts *opts,
		 struct pc_error *err);

#endif
