/*
 * fleet.c - `portcensus fleet`: questions about many hosts, asked of the
 * central ledger (or of any ledger: the questions are portable SQL through
 * the store's query op, so they answer on SQLite too).
 *
 *   fleet hosts [--stale AGE]       hosts, their last audit, and which stopped
 *   fleet findings [--min SEV]      the latest findings and risks, by severity
 *   fleet exposes PORT|SERVICE      who exposes it (a listener not on loopback)
 *   fleet image IMAGE               which hosts run IMAGE with a listener
 *   fleet drift --since TIME        each host's drift since TIME
 *   fleet sweep ID                  a sharded sweep's endpoints, as one scan
 *   fleet exposure [--segment NAME] every listener as each segment's sweeps saw it
 *   fleet unexplained [--segment N] open ports no agent's listener explains
 *   fleet ship                      ship what the local ledger owes
 *
 * Why it is built this way: every question is one query over "the latest
 * audit of each host" (the host id, or the host name for snapshots older
 * than schema 3), answered from the indexes of the snapshot table; the rows
 * come back as text and are printed by one table/json/md writer, so a new
 * question is a query and a column list. drift reuses the store's own diff
 * per host, so it says exactly what `portcensus diff` says. exposure and
 * unexplained join the agents' listeners to the sweeps' results
 * (ledger/exposure.c) and print through the same writers.
 *
 * Why unexplained is a question of its own and not a section of exposure:
 * its rows are ports, not listeners, with a severity and a reason each, and
 * its exit code (1 when there are any, like hosts --stale) is a gate a cron
 * job or CI can use without exposure's every row tripping it.
 */
#include "cli/cli.h"
#include "cli/fleet_table.h"
#include "cli/ledger_opts.h"
#include "core/json.h"
#include "core/text.h"
#include "ledger/exposure.h"
#include "report/document.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: portcensus fleet QUESTION [--ledger URL | --db PATH]\n"
	"                        [--format table|json|md|html|prom]\n"
	"\n"
	"Questions about a fleet, from the central ledger (--ledger, default\n"
	"$PORTCENSUS_LEDGER; any ledger answers):\n"
	"  hosts [--stale AGE]    each host, its last audit and how many; with\n"
	"                         --stale (2h, 1d): only hosts silent that long\n"
	"                         (exit 1 when there are any)\n"
	"  findings [--min SEV]   findings and endpoint risks of each host's\n"
	"                         latest audit, most severe first\n"
	"  exposes PORT|SERVICE   listeners on that port or service, not on loopback\n"
	"  image IMAGE            listeners whose owner runs IMAGE (with or without tag)\n"
	"  drift --since TIME     each host's drift since TIME (2026-12-01, -7d)\n"
	"  sweep ID               the endpoints of a sweep (scan --sweep-id ID), its\n"
	"                         shards (--shard I/N) taken together as one scan\n"
	"  exposure [--segment NAME]\n"
	"                         every listener and forwarded port the agents\n"
	"                         report (not on loopback), at each of its\n"
	"                         addresses, as the newest sweep of each segment\n"
	"                         that covered it saw it: open, closed, filtered,\n"
	"                         not-open (scanned, not kept) or never scanned\n"
	"  unexplained [--segment NAME]\n"
	"                         ports a sweep saw open that no agent's listener\n"
	"                         or forward explains, with a severity and a\n"
	"                         reason (exit 1 when there are any)\n"
	"  ship                   ship the local ledger's (--db) owed snapshots to\n"
	"                         the central ledger\n";

/* --- the questions --------------------------------------------------------- */

/* Each host's latest audit (the host id, or the host name before schema 3). */
#define HOST_KEY "COALESCE(host_id, host)"
#define LATEST "(SELECT max(id) AS id FROM snapshot WHERE kind = 'audit' GROUP BY " HOST_KEY ")"

struct q {
	struct fleet *fl;
	int (*fill)(struct q *q, int ncols, const char *const *cols, char **row);
};

struct fleet {
	struct pc_cli *cli;
	struct pc_ledger *l;
	struct ftable t;
	int64_t now_ms, stale_ms, since_ms;
	enum pc_severity min;
	uint64_t n_stale, n_unexplained;
	bool stale_only;
	const char *segment; /* --segment */
	const char **port_text; /* exposure: each port's text, made once */
};

static int q_row(void *ctx, int ncols, const char *const *cols)
{
	struct q *q = ctx;
	struct ftable *t = &q->fl->t;
	char **row = pc_fleet_ft_add(t);
	if (!row)
		return PC_ENOMEM;
	for (int c = 0; c < t->ncols + t->hidden; c++)
		row[c] = "";
	int r = q->fill(q, ncols, cols, row);
	if (r > 0) /* not wanted: take it back */
		t->n--;
	return r < 0 ? r : 0;
}

static const char *str(const char *s)
{
	return s ? s : "";
}

static int fill_hosts(struct q *q, int ncols, const char *const *cols, char **row)
{
	struct fleet *fl = q->fl;
	(void)ncols;
	int64_t last = strtoll(str(cols[2]), NULL, 10);
	bool stale = fl->stale_ms && last < fl->now_ms - fl->stale_ms;
	if (fl->stale_only && !stale)
		return 1;
	fl->n_stale += stale;
	char t[40];
	int r = 0;
	r |= pc_fleet_ft_set(&fl->t, row, 0, cols[0]);
	r |= pc_fleet_ft_set(&fl->t, row, 1, cols[1]);
	r |= pc_fleet_ft_set(&fl->t, row, 2, pc_format_time(last, t, sizeof(t)));
	r |= pc_fleet_ft_set(&fl->t, row, 3, cols[3]);
	r |= pc_fleet_ft_set(&fl->t, row, 4, stale ? "yes" : "no");
	/* for prom only (not shown): seconds, and staleness as a number */
	char secs[32];
	snprintf(secs, sizeof(secs), "%.3f", (double)last / 1000.0);
	r |= pc_fleet_ft_set(&fl->t, row, 5, secs);
	r |= pc_fleet_ft_set(&fl->t, row, 6, stale ? "1" : "0");
	return r ? PC_ENOMEM : 0;
}

static const char *sev_name(const char *v)
{
	long s = strtol(str(v), NULL, 10);
	return s >= 0 && s < PC_SEV_COUNT ? pc_severity_name((enum pc_severity)s) : "?";
}

static int fill_findings(struct q *q, int ncols, const char *const *cols, char **row)
{
	(void)ncols;
	struct ftable *t = &q->fl->t;
	int r = pc_fleet_ft_set(t, row, 0, cols[0]) | pc_fleet_ft_set(t, row, 1, sev_name(cols[1]));
	for (int c = 2; c < 5; c++)
		r |= pc_fleet_ft_set(t, row, c, cols[c]);
	return r ? PC_ENOMEM : 0;
}

static const char *proto_name(const char *v)
{
	return strtol(str(v), NULL, 10) == PC_PROTO_UDP ? "udp" : "tcp";
}

static int fill_listener(struct q *q, int ncols, const char *const *cols, char **row)
{
	struct ftable *t = &q->fl->t;
	int r = 0;
	for (int c = 0; c < ncols && c < t->ncols; c++)
		r |= pc_fleet_ft_set(t, row, c, c == 3 ? proto_name(cols[c]) : cols[c]);
	return r ? PC_ENOMEM : 0;
}

static int ask(struct fleet *fl, const char *sql, const char *const *params, int n,
	       int (*fill)(struct q *, int, const char *const *, char **))
{
	struct q q = {.fl = fl, .fill = fill};
	struct pc_error err = {0};
	int r = fl->l->ops->query(fl->l, sql, params, n, q_row, &q, &err);
	if (r == PC_ENOMEM)
		pc_error_set(&err, PC_ENOMEM, "out of memory");
	return r < 0 ? pc_cli_fail(fl->cli, &err) : 0;
}

static void columns(struct fleet *fl, const char *const *names, const bool *numeric, int n)
{
	fl->t.ncols = n;
	for (int c = 0; c < n; c++) {
		fl->t.names[c] = names[c];
		fl->t.numeric[c] = numeric && numeric[c];
	}
}

static int q_hosts(struct fleet *fl)
{
	static const char *const names[] = {"HOST_ID", "HOST", "LAST_AUDIT", "AUDITS", "STALE"};
	static const bool num[] = {false, false, false, true, false};
	columns(fl, names, num, 5);
	fl->t.hidden = 2;
	return ask(fl,
		   "SELECT " HOST_KEY ", s.host, s.started_at, c.n FROM snapshot s JOIN"
		   " (SELECT max(id) AS id, count(*) AS n FROM snapshot WHERE kind = 'audit'"
		   " GROUP BY " HOST_KEY ") c ON c.id = s.id ORDER BY 1",
		   NULL, 0, fill_hosts);
}

static int q_findings(struct fleet *fl)
{
	static const char *const names[] = {"HOST", "SEVERITY", "KIND", "RULE", "WHAT"};
	columns(fl, names, NULL, 5);
	char min[8];
	snprintf(min, sizeof(min), "%d", (int)fl->min);
	const char *const p[] = {min, min};
	return ask(fl,
		   "SELECT s.host, f.severity, f.kind, f.rule, f.message FROM " LATEST " l"
		   " JOIN snapshot s ON s.id = l.id JOIN finding f ON f.snapshot_id = l.id"
		   " WHERE f.severity >= ?"
		   " UNION ALL"
		   " SELECT s.host, e.risk_severity, 'endpoint', e.risk_category,"
		   " COALESCE(e.address, '*') || ':' || CAST(e.port AS TEXT) FROM " LATEST " l"
		   " JOIN snapshot s ON s.id = l.id JOIN endpoint e ON e.snapshot_id = l.id"
		   " WHERE e.risk = 1 AND e.risk_severity >= ?"
		   " ORDER BY 2 DESC, 1, 5",
		   p, 2, fill_findings);
}

static int q_exposes(struct fleet *fl, const char *what)
{
	static const char *const names[] = {"HOST",    "ADDRESS", "PORT",     "PROTO",
					    "SERVICE", "EXE",     "NAMESPACE"};
	static const bool num[] = {false, false, true, false, false, false, false};
	columns(fl, names, num, 7);
	unsigned long long port;
	bool is_port = pc_cli_parse_uint(what, 1, 65535, &port);
	const char *const p[] = {what};
	/* state 0 is listen, bind 1 loopback (enum pc_state, enum pc_bind) */
	return ask(fl,
		   is_port ? "SELECT s.host, e.address, e.port, e.proto, e.d_service, e.d_exe, e.ns_id"
			     " FROM " LATEST " l JOIN snapshot s ON s.id = l.id"
			     " JOIN endpoint e ON e.snapshot_id = l.id"
			     " WHERE e.state = 0 AND e.bind <> 1 AND e.port = ? ORDER BY 1, 3, 2"
			   : "SELECT s.host, e.address, e.port, e.proto, e.d_service, e.d_exe, e.ns_id"
			     " FROM " LATEST " l JOIN snapshot s ON s.id = l.id"
			     " JOIN endpoint e ON e.snapshot_id = l.id"
			     " WHERE e.state = 0 AND e.bind <> 1 AND e.d_service = ? ORDER BY 1, 3, 2",
		   p, 1, fill_listener);
}

static int fill_sweep(struct q *q, int ncols, const char *const *cols, char **row)
{
	(void)ncols;
	struct ftable *t = &q->fl->t;
	long st = strtol(str(cols[3]), NULL, 10);
	int r = pc_fleet_ft_set(t, row, 0, cols[0]) | pc_fleet_ft_set(t, row, 1, cols[1]) |
		pc_fleet_ft_set(t, row, 2, proto_name(cols[2])) |
		pc_fleet_ft_set(t, row, 3,
		       st >= 0 && st <= PC_STATE_FORWARDED ? pc_state_name((enum pc_state)st) : "?") |
		pc_fleet_ft_set(t, row, 4, cols[4]);
	return r ? PC_ENOMEM : 0;
}

/* A sharded sweep is one scan: the union of its shards' endpoints. */
static int q_sweep(struct fleet *fl, const char *id)
{
	static const char *const names[] = {"ADDRESS", "PORT", "PROTO", "STATE", "SHARDS"};
	static const bool num[] = {false, true, false, false, true};
	columns(fl, names, num, 5);
	const char *const p[] = {id};
	return ask(fl,
		   "SELECT e.address, e.port, e.proto, min(e.state), count(DISTINCT s.id)"
		   " FROM snapshot s JOIN endpoint e ON e.snapshot_id = s.id"
		   " WHERE s.kind = 'scan' AND s.sweep_id = ?"
		   " GROUP BY e.address, e.port, e.proto ORDER BY 1, 2, 3",
		   p, 1, fill_sweep);
}

static int q_image(struct fleet *fl, const char *image)
{
	static const char *const names[] = {"HOST", "ADDRESS", "PORT", "PROTO", "IMAGE",
					    "NAMESPACE"};
	static const bool num[] = {false, false, true, false, false, false};
	columns(fl, names, num, 6);
	char len[24], tagged[512];
	snprintf(len, sizeof(len), "%zu", strlen(image) + 1);
	snprintf(tagged, sizeof(tagged), "%s:", image);
	const char *const p[] = {image, len, tagged};
	return ask(fl,
		   "SELECT DISTINCT s.host, e.address, e.port, e.proto, o.c_image, e.ns_id"
		   " FROM " LATEST " l JOIN snapshot s ON s.id = l.id"
		   " JOIN endpoint e ON e.snapshot_id = l.id"
		   " JOIN owner o ON o.snapshot_id = e.snapshot_id AND o.endpoint_seq = e.seq"
		   " WHERE e.state = 0 AND (o.c_image = ? OR substr(o.c_image, 1, ?) = ?)"
		   " ORDER BY 1, 3, 2",
		   p, 3, fill_listener);
}

/* drift: the pairs (latest at or before since, latest) per host and scope */
struct pair {
	int64_t a, b;
};
struct pairs {
	struct pair *v;
	size_t n, cap;
};

static int pair_row(void *ctx, int ncols, const char *const *cols)
{
	struct pairs *p = ctx;
	(void)ncols;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 32;
		struct pair *v = realloc(p->v, nc * sizeof(*v));
		if (!v)
			return PC_ENOMEM;
		p->v = v;
		p->cap = nc;
	}
	p->v[p->n].a = strtoll(str(cols[0]), NULL, 10);
	p->v[p->n].b = strtoll(str(cols[1]), NULL, 10);
	p->n++;
	return 0;
}

static int q_drift(struct fleet *fl)
{
	static const char *const names[] = {"HOST",    "ACTION", "PROTO", "ADDRESS",
					    "PORT",    "FIELDS", "NOW",   "BEFORE"};
	static const bool num[] = {false, false, false, false, true, false, false, false};
	columns(fl, names, num, 8);
	char since[32];
	snprintf(since, sizeof(since), "%lld", (long long)fl->since_ms);
	const char *const prm[] = {since};
	struct pairs pairs = {0};
	struct pc_error err = {0};
	int r = fl->l->ops->query(
		fl->l,
		/* the pairs, and only those with drift: a snapshot's digest
		 * sums what a diff compares, so a quiet fleet costs one query
		 * over the snapshot table; the store's diff then says what
		 * drifted (snapshots older than schema 3 have no digest and are
		 * always diffed) */
		"SELECT p.a, p.b FROM (SELECT (SELECT max(a.id) FROM snapshot a"
		" WHERE a.kind = 'audit' AND COALESCE(a.host_id, a.host) = COALESCE(b.host_id, b.host)"
		" AND a.scope = b.scope AND a.started_at <= ?) AS a, b.id AS b, b.digest AS db"
		" FROM snapshot b WHERE b.id IN (SELECT max(id) FROM snapshot WHERE kind = 'audit'"
		" GROUP BY " HOST_KEY ", scope)) p LEFT JOIN snapshot sa ON sa.id = p.a"
		" WHERE p.a IS NULL OR (p.a <> p.b AND (sa.digest IS NULL OR p.db IS NULL"
		" OR sa.digest <> p.db)) ORDER BY p.b",
		prm, 1, pair_row, &pairs, &err);
	if (r == PC_ENOMEM)
		pc_error_set(&err, PC_ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < pairs.n; i++) {
		if (pairs.v[i].a == pairs.v[i].b)
			continue;
		struct pc_ledger_diff d;
		pc_ledger_diff_init(&d);
		r = fl->l->ops->diff(fl->l, pairs.v[i].a, pairs.v[i].b, &d, &err);
		for (size_t k = 0; r == 0 && k < d.n_changes; k++) {
			const struct pc_ledger_change *c = &d.changes[k];
			char **row = pc_fleet_ft_add(&fl->t);
			char port[8], fields[128] = "", now[256] = "", before[256] = "";
			if (!row) {
				r = pc_error_set(&err, PC_ENOMEM, "out of memory");
				break;
			}
			snprintf(port, sizeof(port), "%u", c->port);
			size_t fk = 0, nk = 0, bk = 0;
			for (int f = 0; f < PC_DRIFT_COUNT; f++) {
				if (c->action == PC_CHANGE_CHANGED && !c->differs[f])
					continue;
				if (c->action != PC_CHANGE_CHANGED && !c->now.v[f])
					continue;
				const char *nm = pc_ledger_drift_name((enum pc_ledger_drift_field)f);
				if (c->action == PC_CHANGE_CHANGED && fk < sizeof(fields))
					fk += (size_t)snprintf(fields + fk, sizeof(fields) - fk,
							       "%s%s", fk ? "," : "", nm);
				if (nk < sizeof(now))
					nk += (size_t)snprintf(now + nk, sizeof(now) - nk,
							       "%s%s=%s", nk ? " " : "", nm,
							       str(c->now.v[f]));
				if (c->action == PC_CHANGE_CHANGED && bk < sizeof(before))
					bk += (size_t)snprintf(before + bk, sizeof(before) - bk,
							       "%s%s=%s", bk ? " " : "", nm,
							       str(c->before.v[f]));
			}
			if (pc_fleet_ft_set(&fl->t, row, 0, c->host) |
			    pc_fleet_ft_set(&fl->t, row, 1, pc_ledger_action_name(c->action)) |
			    pc_fleet_ft_set(&fl->t, row, 2, c->proto) | pc_fleet_ft_set(&fl->t, row, 3, c->address) |
			    pc_fleet_ft_set(&fl->t, row, 4, port) | pc_fleet_ft_set(&fl->t, row, 5, fields) |
			    pc_fleet_ft_set(&fl->t, row, 6, now) | pc_fleet_ft_set(&fl->t, row, 7, before))
				r = pc_error_set(&err, PC_ENOMEM, "out of memory");
		}
		pc_ledger_diff_free(&d);
	}
	free(pairs.v);
	return r < 0 ? pc_cli_fail(fl->cli, &err) : 0;
}

static const char *segment_name(const char *s)
{
	return s && *s ? s : "-";
}

static int exposure_row(void *ctx, const struct pc_exposure_row *e)
{
	struct fleet *fl = ctx;
	char **row = pc_fleet_ft_add(&fl->t);
	if (!row)
		return PC_ENOMEM;
	char when[40] = "";
	if (e->sweep)
		pc_format_time(e->scanned_at_ms, when, sizeof(when));
	if (!fl->port_text && !(fl->port_text = calloc(65536, sizeof(*fl->port_text))))
		return PC_ENOMEM;
	const char **port = &fl->port_text[e->port];
	if (!*port && !(*port = pc_arena_printf(&fl->t.arena, "%u", e->port)))
		return PC_ENOMEM;
	/* the row's strings live in the table's arena (the exposure's), its
	 * static names or argv: referenced, not copied (85,600 rows x 10) */
	pc_fleet_ft_ref(row, 0, e->host_id);
	pc_fleet_ft_ref(row, 1, e->address);
	pc_fleet_ft_ref(row, 3, e->proto == PC_PROTO_UDP ? "udp" : "tcp");
	pc_fleet_ft_ref(row, 5, e->service);
	pc_fleet_ft_ref(row, 6, segment_name(e->segment));
	pc_fleet_ft_ref(row, 7, pc_exposure_seen_name(e->seen));
	pc_fleet_ft_ref(row, 8, e->sweep);
	pc_fleet_ft_ref(row, 2, *port);
	pc_fleet_ft_ref(row, 9, "");
	int r = *when ? pc_fleet_ft_set(&fl->t, row, 9, when) : 0;
	/* as bound, cut to the cell's size as a copy would be */
	char bound[PC_ADDR_STRLEN + 16];
	if (e->forwarded || strlen(e->listen_address) >= sizeof(bound)) {
		snprintf(bound, sizeof(bound), "%s%s", e->listen_address,
			 e->forwarded ? " (fwd)" : "");
		r |= pc_fleet_ft_set(&fl->t, row, 4, bound);
	} else {
		pc_fleet_ft_ref(row, 4, e->listen_address);
	}
	return r ? PC_ENOMEM : 0;
}

static int q_exposure(struct fleet *fl)
{
	static const char *const names[] = {"HOST_ID", "ADDRESS", "PORT", "PROTO", "BOUND",
					    "SERVICE", "SEGMENT", "SEEN", "SWEEP", "SCANNED_AT"};
	static const bool num[] = {false, false, true, false, false,
				   false, false, false, false, false};
	columns(fl, names, num, 10);
	struct pc_error err = {0};
	int r = pc_ledger_exposure(fl->l, fl->segment, &fl->t.arena, exposure_row, fl, &err);
	if (r == PC_ENOMEM)
		pc_error_set(&err, PC_ENOMEM, "out of memory");
	return r < 0 ? pc_cli_fail(fl->cli, &err) : 0;
}

static int unexplained_row(void *ctx, const struct pc_unexplained *u)
{
	struct fleet *fl = ctx;
	char **row = pc_fleet_ft_add(&fl->t);
	if (!row)
		return PC_ENOMEM;
	const char *proto = u->proto == PC_PROTO_UDP ? "udp" : "tcp";
	char port[8], when[40], from[320], reason[1024];
	snprintf(port, sizeof(port), "%u", u->port);
	pc_format_time(u->scanned_at_ms, when, sizeof(when));
	if (*u->segment)
		snprintf(from, sizeof(from), "from segment %s", u->segment);
	else
		snprintf(from, sizeof(from), "from a scan that named no segment");
	if (u->host)
		snprintf(reason, sizeof(reason),
			 "%s:%u/%s open %s (sweep %s, %s); host %s reports %s but has no listener"
			 " or forward on %s/%u: a socket hidden from the agent or another device",
			 u->address, u->port, proto, from, u->sweep, when, u->host_id, u->address,
			 proto, u->port);
	else
		snprintf(reason, sizeof(reason),
			 "%s:%u/%s open %s (sweep %s, %s); no agent reports %s: a host without an"
			 " agent or another device",
			 u->address, u->port, proto, from, u->sweep, when, u->address);
	fl->n_unexplained++;
	int r = pc_fleet_ft_set(&fl->t, row, 0, u->address) | pc_fleet_ft_set(&fl->t, row, 1, port) |
		pc_fleet_ft_set(&fl->t, row, 2, proto) | pc_fleet_ft_set(&fl->t, row, 3, segment_name(u->segment)) |
		pc_fleet_ft_set(&fl->t, row, 4, u->sweep) | pc_fleet_ft_set(&fl->t, row, 5, when) |
		pc_fleet_ft_set(&fl->t, row, 6, pc_severity_name(u->severity)) |
		pc_fleet_ft_set(&fl->t, row, 7, u->host_id ? u->host_id : "-") | pc_fleet_ft_set(&fl->t, row, 8, reason);
	return r ? PC_ENOMEM : 0;
}

static int q_unexplained(struct fleet *fl)
{
	static const char *const names[] = {"ADDRESS", "PORT", "PROTO",    "SEGMENT", "SWEEP",
					    "SCANNED_AT", "SEVERITY", "HOST_ID", "REASON"};
	static const bool num[] = {false, true, false, false, false, false, false, false, false};
	columns(fl, names, num, 9);
	struct pc_error err = {0};
	int r = pc_ledger_unexplained(fl->l, fl->segment, &fl->t.arena, unexplained_row, fl,
				      &err);
	if (r == PC_ENOMEM)
		pc_error_set(&err, PC_ENOMEM, "out of memory");
	return r < 0 ? pc_cli_fail(fl->cli, &err) : 0;
}

static int ship(struct pc_cli *cli, const char *db, const char *central)
{
	char path[4096];
	int rc = pc_cli_ledger_path(cli, db, path, sizeof(path));
	if (rc)
		return rc;
	if (!central)
		return pc_cli_usage_error(cli, "fleet ship needs --ledger URL or PORTCENSUS_LEDGER");
	struct pc_ledger_ship sh;
	struct pc_error err = {0};
	int r = pc_ledger_ship(path, central, &sh, &err);
	if (!cli->quiet)
		fprintf(stderr, "fleet ship: %llu shipped, %llu still owed%s\n",
			(unsigned long long)sh.shipped, (unsigned long long)sh.pending,
			sh.lost ? " (some were gone from the local ledger before shipping)" : "");
	return r < 0 ? pc_cli_fail(cli, &err) : 0;
}

enum { OPT_STALE = 0x5e00, OPT_MIN, OPT_SINCE, OPT_SEGMENT };

static int run(struct pc_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, PC_CLI_OPT_DB},
		{"ledger", required_argument, NULL, PC_CLI_OPT_LEDGER},
		{"stale", required_argument, NULL, OPT_STALE},
		{"min", required_argument, NULL, OPT_MIN},
		{"since", required_argument, NULL, OPT_SINCE},
		{"segment", required_argument, NULL, OPT_SEGMENT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct fleet fl = {.cli = cli, .now_ms = pc_now_ms(), .min = PC_SEV_INFO};
	const char *db = NULL, *ledger = NULL, *stale = NULL, *since = NULL;
	struct pc_error err = {0};
	struct pc_ledger_find fq;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case PC_CLI_OPT_DB:
			db = optarg;
			break;
		case PC_CLI_OPT_LEDGER:
			if (!pc_ledger_is_url(optarg))
				return pc_cli_usage_error(cli, "--ledger takes a postgresql:// URL,"
							  " not '%s'", optarg);
			ledger = optarg;
			break;
		case OPT_STALE:
			stale = optarg;
			break;
		case OPT_MIN:
			if (pc_severity_parse(optarg, &fl.min) < 0)
				return pc_cli_usage_error(cli, "--min takes a severity (info, low,"
							  " medium, high, critical), not '%s'",
							  optarg);
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_SEGMENT:
			if (!*optarg || strlen(optarg) > 200)
				return pc_cli_usage_error(cli, "--segment takes 1 to 200 characters");
			fl.segment = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return pc_cli_bad_option(cli, c, argv);
		}
	}
	/* --stale 2h is an age: the selector parser reads it as "-2h" */
	if (stale) {
		char age[64];
		snprintf(age, sizeof(age), "-%s", stale);
		if (stale[0] == '-' || pc_ledger_parse_selector(age, fl.now_ms, &fq, &err) < 0 ||
		    fq.kind != PC_LEDGER_FIND_AT_TIME)
			return pc_cli_usage_error(cli, "--stale takes an age (2h, 1d), not '%s'",
						  stale);
		fl.stale_ms = fl.now_ms - fq.time_ms;
		fl.stale_only = true;
	}
	if (since) {
		if (pc_ledger_parse_selector(since, fl.now_ms, &fq, &err) < 0 ||
		    fq.kind != PC_LEDGER_FIND_AT_TIME)
			return pc_cli_usage_error(cli, "--since takes a time or an age (2026-12-01,"
						  " -7d), not '%s'", since);
		fl.since_ms = fq.time_ms;
	}
	if (optind >= argc)
		return pc_cli_usage_error(cli, "fleet needs a question: hosts, findings, exposes,"
					  " image, drift, sweep, exposure, unexplained or ship");
	const char *what = argv[optind];
	const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	bool needs_arg = strcmp(what, "exposes") == 0 || strcmp(what, "image") == 0 ||
			 strcmp(what, "sweep") == 0;
	if (needs_arg ? !arg || optind + 2 < argc : arg != NULL)
		return pc_cli_usage_error(cli, "fleet %s takes %s", what,
					  needs_arg ? "one argument" : "no argument");
	if (strcmp(what, "ship") == 0) {
		const char *env = getenv("PORTCENSUS_LEDGER");
		return ship(cli, db, ledger ? ledger : env && *env ? env : NULL);
	}
	if (strcmp(what, "drift") == 0 && !since)
		return pc_cli_usage_error(cli, "fleet drift needs --since TIME");
	bool joins = strcmp(what, "exposure") == 0 || strcmp(what, "unexplained") == 0;
	if (strcmp(what, "hosts") && strcmp(what, "findings") && strcmp(what, "exposes") &&
	    strcmp(what, "image") && strcmp(what, "drift") && strcmp(what, "sweep") && !joins)
		return pc_cli_usage_error(cli, "unknown fleet question '%s' (hosts, findings,"
					  " exposes, image, drift, sweep, exposure, unexplained,"
					  " ship)", what);
	if (fl.segment && !joins)
		return pc_cli_usage_error(cli, "--segment is for fleet exposure and unexplained");
	const char *format = cli->format ? cli->format : "table";
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "md") &&
	    strcmp(format, "html") && strcmp(format, "prom"))
		return pc_cli_usage_error(cli, "fleet writes table, json, md, html or prom, not '%s'",
					  format);

	int rc = pc_cli_ledger_open(cli, ledger ? ledger : db, &fl.l);
	if (rc)
		return rc;
	pc_arena_init(&fl.t.arena);
	if (strcmp(what, "hosts") == 0)
		rc = q_hosts(&fl);
	else if (strcmp(what, "findings") == 0)
		rc = q_findings(&fl);
	else if (strcmp(what, "exposes") == 0)
		rc = q_exposes(&fl, arg);
	else if (strcmp(what, "image") == 0)
		rc = q_image(&fl, arg);
	else if (strcmp(what, "sweep") == 0)
		rc = q_sweep(&fl, arg);
	else if (strcmp(what, "exposure") == 0)
		rc = q_exposure(&fl);
	else if (strcmp(what, "unexplained") == 0)
		rc = q_unexplained(&fl);
	else
		rc = q_drift(&fl);
	pc_ledger_close(fl.l);
	FILE *f = rc ? NULL : pc_cli_open_output(cli);
	if (!rc && !f)
		rc = PC_EXIT_RUNTIME;
	if (f) {
		if (strcmp(format, "json") == 0)
			pc_fleet_write_json(f, &fl.t);
		else if (strcmp(format, "md") == 0)
			pc_fleet_write_md(f, &fl.t);
		else if (strcmp(format, "html") == 0)
			pc_fleet_write_html(f, &fl.t, what);
		else if (strcmp(format, "prom") == 0)
			pc_fleet_write_prom(f, &fl.t, what, strcmp(what, "hosts") == 0);
		else
			pc_fleet_write_table(f, &fl.t);
		rc = pc_cli_finish_output(cli, f, NULL, NULL, 0);
	}
	if (rc == 0 && ((fl.stale_only && fl.n_stale) || fl.n_unexplained))
		rc = PC_EXIT_FINDINGS;
	free(fl.t.rows);
	free(fl.port_text);
	pc_arena_free(&fl.t.arena);
	return rc;
}

const struct pc_cli_command pc_cmd_fleet = {
	.name = "fleet",
	.summary = "ask the central ledger about the whole fleet",
	.usage = usage,
	.run = run,
};
