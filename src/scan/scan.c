/*
 * scan.c - the scan core: target set x ports in permuted order, sharding,
 * pacing, de-duplication of results, statistics, progress and streaming.
 * Engines (connect.c, syn.c, udp.c) only send probes and classify replies;
 * they reach all of this through the pc_scan_* calls of scan.h.
 *
 * One pass per protocol (TCP with the connect or SYN engine, then UDP). A
 * pass has an index space of n = addresses x ports; value x stands for
 * address x % addresses and port x / addresses, so consecutive values hit
 * different hosts. The order is a keyed permutation of [0, n) (permute.h);
 * shard i of k takes positions i-1, i-1+k, ... of it. Positions are handed
 * out with one atomic counter, so an engine may pull from several threads.
 *
 * What is kept per probe: nothing but one bit, "reported", in a bitmap over
 * [0, n) (40 KiB for a /16 x 5 ports). The bitmap is an anonymous
 * MAP_NORESERVE mapping, so untouched pages cost no memory; index spaces too
 * large for one (2^36 bits) fall back to a hash set of reported values.
 * Endpoints are streamed to on_endpoint as each result arrives; with
 * store = false none is kept, so memory stays flat however many ports open.
 *
 * The privilege split (opts->privsep) lives in scan_worker.c, the dry run
 * (--list-targets) in scan_dryrun.c; the three share scan_int.h.
 */
#include "scan/scan.h"
#include "scan/cover.h"
#include "privsep/privsep.h"
#include "scan/pace.h"
#include "scan/permute.h"
#include "scan/privdrop.h"
#include "scan/ports.h"
#include "scan/scan_int.h"
#include "scan/sources.h"
#include "scan/targets.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

/* ---- the engine registry ---- */

extern const struct pc_scan_engine_ops pc_scan_engine_connect;
extern const struct pc_scan_engine_ops pc_scan_engine_syn;
extern const struct pc_scan_engine_ops pc_scan_engine_udp;

static const struct pc_scan_engine_ops *const engines[] = {
	&pc_scan_engine_connect,
	&pc_scan_engine_syn,
	&pc_scan_engine_udp,
	NULL,
};

static const struct pc_scan_engine_ops *find_engine(const char *name)
{
	for (size_t i = 0; engines[i]; i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}


uint64_t pc_scan_random_seed(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32;
	}
	return s;
}

/* Set ctx up for one pass over proto. */
void pc_scan_pass_init(struct pc_scan_ctx *ctx, enum pc_proto proto, uint64_t seed)
{
	const struct pc_scan_opts *o = ctx->opts;
	ctx->proto = proto;
	ctx->n_ports = pc_ports_count(ctx->ports, proto);
	ctx->n = ctx->n_addrs * ctx->n_ports;
	/* the UDP pass gets its own order: same seed, different key */
	pc_permute_init(&ctx->perm, ctx->n, seed ^ (proto == PC_PROTO_UDP ? 0x5544500000000000ULL : 0));
	uint64_t k = o->shard_count > 1 ? o->shard_count : 1;
	uint64_t i = o->shard_count > 1 ? o->shard_index - 1 : 0;
	ctx->shard_first = i;
	ctx->shard_step = k;
	ctx->shard_len = ctx->n > i ? (ctx->n - i + k - 1) / k : 0;
	atomic_store(&ctx->next, 0);
}

bool pc_scan_next(struct pc_scan_ctx *ctx, struct pc_scan_probe *ret_probe)
{
	uint64_t j = atomic_fetch_add_explicit(&ctx->next, 1, memory_order_relaxed);
	if (j >= ctx->shard_len) {
		/* keep the counter from wrapping when engines keep asking */
		atomic_store_explicit(&ctx->next, ctx->shard_len, memory_order_relaxed);
		return false;
	}
	uint64_t x = pc_permute_at(&ctx->perm, ctx->shard_first + j * ctx->shard_step);
	pc_targets_at(ctx->targets, x % ctx->n_addrs, &ret_probe->addr);
	ret_probe->proto = ctx->proto;
	ret_probe->port = pc_ports_at(ctx->ports, ctx->proto, (size_t)(x / ctx->n_addrs));
	ret_probe->index = x;
	return true;
}

void pc_scan_rewind(struct pc_scan_ctx *ctx)
{
	atomic_store(&ctx->next, 0);
}

bool pc_scan_index(const struct pc_scan_ctx *ctx, const struct pc_addr *addr, enum pc_proto proto,
		   uint16_t port, uint64_t *ret_index)
{
	uint64_t ai;
	size_t pi;
	if (proto != ctx->proto || !pc_targets_index(ctx->targets, addr, &ai) ||
	    !pc_ports_index(ctx->ports, proto, port, &pi))
		return false;
	*ret_index = ai + ctx->n_addrs * (uint64_t)pi;
	return true;
}

/* ---- the set of reported values ---- */

int pc_scan_seen_init(struct seen_set *s, uint64_t n)
{
	memset(s, 0, sizeof(*s));
	if (n == 0)
		return 0;
	if (n <= BITMAP_MAX_BITS) {
		s->bits_len = (size_t)((n + 7) / 8);
		void *p = mmap(NULL, s->bits_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return PC_ENOMEM;
		s->bits = p;
		return 0;
	}
	s->hash_cap = 1024;
	s->hash = calloc(s->hash_cap, sizeof(*s->hash));
	return s->hash ? 0 : PC_ENOMEM;
}

void pc_scan_seen_free(struct seen_set *s)
{
	if (s->bits)
		munmap(s->bits, s->bits_len);
	free(s->hash);
	memset(s, 0, sizeof(*s));
}

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static bool seen_has(const struct seen_set *s, uint64_t v)
{
	if (s->bits)
		return __atomic_load_n(&s->bits[v / 8], __ATOMIC_RELAXED) >> (v % 8) & 1;
	if (!s->hash)
		return false;
	for (size_t i = hash64(v) & (s->hash_cap - 1);; i = (i + 1) & (s->hash_cap - 1)) {
		if (s->hash[i] == 0)
			return false;
		if (s->hash[i] == v + 1)
			return true;
	}
}

/* Mark v; 1 if it was new, 0 if already there, PC_ENOMEM. */
int pc_scan_seen_add(struct seen_set *s, uint64_t v)
{
	if (s->bits) {
		uint8_t bit = (uint8_t)(1u << (v % 8));
		uint8_t old = __atomic_fetch_or(&s->bits[v / 8], bit, __ATOMIC_RELAXED);
		return !(old & bit);
	}
	if (seen_has(s, v))
		return 0;
	if ((s->hash_n + 1) * 2 > s->hash_cap) {
		size_t cap = s->hash_cap * 2;
		uint64_t *h = calloc(cap, sizeof(*h));
		if (!h)
			return PC_ENOMEM;
		for (size_t i = 0; i < s->hash_cap; i++) {
			if (!s->hash[i])
				continue;
			size_t j = hash64(s->hash[i] - 1) & (cap - 1);
			while (h[j])
				j = (j + 1) & (cap - 1);
			h[j] = s->hash[i];
		}
		free(s->hash);
		s->hash = h;
		s->hash_cap = cap;
	}
	size_t i = hash64(v) & (s->hash_cap - 1);
	while (s->hash[i])
		i = (i + 1) & (s->hash_cap - 1);
	s->hash[i] = v + 1;
	s->hash_n++;
	return 1;
}

bool pc_scan_reported(const struct pc_scan_ctx *ctx, uint64_t index)
{
	if (index >= ctx->n)
		return false;
	if (ctx->seen.bits)
		return seen_has(&ctx->seen, index);
	pthread_mutex_lock((pthread_mutex_t *)&ctx->lock);
	bool r = seen_has(&ctx->seen, index);
	pthread_mutex_unlock((pthread_mutex_t *)&ctx->lock);
	return r;
}

/* ---- pacing ---- */

static void set_burst(struct pc_scan_ctx *ctx)
{
	ctx->burst = ctx->rate * 0.020;
	if (ctx->burst < 1)
		ctx->burst = 1;
}

/* 0, or PC_ENOMEM when the adaptive pacer cannot be made. */
static int pace_init(struct pc_scan_ctx *ctx)
{
	uint64_t r = ctx->opts->rate_pps;
	if (!r) {
		/* adaptive: the total starts where the pacer says */
		struct pc_pace_config cfg = {
			.max_pps = (double)ctx->opts->max_rate_pps,
			.n_targets = ctx->n_addrs,
			.n_sources = (unsigned)ctx->opts->n_sources,
		};
		int ret = pc_pace_new(&cfg, &ctx->pace);
		if (ret < 0)
			return ret;
		r = (uint64_t)pc_pace_total(ctx->pace);
	}
	ctx->rate = r == PC_SCAN_RATE_UNLIMITED ? 0 : (double)r;
	/* a burst of 20 ms of probes (at least one): smooth over any tenth of
	 * a second, and deep enough that an engine thread delayed by the
	 * scheduler for a few milliseconds catches up instead of losing its
	 * tokens (with 2 ms, a busy machine ran 11 % under the rate) */
	set_burst(ctx);
	ctx->tokens = 1;
	ctx->refilled_ms = pc_monotonic_ms();
	return 0;
}

static void refill(struct pc_scan_ctx *ctx, double now)
{
	if (ctx->pace) {
		/* the adaptive total may have moved since the last refill */
		ctx->rate = pc_pace_total(ctx->pace);
		set_burst(ctx);
	}
	ctx->tokens += (now - ctx->refilled_ms) * ctx->rate / 1000.0;
	if (ctx->tokens > ctx->burst)
		ctx->tokens = ctx->burst;
	ctx->refilled_ms = now;
}

static void sleep_ms(double ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void report_progress(struct pc_scan_ctx *ctx, bool force);
static void history_tick(struct pc_scan_ctx *ctx, double now, bool last);

/* Progress from the engine's loop too, so a scan with few results (a
 * filtered range) still shows it moving. */
static void poll_progress(struct pc_scan_ctx *ctx)
{
	double now = pc_monotonic_ms();
	/* the rate history is kept with or without a progress display */
	bool hist = ctx->snap && now - ctx->hist_t0 >= ctx->snap->scan.rate_step_s * 1000.0;
	if (!hist && (!ctx->opts->on_progress || now - ctx->last_progress_ms < 250))
		return;
	if (pthread_mutex_trylock(&ctx->lock) == 0) {
		if (hist)
			history_tick(ctx, now, false);
		report_progress(ctx, false);
		pthread_mutex_unlock(&ctx->lock);
	}
}

uint64_t pc_scan_pace(struct pc_scan_ctx *ctx, uint64_t want, double max_wait_ms)
{
	poll_progress(ctx);
	if (want == 0)
		return 0;
	if (ctx->rate == 0)
		return want;
	double waited = 0;
	for (;;) {
		pthread_mutex_lock(&ctx->pace_lock);
		refill(ctx, pc_monotonic_ms());
		if (ctx->tokens >= 1) {
			uint64_t give = (uint64_t)ctx->tokens;
			if (give > want)
				give = want;
			ctx->tokens -= (double)give;
			pthread_mutex_unlock(&ctx->pace_lock);
			return give;
		}
		double need = (1 - ctx->tokens) * 1000.0 / ctx->rate;
		pthread_mutex_unlock(&ctx->pace_lock);
		if (waited >= max_wait_ms)
			return 0;
		if (need > max_wait_ms - waited)
			need = max_wait_ms - waited;
		sleep_ms(need);
		waited += need;
	}
}

void pc_scan_limit_text(const struct pc_scan_stats *st, char *buf, size_t len)
{
	enum pc_pace_limit l = st->limit;
	if (l == PC_PACE_GROWING) {
		snprintf(buf, len, "growing");
		return;
	}
	if (l == PC_PACE_CEILING) {
		snprintf(buf, len, "limited by the ceiling");
		return;
	}
	if (!st->limit_prefix) {
		snprintf(buf, len, "limited by %s", pc_pace_limit_name(l));
		return;
	}
	char a[PC_ADDR_STRLEN];
	pc_addr_format(&st->limit_net, a, sizeof(a));
	unsigned host = st->limit_net.family == AF_INET ? 32 : 128;
	if (l == PC_PACE_ICMP && st->limit_prefix == host) {
		/* the target's own ICMP budget: name the host */
		snprintf(buf, len, "limited by icmp rate on %s", a);
		return;
	}
	snprintf(buf, len, "limited by %s on %s/%u", pc_pace_limit_name(l), a, st->limit_prefix);
}

/* ---- results ---- */

bool pc_scan_shown(const struct pc_scan_opts *o, enum pc_state st)
{
	switch (st) {
	case PC_STATE_OPEN:
		return true;
	case PC_STATE_CLOSED:
		return o->show_closed;
	case PC_STATE_FILTERED:
	case PC_STATE_OPEN_FILTERED:
		return o->show_filtered;
	default:
		return false;
	}
}

/* The host name for a stored endpoint, copied once into the arena. */
static const char *name_copy(struct pc_scan_ctx *ctx, const char *name)
{
	size_t h = ((uintptr_t)name >> 4) % NAME_CACHE;
	if (ctx->names[h].key == name)
		return ctx->names[h].copy;
	const char *c = pc_snapshot_strdup(ctx->snap, name);
	if (c) {
		ctx->names[h].key = name;
		ctx->names[h].copy = c;
	}
	return c;
}

/* Close the open interval of the rate history when it is a step long;
 * when every slot is used, merge neighbours and double the step, so the
 * history of any scan fits PC_SCAN_RATE_HIST numbers. */
static void history_tick(struct pc_scan_ctx *ctx, double now, bool last)
{
	struct pc_scan_stats *st = &ctx->snap->scan;
	uint64_t sent = __atomic_load_n(&st->sent, __ATOMIC_RELAXED);
	double len_ms = now - ctx->hist_t0;
	/* the last, open interval counts when it is a tenth of a step or
	 * more (a few probes in a millisecond are no rate) */
	if (len_ms < st->rate_step_s * 1000.0 && !(last && len_ms >= st->rate_step_s * 100.0))
		return;
	if (st->n_rate_hist == PC_SCAN_RATE_HIST) {
		for (uint32_t i = 0; i < PC_SCAN_RATE_HIST / 2; i++)
			st->rate_hist[i] = (uint32_t)(((uint64_t)st->rate_hist[2 * i] +
						       st->rate_hist[2 * i + 1]) / 2);
		st->n_rate_hist = PC_SCAN_RATE_HIST / 2;
		st->rate_step_s *= 2;
	}
	double pps = len_ms > 0 ? (double)(sent - ctx->hist_sent) * 1000.0 / len_ms : 0;
	st->rate_hist[st->n_rate_hist++] = pps > 4e9 ? 4000000000u : (uint32_t)pps;
	ctx->hist_sent = sent;
	ctx->hist_t0 = now;
}

static void update_pace_stats(struct pc_scan_ctx *ctx, double now)
{
	struct pc_scan_stats *st = &ctx->snap->scan;
	st->duration_s = (now - ctx->t0) / 1000.0;
	st->rate_pps = st->duration_s > 0 ? (double)st->sent / st->duration_s : 0;
	if (ctx->pace) {
		unsigned prefix = 0;
		st->pace_pps = pc_pace_total(ctx->pace);
		st->limit = (uint8_t)pc_pace_limit(ctx->pace, &st->limit_net, &prefix);
		st->limit_prefix = (uint8_t)prefix;
	} else {
		st->pace_pps = ctx->rate;
		st->limit = PC_PACE_CEILING; /* a fixed --rate: the operator's ceiling */
	}
	history_tick(ctx, now, false);
}

static void report_progress(struct pc_scan_ctx *ctx, bool force)
{
	const struct pc_scan_opts *o = ctx->opts;
	if (!o->on_progress)
		return;
	double now = pc_monotonic_ms();
	if (!force && now - ctx->last_progress_ms < 250)
		return;
	ctx->last_progress_ms = now;
	struct pc_scan_stats *st = &ctx->snap->scan;
	update_pace_stats(ctx, now);
	o->on_progress(o->ctx, st, ctx->found);
}

/* A shown result becomes an endpoint: stored (opts->store) and handed to
 * on_endpoint. 0 or PC_ENOMEM. */
int pc_scan_emit(struct pc_scan_ctx *ctx, const struct pc_addr *addr, enum pc_proto proto,
		uint16_t port, enum pc_state state, double rtt_ms)
{
	const struct pc_scan_opts *o = ctx->opts;
	struct pc_endpoint tmp, *ep = &tmp;
	if (o->store) {
		ep = pc_snapshot_add_endpoint(ctx->snap);
		if (!ep)
			return PC_ENOMEM;
	} else {
		memset(&tmp, 0, sizeof(tmp));
		tmp.verified.rtt_ms = -1;
	}
	ep->source = PC_SOURCE_SCAN;
	ep->proto = proto;
	ep->addr = *addr;
	ep->port = port;
	ep->state = state;
	ep->bind = PC_BIND_UNKNOWN;
	ep->rtt_ms = rtt_ms;
	const char *name = pc_targets_hostname(ctx->targets, addr);
	ep->hostname = name && o->store ? name_copy(ctx, name) : name;
	if (o->on_endpoint)
		o->on_endpoint(o->ctx, ctx->snap, ep);
	return 0;
}

void pc_scan_result(struct pc_scan_ctx *ctx, const struct pc_addr *addr, enum pc_proto proto,
		    uint16_t port, enum pc_state state, double rtt_ms)
{
	uint64_t x;
	if (!pc_scan_index(ctx, addr, proto, port, &x))
		return; /* not ours: a stray or forged reply */
	pthread_mutex_lock(&ctx->lock);
	int fresh = pc_scan_seen_add(&ctx->seen, x);
	if (fresh <= 0) {
		if (fresh < 0 && !ctx->error)
			ctx->error = fresh;
		pthread_mutex_unlock(&ctx->lock);
		return;
	}
	ctx->results++;
	if (state == PC_STATE_OPEN)
		ctx->found++;
	if (pc_scan_shown(ctx->opts, state) && pc_scan_emit(ctx, addr, proto, port, state, rtt_ms) < 0) {
		if (!ctx->error)
			ctx->error = PC_ENOMEM;
		pthread_mutex_unlock(&ctx->lock);
		return;
	}
	if ((ctx->results & 63) == 0)
		report_progress(ctx, false);
	pthread_mutex_unlock(&ctx->lock);
}

const struct pc_scan_opts *pc_scan_ctx_opts(const struct pc_scan_ctx *ctx)
{
	return ctx->opts;
}

struct pc_scan_stats *pc_scan_ctx_stats(struct pc_scan_ctx *ctx)
{
	return &ctx->snap->scan;
}

struct pc_pace *pc_scan_ctx_pace(struct pc_scan_ctx *ctx)
{
	return ctx->pace;
}

struct pc_snapshot *pc_scan_ctx_snapshot(struct pc_scan_ctx *ctx)
{
	return ctx->snap;
}

/* ---- privileges ---- */

/* ---- the run ---- */

static int choose_engines(const struct pc_scan_opts *o, bool tcp, bool udp,
			  const struct pc_scan_engine_ops **ret_tcp,
			  const struct pc_scan_engine_ops **ret_udp, struct pc_error *err)
{
	bool raw = pc_privdrop_has(CAP_NET_RAW);
	*ret_tcp = *ret_udp = NULL;
	if (tcp) {
		const struct pc_scan_engine_ops *syn = find_engine("syn");
		switch (o->engine) {
		case PC_ENGINE_CONNECT:
			*ret_tcp = find_engine("connect");
			break;
		case PC_ENGINE_SYN:
			if (!syn)
				return pc_error_set(err, PC_ENOTSUP,
						    "this build has no SYN engine (use --connect)");
			if (!raw)
				return pc_error_set(err, PC_EPERM,
						    "--syn needs CAP_NET_RAW (run as root, or use "
						    "--connect)");
			*ret_tcp = syn;
			break;
		case PC_ENGINE_AUTO:
			*ret_tcp = syn && raw ? syn : find_engine("connect");
			break;
		}
		if (!*ret_tcp)
			return pc_error_set(err, PC_ENOTSUP, "no TCP scan engine in this build");
	}
	if (udp) {
		*ret_udp = find_engine("udp");
		if (!*ret_udp)
			return pc_error_set(err, PC_ENOTSUP, "this build has no UDP scan engine");
		if ((*ret_udp)->needs_raw && !raw)
			return pc_error_set(err, PC_EPERM,
					    "UDP scanning needs CAP_NET_RAW (run as root)");
	}
	return 0;
}

int pc_scan_check_opts(const struct pc_scan_opts *o, struct pc_error *err)
{
	if (!o->targets || !o->ports)
		return pc_error_set(err, PC_EINVAL, "no targets or no ports");
	if (pc_targets_count(o->targets) == 0)
		return pc_error_set(err, PC_EINVAL, "no targets");
	if (pc_ports_count(o->ports, PC_PROTO_TCP) + pc_ports_count(o->ports, PC_PROTO_UDP) == 0)
		return pc_error_set(err, PC_EINVAL, "no ports");
	if (o->shard_count > 1 && (o->shard_index < 1 || o->shard_index > o->shard_count))
		return pc_error_set(err, PC_EINVAL, "shard %u/%u: the index must be 1-%u",
				    o->shard_index, o->shard_count, o->shard_count);
	/* addresses x ports must fit the 64-bit index space: 2^32 x 2^16 does */
	return 0;
}

int pc_scan_ctx_init(struct pc_scan_ctx *ctx, const struct pc_scan_opts *o, struct pc_snapshot *snap)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->opts = o;
	ctx->snap = snap;
	ctx->targets = o->targets;
	ctx->ports = o->ports;
	ctx->n_addrs = pc_targets_count(o->targets);
	/* build the port index arrays now: they are built lazily, and engine
	 * threads must only ever read them */
	pc_ports_at(o->ports, PC_PROTO_TCP, 0);
	pc_ports_at(o->ports, PC_PROTO_UDP, 0);
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->pace_lock, NULL);
	return pace_init(ctx);
}

void pc_scan_ctx_free(struct pc_scan_ctx *ctx)
{
	pthread_mutex_destroy(&ctx->lock);
	pthread_mutex_destroy(&ctx->pace_lock);
	pc_pace_free(ctx->pace);
	free(ctx);
}

static uint64_t planned(const struct pc_scan_opts *o, uint64_t n)
{
	uint64_t k = o->shard_count > 1 ? o->shard_count : 1;
	uint64_t i = o->shard_count > 1 ? o->shard_index - 1 : 0;
	return n > i ? (n - i + k - 1) / k : 0;
}


int pc_scan_run_passes(struct pc_scan_run_ctx *run, struct pc_error *err)
{
	struct pc_scan_ctx *ctx = run->ctx;
	struct pc_scan_stats *st = &ctx->snap->scan;
	int r = 0;
	double t0 = ctx->t0 = ctx->hist_t0 = pc_monotonic_ms();
	st->rate_step_s = 0.1;
	for (int p = 0; p < 2 && r >= 0; p++) {
		if (!run->ops[p])
			continue;
		pc_scan_pass_init(ctx, p ? PC_PROTO_UDP : PC_PROTO_TCP, run->seed);
		r = pc_scan_seen_init(&ctx->seen, ctx->n);
		if (r < 0) {
			pc_error_set(err, r, "out of memory");
			break;
		}
		r = run->ops[p]->run(ctx, run->state[p], err);
		pc_scan_seen_free(&ctx->seen);
		if (r >= 0 && ctx->error)
			r = pc_error_set(err, ctx->error, "scan: %s", pc_strerror(ctx->error));
	}
	double t_end = pc_monotonic_ms();
	update_pace_stats(ctx, t_end);
	history_tick(ctx, t_end, true);
	st->duration_s = (t_end - t0) / 1000.0;
	report_progress(ctx, true);
	return r;
}


int pc_scan_run(struct pc_snapshot *snap, const struct pc_scan_opts *opts, struct pc_error *err)
{
	int r = pc_scan_check_opts(opts, err);
	if (r < 0)
		return r;
	uint64_t n_addrs = pc_targets_count(opts->targets);
	size_t n_tcp = pc_ports_count(opts->ports, PC_PROTO_TCP);
	size_t n_udp = pc_ports_count(opts->ports, PC_PROTO_UDP);
	const struct pc_scan_engine_ops *ops[2];
	r = choose_engines(opts, n_tcp > 0, n_udp > 0, &ops[0], &ops[1], err);
	if (r < 0)
		return r;
	if (opts->n_sources) {
		if (ops[0] && strcmp(ops[0]->name, "syn") != 0)
			return pc_error_set(err, PC_EINVAL,
					    "--source-ip works with the SYN and UDP engines, not "
					    "--connect");
		r = pc_scan_sources_check(opts->sources, opts->n_sources, err);
		if (r < 0)
			return r;
	}

	/* engines read the port list from several threads: no lazy build */
	if (pc_ports_seal((struct pc_ports *)opts->ports) < 0)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	struct pc_scan_ctx *ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	if (pc_scan_ctx_init(ctx, opts, snap) < 0) {
		pc_scan_ctx_free(ctx);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	uint64_t seed = opts->seed_set ? opts->seed : pc_scan_random_seed();

	struct pc_scan_stats *st = &snap->scan;
	memset(st, 0, sizeof(*st));
	st->present = true;
	st->targets = n_addrs;
	st->ports = n_tcp + n_udp;
	st->probes_planned = planned(opts, n_addrs * n_tcp) + planned(opts, n_addrs * n_udp);
	char engine_name[32];
	snprintf(engine_name, sizeof(engine_name), "%s%s%s", ops[0] ? ops[0]->name : "",
		 ops[0] && ops[1] ? "+" : "", ops[1] ? ops[1]->name : "");
	st->engine = pc_snapshot_strdup(snap, engine_name);
	/* what the ledger needs to tell "not open" from "never scanned" */
	if (pc_scan_cover_record(snap, opts->targets, opts->ports, opts->shard_index,
				 opts->shard_count) < 0) {
		pc_scan_ctx_free(ctx);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}

	/* what is open before the engines open theirs (the report, ...): the
	 * worker closes it */
	void *state[2] = {NULL, NULL};
	int *before = NULL;
	size_t n_before = 0;
	if (opts->privsep && (r = pc_privsep_fds_open(&before, &n_before)) < 0) {
		pc_error_set(err, r, "/proc/self/fd: %s", strerror(-r));
		goto out;
	}
	/* open everything that needs privileges first, then drop them */
	for (int p = 0; p < 2; p++) {
		if (!ops[p])
			continue;
		pc_scan_pass_init(ctx, p ? PC_PROTO_UDP : PC_PROTO_TCP, seed);
		if (ops[p]->prepare) {
			r = ops[p]->prepare(ctx, &state[p], err);
			if (r < 0)
				goto out;
		}
	}
	struct pc_scan_run_ctx run = {.ctx = ctx, .ops = ops, .state = state, .seed = seed,
			  .close_list = before, .n_close_list = n_before};
	if (opts->privsep) {
		r = pc_scan_run_split(&run, err);
	} else {
		if (opts->drop_caps) {
			r = pc_privdrop_all(err);
			if (r < 0)
				goto out;
		}
		r = pc_scan_run_passes(&run, err);
	}
out:
	for (int p = 0; p < 2; p++)
		if (ops[p] && ops[p]->release && state[p])
			ops[p]->release(state[p]);
	free(before);
	pc_scan_ctx_free(ctx);
	if (r >= 0 && opts->store)
		pc_snapshot_sort(snap);
	return r < 0 ? r : 0;
}

