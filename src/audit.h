/*
 * audit.h - the pipeline: sources -> verify -> probe -> classify -> policy
 * -> ledger. The one place that composes the stages, for
 * `audit`, `watch` and the library's users. Stages are plain functions over a
 * snapshot and never call each other.
 */
#ifndef PC_AUDIT_H
#define PC_AUDIT_H

#include "core/error.h"
#include "core/model.h"
#include "inventory/inventory.h"
#include "ledger/ledger.h"
#include "policy/policy.h"

#include <stdbool.h>

struct pc_scan_opts;
struct pc_privsep_opts;
struct pc_kb;

struct pc_audit_opts {
	bool host;                      /* host inventory */
	struct pc_inventory_opts inventory;
	bool verify;                    /* live check of TCP listeners */
	double verify_timeout_ms;       /* per connection (default 1000) */
	unsigned verify_parallel;       /* connections in flight (default 4) */
	bool probe;                     /* service identification */
	double probe_timeout_ms;        /* per probe exchange (default 2000) */
	unsigned probe_max_ports;       /* pc_probe_run_opts.max_probed_ports */
	const struct pc_scan_opts *scan; /* network-side scan, or NULL */
	/* run the live check and the probes in a confined worker as this user
	 * (privsep.h); NULL: in this process. The scan has its own (scan.h). */
	const struct pc_privsep_opts *privsep;
	const struct pc_kb *kb;         /* classify with it (src/classify), or NULL */
	/* ledger stage: store the finished snapshot (NULL: --no-store). Its
	 * outcome goes to ledger_result and never fails the audit, so the
	 * report is still written when the ledger cannot be. */
	const struct pc_ledger_request *ledger;
	struct pc_ledger_result *ledger_result;
	const struct pc_policy *policy;  /* judge the endpoints, or NULL */
	struct pc_policy_eval_opts policy_opts;
	struct pc_policy_result *policy_result; /* filled when policy is set, or NULL */
	/* optional: called for each endpoint as soon as it is final */
	void (*on_endpoint)(void *ctx, const struct pc_snapshot *snap,
			    const struct pc_endpoint *ep);
	void *ctx;
};

void pc_audit_opts_default(struct pc_audit_opts *opts);
int pc_audit_run(struct pc_snapshot *snap, const struct pc_audit_opts *opts,
		 struct pc_error *err);

#endif
