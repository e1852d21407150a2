/*
 * phases.c - where the time of `portcensus listeners --established --format
 * json` goes, phase by phase, on whatever sockets the host (or the bench's
 * lab) holds. Built and run by bench/inventory/run against the library of
 * the build being measured; not part of portcensus.
 *
 * usage: phases RUNS  -> one line per phase: median milliseconds
 */
#include "inventory/inventory.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_RUNS 64

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	if (runs < 1 || runs > MAX_RUNS)
		runs = 5;
	static char outbuf[1 << 20];
	double t[4][MAX_RUNS]; /* sockets, owners, sort, json */
	for (int k = 0; k < runs; k++) {
		struct pc_inventory_opts o;
		pc_inventory_opts_default(&o);
		o.established = true;
		struct pc_error err = {0};
		for (int owners = 0; owners < 2; owners++) {
			o.owners = owners;
			struct pc_snapshot *snap = pc_snapshot_new("phases");
			double t0 = pc_monotonic_ms();
			if (!snap || pc_inventory_collect(snap, &o, NULL, &err) < 0) {
				fprintf(stderr, "phases: %s\n", err.msg);
				return 1;
			}
			double t1 = pc_monotonic_ms();
			if (!owners) {
				t[0][k] = t1 - t0;
				pc_snapshot_free(snap);
				continue;
			}
			t[1][k] = t1 - t0 - t[0][k];
			pc_snapshot_sort(snap);
			double t2 = pc_monotonic_ms();
			FILE *f = fopen("/dev/null", "we");
			if (!f)
				return 1;
			setvbuf(f, outbuf, _IOFBF, sizeof(outbuf));
			struct pc_report_opts ro = {.view = PC_VIEW_LISTENERS, .version = "phases"};
			pc_report_json.write(f, snap, &ro, false);
			fclose(f);
			double t3 = pc_monotonic_ms();
			t[2][k] = t2 - t1;
			t[3][k] = t3 - t2;
			pc_snapshot_free(snap);
		}
	}
	static const char *names[] = {
		"namespaces + sock_diag dumps (--no-owners collect)",
		"owners: /proc walk + process details",
		"sort",
		"JSON writing (to /dev/null)",
	};
	for (int p = 0; p < 4; p++)
		printf("  %-52s %6.1f ms\n", names[p], median(t[p], runs));
	return 0;
}
