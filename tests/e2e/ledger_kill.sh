#!/usr/bin/env bash
# ledger_kill.sh - kill -9 at random moments while snapshots are being
# stored: afterwards the ledger passes PRAGMA integrity_check and no partial
# snapshot is visible (every snapshot has exactly the endpoints, owners and
# warnings its row counts), and the next writer carries on.
#
# The writer is ledger_fill (bench/ledger/fill.c): synthetic snapshots of
# 2,000 endpoints stored through pc_ledger_record, the path audit and scan
# use. No network traffic at all: this test needs no lab namespaces.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_init
[ -n "${LEDGER_FILL:-}" ] && [ -x "$LEDGER_FILL" ] || lab_fail "LEDGER_FILL not set (run through meson)"
python3 -c 'import sqlite3' 2>/dev/null || lab_skip "needs python3 with sqlite3"

db="$LAB_TMP/kill.db"
rounds=${ROUNDS:-25}
killed=0
for ((i = 0; i < rounds; i++)); do
	"$LEDGER_FILL" "$db" 1000 2000 $((i * 1000)) >/dev/null 2>"$LAB_TMP/fill.err" &
	pid=$!
	# 20..600 ms: lands before, inside and between transactions
	sleep "0.$(printf '%03d' $((20 + RANDOM % 580)))"
	if kill -9 "$pid" 2>/dev/null; then
		killed=$((killed + 1))
	fi
	wait "$pid" 2>/dev/null
done
[ "$killed" -ge $((rounds - 2)) ] || lab_fail "only $killed of $rounds writers were killed"

check() {
	python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
assert ok == "ok", ok
n = 0
for sid, ne, nw in db.execute("SELECT id, n_endpoints, n_warnings FROM snapshot"):
    n += 1
    e = db.execute("SELECT count(*), coalesce(sum(n_owners), 0) FROM endpoint WHERE snapshot_id = ?", (sid,)).fetchone()
    o = db.execute("SELECT count(*) FROM owner WHERE snapshot_id = ?", (sid,)).fetchone()[0]
    w = db.execute("SELECT count(*) FROM snapshot_warning WHERE snapshot_id = ?", (sid,)).fetchone()[0]
    assert e[0] == ne and o == e[1] and w == nw, (sid, ne, e, o, w, nw)
# rows of no snapshot would be a half-written one
for t in ("endpoint", "owner", "snapshot_warning", "endpoint_text", "forward_target", "finding"):
    orphans = db.execute("SELECT count(*) FROM %s WHERE snapshot_id NOT IN (SELECT id FROM snapshot)" % t).fetchone()[0]
    assert orphans == 0, (t, orphans)
print(n)
PY
}
n=$(check) || lab_fail "ledger damaged after kill -9"
lab_log "$killed writers killed; $n whole snapshots stored"
[ "$n" -ge 1 ] || lab_fail "no snapshot was ever stored (writers killed too early?)"

# the next writer carries on, and the product reads it
"$LEDGER_FILL" "$db" 2 2000 999000 >/dev/null || lab_fail "writer after the kills failed"
n2=$(check) || lab_fail "ledger damaged after the last writer"
lab_assert_eq "two more snapshots" $((n + 2)) "$n2"
"$PORTCENSUS" history --db "$db" --format json >"$LAB_TMP/h.json" || lab_fail "history failed"
"$PORTCENSUS" report --db "$db" --format json >"$LAB_TMP/r.json" || lab_fail "report failed"
python3 - "$LAB_TMP/r.json" <<'PY' || lab_fail "report of the last snapshot is not whole"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["endpoints"]) == 2000, len(d["endpoints"])
PY
echo "ok: ledger_kill ($killed kills, $n2 snapshots)"
