/*
 * jsonl.c - the "jsonl" format: one endpoint object per line, written as
 * soon as each endpoint is known when the command streams.
 */
#include "report/report.h"

static void write_line(FILE *f, const struct pc_snapshot *snap, const struct pc_endpoint *ep)
{
	struct pc_json j;
	pc_json_init(&j, f, false);
	pc_report_json_endpoint_of(&j, snap, ep);
	fputc('\n', f);
}

static int stream_jsonl(FILE *f, const struct pc_snapshot *snap, const struct pc_endpoint *ep,
			const struct pc_report_opts *opts)
{
	(void)opts;
	write_line(f, snap, ep);
	fflush(f); /* a reader downstream sees each result as it is confirmed */
	return 0;
}

static int write_jsonl(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
		       bool streamed)
{
	if (streamed)
		return 0;
	(void)opts;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		write_line(f, snap, &snap->endpoints[i]);
	return 0;
}

const struct pc_report_ops pc_report_jsonl = {
	.name = "jsonl",
	.description = "one endpoint JSON object per line (streamed)",
	.write = write_jsonl,
	.stream_endpoint = stream_jsonl,
};
