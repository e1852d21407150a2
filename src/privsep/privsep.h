/*
 * privsep.h - the privilege split: bytes from the network are read and
 * parsed only in a worker process with no capabilities, an unprivileged
 * uid, no_new_privs and a seccomp filter (OpenBSD style; DESIGN.md §6).
 *
 * One fork per stage, no process per probe:
 *
 *   parent (privileged)                       worker (confined)
 *   ---------------------                     ------------------------
 *   holds the namespaces, raw/packet          inherits the snapshot by
 *   sockets, /proc                            fork, runs the stage on its
 *   answers SOCKET_REQ: validates it,  <----  copy: probes, TLS, live
 *   creates the socket in the netns,  ---->   check, re-check, scan
 *   sends it by SCM_RIGHTS                    engines' reply parsers
 *   decodes UPDATE/FOUND/STATS/       <----   streams results back, then
 *   PROGRESS/WARNING/DONE as hostile          DONE, and _exits
 *   input into its own snapshot
 *   reaps the worker: a signal or a non-zero status is a runtime error
 *
 * What the parent trusts: nothing the worker says. Every record is decoded
 * by msg.c (lengths, enums, caps) and then checked here against what the
 * parent knows (endpoint indexes against the snapshot at fork time, each
 * index at most once, namespaces against the inventory's set, socket
 * domains and types against a whitelist, record counts against caps).
 *
 * Library callers that pass no pc_privsep_opts keep the old, in-process
 * behaviour (unit tests, the probe driver); the CLI always splits.
 */
#ifndef PC_PRIVSEP_PRIVSEP_H
#define PC_PRIVSEP_PRIVSEP_H

#include "core/error.h"
#include "core/model.h"
#include "privsep/msg.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct pc_netns_set;

#define PC_PRIVSEP_DEFAULT_USER "nobody"

struct pc_privsep_opts {
	char user[64]; /* for messages */
	uid_t uid;
	gid_t gid;
};

/* Look the user up (NULL: "nobody"). PC_EINVAL with a message naming the
 * user when the machine has no such user. */
int pc_privsep_opts_init(struct pc_privsep_opts *opts, const char *user, struct pc_error *err);

/* The worker's end of the channel. */
struct pc_privsep;

/* The stage, run in the worker on its copy of snap. Returns 0 or a
 * negative code with err filled, as the stage itself would. */
typedef int (*pc_privsep_worker_fn)(struct pc_privsep *ps, struct pc_snapshot *snap, void *arg,
				    struct pc_error *err);

/* What the parent does with the records a stage may send besides endpoint
 * updates and warnings. Every callback is optional; a record whose
 * callback is missing is a protocol error. */
struct pc_privsep_hooks {
	/* SOCKET_REQ may name these namespaces (and the parent's own); NULL:
	 * only the parent's own */
	const struct pc_netns_set *nsset;
	/* in the parent, right after the fork (e.g. close the raw sockets
	 * that only the worker needs, drop the capabilities the parent no
	 * longer needs); 0 or a negative code with err filled, which kills
	 * the worker and fails the run */
	int (*after_fork)(void *ctx, struct pc_error *err);
	/* FOUND: a new endpoint, at most max_found of them */
	int (*on_found)(void *ctx, const struct pc_privsep_found *f, struct pc_error *err);
	uint64_t max_found;
	/* STATS (progress false) or PROGRESS (true) */
	void (*on_stats)(void *ctx, const struct pc_privsep_stats *s, bool progress);
	void *ctx;
	/* close every fd in the worker except stdio and the channel (false
	 * when the stage needs fds it opened before the fork: scan engines) */
	bool close_fds;
	/* else: the fds to close (pc_privsep_fds_open() taken before the
	 * stage opened its own: the report being written, the namespaces) */
	const int *close_list;
	size_t n_close_list;
	/* the stage speaks TLS (probes): load OpenSSL's config and providers
	 * before the filter */
	bool tls;
};

/*
 * Fork a worker that confines itself and runs fn(ps, its copy of snap,
 * arg); apply what it sends to snap. Returns fn's result (its code and
 * message), or a runtime error (PC_EIO, err says why) when the worker
 * could not be started, sent a malformed record, or died: "probe worker
 * killed by signal SIGSYS (seccomp: a forbidden system call)".
 */
int pc_privsep_run(struct pc_snapshot *snap, const struct pc_privsep_opts *opts,
		   const struct pc_privsep_hooks *hooks, pc_privsep_worker_fn fn, void *arg,
		   struct pc_error *err);

/* The fds this process has open now, stdio excepted, from /proc/self/fd
 * (malloc'ed; free it). 0 or a negative errno. */
int pc_privsep_fds_open(int **ret_fds, size_t *ret_n);

/* ---- the worker's side ---- */

/* A socket made by the parent inside the namespace with that inode (ours
 * when it is the parent's own); an fd or a negative errno. Blocks for the
 * round trip. */
int pc_privsep_socket(struct pc_privsep *ps, uint64_t netns, int domain, int type,
		      int protocol);
/* Queue a record (sent when the datagram is full, or at a flush). 0 or a
 * negative errno when the channel is gone. Thread-safe. */
int pc_privsep_send(struct pc_privsep *ps, const struct pc_privsep_rec *rec);
/* Send what is queued. Thread-safe. */
int pc_privsep_flush(struct pc_privsep *ps);
/* Milliseconds since the oldest queued record was queued (0 when none). */
double pc_privsep_pending_ms(struct pc_privsep *ps);

/* Called in the worker right after the seccomp filter is loaded. The
 * library's definition is a weak no-op; only the test-only executable
 * portcensus-testhooks (tests/lab/test_hooks.c) overrides it, to prove that
 * a forbidden system call kills the worker and fails the run cleanly. */
void pc_privsep_test_hook(void);

/* ---- the confinement, for the worker and for tests (seccomp.c) ---- */

/* Load the allow-list filter (default action: kill the process). 0 or a
 * negative errno. no_new_privs must be set first. */
int pc_privsep_seccomp_load(struct pc_error *err);

/* The apply step of the parent, exposed for the fuzzer and unit tests: a
 * whole datagram from the worker, decoded and applied to snap. */
struct pc_privsep_parent;
struct pc_privsep_parent *pc_privsep_parent_new(struct pc_snapshot *snap,
						const struct pc_privsep_hooks *hooks);
void pc_privsep_parent_free(struct pc_privsep_parent *p);
/* 0 or PC_EPARSE (err says what). A SOCKET_REQ is validated; it is
 * answered (a socket made and sent) only in the live loop, where the
 * channel exists. */
int pc_privsep_parent_feed(struct pc_privsep_parent *p, const uint8_t *buf, size_t len,
			   struct pc_error *err);
/* After DONE: the stage's code (0 or negative) and message; 1 when no DONE
 * was received. */
int pc_privsep_parent_result(const struct pc_privsep_parent *p, struct pc_error *err);

#endif
