/*
 * scan_worker.c - the scan under the privilege split (opts->privsep,
 * privsep.h). The engines' `prepare` opened the raw and packet sockets in
 * scan.c; here a worker is forked that confines itself and runs the
 * engines, which read every reply. It streams each result back as a FOUND
 * record; this process checks it against its own target set, port list
 * and "reported" sets (hostile input), stores it and calls on_endpoint,
 * and closes the engines' sockets, which only the worker needs.
 */
#include "scan/scan.h"
#include "privsep/privsep.h"
#include "scan/ports.h"
#include "scan/privdrop.h"
#include "scan/scan_int.h"
#include "scan/targets.h"

#include <string.h>

/* Results wait at most this long in the worker's datagram before they
 * are sent (a streamed report shows them as they come, a busy scan sends
 * ~1,800 per datagram). */
#define FLUSH_MS 10.0

static void stats_record(const struct pc_scan_stats *st, uint64_t found,
			 enum pc_privsep_type type, struct pc_privsep_rec *rec)
{
	*rec = (struct pc_privsep_rec){.type = type};
	rec->u.stats = (struct pc_privsep_stats){
		.sent = st->sent, .replies = st->replies, .retries = st->retries,
		.capture_drops = st->capture_drops, .duration_s = st->duration_s,
		.rate_pps = st->rate_pps, .found = found,
		.pace_pps = st->pace_pps, .rate_step_s = st->rate_step_s, .limit = st->limit,
		.limit_prefix = st->limit_prefix, .limit_net = st->limit_net,
		.n_rate_hist = st->n_rate_hist,
	};
	memcpy(rec->u.stats.rate_hist, st->rate_hist, sizeof(st->rate_hist));
}

/* Worker: a result (called under ctx->lock) goes to the parent. */
static void worker_endpoint(void *c, const struct pc_snapshot *snap, const struct pc_endpoint *ep)
{
	(void)snap;
	struct pc_scan_run_ctx *run = c;
	struct pc_privsep_rec rec = {.type = PC_PRIVSEP_FOUND};
	rec.u.found = (struct pc_privsep_found){
		.proto = ep->proto, .addr = ep->addr, .port = ep->port, .state = ep->state,
		.rtt_ms = ep->rtt_ms,
	};
	int r = pc_privsep_send(run->ps, &rec);
	if (r == 0 && pc_privsep_pending_ms(run->ps) >= FLUSH_MS)
		r = pc_privsep_flush(run->ps);
	if (r < 0 && !run->ctx->error)
		run->ctx->error = PC_EIO;
}

/* Worker: progress (a few times a second, and at the end) flushes what is
 * queued, and goes to the parent when it shows progress. */
static void worker_progress(void *c, const struct pc_scan_stats *st, uint64_t found)
{
	struct pc_scan_run_ctx *run = c;
	if (run->opts->on_progress) {
		struct pc_privsep_rec rec;
		stats_record(st, found, PC_PRIVSEP_PROGRESS, &rec);
		pc_privsep_send(run->ps, &rec);
	}
	pc_privsep_flush(run->ps);
}

static int scan_worker(struct pc_privsep *ps, struct pc_snapshot *snap, void *arg,
		       struct pc_error *err)
{
	struct pc_scan_run_ctx *run = arg;
	run->ps = ps;
	run->wopts = *run->opts;
	run->wopts.store = false; /* the parent keeps them */
	run->wopts.on_endpoint = worker_endpoint;
	run->wopts.on_progress = worker_progress;
	run->wopts.ctx = run;
	run->ctx->opts = &run->wopts;
	int r = pc_scan_run_passes(run, err);
	struct pc_privsep_rec rec;
	stats_record(&snap->scan, 0, PC_PRIVSEP_STATS, &rec);
	if (pc_privsep_send(ps, &rec) < 0 && r == 0)
		r = pc_error_set(err, PC_EIO, "scan: the channel to the parent is gone");
	return r;
}

/* Parent, after the fork: the engines' sockets belong to the worker now,
 * and the `scan` command needs no capability any more. */
static int parent_after_fork(void *c, struct pc_error *err)
{
	struct pc_scan_run_ctx *run = c;
	for (int p = 0; p < 2; p++) {
		if (run->ops[p] && run->ops[p]->release && run->state[p])
			run->ops[p]->release(run->state[p]);
		run->state[p] = NULL;
	}
	return run->opts->drop_caps ? pc_privdrop_all(err) : 0;
}

/* Parent: a result from the worker, checked against what we asked for. */
static int parent_found(void *c, const struct pc_privsep_found *f, struct pc_error *err)
{
	struct pc_scan_run_ctx *run = c;
	struct pc_scan_ctx *ctx = run->ctx;
	uint64_t ai;
	size_t pi;
	if (!run->ops[f->proto] || !pc_targets_index(ctx->targets, &f->addr, &ai) ||
	    !pc_ports_index(ctx->ports, f->proto, f->port, &pi))
		return pc_error_set(err, PC_EPARSE, "a result for a probe that was not asked for");
	if (!pc_scan_shown(run->opts, f->state))
		return pc_error_set(err, PC_EPARSE, "a result in a state that is not shown");
	int fresh = pc_scan_seen_add(&run->seen[f->proto], ai + ctx->n_addrs * (uint64_t)pi);
	if (fresh == 0)
		return pc_error_set(err, PC_EPARSE, "a probe reported twice");
	if (fresh < 0 || pc_scan_emit(ctx, &f->addr, f->proto, f->port, f->state, f->rtt_ms) < 0)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	return 0;
}

static void parent_stats(void *c, const struct pc_privsep_stats *s, bool progress)
{
	struct pc_scan_run_ctx *run = c;
	struct pc_scan_stats *st = &run->ctx->snap->scan;
	st->sent = s->sent;
	st->replies = s->replies;
	st->retries = s->retries;
	st->capture_drops = s->capture_drops;
	st->duration_s = s->duration_s;
	st->rate_pps = s->rate_pps;
	st->pace_pps = s->pace_pps;
	st->rate_step_s = s->rate_step_s;
	st->limit = s->limit;
	st->limit_prefix = s->limit_prefix;
	st->limit_net = s->limit_net;
	st->n_rate_hist = s->n_rate_hist;
	memcpy(st->rate_hist, s->rate_hist, sizeof(st->rate_hist));
	if (progress && run->opts->on_progress)
		run->opts->on_progress(run->opts->ctx, st, s->found);
}

int pc_scan_run_split(struct pc_scan_run_ctx *run, struct pc_error *err)
{
	struct pc_scan_ctx *ctx = run->ctx;
	const struct pc_scan_opts *o = ctx->opts;
	run->opts = o;
	int r = 0;
	for (int p = 0; p < 2 && r == 0; p++)
		r = pc_scan_seen_init(&run->seen[p], run->ops[p] ? ctx->n_addrs * pc_ports_count(o->ports, (enum pc_proto)p) : 0);
	if (r < 0) {
		r = pc_error_set(err, r, "out of memory");
	} else {
		struct pc_privsep_hooks h = {
			.after_fork = parent_after_fork,
			.on_found = parent_found,
			.max_found = ctx->snap->scan.probes_planned,
			.on_stats = parent_stats,
			.ctx = run,
			.close_list = run->close_list,
			.n_close_list = run->n_close_list,
		};
		r = pc_privsep_run(ctx->snap, o->privsep, &h, scan_worker, run, err);
	}
	pc_scan_seen_free(&run->seen[0]);
	pc_scan_seen_free(&run->seen[1]);
	return r;
}
