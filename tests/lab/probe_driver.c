/*
 * probe_driver.c - run the probe engine over endpoints named on the command
 * line and print the snapshot in any report format. Built only for tests:
 * lab scripts use it to exercise pc_probe_run against lab hosts without
 * going through `verify` or `audit`.
 *
 * usage: probe_driver [-t TIMEOUT_MS] [-P PARALLEL] [-H PER_HOST]
 *                     [-C MAX_PROBED] [-f FORMAT] [-n COUNT] tcp|udp:ADDR:PORT...
 * -C is the per-host cap on endpoints probed (0: no cap; default: the
 * library's).
 * -n repeats every endpoint COUNT times (a crowd of connections); -m
 * prints the peak resident set (VmHWM from /proc/self/status) on stderr.
 */
#include "core/addr.h"
#include "core/error.h"
#include "core/model.h"
#include "probe/probe.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_ep(const char *arg, enum pc_proto *proto, struct pc_addr *a, uint16_t *port)
{
	char buf[128];
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -1;
	if (strncmp(buf, "tcp:", 4) == 0)
		*proto = PC_PROTO_TCP;
	else if (strncmp(buf, "udp:", 4) == 0)
		*proto = PC_PROTO_UDP;
	else
		return -1;
	char *last = strrchr(buf + 4, ':');
	if (!last)
		return -1;
	*last = '\0';
	char *end;
	unsigned long p = strtoul(last + 1, &end, 10);
	if (*end || p == 0 || p > 65535)
		return -1;
	*port = (uint16_t)p;
	char *h = buf + 4;
	if (h[0] == '[') {
		h++;
		size_t n = strlen(h);
		if (n && h[n - 1] == ']')
			h[n - 1] = '\0';
	}
	return pc_addr_parse(h, a);
}

int main(int argc, char **argv)
{
	struct pc_probe_run_opts o = { 0 };
	const char *format = "json";
	long count = 1;
	int c, memory = 0;
	while ((c = getopt(argc, argv, "t:P:H:C:f:n:m")) != -1) {
		switch (c) {
		case 't': o.timeout_ms = strtod(optarg, NULL); break;
		case 'P': o.parallel = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': o.host_inflight = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'C':
			o.max_probed_ports = (unsigned)strtoul(optarg, NULL, 10);
			if (o.max_probed_ports == 0)
				o.max_probed_ports = PC_PROBE_NO_CAP;
			break;
		case 'f': format = optarg; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'm': memory = 1; break;
		default: return 2;
		}
	}
	const struct pc_report_ops *rep = pc_report_find(format);
	if (!rep || count < 1) {
		fprintf(stderr, "probe_driver: bad format or count\n");
		return 2;
	}
	struct pc_snapshot *snap = pc_snapshot_new("probe_driver");
	if (!snap)
		return 3;
	for (int i = optind; i < argc; i++) {
		enum pc_proto proto;
		struct pc_addr a;
		uint16_t port;
		if (parse_ep(argv[i], &proto, &a, &port) < 0) {
			fprintf(stderr, "probe_driver: bad endpoint %s\n", argv[i]);
			return 2;
		}
		for (long k = 0; k < count; k++) {
			struct pc_endpoint *ep = pc_snapshot_add_endpoint(snap);
			if (!ep)
				return 3;
			ep->source = PC_SOURCE_SCAN;
			ep->proto = proto;
			ep->addr = a;
			ep->port = port;
			ep->state = PC_STATE_OPEN;
		}
	}
	struct pc_error err = { 0 };
	if (pc_probe_run(snap, &o, &err) < 0) {
		fprintf(stderr, "probe_driver: %s\n", err.msg);
		return 3;
	}
	pc_snapshot_finish(snap);
	struct pc_report_opts ro = { .view = PC_VIEW_SCAN, .version = PC_VERSION };
	int r = rep->write(stdout, snap, &ro, false);
	pc_snapshot_free(snap);
	if (memory) {
		FILE *f = fopen("/proc/self/status", "re");
		char line[256];
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "VmHWM:", 6) == 0)
				fputs(line, stderr);
		if (f)
			fclose(f);
	}
	return r < 0 ? 3 : 0;
}
