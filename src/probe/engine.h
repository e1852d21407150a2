/*
 * engine.h - the probe engine's own state, shared by the files that make it
 * up; nothing outside the engine includes it (probes see probe_ops.h only).
 *
 * The engine is one job per endpoint in flight, driven by one epoll loop,
 * split by job so that each file can be read alone:
 *
 *   engine.c          the run: job slots, the deadline heap, the loop
 *   engine_sched.c    which endpoint next: per-host queues and limits,
 *                     the per-host cap on ports probed, fairness
 *   engine_plan.c     the plan: which probes, in which order, per endpoint
 *   engine_job.c      a job's state machine: steps, the active probe and
 *                     its verdicts, socket events, the final result
 *   engine_passive.c  the passive banner read and the UDP fan-out (many
 *                     candidate probes over one stream of bytes)
 *   engine_conn.c     sockets: open, send through the pending buffer, close
 *   engine_tls.c      TLS over memory BIOs on those sockets: handshake,
 *                     failure, decryption of what arrives
 *
 * The functions below are internal to these files (pc_probe_ prefix only so
 * that they cannot clash with other stages in the library).
 */
#ifndef PC_PROBE_ENGINE_H
#define PC_PROBE_ENGINE_H

#include "probe/probe.h"

#include "core/heap.h"
#include "core/hostmap.h"
#include "probe/probe_ops.h"
#include "probe/tls.h"
#include "scan/pace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum step_kind { STEP_PROBE, STEP_PASSIVE, STEP_TLS };

struct step {
	uint8_t kind;
	uint8_t probe; /* registry index for STEP_PROBE */
};

#define MAX_STEPS 96
#define MAX_PROBES 64

enum conn_state {
	CONN_NONE = 0,
	CONN_CONNECTING,
	CONN_HANDSHAKE, /* TLS */
	CONN_READY,
};

enum activity { ACT_NONE = 0, ACT_PASSIVE, ACT_PROBE, ACT_TLS_DETECT };

struct candidate {
	const struct pc_probe_ops *ops;
	void *state;
	struct pc_probe_ctx ctx;
	struct pc_probe_result res;
	enum pc_probe_verdict v;
	bool claimed; /* queued bytes: it recognised the service */
	bool dead;
};

struct job {
	bool used;
	size_t ep_index;
	struct pc_addr addr;
	uint64_t ns; /* network namespace of a host record, 0 otherwise */
	uint16_t port;
	bool udp;

	struct step steps[MAX_STEPS];
	size_t n_steps, step;
	bool in_tls_plan;

	int fd;
	enum conn_state conn;
	bool clean; /* nothing sent, nothing unread on this connection */
	bool tls_mode;
	SSL *ssl;
	bool tls_saw_handshake; /* first ciphertext byte was a handshake record */
	bool got_first_cipher;
	bool starttls;    /* a probe's in-band upgrade is in its handshake */
	bool upgraded;    /* ... and succeeded: the service speaks TLS */
	bool tls_failed_hard;
	char tls_fail_reason[96];
	struct pc_tls_info *tls_info;

	enum activity act;
	/* the active probe */
	const struct pc_probe_ops *ops;
	void *state;
	struct pc_probe_ctx *ctx;
	struct pc_probe_result *res;
	bool got_bytes;     /* this exchange received something */
	/* passive read candidates */
	struct candidate *cands;
	size_t n_cands;
	/* bytes waiting to go out (ciphertext in TLS mode) */
	uint8_t *pending;
	size_t pending_len, pending_off;
	/* request queued by RECONNECT, sent once the new connection is up */
	uint8_t *resend;
	size_t resend_len;

	double deadline;
	double budget_end;
	double connect_ms; /* when its connection was opened (the pacer's RTT) */
	size_t read_total;
	unsigned silent;
	bool connected_once;

	bool matched;
	struct pc_probe_result final;
	uint8_t first_bytes[PC_PROBE_BANNER_MAX];
	size_t n_first;
};

/* One host of the scheduler: its endpoints are order[first..end) of
 * struct pc_probe_sched, the next to start at order[next]. */
struct sched_host {
	struct pc_addr addr;
	uint64_t ns;
	uint32_t first, next, end;
	uint32_t inflight, limit;
	bool queued;  /* in the ring of hosts that may start a job */
	bool network; /* network-side records: the cap applies */
};

struct pc_probe_sched {
	struct pc_hostmap *map; /* (ns, address) -> index in hosts */
	struct sched_host *hosts;
	size_t n_hosts;
	uint32_t *order;   /* endpoint indices, grouped by host */
	uint32_t *host_of; /* endpoint -> host, UINT32_MAX when not probed */
	uint32_t *ring;    /* hosts that may start a job now, in turn */
	size_t ring_head, ring_n;
	unsigned parallel;
};

struct engine {
	struct pc_snapshot *snap;
	struct pc_probe_run_opts o;
	int epfd;
	SSL_CTX *tls_ctx;
	struct job *jobs;
	size_t n_jobs;
	size_t active;         /* jobs in use */
	uint32_t *free_slots;  /* indices of unused jobs, a stack */
	size_t n_free;
	struct pc_heap deadlines; /* job index -> its deadline */
	struct pc_probe_sched sched;
	const struct pc_probe_ops *probes[MAX_PROBES];
	size_t n_probes;
	int tls_index;
	/* the adaptive pacer of the scan engines (scan/pace.h): a job starts
	 * when its host's path has a token, and each handshake's round trip
	 * feeds the path; a job the pace holds back waits as `held` */
	struct pc_pace *pace;
	size_t held;
	bool has_held;
};

static inline const struct pc_probe_ops *op(struct engine *e, size_t i)
{
	return e->probes[i];
}

/* engine_sched.c */
/* Group the wanted endpoints of snap by host, apply the cap (marking the
 * skipped endpoints and warning once per capped host). max_probed 0: no
 * cap. 0 or PC_ENOMEM. */
int pc_probe_sched_init(struct pc_probe_sched *s, struct pc_snapshot *snap,
			unsigned host_inflight, unsigned parallel, unsigned max_probed);
void pc_probe_sched_free(struct pc_probe_sched *s);
/* The endpoint to start now (its host's turn, under its limit); false when
 * none may start until a job ends (or none is left). */
bool pc_probe_sched_next(struct pc_probe_sched *s, size_t *ret_ep);
/* The job of endpoint ep has ended. */
void pc_probe_sched_done(struct pc_probe_sched *s, size_t ep);
/* The host of an endpoint: its namespace (host records) and the address
 * the engine dials. */
uint64_t pc_probe_sched_ns(const struct pc_endpoint *ep);
void pc_probe_sched_addr(const struct pc_endpoint *ep, struct pc_addr *ret_addr);

/* engine.c */
/* The job's exchange deadline is now j->deadline. */
void pc_probe_engine_deadline(struct engine *e, struct job *j);
/* The job has ended: its slot, its deadline and its host's turn are free. */
void pc_probe_engine_release(struct engine *e, struct job *j);

/* engine_plan.c */
bool pc_probe_plan_usable(const struct pc_probe_ops *p, bool udp, bool in_tls);
/* Build the plan from j->step on: likely probes, passive read, the rest. */
void pc_probe_plan_build(struct engine *e, struct job *j, bool in_tls);
/* The peer answered with a TLS record: try the handshake next. */
void pc_probe_plan_tls_next(struct job *j);

/* engine_conn.c */
void pc_probe_conn_watch(struct engine *e, struct job *j, uint32_t events, bool add);
void pc_probe_conn_close(struct engine *e, struct job *j);
int pc_probe_conn_open(struct engine *e, struct job *j);
/* Push pending bytes; 0, or negative errno when the connection broke. */
int pc_probe_conn_flush(struct engine *e, struct job *j);
/* Queue application bytes (through TLS when on). */
int pc_probe_conn_send(struct engine *e, struct job *j, const uint8_t *data, size_t len);

/* engine_tls.c */
void pc_probe_tls_step(struct engine *e, struct job *j);
/* The handshake failed, or the peer closed in the middle of it. */
void pc_probe_tls_fail(struct engine *e, struct job *j);
void pc_probe_tls_read(struct engine *e, struct job *j, uint8_t *buf, size_t size, size_t n);

/* engine_passive.c */
int pc_probe_passive_setup(struct engine *e, struct job *j);
void pc_probe_passive_feed(struct engine *e, struct job *j, const uint8_t *data, size_t len);
void pc_probe_passive_done(struct engine *e, struct job *j, bool eof);
/* Is a banner protocol expected on this port (full timeout) or not (a quarter)? */
bool pc_probe_passive_likely(struct engine *e, struct job *j);

/* engine_job.c */
void pc_probe_job_next(struct engine *e, struct job *j);
void pc_probe_job_finish(struct engine *e, struct job *j);
void pc_probe_job_match(struct engine *e, struct job *j, const struct pc_probe_result *res);
/* After a verdict (or the end) of the active probe. */
void pc_probe_active_verdict(struct engine *e, struct job *j, enum pc_probe_verdict v);
void pc_probe_active_done(struct engine *e, struct job *j, bool eof);
/* Bytes of the application stream (plaintext) for the current activity. */
void pc_probe_deliver(struct engine *e, struct job *j, const uint8_t *data, size_t len);
void pc_probe_step_begin(struct engine *e, struct job *j);
void pc_probe_ctx_fill(struct job *j, struct pc_probe_ctx *ctx, struct pc_probe_result *res);
void pc_probe_on_connected(struct engine *e, struct job *j);
void pc_probe_on_eof(struct engine *e, struct job *j);
void pc_probe_on_readable(struct engine *e, struct job *j);
void pc_probe_on_timeout(struct engine *e, struct job *j);

#endif
