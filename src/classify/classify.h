/*
 * classify.h - the classify stage: each listening or open endpoint gets a
 * risk {severity, score 0-10, category, reasons, remediation}.
 *
 * The knowledge base (kb.h) gives what a service is: its category, a base
 * severity, why it matters and how to fix it. Context then moves the score,
 * one rule at a time, and every rule that fires adds one plain sentence
 * that names its evidence: bind scope, reachability from beyond the host,
 * authentication, plaintext credentials, root, exposed configuration,
 * certificates, SSH password logins, an unidentified service, a listener
 * the policy does not cover. docs/classify.md lists the rules and their
 * weights; tests/unit/test_classify.c asserts each reason.
 *
 * Which endpoints: state listen or open. Established connections, closed,
 * filtered and open|filtered (unconfirmed UDP) records get no risk.
 *
 * Pipeline order is probe -> classify -> policy. The "not covered by the
 * policy" rule reads endpoint->policy, which the policy stage fills after
 * us: the pipeline (src/audit.c) runs pc_classify_run() again once the
 * verdicts are known. It recomputes every risk from scratch (old risks stay
 * in the arena until the snapshot is freed), so running it twice is safe.
 */
#ifndef PC_CLASSIFY_CLASSIFY_H
#define PC_CLASSIFY_CLASSIFY_H

#include "classify/kb.h"
#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stdint.h>

struct pc_classify_opts {
	/* "now" for certificate expiry, Unix ms; 0 means the snapshot's
	 * started_at (so a stored snapshot classifies the same way again) */
	int64_t now_ms;
	/* what the ledger's sweeps saw of this host's listeners (audit
	 * --ledger; pc_ledger_evidence): seen open from a segment is
	 * evidence for "reachable beyond this host", filtered or closed from
	 * every segment that scanned it lowers the weight. May be NULL. */
	const struct pc_exposure_evidence *evidence;
	size_t n_evidence;
};

/* Classify every listening or open endpoint of snap. kb must hold the
 * services (pc_kb_builtin); a name it lacks is scored as "unknown". 0, or
 * PC_ENOMEM. */
int pc_classify_run(struct pc_snapshot *snap, const struct pc_kb *kb,
		    const struct pc_classify_opts *opts, struct pc_error *err);

/* Classify one endpoint of snap (it must be one of snap->endpoints), e.g.
 * after its policy verdict changed. Looks at the whole snapshot for a scan
 * that saw it, so it costs O(endpoints): to re-score them all, call
 * pc_classify_run. Endpoints that take no risk get risk NULL. */
int pc_classify_endpoint(struct pc_snapshot *snap, const struct pc_kb *kb,
			 struct pc_endpoint *ep, const struct pc_classify_opts *opts,
			 struct pc_error *err);

/* True when ep takes a risk (listen or open). */
bool pc_classify_applies(const struct pc_endpoint *ep);

/* The worst severity among classified endpoints; false when none has a
 * risk. For --fail-on. */
bool pc_classify_worst(const struct pc_snapshot *snap, enum pc_severity *ret);

/* Severity for a score (the thresholds of docs/classify.md). */
enum pc_severity pc_classify_severity_of(double score);

#endif
