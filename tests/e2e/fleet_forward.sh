#!/usr/bin/env bash
# fleet_forward.sh - store and forward: an agent's audits reach the central
# PostgreSQL ledger in order and exactly once, even across an outage.
#
#   1. audit with --ledger: stored locally and shipped (central: 1)
#   2. PostgreSQL stopped; two audits (a listener added in between): both
#      succeed, say they are kept, central unreachable; --keep 1 on the
#      second removes the shipped #1 locally but not the owed ones
#   3. PostgreSQL started; `fleet ship`: the two shipped; the central ledger
#      holds exactly the three audits, in the order they ran (their origin
#      uuids, compared with the local ledger's)
#   4. a lost acknowledgement (the outbox forgets it shipped #2): shipping
#      again stores nothing twice
#   5. the fleet questions over the result: hosts, exposes
# In an isolated lab (audit walks every process); the server listens on a
# unix socket in its temp directory only.
set -u
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/../lab/pg.sh"
lab_isolate "$@"
lab_init
lab_pg_init
command -v python3 >/dev/null || lab_skip "needs python3"

a=$(lab_ns a)
local_db="$LAB_TMP/agent.db"
ip -n "$a" addr add 198.18.0.1/32 dev lo
lab_spawn "$a" socat TCP-LISTEN:7001,bind=198.18.0.1,fork,reuseaddr - >/dev/null
lab_wait_listen "$a" tcp 7001

audit() { # N [OPTION...]
	local n=$1
	shift
	"$PORTCENSUS" audit --no-verify --db "$local_db" --ledger "$LAB_PG_URL" "$@" \
		--host-id agent-a --format json >"$LAB_TMP/a$n.json" 2>"$LAB_TMP/a$n.err" || {
		cat "$LAB_TMP/a$n.err" >&2
		lab_fail "audit $n failed"
	}
}
central_origins() { lab_pg_sql "SELECT origin FROM snapshot WHERE id > 1 ORDER BY id"; }
local_origins() {
	python3 -c 'import sqlite3,sys
for (o,) in sqlite3.connect(sys.argv[1]).execute("SELECT origin FROM snapshot ORDER BY id"): print(o)' "$local_db"
}

audit 1
lab_assert_eq "first audit shipped" 1 "$(lab_pg_sql 'SELECT count(*) FROM snapshot')"

lab_pg_stop
audit 2
grep -q "kept in" "$LAB_TMP/a2.err" || lab_fail "audit 2 did not say it kept the snapshot: $(cat "$LAB_TMP/a2.err")"
lab_spawn "$a" socat TCP-LISTEN:7002,bind=198.18.0.1,fork,reuseaddr - >/dev/null
lab_wait_listen "$a" tcp 7002
# --keep 1 removes the shipped #1 locally, never the owed #2 and #3
audit 3 --keep 1
grep -q "2 snapshot(s) kept" "$LAB_TMP/a3.err" || lab_fail "audit 3: $(cat "$LAB_TMP/a3.err")"
lab_assert_eq "retention keeps what is owed" 2 "$(python3 -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM snapshot").fetchone()[0])' "$local_db")"

lab_pg_start
"$PORTCENSUS" fleet ship --db "$local_db" --ledger "$LAB_PG_URL" 2>"$LAB_TMP/ship.err" ||
	lab_fail "fleet ship: $(cat "$LAB_TMP/ship.err")"
grep -q "2 shipped, 0 still owed" "$LAB_TMP/ship.err" || lab_fail "ship said: $(cat "$LAB_TMP/ship.err")"
lab_assert_eq "central holds the three audits" 3 "$(lab_pg_sql 'SELECT count(*) FROM snapshot')"
lab_assert_eq "in the order they ran, each once (#1 left locally by --keep)" \
	"$(local_origins)" "$(central_origins)"

# the commit of #2 succeeded but its acknowledgement was lost
python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE outbox SET central_id = NULL WHERE snapshot_id = 2"); c.commit()' "$local_db"
"$PORTCENSUS" fleet ship --db "$local_db" --ledger "$LAB_PG_URL" 2>"$LAB_TMP/ship2.err" ||
	lab_fail "fleet ship again: $(cat "$LAB_TMP/ship2.err")"
lab_assert_eq "a retry stores nothing twice" 3 "$(lab_pg_sql 'SELECT count(*) FROM snapshot')"
lab_assert_eq "nothing owed" 0 "$(python3 -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM outbox WHERE central_id IS NULL").fetchone()[0])' "$local_db")"

# the same endpoints centrally as locally: the central diff of #2 -> #3
# is the local one (7002 added)
"$PORTCENSUS" diff --ledger "$LAB_PG_URL" 2 3 --format json >"$LAB_TMP/cdiff.json"
"$PORTCENSUS" diff --db "$local_db" 2 3 --format json >"$LAB_TMP/ldiff.json"
cmp -s "$LAB_TMP/cdiff.json" "$LAB_TMP/ldiff.json" ||
	lab_fail "central and local diffs differ: $(diff "$LAB_TMP/ldiff.json" "$LAB_TMP/cdiff.json" | head)"
grep -q '"port": 7002' "$LAB_TMP/cdiff.json" || lab_fail "the diff misses 7002: $(head -c 600 "$LAB_TMP/cdiff.json")"

# fleet questions
"$PORTCENSUS" fleet hosts --ledger "$LAB_PG_URL" --format json >"$LAB_TMP/hosts.json" ||
	lab_fail "fleet hosts"
python3 - "$LAB_TMP/hosts.json" <<'PY' || lab_fail "fleet hosts: $(cat "$LAB_TMP/hosts.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert len(h) == 1 and h[0]["host_id"] == "agent-a" and h[0]["audits"] == 3, h
assert h[0]["stale"] == "no", h
PY
"$PORTCENSUS" fleet hosts --ledger "$LAB_PG_URL" --stale 2h >"$LAB_TMP/stale.txt" ||
	lab_fail "fleet hosts --stale: a fresh host is not stale"
"$PORTCENSUS" fleet exposes 7002 --ledger "$LAB_PG_URL" --format json >"$LAB_TMP/x.json"
python3 - "$LAB_TMP/x.json" <<'PY' || lab_fail "fleet exposes 7002: $(cat "$LAB_TMP/x.json")"
import json, sys
x = json.load(open(sys.argv[1]))
assert [(e["address"], e["port"]) for e in x] == [("198.18.0.1", 7002)], x
PY
# the other formats of the same answer
"$PORTCENSUS" fleet hosts --ledger "$LAB_PG_URL" --format prom >"$LAB_TMP/hosts.prom" ||
	lab_fail "fleet hosts --format prom"
grep -Eq '^portcensus_fleet_audits\{host_id="agent-a",host="[^"]*"\} 3$' "$LAB_TMP/hosts.prom" ||
	lab_fail "prom: $(cat "$LAB_TMP/hosts.prom")"
grep -Eq '^portcensus_fleet_host_stale\{host_id="agent-a",host="[^"]*"\} 0$' "$LAB_TMP/hosts.prom" ||
	lab_fail "prom stale: $(cat "$LAB_TMP/hosts.prom")"
"$PORTCENSUS" fleet exposes 7002 --ledger "$LAB_PG_URL" --format prom >"$LAB_TMP/x.prom"
grep -Eq '^portcensus_fleet_rows\{question="exposes",host="[^"]*"\} 1$' "$LAB_TMP/x.prom" ||
	lab_fail "prom rows: $(cat "$LAB_TMP/x.prom")"
"$PORTCENSUS" fleet hosts --ledger "$LAB_PG_URL" --format html >"$LAB_TMP/hosts.html"
grep -q '<td>agent-a</td>' "$LAB_TMP/hosts.html" || lab_fail "html: $(cat "$LAB_TMP/hosts.html")"
"$PORTCENSUS" fleet hosts --ledger "$LAB_PG_URL" --format md >"$LAB_TMP/hosts.md"
grep -q '^| HOST_ID | HOST | LAST_AUDIT | AUDITS | STALE |$' "$LAB_TMP/hosts.md" ||
	lab_fail "md: $(cat "$LAB_TMP/hosts.md")"
grep -q '^| agent-a |' "$LAB_TMP/hosts.md" || lab_fail "md row: $(cat "$LAB_TMP/hosts.md")"
"$PORTCENSUS" fleet hosts --ledger "$LAB_PG_URL" --format csv >/dev/null 2>&1
lab_assert_eq "an unknown format is a usage error" 2 "$?"
"$PORTCENSUS" fleet nonsense --ledger "$LAB_PG_URL" >/dev/null 2>&1
lab_assert_eq "an unknown question is a usage error" 2 "$?"
echo "fleet_forward: ok"
