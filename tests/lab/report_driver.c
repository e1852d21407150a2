/*
 * report_driver.c - write the hand-built report sample (tests/unit/
 * report_sample.c) in a report format, for the Chromium lab test: the
 * golden unit tests and the browser then look at the same snapshot.
 * Built only for tests.
 *
 * usage: report_driver FORMAT [hostile]
 */
#include "report/report.h"
#include "report_sample.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "hostile") != 0)) {
		fprintf(stderr, "usage: report_driver FORMAT [hostile]\n");
		return 2;
	}
	const struct pc_report_ops *ops = pc_report_find(argv[1]);
	if (!ops) {
		fprintf(stderr, "report_driver: unknown format %s\n", argv[1]);
		return 2;
	}
	struct pc_snapshot *snap = pc_test_report_sample(argc == 3);
	if (!snap)
		return 3;
	struct pc_report_opts ro = {.view = PC_VIEW_AUDIT, .version = "0.test"};
	int r = ops->write(stdout, snap, &ro, false);
	pc_snapshot_free(snap);
	if (r < 0 || fflush(stdout) != 0 || ferror(stdout))
		return 3;
	return 0;
}
