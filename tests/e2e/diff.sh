#!/usr/bin/env bash
# diff.sh - `portcensus audit` run again and again with a change in between
# shows exactly that change in `portcensus diff`: the golden drift cases at
# the command line, in an isolated lab.
#
# One lab namespace; listeners on 7001 (python3) and 7002 (socat).
#   1. first audit            -> diff: everything added, with owners (exit 1)
#   2. identical audit        -> no drift (exit 0, no output in jsonl)
#   3. 7001 restarted (pid)   -> no drift
#   4. 7002 now python3       -> one `changed` (exe socat -> python), never
#                                removed + added
#   5. 7003 new, 7001 gone    -> `added` 7003 with its owner, `removed` 7001
# Then the same diff in json, md and table, and by explicit selectors.
# The ledger is a file in the test's temporary directory (--db).
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v socat >/dev/null || lab_skip "needs socat"

a=$(lab_ns a)
db="$LAB_TMP/diff.db"

wait_closed() { # NS PORT
	local i
	for ((i = 0; i < 200; i++)); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . || return 0
		sleep 0.05
	done
	lab_fail "port $2 still listening in $1"
}

audit() {
	"$PORTCENSUS" audit --no-verify --db "$db" --format json >"$LAB_TMP/audit.$1.json" \
		2>"$LAB_TMP/audit.$1.err" || {
		cat "$LAB_TMP/audit.$1.err" >&2
		lab_fail "audit $1 failed"
	}
}

# diff in jsonl, only the lab's ports (the isolated root namespace has none,
# but be exact about what we assert); sets $rc and $out
diffl() {
	"$PORTCENSUS" diff --db "$db" --format jsonl "$@" >"$LAB_TMP/diff.jsonl" 2>"$LAB_TMP/diff.err"
	rc=$?
	out=$(python3 - "$LAB_TMP/diff.jsonl" "$a" <<'PY'
import json, sys
ns = sys.argv[2]
for line in open(sys.argv[1]):
    c = json.loads(line)
    assert c["namespace"] == ns, c
    what = ""
    if c["action"] == "changed":
        what = " " + ",".join("%s:%s->%s" % (k, (v["before"] or "-").split("/")[-1],
                                              (v["after"] or "-").split("/")[-1])
                              for k, v in sorted(c["changes"].items()))
    elif c["action"] == "added":
        what = " owner=" + c["owner"].split("/", 1)[1]
    print("%s %s/%d%s" % (c["action"], c["proto"], c["port"], what))
PY
) || lab_fail "bad jsonl from diff: $(cat "$LAB_TMP/diff.jsonl")"
}

p1=$(lab_listener "$a" tcp 0.0.0.0 7001)
p2=$(lab_spawn "$a" socat TCP-LISTEN:7002,bind=0.0.0.0,reuseaddr,fork -)
lab_wait_listen "$a" tcp 7001
lab_wait_listen "$a" tcp 7002

audit 1
diffl
lab_assert_eq "first audit: exit" 1 "$rc"
lab_assert_eq "first audit: everything added" \
	"added tcp/7001 owner=python3
added tcp/7002 owner=socat" "$out"

audit 2
diffl
lab_assert_eq "identical audits: exit" 0 "$rc"
lab_assert_eq "identical audits: no drift" "" "$out"

kill "$p1"
wait_closed "$a" 7001
p1=$(lab_listener "$a" tcp 0.0.0.0 7001)
lab_wait_listen "$a" tcp 7001
audit 3
grep -q "\"pid\": $p1" "$LAB_TMP/audit.3.json" || lab_fail "audit 3 does not see the new pid $p1"
diffl
lab_assert_eq "pid change: exit" 0 "$rc"
lab_assert_eq "pid change: no drift" "" "$out"

kill "$p2"
wait_closed "$a" 7002
lab_listener "$a" tcp 0.0.0.0 7002 >/dev/null
lab_wait_listen "$a" tcp 7002
audit 4
diffl
lab_assert_eq "exe change: exit" 1 "$rc"
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable).split("/")[-1])')
lab_assert_eq "exe change: one changed record" "changed tcp/7002 exe:socat->$py" "$out"

kill "$p1"
wait_closed "$a" 7001
lab_listener "$a" tcp 0.0.0.0 7003 >/dev/null
lab_wait_listen "$a" tcp 7003
audit 5
diffl
lab_assert_eq "new and gone: exit" 1 "$rc"
lab_assert_eq "new and gone" "removed tcp/7001
added tcp/7003 owner=python3" "$out"

# the same drift by explicit selectors, and the other formats
diffl latest~1 latest
lab_assert_eq "selectors latest~1 latest" "removed tcp/7001
added tcp/7003 owner=python3" "$out"
diffl 1 5
lab_assert_eq "diff 1 5 (in identity order)" "removed tcp/7001
changed tcp/7002 exe:socat->$py
added tcp/7003 owner=python3" "$out"
"$PORTCENSUS" diff --db "$db" --format json >"$LAB_TMP/diff.json"
lab_assert_eq "json exit" 1 "$?"
python3 - "$LAB_TMP/diff.json" <<'PY' || lab_fail "diff json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["from"] == 4 and d["to"] == 5, d
assert d["summary"] == {"added": 1, "removed": 1, "changed": 0}, d["summary"]
assert [(c["action"], c["port"]) for c in d["changes"]] == [("removed", 7001), ("added", 7003)], d["changes"]
PY
md=$("$PORTCENSUS" diff --db "$db" --format md)
grep -q '^| added | tcp 0.0.0.0:7003 |' <<<"$md" || lab_fail "md: $md"
grep -q '^1 added, 1 removed, 0 changed' <<<"$md" || lab_fail "md summary: $md"
table=$("$PORTCENSUS" diff --db "$db")
grep -q '^removed  tcp 0.0.0.0:7001' <<<"$table" || lab_fail "table: $table"
grep -q 'snapshot 4 -> 5: 1 added, 1 removed, 0 changed' <<<"$table" || lab_fail "table: $table"
"$PORTCENSUS" diff --db "$db" --format csv >/dev/null 2>&1
lab_assert_eq "unknown diff format: usage" 2 "$?"
"$PORTCENSUS" diff --db "$db" nonsense >/dev/null 2>"$LAB_TMP/e"
lab_assert_eq "bad selector: usage" 2 "$?"
grep -q "'nonsense' names no snapshot" "$LAB_TMP/e" || lab_fail "selector message: $(cat "$LAB_TMP/e")"
"$PORTCENSUS" diff --db "$db" 99 >/dev/null 2>"$LAB_TMP/e"
lab_assert_eq "missing snapshot: runtime" 3 "$?"
echo "ok: diff"
