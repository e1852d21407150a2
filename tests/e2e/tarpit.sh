#!/usr/bin/env bash
# tarpit.sh - `audit TARGET -p-` of a tarpit ends in bounded time.
#
# Lab: a scanner namespace and a target namespace on a veth pair
# (198.18.31.0/24). In the target, an nftables rule redirects every TCP
# port except 22 to one listener on port 9 that accepts and never says a
# word, so every port is open and every probe runs to its deadline; port
# 22 is a real banner
# service (an SSH greeting), as a tarpit host may also run one.
# Checks, from `portcensus audit 198.18.31.2 -p- --format json`:
#   1. it finishes in under 60 s (wall clock, date +%s.%N);
#   2. 65,535 TCP endpoints, all open;
#   3. exactly 256 (the default --max-probed-ports) have no probe_skipped,
#      and they are exactly the 256 highest ranked TCP ports of
#      data/top-ports.txt; every other one has "probe_skipped":
#      "per-host cap" and service null;
#   4. port 22 is identified as ssh (the cap keeps real services found);
#   5. the cap's warning is in snapshot.warnings exactly once;
#   6. with --max-probed-ports 16 --timeout 300: 16 probed, the same
#      warning with the new numbers;
#   7. `verify` of that output: 65,535 claims re-checked open, 16 probed,
#      one warning.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"
command -v nft >/dev/null || lab_skip "needs nftables"

s=$(lab_ns scan)
t=$(lab_ns tarpit)
lab_link "$s" 198.18.31.1/24 "$t" 198.18.31.2/24
T=198.18.31.2

# the tarpit: one silent listener, every other port redirected to it. It
# holds the newest 4,096 connections open and never writes (a probe's
# connection lives seconds; verify's re-check dials 65,535 times and
# resets each at once, so holding them all would run out of descriptors)
lab_spawn "$t" python3 -c '
import collections, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9))
s.listen(4096)
held = collections.deque()
while True:
    c, _ = s.accept()
    held.append(c)
    if len(held) > 4096:
        held.popleft().close()
' >/dev/null
ip netns exec "$t" nft -f - <<NFT || lab_fail "nft redirect in $t"
table ip lab_tarpit {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport != 22 redirect to :9
	}
}
NFT
# the real service on 22: an SSH greeting, then silence
lab_spawn "$t" python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.31.2", 22))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    except OSError:
        pass
    held = held[-200:] + [c]
' >/dev/null
lab_wait_listen "$t" tcp 9
lab_wait_listen "$t" tcp 22

out=$LAB_TMP/out
mkdir -p "$out"
# the 256 highest ranked TCP ports, as the binary has them
grep -E '^tcp[[:space:]]' "$LAB_ROOT/data/top-ports.txt" | awk '{print $2}' | head -256 \
	>"$out/ranked"
sort -n "$out/ranked" >"$out/top256"
[ "$(wc -l <"$out/top256")" -eq 256 ] || lab_fail "data/top-ports.txt has fewer than 256 TCP ports"

check() { # check JSON CAP TOPFILE: assertions 2-5 for a cap of CAP
	python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cap = int(sys.argv[2])
top = [int(x) for x in open(sys.argv[3])] if len(sys.argv) > 3 else None
eps = d["endpoints"]
assert len(eps) == 65535, f"{len(eps)} endpoints"
assert all(e["proto"] == "tcp" and e["state"] == "open" and e["address"] == "198.18.31.2"
           for e in eps), "an endpoint that is not an open TCP port of the tarpit"
assert sorted(e["port"] for e in eps) == list(range(1, 65536)), "ports"
probed = sorted(e["port"] for e in eps if "probe_skipped" not in e)
skipped = [e for e in eps if "probe_skipped" in e]
assert len(probed) == cap, f"{len(probed)} probed, want {cap}"
assert all(e["probe_skipped"] == "per-host cap" and e["service"] is None for e in skipped), \
    "a skipped endpoint with a service or another reason"
if top is not None:
    assert probed == top, "probed ports are not the top-ranked ones: " + str(
        sorted(set(probed) ^ set(top))[:20])
ssh = [e for e in eps if e["port"] == 22][0]
assert ssh["service"] and ssh["service"]["name"] == "ssh", ssh["service"]
want = (f"198.18.31.2: 65535 open ports, probed the {cap} most common "
        f"(--max-probed-ports); the other {65535 - cap} are reported open but unprobed")
ws = d["snapshot"]["warnings"]
assert ws.count(want) == 1, ws
assert sum("--max-probed-ports" in w for w in ws) == 1, ws
print(f"probed {len(probed)}, skipped {len(skipped)}, warnings {len(ws)}")
PY
}

# 1-5. defaults
t0=$(date +%s.%N)
lab_exec "$s" "$PORTCENSUS" audit "$T" -p- --format json >"$out/audit.json" 2>"$out/audit.err" ||
	{ cat "$out/audit.err" >&2; lab_fail "audit of the tarpit failed"; }
t1=$(date +%s.%N)
secs=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
lab_log "audit $T -p- (tarpit): ${secs} s"
python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 60 else 1)" ||
	lab_fail "audit of the tarpit took ${secs} s (limit 60 s)"
r=$(check "$out/audit.json" 256 "$out/top256") || lab_fail "default cap"
lab_log "default cap: $r"

# 6. a smaller cap through the option
lab_exec "$s" "$PORTCENSUS" audit "$T" -p- --max-probed-ports 16 --timeout 300 --format json \
	>"$out/audit16.json" 2>"$out/audit16.err" ||
	{ cat "$out/audit16.err" >&2; lab_fail "audit --max-probed-ports 16 failed"; }
r=$(check "$out/audit16.json" 16) || lab_fail "--max-probed-ports 16"
lab_log "--max-probed-ports 16: $r"
head -16 "$out/ranked" | sort -n >"$out/top16"
got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("\n".join(str(p) for p in sorted(e["port"] for e in d["endpoints"] if "probe_skipped" not in e)))
' "$out/audit16.json")
lab_assert_eq "the 16 probed ports are the 16 highest ranked" "$(cat "$out/top16")" "$got"

# 7. verify of that file is bounded the same way: every claim re-checked
# (open), 16 probed, the others confirmed with the reason that says why
# they are unchecked, one warning
t0=$(date +%s.%N)
lab_exec "$s" "$PORTCENSUS" verify --max-probed-ports 16 --probe-timeout 300 --exit-zero \
	--format json "$out/audit16.json" >"$out/verify16.json" 2>"$out/verify16.err" ||
	{ cat "$out/verify16.err" >&2; lab_fail "verify of the tarpit failed"; }
t1=$(date +%s.%N)
lab_log "verify of 65,535 tarpit claims, --max-probed-ports 16: $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
python3 - "$out/verify16.json" <<'PY' || lab_fail "verify --max-probed-ports 16"
import collections, json, sys
d = json.load(open(sys.argv[1]))
eps = d["endpoints"]
states = collections.Counter(e["state"] for e in eps)
assert len(eps) == 65535 and states["open"] == 65535, states
probed = [e for e in eps if "probe_skipped" not in e]
assert len(probed) == 16, len(probed)
skipped = [e for e in eps if "probe_skipped" in e]
assert all(e["recheck"]["status"] == "confirmed" for e in skipped), "a skipped claim not confirmed"
ws = d["snapshot"]["warnings"]
assert sum("--max-probed-ports" in w for w in ws) == 1, ws
PY

# a bad value is a usage error
lab_exec "$s" "$PORTCENSUS" audit "$T" -p 1 --max-probed-ports x >/dev/null 2>&1
[ $? -eq 2 ] || lab_fail "--max-probed-ports x: want exit 2"

echo "PASS: audit of a tarpit is bounded (${secs} s)"
