/*
 * exposure.c - the host view joined to the network view: for every listener
 * (and forwarded port) an agent reported, what the latest sweeps of each
 * segment saw of it (`fleet exposure`); and the other way round, the ports
 * sweeps saw open that no agent explains (`fleet unexplained`).
 *
 * Why it is built this way:
 * - Everything comes through the store's query op as portable SQL over
 *   text rows, so the same join answers on SQLite and PostgreSQL.
 * - SQL does the cheap part: each host's latest host audit, its listeners
 *   not on loopback and the addresses of its namespaces (snapshot_address,
 *   schema 4), in one statement (a union: one moment while agents write).
 *   A wildcard listener (0.0.0.0, ::) is joined to its namespace's
 *   addresses here, over sorted arrays: in SQL that join and the order it
 *   needs cost a sort of every row, and each row repeated its host's names
 *   (bench/fleet: 85,600 rows, see docs/benchmarks.md). What SQL cannot
 *   say portably, whether an address lies in a scanned range, is done here
 *   over the few ranges each scan stored (scan_cover), which is also why
 *   no closed port ever needs a row.
 * - Scans are grouped into sweeps (the shards of one --sweep-id are one
 *   sweep; a scan without one is its own). A sharded sweep covers a port
 *   only once all its shards are stored. Per segment the newest covering
 *   sweep is the evidence: what it saw (open, closed, filtered), "not open"
 *   when it scanned the port and kept no record of it (a scan keeps only
 *   open ports unless --show closed,filtered), or "never" scanned.
 * - The classifier's evidence for one host (pc_ledger_evidence) is the same
 *   join asked about that host's addresses only: exposure_evidence.c.
 * - The working sets are arrays sorted once and searched with bsearch: the
 *   scan endpoints by (sweep, proto, port, address), the agents' points and
 *   addresses by (address, proto, port). Strings are copied into the arena
 *   once: a host's names once per host, a namespace address once, service,
 *   executable and namespace names once per distinct value (interned).
 *
 * What is trusted: nothing read back. Numbers are parsed with bounds and
 * enum ranges checked; an address that does not parse or a row out of range
 * is skipped, never guessed; strings are copied into the caller's arena.
 */
#include "ledger/exposure_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Each host's latest audit of itself (not a network audit it ran). */
#define LATEST_HOST                                                                          \
	"(SELECT max(id) AS id FROM snapshot WHERE kind = 'audit' AND scan = 0"              \
	" GROUP BY COALESCE(host_id, host))"

/* Grow a vector to hold one more; false on ENOMEM. */
bool pc_exposure_grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 64;
	void *p = realloc(*v, nc * size);
	if (!p)
		return false;
	*v = p;
	*cap = nc;
	return true;
}

/* A decimal integer in [lo, hi]: digits with an optional '-', nothing
 * else. By hand rather than strtoll: it runs nine times on each of
 * 85,000 rows of `fleet exposure`, and the text is the engines' own. */
static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *ret)
{
	if (!s)
		return false;
	bool neg = *s == '-';
	s += neg;
	if (!*s)
		return false;
	/* magnitude up to 2^63 (INT64_MIN's), checked before each step */
	uint64_t v = 0, max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		unsigned d = (unsigned)(unsigned char)*s - '0';
		if (d > 9 || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	int64_t x = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	if (x < lo || x > hi)
		return false;
	*ret = x;
	return true;
}

static bool parse_addr(const char *s, struct pc_addr *a)
{
	memset(a, 0, sizeof(*a));
	return s && strlen(s) < PC_ADDR_STRLEN && pc_addr_parse(s, a) == 0;
}

static const char *dup(struct work *w, const char *s)
{
	const char *c = pc_arena_strdup(w->arena, s ? s : "");
	if (!c)
		w->oom = true;
	return c;
}

/* dup for the values that repeat across a fleet's listeners (service,
 * executable, namespace): one copy of each, found by hash; a string that
 * finds its slot taken by another is copied as dup would. */
static const char *intern(struct work *w, const char *s)
{
	if (!s)
		s = "";
	uint32_t h = 2166136261u;
	for (const char *p = s; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	const char **slot = &w->interned[h % INTERN_SLOTS];
	if (*slot && strcmp(*slot, s) == 0)
		return *slot;
	const char *c = dup(w, s);
	if (!*slot)
		*slot = c;
	return c;
}

static int cmp_snap(const void *a, const void *b)
{
	int64_t x = ((const struct snap_sweep *)a)->id, y = ((const struct snap_sweep *)b)->id;
	return x < y ? -1 : x > y;
}

/* The sweep index of scan snapshot id, or false. */
static bool sweep_index(const struct work *w, int64_t id, size_t *ret)
{
	struct snap_sweep key = {.id = id};
	const struct snap_sweep *hit =
		w->n_snaps ? bsearch(&key, w->snaps, w->n_snaps, sizeof(*w->snaps), cmp_snap) : NULL;
	if (hit)
		*ret = hit->sweep;
	return hit != NULL;
}

/* --- reading the ledger --------------------------------------------------- */

/* id, sweep_id, segment, started_at, scan_shard, scan_shards (by id) */
static int row_scan(void *ctx, int ncols, const char *const *c)
{
	struct work *w = ctx;
	int64_t id, started, shard = 0, shards = 0;
	if (ncols < 6 || !parse_i64(c[0], 1, INT64_MAX, &id) ||
	    !parse_i64(c[3], INT64_MIN, INT64_MAX, &started) ||
	    (c[4] && !parse_i64(c[4], 0, 1 << 20, &shard)) ||
	    (c[5] && !parse_i64(c[5], 0, 1 << 20, &shards))) {
		w->bad = true;
		return 0;
	}
	const char *segment = c[2] ? c[2] : "";
	size_t k = w->n_sweeps;
	/* the shards of one sweep share its id (and a segment) */
	if (c[1] && *c[1])
		for (k = 0; k < w->n_sweeps; k++)
			if (strcmp(w->sweeps[k].name, c[1]) == 0 &&
			    strcmp(w->sweeps[k].segment, segment) == 0)
				break;
	if (k == w->n_sweeps) {
		if (!pc_exposure_grow((void **)&w->sweeps, &w->cap_sweeps, w->n_sweeps, sizeof(*w->sweeps)))
			return PC_ENOMEM;
		struct sweep *s = &w->sweeps[w->n_sweeps++];
		memset(s, 0, sizeof(*s));
		s->name = c[1] && *c[1] ? dup(w, c[1])
					: pc_arena_printf(w->arena, "snapshot %lld", (long long)id);
		s->segment = dup(w, segment);
		s->started_at = started;
		if (!s->name)
			w->oom = true;
		size_t g = 0;
		while (g < w->n_segments && strcmp(w->segments[g], segment) != 0)
			g++;
		if (g == w->n_segments) {
			if (!pc_exposure_grow((void **)&w->segments, &w->cap_segments, w->n_segments,
				  sizeof(*w->segments)))
				return PC_ENOMEM;
			w->segments[w->n_segments++] = s->segment;
		}
	}
	struct sweep *s = &w->sweeps[k];
	s->newest_id = id;
	if (started < s->started_at)
		s->started_at = started;
	if (shards > 1) {
		s->shards = (uint32_t)shards;
		if (shard >= 1 && shard <= 64)
			s->shard_seen |= UINT64_C(1) << (shard - 1);
	}
	if (!pc_exposure_grow((void **)&w->snaps, &w->cap_snaps, w->n_snaps, sizeof(*w->snaps)))
		return PC_ENOMEM;
	w->snaps[w->n_snaps].id = id;
	w->snaps[w->n_snaps++].sweep = k;
	return w->oom ? PC_ENOMEM : 0;
}

/* snapshot_id, kind, first_address, last_address, first_port, last_port */
static int row_cover(void *ctx, int ncols, const char *const *c)
{
	struct work *w = ctx;
	int64_t id, kind, a = 0, b = 0;
	size_t k;
	if (ncols < 6 || !parse_i64(c[0], 1, INT64_MAX, &id) ||
	    !parse_i64(c[1], PC_COVER_ADDRESSES, PC_COVER_UDP, &kind) || !sweep_index(w, id, &k))
		return 0;
	struct sweep *s = &w->sweeps[k];
	struct pc_scan_range r = {.kind = (enum pc_cover_kind)kind};
	if (kind == PC_COVER_ADDRESSES) {
		if (!parse_addr(c[2], &r.first) || !parse_addr(c[3], &r.last) ||
		    r.first.family != r.last.family) {
			w->bad = true;
			return 0;
		}
	} else if (!parse_i64(c[4], 0, 65535, &a) || !parse_i64(c[5], a, 65535, &b)) {
		w->bad = true;
		return 0;
	} else {
		r.port_first = (uint16_t)a;
		r.port_last = (uint16_t)b;
	}
	if (s->n_cover >= PC_SCAN_COVER_MAX * 4)
		return 0; /* a sweep of many shards: their ranges repeat */
	if (!pc_exposure_grow((void **)&s->cover, &s->cap_cover, s->n_cover, sizeof(*s->cover)))
		return PC_ENOMEM;
	s->cover[s->n_cover++] = r;
	return 0;
}

/* snapshot_id, address, proto, port, state */
static int row_scan_ep(void *ctx, int ncols, const char *const *c)
{
	struct work *w = ctx;
	int64_t id, proto, port, state;
	struct scan_ep e;
	if (ncols < 5 || !parse_i64(c[0], 1, INT64_MAX, &id) || !parse_addr(c[1], &e.addr) ||
	    !parse_i64(c[2], PC_PROTO_TCP, PC_PROTO_UDP, &proto) ||
	    !parse_i64(c[3], 0, 65535, &port) ||
	    !parse_i64(c[4], PC_STATE_LISTEN, PC_STATE_FORWARDED, &state))
		return 0;
	if (!sweep_index(w, id, &e.sweep))
		return 0;
	if (!pc_exposure_grow((void **)&w->eps, &w->cap_eps, w->n_eps, sizeof(*w->eps)))
		return PC_ENOMEM;
	e.proto = (enum pc_proto)proto;
	e.port = (uint16_t)port;
	e.state = (enum pc_state)state;
	w->eps[w->n_eps++] = e;
	return 0;
}

static int add_point(struct work *w, const struct point *p)
{
	if (!pc_exposure_grow((void **)&w->points, &w->cap_points, w->n_points, sizeof(*w->points)))
		return PC_ENOMEM;
	w->points[w->n_points++] = *p;
	return 0;
}

static bool parse_opt_i64(const char *s, int64_t *ret, bool *have)
{
	*have = s != NULL;
	*ret = 0;
	return !s || parse_i64(s, INT64_MIN, INT64_MAX, ret);
}

/* The agents' rows (see AGENTS): kind, snapshot_id, seq, netns_inode,
 * proto, port, bind, state, forward, address (the host id for a host),
 * service (the host name for a host), exe, ns_id. They arrive in any
 * order; the arrays are sorted afterwards. */
static int row_agent(void *ctx, int ncols, const char *const *c)
{
	struct work *w = ctx;
	int64_t kind, id;
	if (ncols < 13 || !parse_i64(c[0], 0, 2, &kind) || !parse_i64(c[1], 1, INT64_MAX, &id)) {
		w->bad = true;
		return 0;
	}
	if (kind == 0) {
		if (!pc_exposure_grow((void **)&w->hosts, &w->cap_hosts, w->n_hosts, sizeof(*w->hosts)))
			return PC_ENOMEM;
		struct agent_host *h = &w->hosts[w->n_hosts++];
		h->id = id;
		h->host_id = dup(w, c[9]);
		h->host = dup(w, c[10]);
		return w->oom ? PC_ENOMEM : 0;
	}
	if (kind == 1) {
		struct agent_addr a = {.snap = id};
		if (!parse_i64(c[2], INT64_MIN, INT64_MAX, &a.seq) ||
		    !parse_opt_i64(c[3], &a.inode, &a.has_inode))
			return 0;
		a.parsed = parse_addr(c[9], &a.addr);
		a.text = dup(w, c[9]);
		if (w->oom)
			return PC_ENOMEM;
		if (!pc_exposure_grow((void **)&w->agent_addrs, &w->cap_agent_addrs, w->n_agent_addrs,
			  sizeof(*w->agent_addrs)))
			return PC_ENOMEM;
		w->agent_addrs[w->n_agent_addrs++] = a;
		return 0;
	}
	struct listener e = {.snap = id};
	int64_t proto, port, bind, state, fwd;
	if (!parse_i64(c[2], 0, INT64_MAX, &e.seq) ||
	    !parse_opt_i64(c[3], &e.inode, &e.has_inode) ||
	    !parse_i64(c[4], PC_PROTO_TCP, PC_PROTO_UDP, &proto) ||
	    !parse_i64(c[5], 0, 65535, &port) ||
	    !parse_i64(c[6], PC_BIND_UNKNOWN, PC_BIND_SPECIFIC, &bind) ||
	    !parse_i64(c[7], PC_STATE_LISTEN, PC_STATE_FORWARDED, &state) ||
	    !parse_i64(c[8], 0, 1, &fwd)) {
		w->bad = true;
		return 0;
	}
	e.proto = (enum pc_proto)proto;
	e.port = (uint16_t)port;
	e.bind = (enum pc_bind)bind;
	e.forwarded = fwd || state == PC_STATE_FORWARDED;
	e.have_listen = parse_addr(c[9], &e.listen);
	e.listen_text = dup(w, c[9] ? c[9] : "*");
	e.service = intern(w, c[10]);
	e.exe = intern(w, c[11]);
	e.ns = intern(w, c[12]);
	if (w->oom)
		return PC_ENOMEM;
	if (!pc_exposure_grow((void **)&w->listeners, &w->cap_listeners, w->n_listeners,
		  sizeof(*w->listeners)))
		return PC_ENOMEM;
	w->listeners[w->n_listeners++] = e;
	return 0;
}

static int cmp_i64(int64_t x, int64_t y)
{
	return x < y ? -1 : x > y;
}

static int cmp_agent_host(const void *pa, const void *pb)
{
	return cmp_i64(((const struct agent_host *)pa)->id, ((const struct agent_host *)pb)->id);
}

/* By snapshot, namespace (none first), then seq: a namespace's addresses
 * in the order its audit stored them. */
static int cmp_agent_addr(const void *pa, const void *pb)
{
	const struct agent_addr *a = pa, *b = pb;
	int c = cmp_i64(a->snap, b->snap);
	if (!c && a->has_inode != b->has_inode)
		c = a->has_inode ? 1 : -1;
	if (!c)
		c = cmp_i64(a->inode, b->inode);
	return c ? c : cmp_i64(a->seq, b->seq);
}

/* qsort unless the server already sent them in order (it usually does:
 * each part of the union comes off its primary key). */
static void sort_if_needed(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	for (size_t i = 1; i < n; i++)
		if (cmp((const char *)v + (i - 1) * size, (const char *)v + i * size) > 0) {
			qsort(v, n, size, cmp);
			return;
		}
}

/* The points of one listener: where it is bound, or (a wildcard, bind 2)
 * each address of its namespace of its family (:: also takes IPv4, unless
 * v6only, which the ledger does not know); one point with none ("*") when
 * there is no such address, so it is listed as never matched rather than
 * dropped. */
static int expand_listener(struct work *w, const struct listener *e, const struct agent_host *h)
{
	struct point p;
	memset(&p, 0, sizeof(p));
	p.row.host_id = h->host_id;
	p.row.host = h->host;
	p.row.proto = e->proto;
	p.row.port = e->port;
	p.row.listen_address = e->listen_text;
	p.row.forwarded = e->forwarded;
	p.row.service = e->service;
	p.row.exe = e->exe;
	p.row.namespace_id = e->ns;
	if (e->have_listen && !pc_addr_is_any(&e->listen)) {
		/* bound to one address: that is where it answers */
		p.addr = e->listen;
		p.row.address = e->listen_text;
		return w->sink(w, &p);
	}
	bool any = false;
	if (e->bind == PC_BIND_ANY && e->has_inode && w->n_agent_addrs) {
		struct agent_addr key = {.snap = e->snap, .inode = e->inode, .has_inode = true,
					 .seq = INT64_MIN};
		/* the first address of (snapshot, namespace): lower bound */
		size_t lo = 0, hi = w->n_agent_addrs;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (cmp_agent_addr(&w->agent_addrs[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i < w->n_agent_addrs; i++) {
			const struct agent_addr *a = &w->agent_addrs[i];
			if (a->snap != e->snap || !a->has_inode || a->inode != e->inode)
				break;
			if (!a->parsed ||
			    (e->have_listen && e->listen.family == AF_INET && a->addr.family != AF_INET))
				continue;
			p.addr = a->addr;
			p.row.address = a->text;
			any = true;
			int r = w->sink(w, &p);
			if (r != 0)
				return r;
		}
	}
	if (any)
		return 0;
	memset(&p.addr, 0, sizeof(p.addr));
	p.row.address = "*";
	return w->sink(w, &p);
}

static int ask(struct work *w, const char *sql, const char *const *params, int n,
	       int (*fn)(void *, int, const char *const *))
{
	int r = w->l->ops->query(w->l, sql, params, n, fn, w, w->err);
	if (r == PC_ENOMEM || (r == 0 && w->oom))
		return pc_error_set(w->err, PC_ENOMEM, "out of memory");
	return r;
}

static int cmp_ep(const void *pa, const void *pb)
{
	const struct scan_ep *a = pa, *b = pb;
	if (a->sweep != b->sweep)
		return a->sweep < b->sweep ? -1 : 1;
	if (a->proto != b->proto)
		return (int)a->proto - (int)b->proto;
	if (a->port != b->port)
		return (int)a->port - (int)b->port;
	return pc_addr_compare(&a->addr, &b->addr);
}

static int cmp_point(const void *pa, const void *pb)
{
	const struct point *a = pa, *b = pb;
	int c = pc_addr_compare(&a->addr, &b->addr);
	if (c)
		return c;
	if (a->row.proto != b->row.proto)
		return (int)a->row.proto - (int)b->row.proto;
	return (int)a->row.port - (int)b->row.port;
}

static int cmp_host_addr(const void *pa, const void *pb)
{
	const struct host_addr *a = pa, *b = pb;
	return pc_addr_compare(&a->addr, &b->addr);
}

static int cmp_sweep_newest(const void *pa, const void *pb)
{
	const struct sweep *a = pa, *b = pb;
	return a->newest_id > b->newest_id ? -1 : a->newest_id < b->newest_id;
}

/* Read the sweeps (coverage and endpoints). */
static int gather(struct work *w)
{
	const char *const seg[] = {w->segment};
	int n = w->segment ? 1 : 0;
	int r = ask(w,
		    w->segment
			    ? "SELECT id, sweep_id, segment, started_at, scan_shard, scan_shards"
			      " FROM snapshot WHERE scan = 1 AND segment = ? ORDER BY id"
			    : "SELECT id, sweep_id, segment, started_at, scan_shard, scan_shards"
			      " FROM snapshot WHERE scan = 1 ORDER BY id",
		    seg, n, row_scan);
	/* ids arrive in order: w->snaps is sorted for bsearch already */
	if (r == 0)
		r = ask(w,
			w->segment
				? "SELECT c.snapshot_id, c.kind, c.first_address, c.last_address,"
				  " c.first_port, c.last_port FROM scan_cover c JOIN snapshot s"
				  " ON s.id = c.snapshot_id WHERE s.scan = 1 AND s.segment = ?"
				  " ORDER BY c.snapshot_id, c.seq"
				: "SELECT c.snapshot_id, c.kind, c.first_address, c.last_address,"
				  " c.first_port, c.last_port FROM scan_cover c JOIN snapshot s"
				  " ON s.id = c.snapshot_id WHERE s.scan = 1"
				  " ORDER BY c.snapshot_id, c.seq",
			seg, n, row_cover);
	if (r == 0 && w->n_only) {
		/* one host's addresses: the server filters, nothing else is
		 * sent (placeholders only; the addresses are parameters) */
		char sql[512 + ONLY_MAX * 3];
		size_t k = (size_t)snprintf(sql, sizeof(sql),
					    "SELECT e.snapshot_id, e.address, e.proto, e.port, e.state"
					    " FROM endpoint e JOIN snapshot s ON s.id = e.snapshot_id"
					    " WHERE s.scan = 1 AND e.state IN (2, 3, 4, 5)"
					    " AND e.address IN (");
		for (int i = 0; i < w->n_only && k < sizeof(sql); i++)
			k += (size_t)snprintf(sql + k, sizeof(sql) - k, i ? ", ?" : "?");
		if (k + 2 < sizeof(sql)) {
			snprintf(sql + k, sizeof(sql) - k, ")");
			r = ask(w, sql, w->only, w->n_only, row_scan_ep);
		} else {
			r = pc_error_set(w->err, PC_ETOOBIG, "query too long");
		}
	} else if (r == 0) {
		r = ask(w,
			w->segment
				? "SELECT e.snapshot_id, e.address, e.proto, e.port, e.state"
				  " FROM endpoint e JOIN snapshot s ON s.id = e.snapshot_id"
				  " WHERE s.scan = 1 AND s.segment = ? AND e.state IN (2, 3, 4, 5)"
				: "SELECT e.snapshot_id, e.address, e.proto, e.port, e.state"
				  " FROM endpoint e JOIN snapshot s ON s.id = e.snapshot_id"
				  " WHERE s.scan = 1 AND e.state IN (2, 3, 4, 5)",
			seg, n, row_scan_ep);
	}
	if (r > 0)
		r = 0;
	return r;
}

/* A listener's place in (snapshot, seq) order. */
struct ord {
	int64_t seq;
	size_t i; /* index in listeners */
};

static int cmp_ord(const void *pa, const void *pb)
{
	return cmp_i64(((const struct ord *)pa)->seq, ((const struct ord *)pb)->seq);
}

/* The listeners in (snapshot, seq) order, those of a snapshot with no host
 * row left out (none: one statement read both). A counting sort by host,
 * then each host's few hundred by seq, rather than a qsort of 85,000
 * rows: the server sends a snapshot's rows mostly in seq order but
 * interleaves the snapshots (a hash join, parallel workers). 0 or
 * PC_ENOMEM. */
static int order_listeners(struct work *w, struct ord **ret, size_t *ret_n)
{
	size_t nh = w->n_hosts;
	size_t *start = calloc(nh + 1, sizeof(*start));
	struct ord *order = malloc((w->n_listeners ? w->n_listeners : 1) * sizeof(*order));
	if (!start || !order) {
		free(start);
		free(order);
		return PC_ENOMEM;
	}
	const struct agent_host *h = NULL;
	for (size_t i = 0; i < w->n_listeners; i++) {
		struct listener *e = &w->listeners[i];
		if (!h || h->id != e->snap) {
			struct agent_host key = {.id = e->snap};
			h = nh ? bsearch(&key, w->hosts, nh, sizeof(*w->hosts), cmp_agent_host) : NULL;
		}
		e->host = h ? (size_t)(h - w->hosts) : SIZE_MAX;
		if (h)
			start[e->host + 1]++;
	}
	for (size_t k = 0; k < nh; k++)
		start[k + 1] += start[k];
	size_t n = start[nh];
	/* start[k] moves to the end of host k's run as it fills */
	for (size_t i = 0; i < w->n_listeners; i++) {
		const struct listener *e = &w->listeners[i];
		if (e->host != SIZE_MAX)
			order[start[e->host]++] = (struct ord){.seq = e->seq, .i = i};
	}
	for (size_t k = 0, from = 0; k < nh; from = start[k++])
		sort_if_needed(order + from, start[k] - from, sizeof(*order), cmp_ord);
	free(start);
	*ret = order;
	*ret_n = n;
	return 0;
}

/* Each host's latest audit (LATEST_HOST, once): the host (kind 0), every
 * address it reports (1), and its listeners (state 0) and forwarded fronts
 * (6) not on loopback (bind 1) (2). One statement, so the three parts are
 * of the same moment while agents write; a union rather than a join, so
 * the server neither repeats each host's names on all its rows nor sorts
 * 85,000 rows: the wildcard join is done here over the sorted arrays. */
#define AGENTS                                                                               \
	"SELECT 0, s.id, CAST(NULL AS INTEGER), CAST(NULL AS BIGINT), CAST(NULL AS INTEGER)," \
	" CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER),"               \
	" CAST(NULL AS INTEGER), COALESCE(s.host_id, s.host), s.host, CAST(NULL AS TEXT),"   \
	" CAST(NULL AS TEXT) FROM " LATEST_HOST " l JOIN snapshot s ON s.id = l.id"                          \
	" UNION ALL SELECT 1, a.snapshot_id, a.seq, a.netns_inode, NULL, NULL, NULL, NULL,"  \
	" NULL, a.address, NULL, NULL, NULL FROM " LATEST_HOST " l JOIN snapshot_address a"                  \
	" ON a.snapshot_id = l.id"                                                           \
	" UNION ALL SELECT 2, e.snapshot_id, e.seq, e.netns_inode, e.proto, e.port, e.bind," \
	" e.state, e.forward, e.address, e.d_service, e.d_exe, e.ns_id FROM " LATEST_HOST " l"               \
	" JOIN endpoint e ON e.snapshot_id = l.id WHERE e.state IN (0, 6) AND e.bind <> 1"

/* The agents' points, in (snapshot, endpoint, address) order, and their
 * hosts' addresses. */
static int gather_agents(struct work *w)
{
	int r = ask(w, AGENTS, NULL, 0, row_agent);
	if (r > 0)
		r = 0;
	if (r < 0)
		return r;
	sort_if_needed(w->hosts, w->n_hosts, sizeof(*w->hosts), cmp_agent_host);
	sort_if_needed(w->agent_addrs, w->n_agent_addrs, sizeof(*w->agent_addrs),
		       cmp_agent_addr);
	struct ord *order = NULL;
	size_t n_order = 0;
	r = order_listeners(w, &order, &n_order);
	if (r < 0)
		return pc_error_set(w->err, r, "out of memory");
	/* at least one point each: grown once, not doubled 11 times */
	if (w->sink == add_point && n_order > w->cap_points) {
		struct point *pts = realloc(w->points, n_order * sizeof(*pts));
		if (!pts) {
			free(order);
			return pc_error_set(w->err, PC_ENOMEM, "out of memory");
		}
		w->points = pts;
		w->cap_points = n_order;
	}
	for (size_t i = 0; r == 0 && i < n_order; i++) {
		const struct listener *e = &w->listeners[order[i].i];
		r = expand_listener(w, e, &w->hosts[e->host]);
	}
	free(order);
	/* every address the hosts report (bsearch by address, for unexplained) */
	for (size_t i = 0; r == 0 && w->sink == add_point && i < w->n_agent_addrs; i++) {
		const struct agent_addr *a = &w->agent_addrs[i];
		struct agent_host key = {.id = a->snap};
		const struct agent_host *ah =
			w->n_hosts ? bsearch(&key, w->hosts, w->n_hosts, sizeof(*w->hosts),
					     cmp_agent_host)
				   : NULL;
		if (!a->parsed || !ah)
			continue;
		if (!pc_exposure_grow((void **)&w->addrs, &w->cap_addrs, w->n_addrs, sizeof(*w->addrs)))
			r = PC_ENOMEM;
		else
			w->addrs[w->n_addrs++] =
				(struct host_addr){.addr = a->addr, .host_id = ah->host_id, .host = ah->host};
	}
	if (r == PC_ENOMEM)
		r = pc_error_set(w->err, PC_ENOMEM, "out of memory");
	return r;
}

/* The state sweep k saw of (addr, proto, port): open, closed, filtered, or
 * not open when it kept no record. */
enum pc_exposure_seen pc_exposure_seen_by(const struct work *w, size_t k, const struct pc_addr *addr,
				     enum pc_proto proto, uint16_t port)
{
	struct scan_ep key = {.sweep = k, .proto = proto, .port = port, .addr = *addr};
	const struct scan_ep *e = w->n_eps ? bsearch(&key, w->eps, w->n_eps, sizeof(*w->eps),
						      cmp_ep)
					   : NULL;
	if (!e)
		return PC_SEEN_NOT_OPEN;
	/* the shards of a sweep may disagree (a retry): open wins, then
	 * closed (an answer), then filtered */
	size_t i = (size_t)(e - w->eps);
	while (i > 0 && cmp_ep(&w->eps[i - 1], &key) == 0)
		i--;
	enum pc_exposure_seen best = PC_SEEN_FILTERED;
	for (; i < w->n_eps && cmp_ep(&w->eps[i], &key) == 0; i++) {
		if (w->eps[i].state == PC_STATE_OPEN)
			return PC_SEEN_OPEN;
		if (w->eps[i].state == PC_STATE_CLOSED)
			best = PC_SEEN_CLOSED;
	}
	return best;
}

static bool complete(const struct sweep *s)
{
	if (!s->shards)
		return true;
	if (s->shards > 64)
		return false; /* more shards than we track: not claimed */
	uint64_t all = s->shards == 64 ? UINT64_MAX : (UINT64_C(1) << s->shards) - 1;
	return (s->shard_seen & all) == all;
}

/* The newest complete sweep of segment covering (addr, proto, port), or
 * n_sweeps. Sweeps are sorted newest first. */
size_t pc_exposure_newest_cover(const struct work *w, const char *segment, const struct pc_addr *addr,
			   enum pc_proto proto, uint16_t port)
{
	for (size_t k = 0; k < w->n_sweeps; k++) {
		const struct sweep *s = &w->sweeps[k];
		if (strcmp(s->segment, segment) == 0 && complete(s) &&
		    pc_scan_cover_has(s->cover, s->n_cover, addr, proto, port))
			return k;
	}
	return w->n_sweeps;
}

void pc_exposure_work_free(struct work *w)
{
	for (size_t k = 0; k < w->n_sweeps; k++)
		free(w->sweeps[k].cover);
	free(w->sweeps);
	free(w->snaps);
	free(w->eps);
	free(w->points);
	free(w->addrs);
	free(w->segments);
	free(w->hosts);
	free(w->agent_addrs);
	free(w->listeners);
}

/* Sweeps newest first; the endpoints' sweep indexes follow them. */
static int sort_sweeps(struct work *w)
{
	size_t n = w->n_sweeps;
	if (!n)
		return 0;
	for (size_t k = 0; k < n; k++)
		w->sweeps[k].order = k;
	qsort(w->sweeps, n, sizeof(*w->sweeps), cmp_sweep_newest);
	size_t *to = malloc(n * sizeof(*to));
	if (!to)
		return pc_error_set(w->err, PC_ENOMEM, "out of memory");
	for (size_t k = 0; k < n; k++)
		to[w->sweeps[k].order] = k;
	for (size_t i = 0; i < w->n_eps; i++)
		w->eps[i].sweep = to[w->eps[i].sweep];
	for (size_t i = 0; i < w->n_snaps; i++)
		w->snaps[i].sweep = to[w->snaps[i].sweep];
	free(to);
	if (w->eps)
		qsort(w->eps, w->n_eps, sizeof(*w->eps), cmp_ep);
	return 0;
}

int pc_exposure_prepare(struct work *w, struct pc_ledger *l, const char *segment,
		   struct pc_arena *arena, struct pc_error *err)
{
	/* the caller may have set w->only before */
	const char *only[ONLY_MAX];
	int n_only = w->n_only;
	memcpy(only, w->only, sizeof(only));
	memset(w, 0, sizeof(*w));
	memcpy(w->only, only, sizeof(only));
	w->n_only = n_only;
	w->l = l;
	w->arena = arena;
	w->err = err;
	w->segment = segment;
	w->sink = add_point;
	int r = gather(w);
	if (r == 0)
		r = sort_sweeps(w);
	/* --segment NAME: its row even when no sweep of it is stored */
	if (r == 0 && segment && !w->n_segments) {
		w->segments = malloc(sizeof(*w->segments));
		if (!w->segments)
			return pc_error_set(err, PC_ENOMEM, "out of memory");
		w->segments[w->n_segments++] = segment;
	}
	return r;
}

/* One point as a row per segment, as the newest covering sweep of each
 * saw it, straight to the caller: exposure keeps no points. */
static int emit_point(struct work *w, const struct point *p)
{
	static const char *const none[] = {""};
	const char *const *segs = w->n_segments ? w->segments : none;
	size_t n_segs = w->n_segments ? w->n_segments : 1;
	int r = 0;
	for (size_t g = 0; r == 0 && g < n_segs; g++) {
		struct pc_exposure_row row = p->row;
		row.segment = segs[g];
		row.seen = PC_SEEN_NEVER;
		size_t k = p->addr.family ? pc_exposure_newest_cover(w, segs[g], &p->addr, row.proto, row.port)
					  : w->n_sweeps;
		if (k < w->n_sweeps) {
			row.seen = pc_exposure_seen_by(w, k, &p->addr, row.proto, row.port);
			row.sweep = w->sweeps[k].name;
			row.scanned_at_ms = w->sweeps[k].started_at;
		}
		r = w->emit(w->emit_ctx, &row);
	}
	return r;
}

int pc_ledger_exposure(struct pc_ledger *l, const char *segment, struct pc_arena *arena,
		       int (*cb)(void *ctx, const struct pc_exposure_row *row), void *ctx,
		       struct pc_error *err)
{
	struct work w = {0};
	/* the sweeps first (sorted), then each agent's point as it is made */
	int r = pc_exposure_prepare(&w, l, segment, arena, err);
	w.sink = emit_point;
	w.emit = cb;
	w.emit_ctx = ctx;
	if (r == 0)
		r = gather_agents(&w);
	pc_exposure_work_free(&w);
	return r;
}

int pc_ledger_unexplained(struct pc_ledger *l, const char *segment, struct pc_arena *arena,
			  int (*cb)(void *ctx, const struct pc_unexplained *u), void *ctx,
			  struct pc_error *err)
{
	struct work w = {0};
	/* the agents' side only when some sweep saw something open */
	int r = pc_exposure_prepare(&w, l, segment, arena, err);
	bool any_open = false;
	for (size_t i = 0; i < w.n_eps && !any_open; i++)
		any_open = w.eps[i].state == PC_STATE_OPEN;
	if (r == 0 && any_open)
		r = gather_agents(&w);
	if (r == 0 && w.n_points)
		qsort(w.points, w.n_points, sizeof(*w.points), cmp_point);
	if (r == 0 && w.n_addrs)
		qsort(w.addrs, w.n_addrs, sizeof(*w.addrs), cmp_host_addr);
	/* every open port of a sweep that is the newest of its segment to
	 * cover it (eps are sorted by sweep, newest first) */
	for (size_t i = 0; r == 0 && i < w.n_eps; i++) {
		const struct scan_ep *e = &w.eps[i];
		const struct sweep *s = &w.sweeps[e->sweep];
		if (e->state != PC_STATE_OPEN || !complete(s) ||
		    pc_exposure_newest_cover(&w, s->segment, &e->addr, e->proto, e->port) < e->sweep)
			continue;
		/* the same port seen again by an older shard of this sweep */
		if (i > 0 && w.eps[i - 1].sweep == e->sweep && cmp_ep(&w.eps[i - 1], e) == 0)
			continue;
		struct point key = {.addr = e->addr, .row = {.proto = e->proto, .port = e->port}};
		if (w.n_points && bsearch(&key, w.points, w.n_points, sizeof(*w.points), cmp_point))
			continue; /* a listener or a forward explains it */
		struct host_addr hk = {.addr = e->addr};
		const struct host_addr *h =
			w.n_addrs ? bsearch(&hk, w.addrs, w.n_addrs, sizeof(*w.addrs), cmp_host_addr)
				  : NULL;
		char a[PC_ADDR_STRLEN];
		pc_addr_format(&e->addr, a, sizeof(a));
		struct pc_unexplained u = {
			.address = pc_arena_strdup(arena, a),
			.proto = e->proto,
			.port = e->port,
			.segment = s->segment,
			.sweep = s->name,
			.scanned_at_ms = s->started_at,
			.host_id = h ? h->host_id : NULL,
			.host = h ? h->host : NULL,
			/* an agent's own address answering on a port it does not
			 * know is a socket hidden from it, or a device in front */
			.severity = h ? PC_SEV_HIGH : PC_SEV_MEDIUM,
		};
		if (!u.address)
			r = pc_error_set(err, PC_ENOMEM, "out of memory");
		else
			r = cb(ctx, &u);
	}
	pc_exposure_work_free(&w);
	return r;
}

const char *pc_exposure_seen_name(enum pc_exposure_seen s)
{
	switch (s) {
	case PC_SEEN_OPEN:
		return "open";
	case PC_SEEN_CLOSED:
		return "closed";
	case PC_SEEN_FILTERED:
		return "filtered";
	case PC_SEEN_NOT_OPEN:
		return "not-open";
	case PC_SEEN_NEVER:
		break;
	}
	return "never";
}
