/*
 * json.c - the "json" format: one document with snapshot, endpoints and
 * summary (docs/formats.md).
 */
#include "report/report.h"

static int write_json(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
		      bool streamed)
{
	(void)streamed; /* json never streams */
	struct pc_json j;
	pc_report_json_begin(&j, f, opts->version, snap);
	pc_json_key(&j, "endpoints");
	pc_json_begin_array(&j);
	for (size_t i = 0; i < snap->n_endpoints; i++)
		pc_report_json_endpoint_of(&j, snap, &snap->endpoints[i]);
	pc_json_end_array(&j);
	pc_json_key(&j, "summary");
	pc_report_json_summary(&j, snap);
	pc_json_end_object(&j);
	fputc('\n', f);
	return 0;
}

const struct pc_report_ops pc_report_json = {
	.name = "json",
	.description = "one JSON document: snapshot, endpoints, summary",
	.write = write_json,
};
