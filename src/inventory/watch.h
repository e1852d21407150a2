/*
 * watch.h - the fast host watch: between two full audits, notice a new
 * listening socket within a second of its listen() (or bind(), for UDP),
 * in every network namespace, including namespaces created after the
 * watch started, and name the process that owns it.
 *
 * How (measured in docs/benchmarks.md, "fast host watch"): poll, do not
 * subscribe. Linux has no netlink event for listen(): the proc connector
 * (needs CAP_NET_ADMIN) reports fork/exec/exit, not sockets, and the
 * remaining event sources need eBPF, which we do not use. A sock_diag dump
 * of one namespace's listeners costs tens of microseconds, so the watch
 * keeps one NETLINK_SOCK_DIAG socket per namespace (made once, inside it),
 * dumps every namespace every interval_ms (250 by default) and compares
 * the socket inodes with the previous pass. New namespaces: before each
 * pass, a cheap look at /proc (the list of pids, and the namespace of each
 * process that is new or less than 3 s old) triggers a full walk of
 * /proc/PID/ns/net and /run/netns as soon as a process sits in a namespace
 * we do not know; inotify on /run/netns does the same for named
 * namespaces, and a full walk runs every ns_interval_ms (5 s) regardless,
 * for the rare old process that changes namespace late. So a listener in a
 * namespace born after the start is seen within about interval_ms. Owners
 * are looked up (one walk of /proc/PID/fd) only when something new
 * appeared.
 *
 * The first pass is the baseline: what already listens is not reported
 * (unless report_existing). Listeners of a namespace found later are all
 * new. A namespace whose dump failed keeps its previous listeners for that
 * pass, so a transient error never reports old sockets as new.
 */
#ifndef PC_INVENTORY_WATCH_H
#define PC_INVENTORY_WATCH_H

#include "core/error.h"
#include "core/model.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_watch_opts {
	int interval_ms;        /* listeners dump period (0: 250) */
	int ns_interval_ms;     /* full namespace walk period (0: 5000) */
	bool udp;               /* bound UDP sockets count as listeners */
	bool owners;            /* look up the owners of new sockets */
	bool report_existing;   /* the first pass reports what already listens */
	int64_t duration_ms;    /* stop after this long (0: no limit) */
	const char *proc_root;  /* NULL: "/proc" */
	const char *netns_dir;  /* NULL: "/run/netns" */
	/* The socket inodes the caller already knows (e.g. the audit that
	 * just ran): when set, the first pass is not a silent baseline but
	 * reports every listener not among them, so nothing opened between
	 * that audit and the watch's start is missed. */
	const uint64_t *known_inodes;
	size_t n_known_inodes;
	/* set (to non-zero) from a signal handler to stop between passes */
	volatile sig_atomic_t *stop;
};

void pc_watch_opts_default(struct pc_watch_opts *opts);

struct pc_watch_stats {
	uint64_t passes;       /* listener dumps of all namespaces */
	uint64_t discoveries;  /* namespace walks */
	uint64_t events;       /* new listeners reported */
	uint64_t dump_errors;  /* namespace dumps that failed (kept the previous set) */
	unsigned namespaces;   /* watched at the end */
	double pass_ms_max;    /* slowest pass, wall clock */
	double pass_ms_total;  /* all passes (dumps, compare, owners, callback) */
	double walk_ms_total;  /* all namespace walks */
};

/*
 * Called once per pass that found new listeners. snap holds them (source
 * HOST, state LISTEN, netns inode and name, sock_inode, owners when
 * opts->owners) and is freed after the call; its finished_at_ms is when the
 * pass saw them. Return 0 to go on, anything else to stop the watch with
 * that value.
 */
typedef int (*pc_watch_fn)(void *ctx, const struct pc_snapshot *snap);

/*
 * Watch until *opts->stop, the duration, or the callback stops it. Returns
 * 0, the callback's value, or a negative code (err filled) when the
 * namespaces cannot be read at all (e.g. no /proc) or memory runs out.
 * ret_stats may be NULL.
 */
int pc_watch_listeners(const struct pc_watch_opts *opts, pc_watch_fn fn, void *ctx,
		       struct pc_watch_stats *ret_stats, struct pc_error *err);

#endif
