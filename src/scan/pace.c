/*
 * pace.c - the adaptive pacer (pace.h): a rate per network path and one
 * total, each an AIMD controller in the manner of TCP congestion control,
 * but on a rate instead of a window.
 *
 * Why rates and not windows: a scan's probes are mostly independent and
 * many go unanswered on purpose (filtered ports), so a window of
 * unanswered probes would fill with silence and stall; a rate keeps going
 * and is steered only by the signs that really mean overload.
 *
 * A path (one host in scans of up to 256 hosts, else an IPv4 /24 or an
 * IPv6 /64) starts at start_pps and lives in epochs of max(10 ms, 2 x its
 * smallest RTT). At the end of an epoch in which it used at least half its
 * rate:
 *  - slow start (rate below ssthresh): the rate doubles (x4 in the first
 *    slow start while at least 90 % of the epoch's probes came back at the
 *    base RTT, in rounds as short as 2 ms once a round holds 16 probes: a
 *    LAN reaches the machine's ceiling in ~15 ms, not 90);
 *  - congestion avoidance: it grows by ssthresh per second
 *    (linear, scaled to the rate where the path last broke; not faster, because
 *    loss shows only a timeout late);
 *  - slow start ends without a cut when the epoch's smallest RTT passes
 *    twice the base plus 5 ms (a queue beginning, as TCP's HyStart).
 * It is cut (rate x 0.7, and no higher than 0.9x the answers per second
 * the path delivered lately - the best of the last 100 ms window and the
 * open one - but not under half the best window it ever delivered, so
 * that late answers cannot cut a low rate down to nothing; ssthresh = the
 * new rate) when:
 *  - more than 15 % of the answers (judged over at least 200) needed a retry:
 *    loss that silence from filtering cannot fake, because the port did
 *    answer in the end. A path cut for loss then grows to 0.8x its best
 *    delivery rate at most (its best itself if its RTT rose first: a
 *    link's queue, which the RTT signal guards, not a policer, whose loss
 *    grows with the rate without warning), so that its re-sends are
 *    answered;
 *  - the smallest RTT of the epoch (at least 8 answers) exceeds twice the
 *    smallest RTT ever seen on the path plus 20 ms: a queue is building in
 *    front of a slow link (a standing queue delays every answer; our own
 *    scheduling delays on a loaded machine delay only some, so the
 *    epoch's minimum ignores them);
 *  - the target rate-limits its ICMP errors (UDP): the path drops at once
 *    to the budget, 0.8/s per source address (Linux allows one error a
 *    second per peer after a burst of 6) and never grows past it: the
 *    closed ports it leaves silent would be reported open|filtered.
 * It also keeps an RFC 6298 estimate of the RTT (on unretried answers,
 * Karn) for the per-path try timeout, and counts re-sends and the answers
 * they bring, so the loop retries a policed path's silence more.
 * A cut only counts once per round: answers to probes sent before the
 * last cut cannot cut again (they tell of the old rate), as TCP reacts
 * once per window.
 *
 * The total (what scan.c's token bucket hands out, the sum over paths)
 * starts at 10,000/s, grows x4 per 2 ms epoch it is used until its first
 * cut (then doubles per 10 ms) and is halved
 * when our own side overflows (a full send buffer, capture drops); it
 * never exceeds the ceiling (--max-rate).
 *
 * Paths are found through the shared host table (core/hostmap.h) keyed by
 * the network's first address, sized once for PC_PACE_PATHS: no allocation
 * after pc_pace_new, so the hot path cannot fail; paths beyond that share
 * one record.
 */
#include "scan/pace.h"
#include "core/error.h"
#include "core/hostmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define EPOCH_MIN_US 10000
#define TOTAL_START 10000.0
#define TOTAL_MIN 100.0
#define LOSS_PCT 15     /* answers needing a retry, per cent, that cut */
#define LOSS_MIN 200    /* answers before loss can be judged */
#define RTT_MIN 8       /* answers in an epoch before its RTT can be judged */
#define DELIVERY_US 100000
#define RTT_SLACK_US 20000
#define CUT 0.7
#define DELIVERED_SHARE 0.9 /* a model cut: this share of the delivery rate */
#define PROVEN_SHARE 0.5    /* ... and never under this share of the best */
#define LOSS_CAP 0.8         /* after a loss cut: this share of the best, at most */
#define LOSS_CAP_QUEUE 1.0   /* ... on a path that showed a queue first */
#define FAST_EPOCH_US 2000   /* the shortest round of that start */
#define FAST_START 4         /* slow start's factor while every answer is back at once */
#define RTO_MIN_US 200000     /* a try waits at least this long ... */
#define RTO_SAMPLES 16       /* ... and the full timeout until this many RTTs */
#define ICMP_PEER_PPS 1.0    /* Linux: one error a second per peer after the burst */
#define ICMP_SHARE 0.8       /* of it, paced to */
#define RETRY_WINDOW 512    /* re-sends judged together (then halved) */
#define RETRY_YIELD 10      /* per cent of re-sends answered: still worth it */
#define RATE_MAX 1e8

struct path {
	struct pc_addr net;
	uint8_t prefix;
	double rate, ssthresh, tokens;
	uint64_t refill_us;
	uint64_t min_rtt_us, srtt_us;
	uint64_t rto_srtt_us, rto_var_us; /* Karn: unretried answers only */
	uint32_t rto_samples;
	uint64_t epoch_us; /* start of the current epoch */
	uint64_t cut_us;   /* last cut: older probes cannot cut again */
	uint32_t sent, answers, retried;
	/* loss is judged over at least LOSS_MIN answers (random loss of a
	 * few per cent must not look like congestion by chance), and the
	 * delivery rate over windows of DELIVERY_US, the best of the last
	 * full window and the open one */
	uint32_t loss_answers, loss_retried;
	uint32_t delivered; /* answers in the open window, old probes' too */
	uint64_t dl_us;     /* start of the open delivery window */
	double dl_last;     /* the last full window's answers per second */
	double dl_best;     /* the best full window: what the path has proven */
	/* re-sends and the answers they brought, halved as they grow: whether
	 * retries still bring answers (a policer dropped some, not a filter) */
	uint32_t retry_sent, retry_answered;
	uint64_t epoch_min_rtt_us; /* smallest RTT of the epoch (0: none) */
	bool lossy;                /* an answer ever needed a retry */
	bool loss_cut;             /* it was cut for loss: grows to LOSS_CAP at most */
	bool queued;               /* its RTT once rose (a queue: a link, not a policer) */
	bool fast;                 /* its last round grew x4 (all back at once) */
	uint64_t icmp_us;          /* when its ICMP budget was found (0: not) */
	enum pc_pace_limit why;
};

struct pc_pace {
	pthread_mutex_t lock;
	struct pc_pace_config cfg;
	unsigned prefix4, prefix6;
	struct pc_hostmap *map;
	struct path *paths;
	size_t n_paths;
	/* the total */
	double total, total_ssthresh;
	uint64_t total_epoch_us, total_cut_us, total_sent;
	enum pc_pace_limit total_why;
};

int pc_pace_new(const struct pc_pace_config *cfg, struct pc_pace **ret_pace)
{
	*ret_pace = NULL;
	if (!cfg || cfg->max_pps < 0 || cfg->start_pps < 0 || cfg->min_pps < 0)
		return PC_EINVAL;
	struct pc_pace *p = calloc(1, sizeof(*p));
	if (!p)
		return PC_ENOMEM;
	p->cfg = *cfg;
	if (p->cfg.start_pps <= 0)
		p->cfg.start_pps = PC_PACE_DEFAULT_START;
	if (p->cfg.min_pps <= 0)
		p->cfg.min_pps = PC_PACE_DEFAULT_MIN;
	if (p->cfg.max_pps > 0 && p->cfg.start_pps > p->cfg.max_pps)
		p->cfg.start_pps = p->cfg.max_pps;
	bool per_host = cfg->n_targets <= 256;
	p->prefix4 = per_host ? 32 : 24;
	p->prefix6 = per_host ? 128 : 64;
	p->paths = calloc(PC_PACE_PATHS, sizeof(*p->paths));
	if (!p->paths || pc_hostmap_new(PC_PACE_PATHS, &p->map) < 0) {
		pc_pace_free(p);
		return PC_ENOMEM;
	}
	p->total = TOTAL_START;
	if (p->cfg.max_pps > 0 && p->total >= p->cfg.max_pps) {
		p->total = p->cfg.max_pps;
		p->total_why = PC_PACE_CEILING;
	}
	p->total_ssthresh = RATE_MAX;
	pthread_mutex_init(&p->lock, NULL);
	*ret_pace = p;
	return 0;
}

void pc_pace_free(struct pc_pace *p)
{
	if (!p)
		return;
	if (p->map) /* the lock exists once the map does */
		pthread_mutex_destroy(&p->lock);
	pc_hostmap_free(p->map);
	free(p->paths);
	free(p);
}

static void mask(struct pc_addr *a, unsigned prefix)
{
	unsigned len = a->family == AF_INET ? 4 : 16;
	for (unsigned i = 0; i < len; i++) {
		unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
		if (keep < 8)
			a->bytes[i] &= (uint8_t)(0xff00u >> keep);
	}
	for (unsigned i = len; i < 16; i++)
		a->bytes[i] = 0;
}

/* The path of addr, made on first use (the lock is held). */
static struct path *find_path(struct pc_pace *p, const struct pc_addr *addr, uint64_t now)
{
	struct pc_addr net = *addr;
	unsigned prefix = addr->family == AF_INET ? p->prefix4 : p->prefix6;
	mask(&net, prefix);
	uint32_t *v = pc_hostmap_get(p->map, 0, &net);
	if (v)
		return &p->paths[*v];
	/* the last record is shared by every path beyond the table */
	struct path *s;
	if (p->n_paths >= PC_PACE_PATHS - 1 || pc_hostmap_put(p->map, 0, &net, &v) < 0) {
		s = &p->paths[PC_PACE_PATHS - 1];
		if (s->rate) /* the shared record, made already */
			return s;
	} else {
		*v = (uint32_t)p->n_paths;
		s = &p->paths[p->n_paths++];
		s->net = net;
		s->prefix = (uint8_t)prefix;
	}
	s->rate = p->cfg.start_pps;
	s->ssthresh = RATE_MAX;
	s->tokens = 1;
	s->refill_us = s->epoch_us = s->dl_us = now;
	return s;
}

/* Cut the rate to factor of itself, and (given the epoch's length in
 * seconds, else 0) to no more than what the path delivered in the epoch:
 * what came back is what it carries, so one cut lands where a series of
 * halvings would take many rounds to (the model-based part, like BBR). */
static double delivery_rate(const struct path *s, uint64_t now)
{
	double open = now - s->dl_us >= DELIVERY_US / 4
			      ? (double)s->delivered * 1e6 / (double)(now - s->dl_us)
			      : 0;
	return open > s->dl_last ? open : s->dl_last;
}

static void cut_path(struct pc_pace *p, struct path *s, double factor, enum pc_pace_limit why,
		     bool model, uint64_t now)
{
	double delivered = model ? delivery_rate(s, now) : 0;
	double cut = s->rate * factor;
	s->rate = cut;
	/* below what came back: re-sends at that pace are answered */
	if (delivered > 0 && delivered * DELIVERED_SHARE < s->rate)
		s->rate = delivered * DELIVERED_SHARE;
	/* but not below a share of the best the path ever delivered: late
	 * answers (retries of probes sent before a cut, a policer's drops
	 * found a timeout later) would otherwise cut a rate that is already
	 * low again and again, down to the minimum (a scan of 3,000 ports
	 * behind a 500/s RST policer took minutes at 1 probe/s) */
	if (model && s->rate < s->dl_best * PROVEN_SHARE)
		s->rate = cut < s->dl_best * PROVEN_SHARE ? cut : s->dl_best * PROVEN_SHARE;
	if (s->rate < p->cfg.min_pps)
		s->rate = p->cfg.min_pps;
	s->ssthresh = s->rate;
	s->why = why;
	s->cut_us = now;
	s->epoch_us = now;
	s->sent = s->answers = s->retried = 0;
	s->loss_answers = s->loss_retried = 0;
	s->epoch_min_rtt_us = 0;
	if (s->tokens > 1)
		s->tokens = 1;
}

/* an epoch is two of the path's base round trips (at least 10 ms): the
 * base, not the smoothed RTT, so that a queue or our own scheduling
 * delays do not stretch it */
static uint64_t path_epoch(const struct path *s)
{
	uint64_t e = 2 * s->min_rtt_us;
	/* the first slow start on a path that answers at once (a LAN) need
	 * not wait 10 ms a round: as soon as a round holds 16 probes and two
	 * RTTs, at least 2 ms (a clean -p- reaches the ceiling in ~15 ms) */
	uint64_t floor = EPOCH_MIN_US;
	if (s->ssthresh >= RATE_MAX && s->fast) {
		floor = s->rate > 0 ? (uint64_t)(16e6 / s->rate) : EPOCH_MIN_US;
		if (floor < FAST_EPOCH_US)
			floor = FAST_EPOCH_US;
		if (floor > EPOCH_MIN_US)
			floor = EPOCH_MIN_US;
	}
	return e > floor ? e : floor;
}

/* What one target's ICMP errors allow: Linux's per-peer refill (one per
 * icmp_ratelimit, 1 s) for each of our source addresses, with a margin so
 * that the target's bucket always holds a token when a probe arrives. */
static double icmp_budget(const struct pc_pace *p)
{
	unsigned n = p->cfg.n_sources ? p->cfg.n_sources : 1;
	return ICMP_PEER_PPS * ICMP_SHARE * n;
}

/* End an epoch that is over: judge loss, else grow (the lock is held). */
static void path_epoch_end(struct pc_pace *p, struct path *s, uint64_t now)
{
	if (now - s->epoch_us < path_epoch(s))
		return;
	double secs = (double)(now - s->epoch_us) / 1e6;
	if (now - s->dl_us >= DELIVERY_US) {
		s->dl_last = (double)s->delivered * 1e6 / (double)(now - s->dl_us);
		if (s->dl_last > s->dl_best)
			s->dl_best = s->dl_last;
		s->delivered = 0;
		s->dl_us = now;
	}
	s->loss_answers += s->answers;
	s->loss_retried += s->retried;
	if (s->loss_answers >= LOSS_MIN) {
		bool lossy = (uint64_t)s->loss_retried * 100 > (uint64_t)s->loss_answers * LOSS_PCT;
		s->loss_answers = s->loss_retried = 0;
		if (lossy) {
			s->loss_cut = true;
			cut_path(p, s, CUT, PC_PACE_LOSS, true, now);
			return;
		}
	}
	/* a standing queue raises even the smallest RTT of the epoch; our
	 * own scheduling delays (a loaded machine) raise only some samples */
	bool judged = s->answers >= RTT_MIN;
	if (judged && s->epoch_min_rtt_us > 2 * s->min_rtt_us + RTT_SLACK_US / 4)
		s->queued = true;
	if (judged && s->epoch_min_rtt_us > 2 * s->min_rtt_us + RTT_SLACK_US) {
		cut_path(p, s, CUT, PC_PACE_RTT, true, now);
		return;
	}
	/* a queue beginning: leave slow start before it overflows (as
	 * TCP's HyStart does), without a cut */
	if (judged && s->rate < s->ssthresh &&
	    s->epoch_min_rtt_us > 2 * s->min_rtt_us + RTT_SLACK_US / 4)
		s->ssthresh = s->rate;
	/* grow only a path that used at least half its rate (an idle path's
	 * rate proves nothing), and, once it has answered at all, only on
	 * answers to probes sent at the current rate (after a cut, not
	 * before they come back); a path that never answers (filtered) has
	 * nothing to go on and grows as masscan would run */
	bool heard = s->answers * 4 >= s->sent || !s->min_rtt_us;
	if (heard && (double)s->sent >= s->rate * secs * 0.5) {
		/* slow start doubles; avoidance adds the rate where the
		 * path last broke per second (loss shows a timeout late: a
		 * faster climb would overshoot before it is seen) */
		double step = s->rate < s->ssthresh ? s->rate : s->ssthresh * secs;
		/* the first slow start, while every answer comes back at once
		 * at the base RTT (a LAN): four times a round, not twice; a
		 * clean -p- reaches the machine's ceiling in 40 ms, not 90 */
		s->fast = s->ssthresh >= RATE_MAX && s->answers * 10 >= s->sent * 9 && judged &&
			  s->epoch_min_rtt_us <= 2 * s->min_rtt_us + RTT_SLACK_US / 20;
		if (s->fast)
			step = s->rate * (FAST_START - 1);
		double grown = s->rate + (step < 1 ? 1 : step);
		/* a path that lost answers at a rate (a policer: its loss grows
		 * with the rate) stays under the answers per second it has
		 * proven it carries, so that its re-sends are answered; one
		 * whose RTT rose first (a link's queue, that warns before it
		 * drops) nearer to it */
		double cap = s->dl_best * (s->queued ? LOSS_CAP_QUEUE : LOSS_CAP);
		if (s->loss_cut && grown > cap)
			grown = s->rate > cap ? s->rate : cap;
		/* a target that limits its ICMP errors: at most its budget */
		if (s->icmp_us && grown > icmp_budget(p))
			grown = s->rate > icmp_budget(p) ? s->rate : icmp_budget(p);
		s->rate = grown;
		if (s->rate > RATE_MAX)
			s->rate = RATE_MAX;
	}
	s->epoch_us = now;
	s->sent = s->answers = s->retried = 0;
	s->epoch_min_rtt_us = 0;
}

static void total_epoch_end(struct pc_pace *p, uint64_t now)
{
	/* never cut: rounds as short as the fastest path's start */
	if (now - p->total_epoch_us < (p->total_ssthresh >= RATE_MAX ? FAST_EPOCH_US : EPOCH_MIN_US))
		return;
	double secs = (double)(now - p->total_epoch_us) / 1e6;
	if ((double)p->total_sent >= p->total * secs * 0.5) {
		/* never cut: as fast as the fastest path's start */
		double step = p->total < p->total_ssthresh
				      ? p->total * (p->total_ssthresh >= RATE_MAX ? FAST_START - 1 : 1)
				      : p->total_ssthresh / 16;
		p->total += step;
	}
	if (p->cfg.max_pps > 0 && p->total >= p->cfg.max_pps) {
		p->total = p->cfg.max_pps;
		p->total_why = PC_PACE_CEILING;
	}
	if (p->total > RATE_MAX)
		p->total = RATE_MAX;
	p->total_epoch_us = now;
	p->total_sent = 0;
}

unsigned pc_pace_path_index(struct pc_pace *p, const struct pc_addr *addr, uint64_t now_us)
{
	pthread_mutex_lock(&p->lock);
	unsigned i = (unsigned)(find_path(p, addr, now_us) - p->paths);
	pthread_mutex_unlock(&p->lock);
	return i;
}

bool pc_pace_take_index(struct pc_pace *p, unsigned index, uint64_t now_us)
{
	if (index >= PC_PACE_PATHS)
		return false;
	pthread_mutex_lock(&p->lock);
	struct path *s = &p->paths[index];
	path_epoch_end(p, s, now_us);
	total_epoch_end(p, now_us);
	/* a burst of 10 ms of the rate (at least one probe) */
	double burst = s->rate * 0.010;
	if (burst < 1)
		burst = 1;
	if (now_us > s->refill_us) {
		s->tokens += (double)(now_us - s->refill_us) * s->rate / 1e6;
		if (s->tokens > burst)
			s->tokens = burst;
		s->refill_us = now_us;
	}
	bool ok = s->tokens >= 1;
	if (ok) {
		s->tokens -= 1;
		s->sent++;
		p->total_sent++;
	}
	pthread_mutex_unlock(&p->lock);
	return ok;
}

bool pc_pace_take(struct pc_pace *p, const struct pc_addr *addr, uint64_t now_us)
{
	return pc_pace_take_index(p, pc_pace_path_index(p, addr, now_us), now_us);
}

void pc_pace_answer(struct pc_pace *p, const struct pc_addr *addr, uint64_t rtt_us,
		    uint64_t first_us, bool retried, uint64_t now_us)
{
	pthread_mutex_lock(&p->lock);
	struct path *s = find_path(p, addr, now_us);
	if (!s->min_rtt_us || rtt_us < s->min_rtt_us)
		s->min_rtt_us = rtt_us ? rtt_us : 1;
	s->srtt_us = s->srtt_us ? (s->srtt_us * 7 + rtt_us) / 8 : rtt_us;
	if (!retried) {
		/* RFC 6298's estimator, on answers that cannot be ambiguous
		 * (an answer to a re-sent probe may belong to either send) */
		if (!s->rto_srtt_us) {
			s->rto_srtt_us = rtt_us;
			s->rto_var_us = rtt_us / 2;
		} else {
			uint64_t d = rtt_us > s->rto_srtt_us ? rtt_us - s->rto_srtt_us
							     : s->rto_srtt_us - rtt_us;
			s->rto_var_us = (s->rto_var_us * 3 + d) / 4;
			s->rto_srtt_us = (s->rto_srtt_us * 7 + rtt_us) / 8;
		}
		s->rto_samples++;
	}
	s->delivered++;
	/* only probes sent after the last cut tell of the current rate */
	if (first_us >= s->cut_us) {
		s->answers++;
		if (retried)
			s->retried++;
		if (!s->epoch_min_rtt_us || rtt_us < s->epoch_min_rtt_us)
			s->epoch_min_rtt_us = rtt_us;
	}
	if (retried) {
		s->lossy = true;
		/* no more answers than re-sends (an engine that does not
		 * report its re-sends: the yield stays unknown) */
		if (s->retry_answered < s->retry_sent)
			s->retry_answered++;
	}
	path_epoch_end(p, s, now_us);
	pthread_mutex_unlock(&p->lock);
}

void pc_pace_signal(struct pc_pace *p, const struct pc_addr *addr, enum pc_pace_signal sig,
		    uint64_t now_us)
{
	pthread_mutex_lock(&p->lock);
	if (addr && sig == PC_PACE_SIG_ICMP) {
		struct path *s = find_path(p, addr, now_us);
		double budget = icmp_budget(p);
		if (!s->icmp_us) {
			/* the target's burst is spent: straight down to what
			 * its refill allows (halvings from thousands a second
			 * would take a second and leave hundreds of closed
			 * ports silent), and no growth above it */
			s->icmp_us = now_us ? now_us : 1;
			cut_path(p, s, 1.0, PC_PACE_ICMP, false, now_us);
			/* under the minimum too: the budget is the model */
			if (s->rate > budget)
				s->rate = s->ssthresh = budget;
		}
		/* later silences are of tries sent before (when the burst
		 * was spent): no further cut, the budget holds */
	} else if (now_us - p->total_cut_us >= EPOCH_MIN_US || !p->total_cut_us) {
		p->total *= 0.5;
		if (p->total < TOTAL_MIN)
			p->total = TOTAL_MIN;
		p->total_ssthresh = p->total;
		p->total_cut_us = now_us;
		p->total_epoch_us = now_us;
		p->total_sent = 0;
		p->total_why = sig == PC_PACE_SIG_CAPTURE ? PC_PACE_CAPTURE : PC_PACE_SENDBUF;
	}
	pthread_mutex_unlock(&p->lock);
}

double pc_pace_total(const struct pc_pace *p)
{
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	double t = p->total;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return t;
}

enum pc_pace_limit pc_pace_limit(const struct pc_pace *p, struct pc_addr *ret_net,
				 unsigned *ret_prefix)
{
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	const struct path *worst = NULL;
	for (size_t i = 0; i < PC_PACE_PATHS; i++) {
		const struct path *s = &p->paths[i];
		if (s->rate > 0 && s->why != PC_PACE_GROWING && (!worst || s->rate < worst->rate))
			worst = s;
	}
	enum pc_pace_limit why = p->total_why;
	/* our own overflow limits every path: it comes first */
	if (worst && why != PC_PACE_SENDBUF && why != PC_PACE_CAPTURE) {
		why = worst->why;
		if (ret_net)
			*ret_net = worst->net;
		if (ret_prefix)
			*ret_prefix = worst->prefix;
	} else {
		if (ret_net)
			memset(ret_net, 0, sizeof(*ret_net));
		if (ret_prefix)
			*ret_prefix = 0;
	}
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return why;
}

const char *pc_pace_limit_name(enum pc_pace_limit l)
{
	switch (l) {
	case PC_PACE_GROWING:
		return "growing";
	case PC_PACE_CEILING:
		return "ceiling";
	case PC_PACE_LOSS:
		return "loss";
	case PC_PACE_RTT:
		return "rtt";
	case PC_PACE_ICMP:
		return "icmp-limit";
	case PC_PACE_SENDBUF:
		return "send-buffer";
	case PC_PACE_CAPTURE:
		return "capture-drops";
	}
	return "?";
}

/* addr's path if it was made (the lock is held); NULL otherwise */
static const struct path *known_path(const struct pc_pace *p, const struct pc_addr *addr)
{
	struct pc_addr net = *addr;
	mask(&net, addr->family == AF_INET ? p->prefix4 : p->prefix6);
	const uint32_t *v = pc_hostmap_get(p->map, 0, &net);
	if (v)
		return &p->paths[*v];
	const struct path *shared = &p->paths[PC_PACE_PATHS - 1];
	return p->n_paths >= PC_PACE_PATHS - 1 && shared->rate > 0 ? shared : NULL;
}

double pc_pace_path_rate(const struct pc_pace *p, const struct pc_addr *addr)
{
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	const struct path *s = known_path(p, addr);
	double r = s ? s->rate : p->cfg.start_pps;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return r;
}

bool pc_pace_lossy(const struct pc_pace *p, const struct pc_addr *addr)
{
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	const struct path *s = known_path(p, addr);
	bool lossy = s && s->lossy;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return lossy;
}

void pc_pace_resent(struct pc_pace *p, const struct pc_addr *addr, uint64_t now_us)
{
	pthread_mutex_lock(&p->lock);
	struct path *s = find_path(p, addr, now_us);
	if (++s->retry_sent >= RETRY_WINDOW) {
		s->retry_sent /= 2;
		s->retry_answered /= 2;
	}
	pthread_mutex_unlock(&p->lock);
}

enum pc_pace_loss pc_pace_loss(const struct pc_pace *p, const struct pc_addr *addr)
{
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	const struct path *s = known_path(p, addr);
	enum pc_pace_loss r = PC_PACE_LOSS_NONE;
	if (s && s->lossy)
		r = (uint64_t)s->retry_answered * 100 >= (uint64_t)s->retry_sent * RETRY_YIELD
			    ? PC_PACE_LOSS_RETRIES_ANSWER
			    : PC_PACE_LOSS_SEEN;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return r;
}

uint64_t pc_pace_timeout_us(const struct pc_pace *p, const struct pc_addr *addr, uint64_t max_us)
{
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	const struct path *s = known_path(p, addr);
	uint64_t t = max_us;
	if (s && s->rto_samples >= RTO_SAMPLES) {
		t = 2 * s->rto_srtt_us + 4 * s->rto_var_us;
		if (t < RTO_MIN_US)
			t = RTO_MIN_US;
		if (t > max_us)
			t = max_us;
	}
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return t;
}

uint64_t pc_pace_icmp_since(const struct pc_pace *p, const struct pc_addr *addr)
{
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	const struct path *s = known_path(p, addr);
	uint64_t t = s ? s->icmp_us : 0;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return t;
}
