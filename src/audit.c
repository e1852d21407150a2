/*
 * audit.c - the pipeline. Runs the sources (host inventory, network scan),
 * then the live check and the probes over what they found, then classifies
 * the endpoints, judges them against the policy and stores the snapshot in
 * the ledger. Later stages join here, and only here.
 */
#include "audit.h"
#include "classify/classify.h"
#include "inventory/netns.h"
#include "probe/probe.h"
#include "probe/reach.h"
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
	if (opts->verify && opts->host) {
		struct pc_reach_opts ro = {
			.timeout_ms = opts->verify_timeout_ms,
			.parallel = opts->verify_parallel,
		};
		r = pc_reach_verify(snap, nsset, &ro, err);
		if (r < 0)
			goto out;
	}
	if (opts->probe) {
		struct pc_probe_run_opts po = {
			.timeout_ms = opts->probe_timeout_ms,
			.max_probed_ports = opts->probe_max_ports,
			.make_socket = audit_socket,
			.socket_ctx = nsset,
		};
		r = pc_probe_run(snap, &po, err);
		if (r < 0)
			goto out;
	}
	/* classify, judge, then classify again: the rule "not covered by the
	 * policy" needs the verdicts (docs/classify.md) */
	if (opts->kb && (r = pc_classify_run(snap, opts->kb, NULL, err)) < 0)
		goto out;
	if (opts->policy &&
	    (r = pc_policy_eval(snap, opts->policy, &opts->policy_opts, opts->policy_result, err)) < 0)
		goto out;
	if (opts->kb && opts->policy && (r = pc_classify_run(snap, opts->kb, NULL, err)) < 0)
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
