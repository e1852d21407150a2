#!/usr/bin/env bash
# audit.sh - the live check of `portcensus audit`, in an isolated lab.
#
# Two namespaces joined by a veth pair (198.18.1.0/24, fd00:198:18:1::/64),
# TCP listeners in both: on any address (0.0.0.0 and ::, checked through
# 127.0.0.1 and ::1), on a specific lab address (IPv4 and IPv6), on
# loopback. An nftables rule in b drops one listener's port, so its check
# must end at the deadline (--timeout 500) as "timeout", and the run must
# not take much longer than one deadline. UDP sockets get no live check,
# nor does a listener on an IPv6 link-local address (its interface is not
# in the model): it gets a snapshot warning instead.
#
# Oracle: the listeners we started (and `ss` in each namespace, which must
# agree); every TCP listener must appear once with verified.reachable true
# and an rtt, except the dropped one.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v nft >/dev/null || lab_skip "needs nftables (nft)"

a=$(lab_ns a)
b=$(lab_ns b)
lab_link "$a" 198.18.1.1/24 "$b" 198.18.1.2/24 fd00:198:18:1::1/64 fd00:198:18:1::2/64

# ns port addr
specs=(
	"$a 8001 0.0.0.0"
	"$a 8002 198.18.1.1"
	"$a 8003 ::"
	"$a 8004 127.0.0.1"
	"$b 9001 0.0.0.0"
	"$b 9002 198.18.1.2"
	"$b 9003 fd00:198:18:1::2"
)
for s in "${specs[@]}"; do
	set -- $s
	lab_listener "$1" tcp "$3" "$2" >/dev/null
done
lab_listener "$b" udp 0.0.0.0 9004 >/dev/null
# link-local: the address is only on the veth inside the lab; never dialled
ip -n "$a" addr add fe80::198:18:1/64 dev "$LAB_LAST_IF1" nodad
lab_spawn "$a" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("fe80::198:18:1", 8005, 0, socket.if_nametoindex(sys.argv[1])))
s.listen(8)
time.sleep(600)' "$LAB_LAST_IF1" >/dev/null
lab_wait_listen "$a" tcp 8005
for s in "${specs[@]}"; do
	set -- $s
	lab_wait_listen "$1" tcp "$2"
done
lab_wait_listen "$b" udp 9004
lab_drop "$b" tcp 9001

out="$LAB_TMP/audit.json"
t0=$(date +%s%N)
"$PORTCENSUS" audit --format json --timeout 500 >"$out" 2>"$LAB_TMP/audit.err" ||
	lab_fail "audit exited $?: $(cat "$LAB_TMP/audit.err")"
t1=$(date +%s%N)
elapsed_ms=$(((t1 - t0) / 1000000))
lab_log "audit took ${elapsed_ms} ms"

# The oracle's view of the TCP listeners, per namespace, from ss.
oracle=""
for ns in "$a" "$b"; do
	oracle+=$(ip netns exec "$ns" ss -Hltn | awk -v ns="$ns" '{
		a = $4; p = a; sub(/.*:/, "", p); sub(/:[^:]*$/, "", a);
		gsub(/[\[\]]/, "", a); if (a == "*") a = "0.0.0.0";
		if (p != 8005) print ns, a, p }')
	oracle+=$'\n'
done
oracle=$(printf '%s' "$oracle" | sed '/^$/d' | sort)
expected=$(for s in "${specs[@]}"; do set -- $s; echo "$1 $3 $2"; done | sort)
lab_assert_eq "ss agrees with the listeners started" "$expected" "$oracle"

python3 - "$out" "$a" "$b" "$elapsed_ms" <<'PY' || exit 1
import json, sys

path, ns_a, ns_b, elapsed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
doc = json.load(open(path))
want = {
    (ns_a, "0.0.0.0", 8001): True,
    (ns_a, "198.18.1.1", 8002): True,
    (ns_a, "::", 8003): True,
    (ns_a, "127.0.0.1", 8004): True,
    (ns_b, "0.0.0.0", 9001): False,  # dropped by nftables in b
    (ns_b, "198.18.1.2", 9002): True,
    (ns_b, "fd00:198:18:1::2", 9003): True,
}
fails = []
seen = {}
for e in doc["endpoints"]:
    ns = (e.get("netns") or {}).get("name")
    key = (ns, e["address"], e["port"])
    if e["proto"] == "udp":
        if e["verified"] is not None:
            fails.append(f"udp endpoint {key} has a live check: {e['verified']}")
        continue
    if e["state"] != "listen":
        continue
    if key in seen:
        fails.append(f"listener {key} reported twice")
    seen[key] = e
for key, reachable in want.items():
    e = seen.get(key)
    if e is None:
        fails.append(f"listener {key} missing from the audit")
        continue
    v = e["verified"]
    if v is None:
        fails.append(f"listener {key} has no live check")
        continue
    if v["reachable"] is not reachable:
        fails.append(f"listener {key}: reachable {v['reachable']}, want {reachable} ({v})")
    if reachable:
        if not isinstance(v["rtt_ms"], (int, float)) or not 0 <= v["rtt_ms"] < 500:
            fails.append(f"listener {key}: rtt_ms {v['rtt_ms']} is not a connect time")
        if v["error"] is not None:
            fails.append(f"listener {key}: reachable but error {v['error']}")
    else:
        if v["error"] != "timeout":
            fails.append(f"listener {key}: error {v['error']!r}, want 'timeout'")
        if v["rtt_ms"] is not None:
            fails.append(f"listener {key}: unreachable but rtt {v['rtt_ms']}")
ll = seen.pop((ns_a, "fe80::198:18:1", 8005), None)
if ll is None:
    fails.append("link-local listener missing from the audit")
elif ll["verified"] is not None:
    fails.append(f"link-local listener was checked: {ll['verified']}")
if not any("link-local" in w for w in doc["snapshot"]["warnings"]):
    fails.append(f"no link-local warning: {doc['snapshot']['warnings']}")
extra = set(seen) - set(want)
if extra:
    fails.append(f"unexpected listeners: {sorted(extra)}")
s = doc["summary"]
if s.get("reachable") != 6 or s.get("unreachable") != 1:
    fails.append(f"summary reachable/unreachable {s.get('reachable')}/{s.get('unreachable')}, want 6/1")
# one deadline (500 ms) plus the inventory; never the kernel's SYN retries
if elapsed < 500:
    fails.append(f"audit took {elapsed} ms: the dropped port cannot have had its 500 ms")
if elapsed > 5000:
    fails.append(f"audit took {elapsed} ms with --timeout 500")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(want)} listeners checked, the dropped one timed out; {elapsed} ms")
PY

# --no-verify: no live check at all
"$PORTCENSUS" audit --format json --no-verify >"$out" 2>/dev/null || lab_fail "audit --no-verify failed"
python3 - "$out" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
bad = [e for e in doc["endpoints"] if e["verified"] is not None]
if bad or not doc["endpoints"]:
    print(f"FAIL: --no-verify still verified {len(bad)} endpoints", file=sys.stderr)
    sys.exit(1)
PY

# no TIME_WAIT left behind by the checks (they end with an RST)
for ns in "$a" "$b"; do
	tw=$(ip netns exec "$ns" ss -Htan state time-wait | wc -l)
	lab_assert_eq "TIME_WAIT sockets left in $ns" 0 "$tw"
done
echo "PASS: audit live check"
