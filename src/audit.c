/*
 * audit.c - the pipeline. Runs the sources (host inventory, network scan),
 * then the live check and the probes over what they found, then classifies
 * the endpoints, judges them against the policy and stores the snapshot in
 * the ledger. Later stages join here, and only here.
 *
 * The privilege split (privsep.h): the inventory runs here, privileged
 * (netlink in every namespace, /proc); the scan forks its own worker; the
 * live check and the probes, which read what the network sends, run in one
 * more worker, which gets its host-side sockets from this process.
 */
#include "audit.h"
#include "classify/classify.h"
#include "inventory/netns.h"
#include "privsep/privsep.h"
#include "probe/probe.h"
#include "probe/reach.h"
#include "inventory/forward.h"
#include "ledger/exposure.h"
#include "scan/scan.h"

#include <errno.h>
#include <sys/socket.h>

void pc_audit_opts_default(struct pc_audit_opts *opts)
{
	*opts = (struct pc_audit_opts){
		.host = true,
		.verify = true,
		.verify_timeout_ms = 1000,
		.verify_parallel = 4,
		.probe = true,
		.probe_timeout_ms = 2000,
	};
	pc_inventory_opts_default(&opts->inventory);
}

/* Host records are probed from inside their own namespace, like the live
 * check; network-side records from ours. */
static int audit_socket(void *ctx, const struct pc_endpoint *ep, int domain, int type,
			int protocol)
{
	const struct pc_netns_set *nsset = ctx;
	if (ep->source == PC_SOURCE_HOST && nsset && ep->netns.inode)
		return pc_netns_socket(nsset, ep->netns.inode, domain, type, protocol);
	int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	return fd < 0 ? -errno : fd;
}

/* In the worker: host records' sockets come from the parent, which
 * creates them inside the record's namespace; network-side ones need no
 * privilege. */
static int worker_socket(void *ctx, const struct pc_endpoint *ep, int domain, int type,
			 int protocol)
{
	if (ep->source == PC_SOURCE_HOST && ep->netns.inode)
		return pc_privsep_socket(ctx, ep->netns.inode, domain, type, protocol);
	int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	return fd < 0 ? -errno : fd;
}

struct check_args {
	const struct pc_audit_opts *opts;
	const struct pc_netns_set *nsset;
};

/* The live check and the probes; ps is the worker's channel, or NULL when
 * they run in this process. */
static int check(struct pc_privsep *ps, struct pc_snapshot *snap, void *arg,
		 struct pc_error *err)
{
	const struct check_args *a = arg;
	const struct pc_audit_opts *opts = a->opts;
	if (opts->verify && opts->host) {
		struct pc_reach_opts ro = {
			.timeout_ms = opts->verify_timeout_ms,
			.parallel = opts->verify_parallel,
			.make_socket = ps ? worker_socket : NULL,
			.socket_ctx = ps,
		};
		int r = pc_reach_verify(snap, ps ? NULL : a->nsset, &ro, err);
		if (r < 0)
			return r;
	}
	if (opts->probe) {
		struct pc_probe_run_opts po = {
			.timeout_ms = opts->probe_timeout_ms,
			.max_probed_ports = opts->probe_max_ports,
			.make_socket = ps ? worker_socket : audit_socket,
			.socket_ctx = ps ? (void *)ps : (void *)a->nsset,
		};
		return pc_probe_run(snap, &po, err);
	}
	return 0;
}

int pc_audit_run(struct pc_snapshot *snap, const struct pc_audit_opts *opts,
		 struct pc_error *err)
{
	struct pc_netns_set *nsset = NULL;
	int r = 0;
	if (opts->host) {
		r = pc_inventory_collect(snap, &opts->inventory, &nsset, err);
		if (r < 0)
			goto out;
	}
	if (opts->scan) {
		r = pc_scan_run(snap, opts->scan, err);
		if (r < 0)
			goto out;
	}
	if ((opts->verify && opts->host) || opts->probe) {
		struct check_args a = {.opts = opts, .nsset = nsset};
		struct pc_privsep_hooks h = {.nsset = nsset, .close_fds = true, .tls = opts->probe};
		r = opts->privsep ? pc_privsep_run(snap, opts->privsep, &h, check, &a, err)
				  : check(NULL, snap, &a, err);
		if (r < 0)
			goto out;
		pc_forward_join_services(snap);
	}
	/* the ledger's sweeps: evidence for "reachable beyond this host" */
	struct pc_classify_opts co = {0};
	if (opts->kb && opts->host && opts->ledger &&
	    pc_ledger_evidence(opts->ledger, snap, &co.evidence, &co.n_evidence) < 0) {
		r = pc_error_set(err, PC_ENOMEM, "out of memory");
		goto out;
	}
	/* classify, judge, then classify again: the rule "not covered by the
	 * policy" needs the verdicts (docs/classify.md) */
	if (opts->kb && (r = pc_classify_run(snap, opts->kb, &co, err)) < 0)
		goto out;
	if (opts->policy &&
	    (r = pc_policy_eval(snap, opts->policy, &opts->policy_opts, opts->policy_result, err)) < 0)
		goto out;
	if (opts->kb && opts->policy && (r = pc_classify_run(snap, opts->kb, &co, err)) < 0)
		goto out;
	pc_snapshot_sort(snap);
	pc_snapshot_finish(snap);
	if (opts->ledger && opts->ledger_result)
		pc_ledger_record(snap, opts->ledger, opts->ledger_result);
	if (opts->on_endpoint)
		for (size_t i = 0; i < snap->n_endpoints; i++)
			opts->on_endpoint(opts->ctx, snap, &snap->endpoints[i]);
out:
	pc_netns_set_free(nsset);
	if (!snap->finished_at_ms) /* a failed stage: the ledger stage did not run */
		pc_snapshot_finish(snap);
	return r;
}
