/*
 * watch_driver.c - run the fast host watch (pc_watch_listeners) and print
 * what it sees, for tests/e2e/watch_listen.sh and bench/watch/run, until
 * `watch` wires the same library piece.
 *
 * usage: watch_driver [-i INTERVAL_MS] [-N NS_INTERVAL_MS] [-d DURATION_MS]
 *                     [-e] [-U] [-j]
 * -e reports what already listens; -U leaves UDP out; -j also writes each
 * event as a new_listener alert through the jsonl sink (the alert JSON of
 * docs/formats.md). Each event is one line on stdout:
 *   EVENT <monotonic ms> <proto> <addr:port> netns=<name|inode> owner=<pid/comm>
 * and at the end one line of statistics, CPU time from getrusage:
 *   STATS passes=.. discoveries=.. events=.. namespaces=.. dump_errors=..
 *         wall_ms=.. cpu_ms=.. cpu_pct=.. pass_ms_max=.. pass_us_avg=.. walk_us_avg=..
 * SIGTERM and SIGINT stop it between passes.
 */
#include "alert/alert.h"
#include "core/buf.h"
#include "core/model.h"
#include "inventory/watch.h"
#include "report/report.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct ctx {
	bool json;
	void *sink;
};

static int on_new(void *arg, const struct pc_snapshot *snap)
{
	struct ctx *c = arg;
	double now = pc_monotonic_ms();
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		char hp[PC_ADDR_STRLEN + 16], owner[128], ns[64];
		if (ep->netns.name)
			pc_text_sanitize(ep->netns.name, ns, sizeof(ns));
		else
			snprintf(ns, sizeof(ns), "%llu", (unsigned long long)ep->netns.inode);
		printf("EVENT %.1f %s %s netns=%s owner=%s\n", now, pc_proto_name(ep->proto),
		       pc_report_hostport(&ep->addr, ep->port, hp, sizeof(hp)), ns,
		       pc_report_owner_short(ep, owner, sizeof(owner)));
		if (c->json) {
			struct pc_buf text, json;
			struct pc_alert a;
			struct pc_error err = {0};
			pc_buf_init(&text, 1024);
			pc_buf_init(&json, 64 * 1024);
			if (pc_alert_from_listener(snap, ep, PC_SEV_MEDIUM, &text, &json, &a) == 0) {
				fflush(stdout);
				if (pc_alert_jsonl.send(c->sink, &a, &err) != 0)
					fprintf(stderr, "watch_driver: %s\n", err.msg);
			}
			pc_buf_free(&text);
			pc_buf_free(&json);
		}
	}
	fflush(stdout);
	return 0;
}

static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

int main(int argc, char **argv)
{
	struct pc_watch_opts o;
	pc_watch_opts_default(&o);
	struct ctx c = {0};
	int opt;
	while ((opt = getopt(argc, argv, "i:N:d:eUj")) != -1) {
		switch (opt) {
		case 'i': o.interval_ms = (int)strtol(optarg, NULL, 10); break;
		case 'N': o.ns_interval_ms = (int)strtol(optarg, NULL, 10); break;
		case 'd': o.duration_ms = strtoll(optarg, NULL, 10); break;
		case 'e': o.report_existing = true; break;
		case 'U': o.udp = false; break;
		case 'j': c.json = true; break;
		default:
			fprintf(stderr, "usage: watch_driver [-i MS] [-N MS] [-d MS] [-e] [-U] [-j]\n");
			return 2;
		}
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	o.stop = &stop_flag;
	struct pc_error err = {0};
	if (c.json) {
		struct pc_alert_config cfg;
		pc_alert_config_default(&cfg);
		if (pc_alert_jsonl.open(&c.sink, &cfg, &err) != 0) {
			fprintf(stderr, "watch_driver: %s\n", err.msg);
			return 3;
		}
	}
	printf("READY %.1f\n", pc_monotonic_ms());
	fflush(stdout);
	double t0 = pc_monotonic_ms(), c0 = cpu_ms();
	struct pc_watch_stats st;
	int rc = pc_watch_listeners(&o, on_new, &c, &st, &err);
	double wall = pc_monotonic_ms() - t0, cpu = cpu_ms() - c0;
	if (c.json)
		pc_alert_jsonl.close(c.sink);
	if (rc < 0) {
		fprintf(stderr, "watch_driver: %s\n", err.msg);
		return 3;
	}
	printf("STATS passes=%llu discoveries=%llu events=%llu namespaces=%u dump_errors=%llu "
	       "wall_ms=%.0f cpu_ms=%.1f cpu_pct=%.3f pass_ms_max=%.2f pass_us_avg=%.0f "
	       "walk_us_avg=%.0f\n",
	       (unsigned long long)st.passes, (unsigned long long)st.discoveries,
	       (unsigned long long)st.events, st.namespaces, (unsigned long long)st.dump_errors,
	       wall, cpu, wall > 0 ? 100.0 * cpu / wall : 0.0, st.pass_ms_max,
	       st.passes ? 1000.0 * st.pass_ms_total / (double)st.passes : 0.0,
	       st.discoveries ? 1000.0 * st.walk_ms_total / (double)st.discoveries : 0.0);
	return 0;
}
