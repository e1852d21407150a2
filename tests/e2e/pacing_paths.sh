#!/usr/bin/env bash
# pacing_paths.sh - one slow path does not slow the others (issue 12).
#
# Lab: a scanner with two target subnets, 198.18.33.0/24 behind a 1 Mbit/s
# tbf link (each way) and 198.18.34.0/24 on a clean veth. The clean
# target's ports are scanned alone, then together with the slow target's,
# with default settings; every result is streamed (--show closed,filtered)
# and the time of the clean target's last result is taken. Checks: exact
# open sets on both, and the clean target finishes within a loose bound of
# its time alone (2x + 1 s; the pacer keeps one rate per host here).
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"
command -v tc >/dev/null || lab_skip "needs tc"

s=$(lab_ns scan)
slow=$(lab_ns slow)
fast=$(lab_ns fast)
lab_link "$s" 198.18.33.1/24 "$slow" 198.18.33.2/24
tc -n "$s" qdisc add dev "$LAB_LAST_IF1" root tbf rate 1mbit burst 8kb latency 100ms ||
	lab_skip "tbf is not available"
tc -n "$slow" qdisc add dev "$LAB_LAST_IF2" root tbf rate 1mbit burst 8kb latency 100ms
lab_link "$s" 198.18.34.1/24 "$fast" 198.18.34.2/24
for p in 22 80; do lab_listener "$slow" tcp 198.18.33.2 "$p" >/dev/null; done
for p in 443 8080; do lab_listener "$fast" tcp 198.18.34.2 "$p" >/dev/null; done
for p in 22 80; do lab_wait_listen "$slow" tcp "$p"; done
for p in 443 8080; do lab_wait_listen "$fast" tcp "$p"; done

# streamed jsonl on stdin -> "seconds to the clean host's last result|its
# open ports|the slow host's open ports|results"
timeline() {
	python3 -c '
import json, sys, time
t0 = time.monotonic()
last = 0.0
opens = {"198.18.33.2": [], "198.18.34.2": []}
n = 0
for line in sys.stdin:
    e = json.loads(line)
    n += 1
    if e["address"] == "198.18.34.2":
        last = time.monotonic() - t0
    if e["state"] == "open":
        opens[e["address"]].append(e["port"])
print("%.3f|%s|%s|%d" % (last, " ".join(map(str, sorted(opens["198.18.34.2"]))),
      " ".join(map(str, sorted(opens["198.18.33.2"]))), n))
'
}
ports=1-20000
alone=$(lab_exec "$s" "$PORTCENSUS" scan -q --no-store --format jsonl --show closed,filtered \
	-p "$ports" 198.18.34.2 | timeline) || lab_fail "scan of the clean host failed"
IFS='|' read -r t_alone open_fast _ n <<<"$alone"
lab_log "clean host alone: last result after ${t_alone}s ($n results)"
lab_assert_eq "clean host's open ports, alone" "443 8080" "$open_fast"
both=$(lab_exec "$s" "$PORTCENSUS" scan -q --no-store --format jsonl --show closed,filtered \
	-p "$ports" 198.18.33.2 198.18.34.2 | timeline) || lab_fail "scan of both hosts failed"
IFS='|' read -r t_both open_fast open_slow n <<<"$both"
lab_log "both: the clean host's last result after ${t_both}s ($n results)"
lab_assert_eq "clean host's open ports, with the slow one" "443 8080" "$open_fast"
lab_assert_eq "slow host's open ports" "22 80" "$open_slow"
lab_assert_eq "results for both hosts" "40000" "$n"
python3 -c "import sys; sys.exit(0 if $t_both <= 2 * $t_alone + 1 else 1)" ||
	lab_fail "the clean host took ${t_both}s beside the slow one, ${t_alone}s alone"
exit 0
