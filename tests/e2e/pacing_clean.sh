#!/usr/bin/env bash
# pacing_clean.sh - adaptive pacing on a clean veth (issue 12).
#
# Lab: a scanner namespace and one target over a veth pair, five open ports.
#   1. `scan HOST -p-` with default settings: the exact open set, in a loose
#      bound (the benchmark carries the ratio to nmap's default), and
#      snapshot.scan tells the pace, its limit and a rate history;
#   2. --max-rate caps the adaptive rate (achieved rate within 10 % above);
#   3. --rate stays a hard fixed rate (within a few per cent, as before),
#      and the statistics say the ceiling limits it.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"

s=$(lab_ns scan)
t=$(lab_ns t)
lab_link "$s" 198.18.31.1/24 "$t" 198.18.31.2/24
open="22 80 443 5432 8080"
for p in $open; do lab_listener "$t" tcp 198.18.31.2 "$p" >/dev/null; done
for p in $open; do lab_wait_listen "$t" tcp "$p"; done

# json on stdin -> "open ports|duration|rate|pace|limit|history length"
summary() {
	python3 -c '
import json, sys
doc = json.load(sys.stdin)
st = doc["snapshot"]["scan"]
ports = sorted(e["port"] for e in doc["endpoints"] if e["state"] == "open")
h = st["rate_history"]
assert h["step_s"] > 0 and 0 < len(h["pps"]) <= 32, h
assert isinstance(st["limit"], str) and st["pace_pps"] >= 0, st
print(" ".join(map(str, ports)) + "|%.3f|%.0f|%.0f|%s|%d" % (st["duration_s"], st["rate_pps"],
      st["pace_pps"], st["limit"], len(h["pps"])))
'
}

# 1. default settings, all ports
best=999
for i in 1 2 3; do
	out=$(lab_exec "$s" "$PORTCENSUS" scan -q --format json -p- 198.18.31.2 | summary) ||
		lab_fail "default scan failed"
	IFS='|' read -r got dur rate pace limit hist <<<"$out"
	lab_log "default -p- run $i: ${dur}s, $rate probes/s, pace $pace, $limit, $hist history steps"
	lab_assert_eq "open set of a default -p- scan" "22 80 443 5432 8080" "$got"
	best=$(python3 -c "print(min($best, $dur))")
done
# loose: nmap's default takes ~0.7 s here; the old fixed default took 6.6 s
python3 -c "import sys; sys.exit(0 if $best < 3.0 else 1)" ||
	lab_fail "default -p- took ${best}s at best (bound 3 s; the fixed 10,000/s took 6.6 s)"

# 2. --max-rate: the adaptive rate stays under the ceiling
out=$(lab_exec "$s" "$PORTCENSUS" scan -q --format json --max-rate 5000 -p 1-10000 198.18.31.2 | summary) ||
	lab_fail "--max-rate scan failed"
IFS='|' read -r got dur rate pace limit hist <<<"$out"
lab_log "--max-rate 5000: ${dur}s, $rate probes/s, pace $pace, $limit"
lab_assert_eq "open set under --max-rate" "22 80 443 5432 8080" "$got"
python3 -c "import sys; sys.exit(0 if $rate <= 5500 and $pace <= 5000 else 1)" ||
	lab_fail "--max-rate 5000 sent at $rate probes/s (pace $pace)"
python3 -c "import sys; sys.exit(0 if $dur >= 1.8 else 1)" ||
	lab_fail "--max-rate 5000 took ${dur}s for 10,000 probes (too fast)"

# 3. --rate: fixed, the ceiling
out=$(lab_exec "$s" "$PORTCENSUS" scan -q --format json --rate 4000 --cooldown 100 -p 1-8000 198.18.31.2 | summary) ||
	lab_fail "--rate scan failed"
IFS='|' read -r got dur rate pace limit hist <<<"$out"
lab_log "--rate 4000: ${dur}s, $rate probes/s, $limit"
lab_assert_eq "open set under --rate (ports 1-8000)" "22 80 443 5432" "$got"
lab_assert_eq "limit under a fixed --rate" "ceiling" "$limit"
python3 -c "import sys; sys.exit(0 if $rate <= 4000 * 1.04 else 1)" ||
	lab_fail "--rate 4000 sent at $rate probes/s"
exit 0
