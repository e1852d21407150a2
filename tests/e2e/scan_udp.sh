#!/usr/bin/env bash
# scan_udp.sh - the UDP scan reports exactly the truth, and says when the
# target's ICMP rate limit may have hidden closed ports.
#
# Lab: a scanner namespace and two targets on veth pairs (198.18.21.0/24
# with IPv6 fd00:198:18:21::/64, and 198.18.22.0/24). Target t1 runs real
# UDP services that only answer their own protocol: dnsmasq (DNS, IPv4 and
# IPv6: answers our version.bind query), memcached (UDP frames: answers our
# "version"), and a socat echo on IPv6 port 5000. Closed ports have nothing
# bound (ICMP port-unreachable); port 161 is dropped by nftables (silence:
# open|filtered); port 7001 is rejected with ICMP admin-prohibited
# (filtered). Checks:
#   1. IPv4 + IPv6, all states: the exact set (few closed ports per family,
#      inside the target kernel's ICMP burst of 6, so every closed port is
#      seen), and no warning;
#   2. 40 closed ports of t2 at full speed: the first ones come back closed,
#      the rest open|filtered (Linux allows about one port-unreachable per
#      second per peer), nothing is reported open, and the run warns that
#      open|filtered may hide closed ports.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"
command -v nft >/dev/null || lab_skip "needs nftables"
command -v dnsmasq >/dev/null || lab_skip "needs dnsmasq (dnsmasq-base)"
command -v memcached >/dev/null || lab_skip "needs memcached"
command -v socat >/dev/null || lab_skip "needs socat"

s=$(lab_ns scan)
t1=$(lab_ns t1)
t2=$(lab_ns t2)
lab_link "$s" 198.18.21.1/24 "$t1" 198.18.21.2/24 fd00:198:18:21::1/64 fd00:198:18:21::2/64
lab_link "$s" 198.18.22.1/24 "$t2" 198.18.22.2/24

cat >"$LAB_TMP/dnsmasq.conf" <<EOF
port=53
listen-address=198.18.21.2
listen-address=fd00:198:18:21::2
bind-interfaces
no-resolv
no-hosts
pid-file=
EOF
lab_spawn "$t1" dnsmasq -k -C "$LAB_TMP/dnsmasq.conf" >/dev/null
lab_spawn "$t1" memcached -U 11211 -p 0 -l 198.18.21.2 -u nobody >/dev/null
lab_spawn "$t1" socat UDP6-RECVFROM:5000,fork,bind=[fd00:198:18:21::2] EXEC:/bin/echo >/dev/null
ip netns exec "$t1" nft -f - <<'NFT' || lab_fail "nft failed in t1"
table inet lab_filter {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 161 drop
		meta nfproto ipv4 udp dport 7001 reject with icmp type admin-prohibited
		meta nfproto ipv6 udp dport 7001 reject with icmpv6 type admin-prohibited
	}
}
NFT
lab_wait_listen "$t1" udp 53
lab_wait_listen "$t1" udp 11211
lab_wait_listen "$t1" udp 5000
for _ in $(seq 60); do
	lab_exec "$s" ping -6 -c1 -W1 fd00:198:18:21::2 >/dev/null 2>&1 && break
	sleep 0.1
done

# json -> "address port state" lines, sorted; warnings to $LAB_TMP/warnings
states() {
	python3 -c '
import json, sys
doc = json.load(sys.stdin)
with open(sys.argv[1], "w") as f:
    for w in doc["snapshot"]["warnings"]:
        f.write(w + "\n")
for e in doc["endpoints"]:
    assert e["source"] == "scan" and e["proto"] == "udp", e
    print(e["address"], e["port"], e["state"])
' "$LAB_TMP/warnings" | sort
}

# 1. the whole truth
ports=53,54,161,5000,5001,7001,11211
expected=$(
	for a in 198.18.21.2 fd00:198:18:21::2; do
		for p in ${ports//,/ }; do
			st=closed
			case "$a:$p" in
			*:53 | 198.18.21.2:11211 | fd00:198:18:21::2:5000) st=open ;;
			*:161) st="open|filtered" ;;
			*:7001) st=filtered ;;
			esac
			echo "$a $p $st"
		done
	done | sort
)
out=$(lab_exec "$s" "$PORTCENSUS" scan --format json --show closed,filtered --timeout 500 \
	--retries 1 -p "U:$ports" 198.18.21.2 fd00:198:18:21::2) || lab_fail "udp scan failed"
lab_assert_eq "udp scan, all states" "$expected" "$(states <<<"$out")"
lab_assert_eq "udp scan: no warning" "" "$(cat "$LAB_TMP/warnings")"

# 2. more closed ports than the ICMP burst allows, at full speed
out=$(lab_exec "$s" "$PORTCENSUS" scan --format json --show closed,filtered --timeout 300 \
	--retries 0 --rate 0 -p U:30000-30039 198.18.22.2) || lab_fail "udp scan of t2 failed"
got=$(states <<<"$out")
n_closed=$(grep -c ' closed$' <<<"$got")
n_silent=$(grep -c ' open|filtered$' <<<"$got")
[ "$n_closed" -ge 1 ] || lab_fail "no port-unreachable seen at all"
lab_assert_eq "every port reported once" 40 "$((n_closed + n_silent))"
lab_assert_eq "nothing else reported" "" "$(grep -v -E ' (closed|open\|filtered)$' <<<"$got")"
if [ "$n_silent" -gt 0 ]; then
	grep -q "rate-limit ICMP" "$LAB_TMP/warnings" ||
		lab_fail "silent ports after port-unreachables, but no rate-limit warning"
fi
echo "ok: udp scan exact (DNS, memcached, echo, closed, dropped, ICMP reject; $n_closed of 40 closed seen, rest flagged)"
