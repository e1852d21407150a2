/*
 * prom.c - Prometheus text exposition for node_exporter's textfile
 * collector (--format prom -o /var/lib/node_exporter/textfile/portcensus.prom).
 *
 * The textfile collector reads every *.prom file in its directory on each
 * scrape, so the file must never be seen half written: -o goes through the
 * atomic-file module (temporary + rename), like every -o. The exposition
 * follows the text format's rules: a # HELP and # TYPE line before each
 * family, all samples of a family together, label values escaped (they are
 * our own fixed words here), no timestamps (the collector adds its own and
 * refuses files that carry them).
 *
 * Low cardinality on purpose: a time series per ip:port would make the
 * metrics as large as the inventory and churn with every restart, which is
 * what the ledger and `diff` are for. So only counts, by severity, by
 * policy verdict and by kind of drift, plus when the last audit ran and how
 * long it took. Every severity and verdict is always written (0 included)
 * so that a series does not vanish when its count drops to nothing. All
 * families are gauges (they describe the last audit, they do not only go
 * up), so none ends in _total.
 */
#include "report/report.h"

#include <inttypes.h>

#define PREFIX "portcensus_"

static void family(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s gauge\n", name, help, name);
}

static int prom_write(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
		      bool streamed)
{
	(void)streamed;
	uint64_t by_sev[PC_SEV_COUNT] = {0}, unclassified = 0;
	uint64_t by_verdict[PC_VERDICT_UNDOCUMENTED + 1] = {0};
	uint64_t findings[PC_SEV_COUNT] = {0};
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->risk && (unsigned)ep->risk->severity < PC_SEV_COUNT)
			by_sev[ep->risk->severity]++;
		else
			unclassified++;
		enum pc_verdict v = ep->policy ? ep->policy->verdict : PC_VERDICT_NONE;
		if ((unsigned)v <= PC_VERDICT_UNDOCUMENTED)
			by_verdict[v]++;
	}
	for (size_t i = 0; i < snap->n_findings; i++)
		if ((unsigned)snap->findings[i].severity < PC_SEV_COUNT)
			findings[snap->findings[i].severity]++;

	family(f, "info", "The portcensus that wrote this file (always 1).");
	fprintf(f, PREFIX "info{version=\"%s\"} 1\n", opts && opts->version ? opts->version : PC_VERSION);

	family(f, "endpoints", "Endpoints in the last audit by risk severity (none: not classified).");
	for (int s = PC_SEV_CRITICAL; s >= PC_SEV_INFO; s--)
		fprintf(f, PREFIX "endpoints{severity=\"%s\"} %" PRIu64 "\n",
			pc_severity_name((enum pc_severity)s), by_sev[s]);
	fprintf(f, PREFIX "endpoints{severity=\"none\"} %" PRIu64 "\n", unclassified);

	family(f, "endpoints_by_verdict",
	       "Endpoints in the last audit by policy verdict (none: no policy evaluated).");
	static const enum pc_verdict verdicts[] = {PC_VERDICT_ALLOWED, PC_VERDICT_VIOLATION,
						   PC_VERDICT_UNDOCUMENTED, PC_VERDICT_NONE};
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		fprintf(f, PREFIX "endpoints_by_verdict{verdict=\"%s\"} %" PRIu64 "\n",
			verdicts[i] == PC_VERDICT_NONE ? "none" : pc_verdict_name(verdicts[i]),
			by_verdict[verdicts[i]]);

	family(f, "findings", "Findings of the last audit that are not one endpoint's, by severity.");
	for (int s = PC_SEV_CRITICAL; s >= PC_SEV_INFO; s--)
		fprintf(f, PREFIX "findings{severity=\"%s\"} %" PRIu64 "\n",
			pc_severity_name((enum pc_severity)s), findings[s]);

	family(f, "warnings", "Warnings of the last audit (missing privileges, unreadable sources).");
	fprintf(f, PREFIX "warnings %zu\n", snap->n_warnings);

	if (snap->finished_at_ms > 0) {
		family(f, "last_audit_timestamp_seconds", "When the last audit finished (Unix time).");
		fprintf(f, PREFIX "last_audit_timestamp_seconds %.3f\n",
			(double)snap->finished_at_ms / 1000.0);
	}
	if (snap->finished_at_ms > 0 && snap->started_at_ms > 0 &&
	    snap->finished_at_ms >= snap->started_at_ms) {
		family(f, "last_audit_duration_seconds", "How long the last audit took.");
		fprintf(f, PREFIX "last_audit_duration_seconds %.3f\n",
			(double)(snap->finished_at_ms - snap->started_at_ms) / 1000.0);
	}
	if (opts && opts->drift) {
		family(f, "drift_changes",
		       "Changes between the last audit and the one before it, by kind.");
		fprintf(f, PREFIX "drift_changes{change=\"added\"} %" PRIu64 "\n", opts->drift->added);
		fprintf(f, PREFIX "drift_changes{change=\"removed\"} %" PRIu64 "\n",
			opts->drift->removed);
		fprintf(f, PREFIX "drift_changes{change=\"changed\"} %" PRIu64 "\n",
			opts->drift->changed);
	}
	return 0;
}

const struct pc_report_ops pc_report_prom = {
	.name = "prom",
	.description = "Prometheus text exposition for node_exporter's textfile collector",
	.write = prom_write,
};
