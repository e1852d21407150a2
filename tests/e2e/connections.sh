#!/usr/bin/env bash
# connections.sh - `portcensus connections` against `ss`, in an isolated lab.
#
# Three namespaces: a and c each joined to b by a veth pair. Servers
# (listener.py keeps what it accepts open): b:5432 on 0.0.0.0, b:6379 on an
# IPv6 lab address, a:8080 on loopback, c:80 on 0.0.0.0 shared by a parent
# and two children. Clients holding N connections each: a -> b:5432 (3),
# c -> b:5432 (2), a -> b:6379 over IPv6 (2), a -> a:8080 over loopback (4),
# b -> c:80 (1). And one connection through NAT, as containers behind a
# published port have it: a connects to b:15432, which an nftables
# REDIRECT rule in b turns into b:5432, so the two halves do not mirror
# each other (b's conntrack table joins them: connections_nat.sh tests
# that join in depth).
#
# Oracles:
# - `ip netns exec NS ss -Htnp state established` in every namespace: the
#   JSON's established endpoints are the same (netns, local, peer) pairs
#   with the same pids;
# - the edges: the five above plus the NAT one, every client joined to its
#   pid, every server to the pids `ss -Hltnp` gives for its listener, with
#   the counts above, each connection counted once (13 connections from 26
#   sockets); the NAT connection as one edge a -> b:5432 via 198.18.2.2:15432
#   (redirect), basis conntrack;
# - `--format dot` is accepted by Graphviz (`dot -Tsvg`), `jsonl` has one
#   line per edge, the table has one row per edge.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v dot >/dev/null || lab_skip "needs graphviz (dot)"
command -v nft >/dev/null || lab_skip "needs nftables (nft)"

a=$(lab_ns a)
b=$(lab_ns b)
c=$(lab_ns c)
lab_link "$a" 198.18.2.1/24 "$b" 198.18.2.2/24 fd00:198:18:2::1/64 fd00:198:18:2::2/64
lab_link "$c" 198.18.3.3/24 "$b" 198.18.3.2/24

lab_listener "$b" tcp 0.0.0.0 5432 >/dev/null
lab_listener "$b" tcp fd00:198:18:2::2 6379 >/dev/null
lab_listener "$a" tcp 127.0.0.1 8080 >/dev/null
lab_listener "$c" tcp 0.0.0.0 80 2 >/dev/null
lab_wait_listen "$b" tcp 5432
lab_wait_listen "$b" tcp 6379
lab_wait_listen "$a" tcp 8080
lab_wait_listen "$c" tcp 80
ip netns exec "$b" nft -f - <<'NFT' || lab_fail "nft dnat failed"
table ip lab_nat {
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		tcp dport 15432 redirect to :5432
	}
}
NFT

cat >"$LAB_TMP/client.py" <<'PY'
# client.py HOST PORT N: open N connections and hold them until killed
import os, signal, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
conns = []
for _ in range(n):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.connect((host, port))
    conns.append(s)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(3600)
PY
client() { lab_spawn "$1" python3 "$LAB_TMP/client.py" "$2" "$3" "$4" >/dev/null; }
client "$a" 198.18.2.2 5432 3
client "$c" 198.18.3.2 5432 2
client "$a" fd00:198:18:2::2 6379 2
client "$a" 127.0.0.1 8080 4
client "$b" 198.18.3.3 80 1
client "$a" 198.18.2.2 15432 1

# wait until every one of the 26 sockets is established and owned (an
# accepted socket has no owner until the server's accept() returns)
for ((i = 0; i < 200; i++)); do
	n=0
	for ns in "$a" "$b" "$c"; do
		k=$(ip netns exec "$ns" ss -Htnp state established | grep -c 'pid=')
		n=$((n + k))
	done
	[ "$n" -eq 26 ] && break
	sleep 0.05
done
[ "$n" -eq 26 ] || lab_fail "only $n of 26 sockets established and owned"

# the oracle, one line per socket: ns local peer pids
for ns in "$a" "$b" "$c"; do
	ip netns exec "$ns" ss -Htnp state established |
		awk -v ns="$ns" '{ print ns "\t" $3 "\t" $4 "\t" $5 }'
done >"$LAB_TMP/ss-est.txt"
for ns in "$a" "$b" "$c"; do
	ip netns exec "$ns" ss -Hltnp | awk -v ns="$ns" '{ print ns "\t" $4 "\t" $6 }'
done >"$LAB_TMP/ss-listen.txt"

out="$LAB_TMP/connections.json"
"$PORTCENSUS" connections --format json >"$out" 2>"$LAB_TMP/err" ||
	lab_fail "connections exited $?: $(cat "$LAB_TMP/err")"

python3 - "$out" "$LAB_TMP/ss-est.txt" "$LAB_TMP/ss-listen.txt" "$a" "$b" "$c" <<'PY' || exit 1
import json, re, sys

path, est_path, listen_path, ns_a, ns_b, ns_c = sys.argv[1:7]
doc = json.load(open(path))
fails = []

def split_hostport(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)

def pids(users):
    return sorted(int(p) for p in re.findall(r"pid=(\d+)", users))

# 1. established sockets: same (netns, local, peer) pairs and pids as ss
oracle = set()
for line in open(est_path):
    ns, local, peer, users = line.rstrip("\n").split("\t")
    oracle.add((ns, *split_hostport(local), *split_hostport(peer), tuple(pids(users))))
ours = set()
for e in doc["endpoints"]:
    if e["state"] != "established":
        fails.append(f"non-established endpoint in connections: {e}")
        continue
    ours.add((e["netns"]["name"], e["address"], e["port"], e["peer"]["address"],
              e["peer"]["port"], tuple(sorted(o["pid"] for o in e["owners"]))))
if ours != oracle:
    fails.append("established sockets differ from ss:\n    missing: %s\n    extra: %s"
                 % (sorted(oracle - ours), sorted(ours - oracle)))

# 2. the edges
listeners = {}
for line in open(listen_path):
    ns, local, users = line.rstrip("\n").split("\t")
    host, port = split_hostport(local)
    listeners[(ns, port)] = pids(users)
client_pids = {}  # (client ns, server addr, server port) -> pid, from ss
for (ns, la, lp, pa, pp, ps) in oracle:
    if (ns, lp) in listeners:
        continue  # server side
    client_pids.setdefault((ns, pa, pp), set()).update(ps)
# (client netns or remote client address, server address, port, server netns
# or None when remote, (via kind, address, port) or None) -> (count, basis)
want = {
    (ns_a, "198.18.2.2", 5432, ns_b, None): (3, "listener"),
    (ns_c, "198.18.3.2", 5432, ns_b, None): (2, "listener"),
    (ns_a, "fd00:198:18:2::2", 6379, ns_b, None): (2, "listener"),
    (ns_a, "127.0.0.1", 8080, ns_a, None): (4, "listener"),
    (ns_b, "198.18.3.3", 80, ns_c, None): (1, "listener"),
    (ns_a, "198.18.2.2", 5432, ns_b, ("redirect", "198.18.2.2", 15432)): (1, "conntrack"),
}
got = {}
for e in doc["edges"]:
    cl, sv, via = e["client"], e["server"], e["via"]
    cname = (cl.get("netns") or {}).get("name") if cl["local"] else cl["address"]
    key = (cname, sv["address"], sv["port"], (sv.get("netns") or {}).get("name"),
           (via["kind"], via["address"], via["port"]) if via else None)
    if key in got:
        fails.append(f"edge {key} listed twice")
    got[key] = (e["count"], e["basis"])
    if cl["local"]:
        cpids = sorted(o["pid"] for o in cl["owners"])
        # the client's socket names what it dialled: the front, through NAT
        dialled = (via["address"], via["port"]) if via else (key[1], key[2])
        want_c = sorted(client_pids.get((key[0], *dialled), []))
        if cpids != want_c:
            fails.append(f"edge {key}: client pids {cpids}, ss says {want_c}")
    elif cl["owners"] or cl["netns"] is not None or "port" in cl:
        fails.append(f"edge {key}: a remote client has no owner, netns or port: {cl}")
    spids = sorted(o["pid"] for o in sv["owners"])
    if sv["local"]:
        want_s = listeners.get((key[3], key[2]))
        if spids != want_s:
            fails.append(f"edge {key}: server pids {spids}, listener's are {want_s}")
    elif spids or sv["netns"] is not None:
        fails.append(f"edge {key}: a remote server has no owner or netns: {sv}")
if got != want:
    fails.append(f"edges {sorted(got.items())}\n  want {sorted(want.items())}")
if len(listeners.get((ns_c, 80), [])) != 3:
    fails.append(f"c:80 should be shared by 3 processes: {listeners.get((ns_c, 80))}")
s = doc["summary"]
for k, v in {"edges": 6, "servers": 5, "sockets": 26, "connections": 13, "paired": 13,
             "heuristic": 0, "nat": 1}.items():
    if s.get(k) != v:
        fails.append(f"summary.{k} = {s.get(k)}, want {v}")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(ours)} sockets match ss, {len(got)} edges with the right counts and owners")
PY

# dot: Graphviz must accept it, with one arrow per edge
"$PORTCENSUS" connections --format dot >"$LAB_TMP/map.dot" || lab_fail "connections --format dot failed"
dot -Tsvg "$LAB_TMP/map.dot" >"$LAB_TMP/map.svg" 2>"$LAB_TMP/dot.err" ||
	lab_fail "dot -Tsvg rejected the map: $(cat "$LAB_TMP/dot.err")"
[ -s "$LAB_TMP/dot.err" ] && lab_fail "dot warned: $(cat "$LAB_TMP/dot.err")"
grep -q '<svg' "$LAB_TMP/map.svg" || lab_fail "no svg from dot"
lab_assert_eq "arrows in the dot map" 6 "$(grep -c -- ' -> ' "$LAB_TMP/map.dot")"
lab_assert_eq "namespace clusters in the dot map" 3 "$(grep -c 'subgraph cluster_' "$LAB_TMP/map.dot")"

# jsonl: one edge per line; table: one row per edge plus header and footer
lab_assert_eq "jsonl lines" 6 "$("$PORTCENSUS" connections --format jsonl | wc -l)"
"$PORTCENSUS" connections >"$LAB_TMP/table.txt" || lab_fail "connections (table) failed"
lab_assert_eq "table rows" 8 "$(wc -l <"$LAB_TMP/table.txt")"
grep -q '^6 edges, 13 connections (13 with both ends on this host, 1 through NAT, 0 by port heuristic)' "$LAB_TMP/table.txt" ||
	lab_fail "table footer: $(tail -1 "$LAB_TMP/table.txt")"

# bad input: unknown format is a usage error (exit 2)
"$PORTCENSUS" connections --format nmap-xml >/dev/null 2>&1
lab_assert_eq "exit code for an unknown format" 2 "$?"
echo "PASS: connections"
