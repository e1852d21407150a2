#!/usr/bin/env bash
# ledger.sh - what `audit` and `scan` leave in the ledger, in an isolated
# lab:
# - two (and four) audits writing at once: all stored, none says
#   "database is locked";
# - `report --format json` of a stored audit is the audit's own json;
# - a scan is stored with kind scan and its targets as scope;
# - --no-store stores nothing; --keep N keeps N;
# - the default path: PORTCENSUS_DB, and for a user without it
#   $XDG_STATE_HOME/portcensus/ledger.db, directory 0700, file 0600;
# - an unwritable, corrupt or symlinked ledger: exit 3, an error naming the
#   file, and the audit's own output still complete.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init

a=$(lab_ns a)
b=$(lab_ns b)
lab_link "$a" 198.18.9.1/24 "$b" 198.18.9.2/24
lab_listener "$b" tcp 198.18.9.2 7100 >/dev/null
lab_listener "$a" tcp 0.0.0.0 7101 >/dev/null
lab_wait_listen "$b" tcp 7100
lab_wait_listen "$a" tcp 7101

db="$LAB_TMP/l.db"
snapshots() { "$PORTCENSUS" history --db "$1" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# concurrent writers, on a new ledger (creation races too) and an existing one
for n in 2 4 4; do
	pids=()
	for ((i = 0; i < n; i++)); do
		"$PORTCENSUS" audit --no-verify --db "$db" --format json >"$LAB_TMP/c$i.json" 2>"$LAB_TMP/c$i.err" &
		pids+=($!)
	done
	for ((i = 0; i < n; i++)); do
		wait "${pids[$i]}" || lab_fail "concurrent audit $i failed: $(cat "$LAB_TMP/c$i.err")"
		! grep -qi "locked\|busy" "$LAB_TMP/c$i.err" || lab_fail "lock error reached the user: $(cat "$LAB_TMP/c$i.err")"
	done
done
lab_assert_eq "every concurrent audit stored" 10 "$(snapshots "$db")"
st=$(stat -c %a "$db")
lab_assert_eq "ledger mode" 600 "$st"

# report of a stored audit is the audit's own json
"$PORTCENSUS" audit --no-verify --db "$db" --format json >"$LAB_TMP/audit.json" || lab_fail "audit"
"$PORTCENSUS" report --db "$db" --format json >"$LAB_TMP/report.json" 2>/dev/null || lab_fail "report"
cmp -s "$LAB_TMP/audit.json" "$LAB_TMP/report.json" ||
	lab_fail "report differs from the audit: $(diff "$LAB_TMP/audit.json" "$LAB_TMP/report.json" | head)"
"$PORTCENSUS" report latest~1 --db "$db" --format nmap-xml >/dev/null || lab_fail "report nmap-xml"
"$PORTCENSUS" report --db "$db" >"$LAB_TMP/report.txt" || lab_fail "report table"
grep -q 7101 "$LAB_TMP/report.txt" || lab_fail "report table lacks 7101"

# a scan from a is stored with its scope; diff sees its port as added
# (classified: unidentified, seen from the network, so medium)
ip netns exec "$a" "$PORTCENSUS" scan --connect 198.18.9.2 -p 7100 --db "$db" --format jsonl \
	>"$LAB_TMP/scan.jsonl" || lab_fail "scan"
"$PORTCENSUS" history --db "$db" -n 1 --format json >"$LAB_TMP/h.json"
python3 - "$LAB_TMP/h.json" <<'PY' || lab_fail "scan history: $(cat "$LAB_TMP/h.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert len(h) == 1 and h[0]["kind"] == "scan" and h[0]["scope"] == "net:198.18.9.2", h
assert h[0]["endpoints"] == 1, h
PY
out=$("$PORTCENSUS" diff --db "$db" --format jsonl)
lab_assert_eq "first scan of its scope: all added" \
	'{"action":"added","identity":"net|198.18.9.2|tcp|7100","source":"scan","host":"'"$(hostname)"'","namespace":"","proto":"tcp","address":"198.18.9.2","port":7100,"owner":"-","values":{"exe":null,"unit":null,"image":null,"service":null,"auth":null,"bind":null,"state":"open","severity":"medium","verdict":null}}' \
	"$out"

# --no-store and --keep
before=$(snapshots "$db")
"$PORTCENSUS" audit --no-verify --no-store --db "$db" >/dev/null || lab_fail "--no-store audit"
lab_assert_eq "--no-store stores nothing" "$before" "$(snapshots "$db")"
"$PORTCENSUS" audit --no-verify --no-store --db "$LAB_TMP/never.db" >/dev/null
[ ! -e "$LAB_TMP/never.db" ] || lab_fail "--no-store created a ledger"
"$PORTCENSUS" audit --no-verify --db "$db" --keep 3 >/dev/null 2>"$LAB_TMP/keep.err" || lab_fail "--keep"
lab_assert_eq "--keep 3" 3 "$(snapshots "$db")"
grep -q "retention removed" "$LAB_TMP/keep.err" || lab_fail "no retention note: $(cat "$LAB_TMP/keep.err")"
"$PORTCENSUS" audit --keep 3x >/dev/null 2>&1
lab_assert_eq "bad --keep: usage" 2 "$?"

# the default path: PORTCENSUS_DB (the lab sets it), then XDG for a user
"$PORTCENSUS" audit --no-verify >/dev/null || lab_fail "audit to PORTCENSUS_DB"
lab_assert_eq "PORTCENSUS_DB used" 1 "$(snapshots "$PORTCENSUS_DB")"
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	chmod 711 "$LAB_TMP"
	mkdir "$LAB_TMP/xdg" && chown nobody "$LAB_TMP/xdg"
	env -u PORTCENSUS_DB XDG_STATE_HOME="$LAB_TMP/xdg/state" \
		setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		"$PORTCENSUS" audit --no-verify --own-netns >/dev/null 2>"$LAB_TMP/xdg.err" ||
		lab_fail "audit as nobody: $(cat "$LAB_TMP/xdg.err")"
	lab_assert_eq "XDG ledger mode" 600 "$(stat -c %a "$LAB_TMP/xdg/state/portcensus/ledger.db")"
	lab_assert_eq "XDG directory mode" 700 "$(stat -c %a "$LAB_TMP/xdg/state/portcensus")"
fi

# failures: exit 3, the file named, the report still whole
expect_fail() { # WHAT DB PATTERN
	"$PORTCENSUS" audit --no-verify --db "$2" --format json >"$LAB_TMP/f.json" 2>"$LAB_TMP/f.err"
	local rc=$?
	lab_assert_eq "$1: exit" 3 "$rc"
	grep -qF "$2" "$LAB_TMP/f.err" || lab_fail "$1: error does not name $2: $(cat "$LAB_TMP/f.err")"
	grep -q "$3" "$LAB_TMP/f.err" || lab_fail "$1: error: $(cat "$LAB_TMP/f.err")"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(e["port"]==7101 for e in d["endpoints"])' \
		"$LAB_TMP/f.json" || lab_fail "$1: the audit's output is missing or incomplete"
}
head -c 65536 /dev/urandom >"$LAB_TMP/corrupt.db"
expect_fail "corrupt ledger" "$LAB_TMP/corrupt.db" "corrupt or not a portcensus ledger"
printf 'x' >"$LAB_TMP/target"
ln -s "$LAB_TMP/target" "$LAB_TMP/link.db"
expect_fail "symlinked ledger" "$LAB_TMP/link.db" "symbolic link"
lab_assert_eq "symlink target untouched" x "$(cat "$LAB_TMP/target")"
touch "$LAB_TMP/notadir"
expect_fail "ledger under a file" "$LAB_TMP/notadir/l.db" "Not a directory"
mkdir "$LAB_TMP/ro" && cp "$db" "$LAB_TMP/ro/l.db" && mount -o bind,ro "$LAB_TMP/ro" "$LAB_TMP/ro" ||
	lab_fail "read-only bind mount"
expect_fail "read-only ledger" "$LAB_TMP/ro/l.db" "cannot write the ledger\|readonly\|read-only"
umount "$LAB_TMP/ro"
"$PORTCENSUS" history --db "$LAB_TMP/absent.db" >/dev/null 2>"$LAB_TMP/e"
lab_assert_eq "history of no ledger: exit" 3 "$?"
grep -q "absent.db: no ledger here yet" "$LAB_TMP/e" || lab_fail "history message: $(cat "$LAB_TMP/e")"
echo "ok: ledger"
