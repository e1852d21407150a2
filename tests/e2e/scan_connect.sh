#!/usr/bin/env bash
# scan_connect.sh - the connect scan reports exactly the truth.
#
# Lab: a scanner namespace and two target namespaces on veth pairs
# (198.18.1.0/24 and 198.18.2.0/24, IPv6 fd00:198:18:1::/64). Each target
# has open ports (listeners), closed ports (nothing listens: RST) and
# filtered ports (an nftables drop in the target, with a listener behind it,
# so only the drop can explain silence). Checks, each an exact set:
#   1. IPv4 + IPv6, --show closed,filtered: every (address, port, state);
#   2. the default view: open ports only; the same through `audit TARGET...`;
#   3. under `ulimit -n 256`, all 65,535 ports of two hosts, no per-host cap
#      (descriptors are the only bound): the same open sets;
#   4. an AnyIP /16 (one listener answers 65,536 addresses), a few ports;
#      and --rate 20000 measured within 5 %;
#   5. self-connect: a namespace scanning its own loopback over ports inside
#      ip_local_port_range (narrowed to one port) reports no open port.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"

s=$(lab_ns scan)
t1=$(lab_ns t1)
t2=$(lab_ns t2)
lab_link "$s" 198.18.1.1/24 "$t1" 198.18.1.2/24 fd00:198:18:1::1/64 fd00:198:18:1::2/64
lab_link "$s" 198.18.2.1/24 "$t2" 198.18.2.2/24

for p in 22 80 8080 9000; do lab_listener "$t1" tcp 198.18.1.2 "$p" >/dev/null; done
for p in 22 443; do lab_listener "$t1" tcp fd00:198:18:1::2 "$p" >/dev/null; done
for p in 5432 6379 3306; do lab_listener "$t2" tcp 198.18.2.2 "$p" >/dev/null; done
lab_drop "$t1" tcp 9000
ip netns exec "$t2" nft add rule inet lab_filter input tcp dport 3306 drop 2>/dev/null ||
	lab_drop "$t2" tcp 3306
for p in 22 80 8080 9000; do lab_wait_listen "$t1" tcp "$p"; done
for p in 5432 6379 3306; do lab_wait_listen "$t2" tcp "$p"; done

# IPv6 answers once the link-local addresses are past DAD: wait for it
for _ in $(seq 60); do
	lab_exec "$s" ping -6 -c1 -W1 fd00:198:18:1::2 >/dev/null 2>&1 && break
	sleep 0.1
done

ports=22,23,80,443,3306,5432,6379,8080,9000
# jsonl -> "address port state" lines, sorted
states() {
	python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    assert e["source"] == "scan" and e["proto"] == "tcp", e
    print(e["address"], e["port"], e["state"])
' | sort
}

# 1. the whole truth
expected=$(
	for a in 198.18.1.2 198.18.2.2 fd00:198:18:1::2; do
		for p in ${ports//,/ }; do
			st=closed
			case "$a:$p" in
			198.18.1.2:22 | 198.18.1.2:80 | 198.18.1.2:8080) st=open ;;
			198.18.1.2:9000 | fd00:198:18:1::2:9000) st=filtered ;; # inet table: both families
			198.18.2.2:5432 | 198.18.2.2:6379) st=open ;;
			198.18.2.2:3306) st=filtered ;;
			fd00:198:18:1::2:22 | fd00:198:18:1::2:443) st=open ;;
			esac
			echo "$a $p $st"
		done
	done | sort
)
out=$(lab_exec "$s" "$PORTCENSUS" scan --connect --format jsonl --show closed,filtered \
	--timeout 300 --retries 1 -p "$ports" 198.18.1.2 198.18.2.2 fd00:198:18:1::2) ||
	lab_fail "scan failed"
lab_assert_eq "connect scan, all states" "$expected" "$(states <<<"$out")"

lab_log "${SECONDS}s"
# 1b. no route: network unreachable is filtered, and the snapshot says why
out=$(lab_exec "$s" "$PORTCENSUS" scan --connect --format json --show filtered -p 22,80 \
	198.18.3.3) || lab_fail "unroutable scan failed"
got=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
w = [x for x in d["snapshot"]["warnings"] if "unreachable" in x]
print(" ".join(e["state"] for e in d["endpoints"]), "+ note" if w else "no note")
' <<<"$out")
lab_assert_eq "unreachable network" "filtered filtered + note" "$got"

lab_log "${SECONDS}s"
# 2. open only by default
out=$(lab_exec "$s" "$PORTCENSUS" scan --connect --format jsonl --timeout 300 \
	-p "$ports" 198.18.1.2 198.18.2.2 fd00:198:18:1::2) || lab_fail "scan failed"
lab_assert_eq "connect scan, default view" "$(grep ' open$' <<<"$expected")" "$(states <<<"$out")"

lab_log "${SECONDS}s"
# 2b. `audit TARGET...` scans with the same options and feeds the pipeline
out=$(lab_exec "$s" "$PORTCENSUS" audit --connect --no-probe --format jsonl --timeout 300 \
	-p "$ports" 198.18.1.2 198.18.2.2 fd00:198:18:1::2) || lab_fail "audit with targets failed"
lab_assert_eq "audit TARGET..., open ports" "$(grep ' open$' <<<"$expected")" "$(states <<<"$out")"

lab_log "${SECONDS}s"
# 3. every port of one host with 256 descriptors: still exact
out=$(lab_exec "$s" bash -c "ulimit -n 256 && exec \"\$0\" scan --connect --format jsonl \
	--rate 0 --host-inflight 100000 --timeout 500 -p- 198.18.1.2 198.18.2.2" "$PORTCENSUS") || lab_fail "ulimit scan failed"
lab_assert_eq "ulimit -n 256, all ports" \
	"$( (printf '198.18.1.2 %s open\n' 22 80 8080; printf '198.18.2.2 %s open\n' 5432 6379) | sort)" \
	"$(states <<<"$out")"

lab_log "${SECONDS}s"
# 3b. a per-host cap of 3 in flight: slower, still exact
out=$(lab_exec "$s" "$PORTCENSUS" scan --connect --format jsonl --rate 0 --host-inflight 3 \
	--timeout 500 -p 1-3000,8080,9000 198.18.1.2 198.18.2.2) || lab_fail "capped scan failed"
lab_assert_eq "--host-inflight 3" "$(printf '198.18.1.2 %s open\n' 22 80 8080 | sort)" \
	"$(states <<<"$out")"

lab_log "${SECONDS}s"
# 4. AnyIP /16: 65,536 addresses answer; port 22 open, 23 closed
a=$(lab_ns any)
lab_link "$s" 198.18.250.1/24 "$a" 198.18.250.2/24
lab_anyip "$a" 198.19.0.0/16
ip -n "$s" route add 198.19.0.0/16 via 198.18.250.2
ip netns exec "$a" sysctl -qw net.core.somaxconn=65535
ip netns exec "$a" sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
for p in 22 80; do # 80 serves the --rate check below
	lab_spawn "$a" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(65535)
while True:
    c, _ = s.accept()
    c.close()
' "$p" >/dev/null
	lab_wait_listen "$a" tcp "$p"
done
out=$(lab_exec "$s" "$PORTCENSUS" scan --connect --format jsonl --rate 0 --timeout 1000 \
	--retries 2 -p 22,23 198.19.0.0/16) || lab_fail "AnyIP scan failed"
got=$(states <<<"$out")
n_open=$(grep -c ' open$' <<<"$got")
lab_assert_eq "AnyIP /16: opens" 65536 "$n_open"
lab_assert_eq "AnyIP /16: only port 22" "" "$(grep -v -E ' 22 open$' <<<"$got")"
lab_assert_eq "AnyIP /16: distinct" 65536 "$(sort -u <<<"$got" | wc -l)"

lab_log "${SECONDS}s"
# 4b. --rate: the measured global rate is within 5 % of the request
out=$(lab_exec "$s" "$PORTCENSUS" scan --connect --format json --rate 20000 -p 80 \
	198.19.0.0/17) || lab_fail "paced scan failed"
got=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["snapshot"]["scan"]
ok = abs(s["rate_pps"] - 20000) <= 1000
print(len(d["endpoints"]), "rate ok" if ok else "rate %s" % s["rate_pps"])
' <<<"$out")
lab_assert_eq "--rate 20000 over 32,768 probes" "32768 rate ok" "$got"

lab_log "${SECONDS}s"
# 5. self-connect: scan our own loopback over ports that include the whole
# ip_local_port_range, narrowed to one port P: a connect to 127.0.0.1:P can
# only leave from P, so it meets itself every time
ip netns exec "$s" sysctl -qw net.ipv4.ip_local_port_range="40000 40000"
out=$(lab_exec "$s" "$PORTCENSUS" scan --connect --format json --rate 0 --timeout 300 \
	-p 39990-40010 127.0.0.1) || lab_fail "loopback scan failed"
# the pitfall must really have happened (else this proves nothing), and
# must not have produced an open port
got=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
w = [x for x in d["snapshot"]["warnings"] if "self-connect" in x]
print(len(d["endpoints"]), "self-connect seen" if w else "no self-connect")
' <<<"$out")
lab_assert_eq "self-connect gives no open port" "0 self-connect seen" "$got"
echo "ok: connect scan exact (IPv4, IPv6, filtered, ulimit -n 256, AnyIP /16, self-connect)"
