#!/usr/bin/env bash
# prom.sh - --format prom: `promtool check metrics` accepts what
# `portcensus listeners` writes with -o (through the atomic-file module: no
# temporary left, a planted link replaced, its victim untouched); the
# counts are the lab's (3 listeners, classified as the JSON says, no policy); no
# sample carries a timestamp or an address label; no _total on gauges.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v promtool >/dev/null || lab_fail "needs promtool (Debian package prometheus; scripts/deps)"
a=$(lab_ns a)
lab_listener "$a" tcp 0.0.0.0 6379 >/dev/null
lab_listener "$a" tcp :: 8080 >/dev/null
lab_listener "$a" udp 0.0.0.0 5353 >/dev/null
lab_wait_listen "$a" tcp 6379
lab_wait_listen "$a" tcp 8080
lab_wait_listen "$a" udp 5353

dir=$LAB_TMP/textfile
mkdir -p "$dir"
chmod 1777 "$dir" # links are planted where others can write (like /tmp)
echo victim >"$LAB_TMP/victim"
ln -s "$LAB_TMP/victim" "$dir/portcensus.prom"
"$PORTCENSUS" listeners --format prom -o "$dir/portcensus.prom" 2>"$LAB_TMP/err" ||
	lab_fail "listeners --format prom failed: $(cat "$LAB_TMP/err")"
[ -L "$dir/portcensus.prom" ] && lab_fail "the planted link was followed, not replaced"
lab_assert_eq "victim" victim "$(cat "$LAB_TMP/victim")"
lab_assert_eq "files in the textfile directory" portcensus.prom "$(ls -A "$dir")"
f=$dir/portcensus.prom
promtool check metrics <"$f" || lab_fail "promtool check metrics failed on: $(cat "$f")"

val() { awk -v m="$1" '$1 == m { print $2 }' "$f"; }
# the counts by severity are those of the same inventory's JSON (listeners
# are classified: none is left without a risk)
"$PORTCENSUS" listeners --format json >"$LAB_TMP/l.json" || lab_fail "listeners --format json failed"
for sev in none info low medium high critical; do
	want=$(python3 - "$LAB_TMP/l.json" "$sev" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sev = sys.argv[2]
print(sum(1 for e in d["endpoints"]
          if ((e.get("risk") or {}).get("severity") or "none") == sev))
PY
)
	lab_assert_eq "endpoints of severity $sev" "$want" "$(val "portcensus_endpoints{severity=\"$sev\"}")"
done
lab_assert_eq "unclassified endpoints" 0 "$(val 'portcensus_endpoints{severity="none"}')"
lab_assert_eq "endpoints without a policy" 3 "$(val 'portcensus_endpoints_by_verdict{verdict="none"}')"
lab_assert_eq "violations" 0 "$(val 'portcensus_endpoints_by_verdict{verdict="violation"}')"
lab_assert_eq "info" 1 "$(val 'portcensus_info{version="0.1.0"}')"
ts=$(val portcensus_last_audit_timestamp_seconds)
now=$(date +%s)
awk -v t="$ts" -v n="$now" 'BEGIN { exit !(t > n - 60 && t <= n + 1) }' || lab_fail "last audit time $ts, now $now"
[ -n "$(val portcensus_last_audit_duration_seconds)" ] || lab_fail "no duration"
# no drift without a diff: the family is absent, not a made-up 0
if grep -q drift "$f"; then lab_fail "drift metric without a diff"; fi
# low cardinality: no sample with a timestamp, an address or a port label
if grep -v '^#' "$f" | awk 'NF != 2' | grep -q .; then lab_fail "a sample has a timestamp: $(cat "$f")"; fi
if grep -Eq 'port=|address=|ip=|6379|8080' "$f"; then lab_fail "per-endpoint label: $(cat "$f")"; fi
if grep -q '_total' "$f"; then lab_fail "_total on a gauge"; fi
grep -v '^#' "$f" | grep -vq '^portcensus_' && lab_fail "a metric without the portcensus_ prefix"
echo "PASS prom"
