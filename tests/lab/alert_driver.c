/*
 * alert_driver.c - send alerts through one sink, configured from the
 * command line. Built only for tests: tests/e2e/webhook.sh drives the
 * webhook sink against a lab receiver with it, before `watch` exists to
 * carry the same options.
 *
 * usage: alert_driver SINK [-t TARGET] [-s] [-F SECRET_FILE] [-E SECRET_ENV]
 *                     [-T TIMEOUT_MS] [-r RETRIES] [-b BACKOFF_MS]
 *                     [-n COUNT] [-m TEXT] [-- ARGV...]
 * -s: Slack text form. Prints "sent N in MS ms" on stdout, or the sink's
 * error on stderr (exit 1); a bad configuration exits 2.
 */
#include "alert/alert.h"
#include "core/error.h"
#include "core/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: alert_driver SINK [options] [-- ARGV...]\n");
		return 2;
	}
	const struct pc_alert_ops *ops = pc_alert_find(argv[1]);
	if (!ops) {
		fprintf(stderr, "alert_driver: no sink %s\n", argv[1]);
		return 2;
	}
	struct pc_alert_config cfg;
	pc_alert_config_default(&cfg);
	long count = 1;
	const char *text = "new listener tcp 198.18.0.2:6379 (1234/redis-server)";
	int c;
	optind = 2;
	while ((c = getopt(argc, argv, "t:sF:E:T:r:b:n:m:")) != -1) {
		switch (c) {
		case 't': cfg.target = optarg; break;
		case 's': cfg.slack = true; break;
		case 'F': cfg.secret_file = optarg; break;
		case 'E': cfg.secret_env = optarg; break;
		case 'T': cfg.timeout_ms = (int)strtol(optarg, NULL, 10); break;
		case 'r': cfg.retries = (int)strtol(optarg, NULL, 10); break;
		case 'b': cfg.backoff_ms = (int)strtol(optarg, NULL, 10); break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'm': text = optarg; break;
		default: return 2;
		}
	}
	if (optind < argc)
		cfg.argv = (const char *const *)&argv[optind];
	struct pc_error err = {0};
	void *state = NULL;
	int rc = ops->open(&state, &cfg, &err);
	if (rc) {
		fprintf(stderr, "alert_driver: %s\n", err.msg);
		return 2;
	}
	struct pc_alert a = {
		.kind = PC_ALERT_NEW_LISTENER,
		.severity = PC_SEV_HIGH,
		.host = "lab-host",
		.text = text,
		.change_json = "{\"action\":\"added\",\"proto\":\"tcp\",\"port\":6379}",
	};
	double t0 = pc_monotonic_ms();
	long sent = 0;
	for (long i = 0; i < count; i++) {
		a.time_ms = pc_now_ms();
		rc = ops->send(state, &a, &err);
		if (rc) {
			fprintf(stderr, "alert_driver: %s\n", err.msg);
			break;
		}
		sent++;
	}
	printf("sent %ld in %.0f ms\n", sent, pc_monotonic_ms() - t0);
	ops->close(state);
	return rc ? 1 : 0;
}
