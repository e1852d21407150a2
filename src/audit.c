/*
 * audit.c - the pipeline. Runs the sources (host inventory, network scan),
 * then the live check and the probes over what they found. Later stages
 * (classify, policy, ledger) join here, and only here.
 */
#include "audit.h"
#include "inventory/netns.h"
#include "probe/reach.h"

void pc_audit_opts_default(struct pc_audit_opts *opts)
{
	*opts = (struct pc_audit_opts){
		.host = true,
		.verify = true,
		.verify_timeout_ms = 1000,
		.verify_parallel = 4,
		.probe = true,
	};
	pc_inventory_opts_default(&opts->inventory);
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
	if (opts->verify && opts->host) {
		struct pc_reach_opts ro = {
			.timeout_ms = opts->verify_timeout_ms,
			.parallel = opts->verify_parallel,
		};
		r = pc_reach_verify(snap, nsset, &ro, err);
		if (r < 0)
			goto out;
	}
	pc_snapshot_sort(snap);
	if (opts->on_endpoint)
		for (size_t i = 0; i < snap->n_endpoints; i++)
			opts->on_endpoint(opts->ctx, snap, &snap->endpoints[i]);
out:
	pc_netns_set_free(nsset);
	pc_snapshot_finish(snap);
	return r;
}
