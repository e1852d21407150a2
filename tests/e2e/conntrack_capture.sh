#!/usr/bin/env bash
# conntrack_capture.sh - (re)capture tests/unit/data/conntrack/nat.bin, the
# conntrack dump that test_conntrack.c replays. Not a test: run it by hand,
# as root:
#
#   tests/e2e/conntrack_capture.sh build
#
# Inside its own isolated host (lab_isolate), cl -- gw -- be as in
# connections_nat.sh, gw translating one connection of each kind: IPv4
# DNAT (:8080 -> be:80), DNAT with masquerade (:8081 -> be:81), REDIRECT
# (:9000 -> gw:9090), IPv6 DNAT, a UDP DNAT (:5353 -> be:53) and one TCP
# connection routed to be:82 without NAT. Then build/tests/unit/
# test_conntrack --capture dumps gw's table with the project's own code.
set -u
build=${1:-build}
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
tool="$LAB_ROOT/$build/tests/unit/test_conntrack"
out="$LAB_ROOT/tests/unit/data/conntrack/nat.bin"
[ -x "$tool" ] || lab_fail "build $tool first"
mkdir -p "$(dirname "$out")"

cl=$(lab_ns cl)
gw=$(lab_ns gw)
be=$(lab_ns be)
lab_link "$cl" 198.18.60.2/24 "$gw" 198.18.60.1/24 fd00:198:18:60::2/64 fd00:198:18:60::1/64
lab_link "$gw" 198.18.61.1/24 "$be" 198.18.61.2/24 fd00:198:18:61::1/64 fd00:198:18:61::2/64
lab_route "$cl" 198.18.61.0/24 198.18.60.1
lab_route "$be" 198.18.60.0/24 198.18.61.1
lab_route "$be" fd00:198:18:60::/64 fd00:198:18:61::1
ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip netns exec "$gw" nft -f - <<'NFT' || lab_fail "nft failed"
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
for p in 80 81 82; do lab_listener "$be" tcp 0.0.0.0 $p >/dev/null; done
lab_listener "$be" tcp fd00:198:18:61::2 80 >/dev/null
lab_listener "$gw" tcp 0.0.0.0 9090 >/dev/null
for p in 80 81 82; do lab_wait_listen "$be" tcp $p; done
lab_wait_listen "$gw" tcp 9090
cat >"$LAB_TMP/client.py" <<'PY'
import os, signal, socket, sys, time
conns = []
for host, port in [("198.18.60.1", 8080), ("198.18.60.1", 8081), ("198.18.60.1", 9000),
                   ("fd00:198:18:60::1", 8080), ("198.18.61.2", 82)]:
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.connect((host, port))
    conns.append(s)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"x", ("198.18.60.1", 5353))
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(3600)
PY
lab_spawn "$cl" python3 "$LAB_TMP/client.py" >/dev/null
for ((i = 0; i < 100; i++)); do
	[ "$(ip netns exec "$cl" ss -Htn state established | wc -l)" -eq 5 ] && break
	sleep 0.05
done
ip netns exec "$gw" "$tool" --capture "$out" || lab_fail "capture failed"
echo "captured $out"
