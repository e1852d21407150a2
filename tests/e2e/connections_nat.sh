#!/usr/bin/env bash
# connections_nat.sh - `portcensus connections` joins the two halves of a
# connection through NAT into one edge, client -> front -> backend, through
# the conntrack table of the namespace that translated it; and refuses the
# join when the client's tuple is not unique on the host.
#
# Inside its own isolated host (lab_isolate), three namespaces in a row:
#   cl 198.18.60.2 --- 198.18.60.1 gw 198.18.61.1 --- 198.18.61.2 be
#   (and fd00:198:18:60::/64, fd00:198:18:61::/64 for IPv6)
# gw routes between them and publishes with nftables:
#   - 198.18.60.1:8080 -> DNAT -> be 198.18.61.2:80 (3 connections);
#   - 198.18.60.1:8081 -> DNAT -> be :81, with masquerade towards be, so be
#     sees gw's 198.18.61.1 as the client (2 connections);
#   - 198.18.60.1:9000 -> REDIRECT -> gw's own listener on :9090 (1);
#   - [fd00:198:18:60::1]:8080 -> DNAT -> be [fd00:198:18:61::2]:80 (1);
#   - 198.18.60.1:5353/udp -> DNAT -> be :53 (one datagram: a UDP entry,
#     which the join must ignore).
# Each TCP one must be one edge from cl's client process to be's (or gw's)
# listener with the right count, owners, `via` and basis "conntrack", and
# neither of its halves may show as an edge of its own. A connection from
# cl to be:82 that gw routes without NAT stays a plain listener edge.
#
# The case that must NOT be joined: d1 (198.18.62.2, linked to gw) dials
# 198.18.60.1:8080 from source port 40001 through the same DNAT, while an
# unrelated pair d2 (also 198.18.62.2) -> d3 (also 198.18.60.1, a copied
# address plan) holds a direct connection with the very same tuple. gw's
# conntrack entry then matches two client sockets: no join, and all four
# sockets keep today's rules (two client halves, two server halves).
#
# Capturing, not testing: with PC_CAPTURE_TOOL (build/tests/unit/
# test_conntrack) and PC_CAPTURE_FILE (absolute paths) set, gw's conntrack
# table is also dumped into that file once every connection is up; that is
# how tests/unit/data/conntrack/nat.bin was made:
#   PC_CAPTURE_TOOL=$PWD/build/tests/unit/test_conntrack \
#   PC_CAPTURE_FILE=$PWD/tests/unit/data/conntrack/nat.bin tests/e2e/connections_nat.sh
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v nft >/dev/null || lab_skip "needs nftables (nft)"

cl=$(lab_ns cl)
gw=$(lab_ns gw)
be=$(lab_ns be)
d1=$(lab_ns d1)
d2=$(lab_ns d2)
d3=$(lab_ns d3)
lab_link "$cl" 198.18.60.2/24 "$gw" 198.18.60.1/24 fd00:198:18:60::2/64 fd00:198:18:60::1/64
lab_link "$gw" 198.18.61.1/24 "$be" 198.18.61.2/24 fd00:198:18:61::1/64 fd00:198:18:61::2/64
lab_link "$d1" 198.18.62.2/24 "$gw" 198.18.62.1/24
lab_link "$d2" 198.18.62.2/16 "$d3" 198.18.60.1/16 # one subnet: no route needed
lab_route "$cl" 198.18.61.0/24 198.18.60.1
lab_route "$cl" fd00:198:18:61::/64 fd00:198:18:60::1
lab_route "$be" 198.18.60.0/24 198.18.61.1
lab_route "$be" 198.18.62.0/24 198.18.61.1
lab_route "$be" fd00:198:18:60::/64 fd00:198:18:61::1
lab_route "$d1" 198.18.60.0/24 198.18.62.1
ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
	lab_fail "cannot enable forwarding in gw"
ip netns exec "$gw" nft -f - <<'NFT' || lab_fail "nft rules failed in gw"
table ip lab_nat {
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		ip daddr 198.18.60.1 tcp dport 8080 dnat to 198.18.61.2:80
		ip daddr 198.18.60.1 tcp dport 8081 dnat to 198.18.61.2:81
		ip daddr 198.18.60.1 tcp dport 9000 redirect to :9090
		ip daddr 198.18.60.1 udp dport 5353 dnat to 198.18.61.2:53
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		ip daddr 198.18.61.2 tcp dport 81 masquerade
	}
}
table ip6 lab_nat6 {
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		ip6 daddr fd00:198:18:60::1 tcp dport 8080 dnat to [fd00:198:18:61::2]:80
	}
}
NFT

lab_listener "$be" tcp 0.0.0.0 80 >/dev/null
lab_listener "$be" tcp fd00:198:18:61::2 80 >/dev/null
lab_listener "$be" tcp 0.0.0.0 81 2 >/dev/null
lab_listener "$be" tcp 198.18.61.2 82 >/dev/null
lab_listener "$gw" tcp 0.0.0.0 9090 >/dev/null
lab_listener "$d3" tcp 198.18.60.1 8080 >/dev/null
lab_wait_listen "$be" tcp 80
lab_wait_listen "$be" tcp 81
lab_wait_listen "$be" tcp 82
lab_wait_listen "$gw" tcp 9090
lab_wait_listen "$d3" tcp 8080

cat >"$LAB_TMP/client.py" <<'PY'
# client.py HOST PORT N [SPORT]: open N connections (from SPORT when given)
# and hold them until killed
import os, signal, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sport = int(sys.argv[4]) if len(sys.argv) > 4 else 0
family = socket.AF_INET6 if ":" in host else socket.AF_INET
conns = []
for _ in range(n):
    s = socket.socket(family, socket.SOCK_STREAM)
    if sport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", sport))
    s.connect((host, port))
    conns.append(s)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(3600)
PY
client() { lab_spawn "$1" python3 "$LAB_TMP/client.py" "${@:2}"; }
p_dnat=$(client "$cl" 198.18.60.1 8080 3)
p_masq=$(client "$cl" 198.18.60.1 8081 2)
p_redir=$(client "$cl" 198.18.60.1 9000 1)
p_v6=$(client "$cl" fd00:198:18:60::1 8080 1)
p_direct=$(client "$cl" 198.18.61.2 82 1)
p_d1=$(client "$d1" 198.18.60.1 8080 1 40001)
p_d2=$(client "$d2" 198.18.60.1 8080 1 40001)

ip netns exec "$cl" python3 -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("198.18.60.1", 5353))' ||
	lab_fail "cannot send the UDP datagram"

# every socket established and owned: 10 clients and 10 accepted sockets
for ((i = 0; i < 200; i++)); do
	n=0
	for ns in "$cl" "$gw" "$be" "$d1" "$d2" "$d3"; do
		k=$(ip netns exec "$ns" ss -Htnp state established | grep -c 'pid=')
		n=$((n + k))
	done
	[ "$n" -eq 20 ] && break
	sleep 0.05
done
if [ "$n" -ne 20 ]; then
	for ns in "$cl" "$gw" "$be" "$d1" "$d2" "$d3"; do
		echo "# $ns:" >&2
		ip netns exec "$ns" ss -Htanp >&2
	done
	cat "$LAB_TMP/spawn.log" >&2
	lab_fail "only $n of 20 sockets established and owned"
fi
if [ -n "${PC_CAPTURE_FILE:-}" ]; then
	ip netns exec "$gw" "$PC_CAPTURE_TOOL" --capture "$PC_CAPTURE_FILE" ||
		lab_fail "capture into $PC_CAPTURE_FILE failed"
fi
for ns in "$be" "$gw" "$d3"; do
	ip netns exec "$ns" ss -Hltnp | awk -v ns="$ns" '{ print ns "\t" $4 "\t" $6 }'
done >"$LAB_TMP/ss-listen.txt"

out="$LAB_TMP/connections.json"
"$PORTCENSUS" connections --format json >"$out" 2>"$LAB_TMP/err" ||
	lab_fail "connections exited $?: $(cat "$LAB_TMP/err")"

python3 - "$out" "$LAB_TMP/ss-listen.txt" "$cl" "$gw" "$be" "$d1" "$d2" "$d3" \
	"$p_dnat" "$p_masq" "$p_redir" "$p_v6" "$p_d1" "$p_d2" "$p_direct" <<'PY' || exit 1
import json, re, sys

path, listen_path, cl, gw, be, d1, d2, d3 = sys.argv[1:9]
p_dnat, p_masq, p_redir, p_v6, p_d1, p_d2, p_direct = (int(p) for p in sys.argv[9:16])
doc = json.load(open(path))
fails = []

listeners = {}
for line in open(listen_path):
    ns, local, users = line.rstrip("\n").split("\t")
    host, port = local.rsplit(":", 1)
    listeners.setdefault((ns, int(port), ":" in host), set()).update(
        int(p) for p in re.findall(r"pid=(\d+)", users))

def pids(end):
    return sorted(o["pid"] for o in end["owners"])

# key: (client ns or remote address, client pid or None, via or None,
#       server address, port, server ns or None) -> (count, basis)
got = {}
for e in doc["edges"]:
    c, s, v = e["client"], e["server"], e["via"]
    cname = c["netns"]["name"] if c["local"] else c["address"]
    cpid = min(pids(c)) if c["local"] and c["owners"] else None
    via = None
    if v is not None:
        via = (v["kind"], v["address"], v["port"], v["source"], v["netns"]["name"])
    key = (cname, cpid, via, s["address"], s["port"],
           s["netns"]["name"] if s["local"] else None)
    if key in got:
        fails.append(f"edge {key} listed twice")
    got[key] = (e["count"], e["basis"])
    if s["local"] and e["basis"] == "conntrack":
        want = sorted(listeners.get((key[5], s["port"], ":" in s["address"]), []))
        if pids(s) != want:
            fails.append(f"edge {key}: server owners {pids(s)}, the listener's are {want}")
    if (e["basis"] == "conntrack") != (v is not None):
        fails.append(f"edge {key}: basis {e['basis']} with via {v}")

# the client processes are python3 children of `ip netns exec`: ss names
# the process holding the socket; lab_spawn gave the pid of `ip netns exec`,
# which execs python3 in place, so it is the same pid
want = {
    (cl, p_dnat, ("dnat", "198.18.60.1", 8080, None, gw), "198.18.61.2", 80, be): (3, "conntrack"),
    (cl, p_masq, ("dnat", "198.18.60.1", 8081, "198.18.61.1", gw), "198.18.61.2", 81, be):
        (2, "conntrack"),
    (cl, p_redir, ("redirect", "198.18.60.1", 9000, None, gw), "198.18.60.1", 9090, gw):
        (1, "conntrack"),
    (cl, p_v6, ("dnat", "fd00:198:18:60::1", 8080, None, gw), "fd00:198:18:61::2", 80, be):
        (1, "conntrack"),
    # routed through gw without NAT: the sockets mirror each other
    (cl, p_direct, None, "198.18.61.2", 82, be): (1, "listener"),
    # not joined: gw's entry for d1 matches d1's and d2's client sockets
    (d1, p_d1, None, "198.18.60.1", 8080, None): (1, "heuristic"),
    (d2, p_d2, None, "198.18.60.1", 8080, None): (1, "heuristic"),
    ("198.18.62.2", None, None, "198.18.61.2", 80, be): (1, "listener"),
    ("198.18.62.2", None, None, "198.18.60.1", 8080, d3): (1, "listener"),
}
if got != want:
    fails.append("edges differ:\n    missing: %s\n    extra: %s"
                 % (sorted(set(want.items()) - set(got.items()), key=str),
                    sorted(set(got.items()) - set(want.items()), key=str)))
s = doc["summary"]
for k, v in {"edges": 9, "sockets": 20, "connections": 12, "paired": 8, "nat": 7,
             "nat_entries": 8, "heuristic": 2}.items():
    if s.get(k) != v:
        fails.append(f"summary.{k} = {s.get(k)}, want {v}")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(got)} edges, {s['nat']} connections joined through conntrack")
PY

# the other formats say the same: a VIA column, a csv row and a jsonl line
# per edge, the front on the dot arrow
"$PORTCENSUS" connections >"$LAB_TMP/table.txt" || lab_fail "connections (table) failed"
grep -Eq "^$p_dnat/python3 198\.18\.60\.2 +$cl +198\.18\.60\.1:8080 \(dnat\) +198\.18\.61\.2:80 +$be .* 3 +conntrack\$" \
	"$LAB_TMP/table.txt" || lab_fail "no DNAT row in the table: $(cat "$LAB_TMP/table.txt")"
grep -q '^9 edges, 12 connections (8 with both ends on this host, 7 through NAT, 2 by port heuristic)$' \
	"$LAB_TMP/table.txt" || lab_fail "table footer: $(tail -1 "$LAB_TMP/table.txt")"
lab_assert_eq "csv lines (header and one per edge)" 10 \
	"$("$PORTCENSUS" connections --format csv | wc -l)"
"$PORTCENSUS" connections --format csv | grep -q "^true,198\.18\.60\.2,[0-9]*,$cl,$p_masq,python3,,,dnat,198\.18\.60\.1,8081,198\.18\.61\.1,true,198\.18\.61\.2,81,[0-9]*,$be,[0-9]*,python3,,,2,conntrack\$" ||
	lab_fail "no masquerade row in the csv: $("$PORTCENSUS" connections --format csv)"
lab_assert_eq "jsonl lines" 9 "$("$PORTCENSUS" connections --format jsonl | wc -l)"
lab_assert_eq "jsonl edges through NAT" 4 \
	"$("$PORTCENSUS" connections --format jsonl | grep -c '"basis":"conntrack"')"
"$PORTCENSUS" connections --format dot >"$LAB_TMP/map.dot" || lab_fail "connections --format dot failed"
lab_assert_eq "dot arrows" 9 "$(grep -c -- ' -> ' "$LAB_TMP/map.dot")"
grep -q 'label="via 198.18.60.1:8080 (dnat)\\n198.18.61.2:80\\n3 connections"' "$LAB_TMP/map.dot" ||
	lab_fail "no via label in the dot map: $(grep -- ' -> ' "$LAB_TMP/map.dot")"
if command -v dot >/dev/null; then
	dot -Tsvg "$LAB_TMP/map.dot" >/dev/null 2>"$LAB_TMP/dot.err" ||
		lab_fail "dot -Tsvg rejected the map: $(cat "$LAB_TMP/dot.err")"
fi

# without the conntrack entries (--own-netns reads only this isolated
# host's root namespace: no sockets, no entries) nothing is joined
"$PORTCENSUS" connections --own-netns --format json >"$LAB_TMP/own.json" ||
	lab_fail "connections --own-netns failed"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
sys.exit(0 if s["nat"] == 0 and s["nat_entries"] == 0 else 1)' "$LAB_TMP/own.json" ||
	lab_fail "--own-netns joined through conntrack: $(cat "$LAB_TMP/own.json")"
echo "PASS: connections_nat"
