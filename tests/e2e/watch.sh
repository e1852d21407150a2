#!/usr/bin/env bash
# watch.sh - `portcensus watch` in lab_isolate: the first audit is stored
# (the baseline, no alerts); a listener opened afterwards in a lab namespace
# made after the start is alerted (jsonl sink) within 1 s of its listen(),
# naming the process; the next audit stores it and alerts the drift
# (added) against the first; SIGHUP re-reads --policy (a broken one is
# named with file:line:col and the one in force kept; a good one replaces
# it); SIGTERM stops the watch cleanly with exit 0.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
here=$(cd "$(dirname "$0")" && pwd)
listen_at=$here/../../bench/watch/listen_at.py
export PORTCENSUS_DB=$LAB_TMP/ledger.db
out=$LAB_TMP/alerts.jsonl
policy=$LAB_TMP/policy.yaml
good_policy() { printf 'version: 1\nlisteners:\n  - name: ssh\n    match: {ports: [22], proto: tcp}\n    owner: ops\n' >"$policy"; }
good_policy
"$PORTCENSUS" watch --interval 4s --jitter 0 --no-verify --policy "$policy" --alert-jsonl "$out" \
	2>"$LAB_TMP/watch.err" &
wpid=$!
lab_track "$wpid"
for _ in $(seq 200); do grep -q 'the baseline' "$LAB_TMP/watch.err" && break; sleep 0.05; done
grep -q 'audit 1 stored as #1 .*the baseline' "$LAB_TMP/watch.err" ||
	lab_fail "no baseline audit: $(cat "$LAB_TMP/watch.err")"
# no pause: a listener opened right after the audit, even before the fast
# watch's first pass, must be alerted (the audit's sockets are its baseline)

ns=$(lab_ns late)
lab_spawn "$ns" python3 "$listen_at" tcp 0.0.0.0 6379 1 0 0 >/dev/null
for _ in $(seq 60); do
	line=$(grep '^LISTEN tcp 6379 ' "$LAB_TMP/spawn.log")
	[ -n "$line" ] && grep -q '"kind":"new_listener"' "$out" 2>/dev/null && break
	sleep 0.05
done
[ -n "$line" ] || lab_fail "listener did not start: $(cat "$LAB_TMP/spawn.log")"
lt=$(echo "$line" | awk '{print $6}')
pid=$(echo "$line" | awk '{print $5}')
python3 - "$out" "$pid" "$lt" "$ns" <<'PY' || lab_fail "new_listener alert wrong: $(cat "$out") -- $(cat "$LAB_TMP/watch.err")"
import json, sys, time
import datetime
path, pid, lt, ns = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
alerts = [json.loads(l) for l in open(path)]
new = [a for a in alerts if a["kind"] == "new_listener"]
assert len(new) == 1, alerts
a = new[0]
c = a["change"]
assert c["port"] == 6379 and c["netns"]["name"] == ns, c
assert c["owners"][0]["pid"] == pid and c["owners"][0]["comm"] == "python3", c
assert ("owner %d/python3" % pid) in a["text"], a
seen = datetime.datetime.strptime(a["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
lat = seen - lt
assert -50 < lat < 1000, "noticed %.0f ms after listen()" % lat
print("# new_listener alert %.0f ms after listen(): %s" % (lat, a["text"]))
PY
grep -q 'watch: new listener tcp 0.0.0.0:6379' "$LAB_TMP/watch.err" || lab_fail "not logged"

# the next audit: drift against the baseline, the listener added
for _ in $(seq 300); do grep -q 'audit 2 stored' "$LAB_TMP/watch.err" && break; sleep 0.05; done
grep -q 'audit 2 stored as #2 .* against #1 1 added, 0 removed, 0 changed' "$LAB_TMP/watch.err" ||
	lab_fail "second audit: $(cat "$LAB_TMP/watch.err")"
grep '"kind":"drift"' "$out" | grep -q '"action":"added".*"port":6379' || lab_fail "no drift alert: $(cat "$out")"

# SIGHUP: a broken policy is named and not taken; a good one is
printf 'version: 1\nlisteners:\n  - name: ssh\n    match: {ports: [twenty-two]}\n' >"$policy"
kill -HUP "$wpid"
for _ in $(seq 300); do grep -q 'audit 3 stored' "$LAB_TMP/watch.err" && break; sleep 0.05; done
grep -q "policy.yaml:4:21: rule 'ssh': bad port" "$LAB_TMP/watch.err" || lab_fail "broken policy not named: $(cat "$LAB_TMP/watch.err")"
grep -q 'not reloaded: keeping the one in force' "$LAB_TMP/watch.err" || lab_fail "no keep: $(cat "$LAB_TMP/watch.err")"
grep -q 'audit 3 stored as #3 .* against #2 0 added, 0 removed, 0 changed' "$LAB_TMP/watch.err" ||
	lab_fail "audit after a failed reload: $(cat "$LAB_TMP/watch.err")"
good_policy
kill -HUP "$wpid"
for _ in $(seq 300); do grep -q 'audit 4 stored' "$LAB_TMP/watch.err" && break; sleep 0.05; done
grep -q 'watch: policy .* reloaded$' "$LAB_TMP/watch.err" || lab_fail "good policy not reloaded: $(cat "$LAB_TMP/watch.err")"

kill -TERM "$wpid"
wait "$wpid"
rc=$?
lab_assert_eq "watch exit status after SIGTERM" 0 "$rc"
grep -q 'watch: stopped' "$LAB_TMP/watch.err" || lab_fail "no clean stop: $(cat "$LAB_TMP/watch.err")"
echo "PASS watch"
