#!/usr/bin/env bash
# pacing_udp_icmp.sh - UDP against the default ICMP rate limit (issue 12).
#
# Linux answers a closed UDP port with an ICMP port-unreachable, but limits
# those per destination peer (net.ipv4.icmp_ratelimit = 1000 ms: a burst of
# about 6, then one a second per peer; icmpv4_xrlim_allow) within a
# host-wide 1,000/s (icmp_msgs_per_sec). The target here keeps those
# defaults (a fresh namespace has them). Checks:
#   1. the limit itself, measured: 40 closed ports at full speed, one try,
#      one source address: only a handful come back closed;
#   2. one source address and 30 closed ports, default settings: the pacer
#      finds the per-peer budget and paces to it, so every port is closed
#      (about 30 s: 24 closed ports after the burst, at 0.8 a second);
#   3. a foreign --source-ip is refused (exit 2); a SYN scan from 4
#      source addresses is exact;
#   4. 1,000 closed + 5 open ports, default settings and --source-ip over 64
#      lab addresses: each address has its own ICMP budget, so all 1,000
#      are closed and the 5 open, within 60 s.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"
command -v socat >/dev/null || lab_skip "needs socat"

s=$(lab_ns scan)
t=$(lab_ns t)
lab_link "$s" 198.18.36.1/24 "$t" 198.18.36.2/24
# 64 more scanner addresses on the same link (198.18.36.64-127)
sif=$(lab_exec "$s" ip -o -4 addr show | awk '$4 == "198.18.36.1/24" {print $2}')
[ -n "$sif" ] || lab_fail "no scanner interface"
for i in $(seq 64 127); do
	lab_exec "$s" ip addr add "198.18.36.$i/24" dev "$sif" || lab_fail "ip addr add failed"
done
lab_exec "$t" sysctl -q net.ipv4.icmp_ratelimit net.ipv4.icmp_msgs_per_sec >&2
open_ports="40001 40002 40003 40004 40005"
# open: a socat that answers every datagram (an echo of a newline)
for p in $open_ports; do
	lab_spawn "$t" socat "UDP4-RECVFROM:$p,fork,bind=198.18.36.2" EXEC:/bin/echo >/dev/null
done
for p in $open_ports; do lab_wait_listen "$t" udp "$p"; done

# json -> "closed=N open=PORTS other=N|duration|limit"
summary() {
	python3 -c '
import json, sys
doc = json.load(sys.stdin)
st = doc["snapshot"]["scan"]
by = {}
for e in doc["endpoints"]:
    by.setdefault(e["state"], []).append(e["port"])
other = sum(len(v) for k, v in by.items() if k not in ("open", "closed"))
print("closed=%d open=%s other=%d|%.1f|%s" % (len(by.get("closed", [])),
      ",".join(map(str, sorted(by.get("open", [])))), other, st["duration_s"], st["limit"]))
'
}

# 1. the limit, as the kernel applies it
out=$(lab_exec "$s" "$PORTCENSUS" scan -q --format json --show closed,filtered --rate 0 \
	--retries 0 --timeout 300 -p U:30000-30039 198.18.36.2 | summary) ||
	lab_fail "full-speed scan failed"
IFS='|' read -r states dur limit <<<"$out"
n=${states#closed=}
n=${n%% *}
lab_log "full speed, one try: $states in ${dur}s"
[ "$n" -ge 1 ] && [ "$n" -le 12 ] || lab_fail "expected the per-peer burst (about 6 closed), got $n"
sleep 2 # let the target's per-peer bucket refill

# 2. one source address, 30 closed ports, default settings
out=$(lab_exec "$s" "$PORTCENSUS" scan -q --format json --show closed,filtered \
	-p U:31000-31029 198.18.36.2 | summary) || lab_fail "paced scan failed"
IFS='|' read -r states dur limit <<<"$out"
lab_log "one source, 30 closed: $states in ${dur}s, limit $limit"
lab_assert_eq "one source address, 30 closed ports" "closed=30 open= other=0" "$states"
lab_assert_eq "the limit named" "icmp-limit" "$limit"

# a source address that is not ours is refused before anything is sent
lab_exec "$s" "$PORTCENSUS" scan -q --source-ip 198.18.36.200 -p U:53 198.18.36.2 \
	2>"$LAB_TMP/err" >/dev/null
rc=$?
lab_assert_eq "a foreign --source-ip: exit code" 2 "$rc"
grep -q "198.18.36.200: not an address of this host" "$LAB_TMP/err" ||
	lab_fail "no clear error for a foreign --source-ip: $(cat "$LAB_TMP/err")"

# the SYN engine rotates its source too: exact states over 4 addresses
lab_listener "$t" tcp 198.18.36.2 22 >/dev/null
lab_wait_listen "$t" tcp 22
out=$(lab_exec "$s" "$PORTCENSUS" scan -q --syn --format json --show closed,filtered \
	--source-ip 198.18.36.64-198.18.36.67 -p 1-200 198.18.36.2 | summary) ||
	lab_fail "SYN scan with --source-ip failed"
lab_assert_eq "SYN scan from 4 source addresses" "closed=199 open=22 other=0" "${out%%|*}"

# 3. 1,000 closed + 5 open over 64 source addresses
out=$(lab_exec "$s" "$PORTCENSUS" scan -q --format json --show closed,filtered \
	--source-ip 198.18.36.64/26 -p U:39001-40005 198.18.36.2 | summary) ||
	lab_fail "scan with --source-ip failed"
IFS='|' read -r states dur limit <<<"$out"
lab_log "64 sources, 1,000 closed + 5 open: $states in ${dur}s, limit $limit"
lab_assert_eq "64 source addresses, 1,000 closed + 5 open" \
	"closed=1000 open=40001,40002,40003,40004,40005 other=0" "$states"
awk -v d="$dur" 'BEGIN { exit !(d < 60) }' || lab_fail "took ${dur}s (bound 60 s)"
exit 0
