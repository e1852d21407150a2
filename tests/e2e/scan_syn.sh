#!/usr/bin/env bash
# scan_syn.sh - the SYN scan reports exactly the truth.
#
# Lab: a scanner namespace and two target namespaces on veth pairs
# (198.18.11.0/24 with IPv6 fd00:198:18:11::/64, and 198.18.12.0/24). Each
# target has open ports (listeners), closed ports (nothing listens: RST),
# ports rejected with an RST by nftables (closed too), filtered ports (an
# nftables drop with a listener behind it, so only the drop can explain
# silence) and ports rejected with ICMP admin-prohibited (filtered, through
# the ICMP branch of the reply parser). Checks, each an exact set:
#   1. IPv4 + IPv6, --show closed,filtered: every (address, port, state),
#      with replies, retries and zero capture drops in the statistics;
#   2. the default view: open ports only;
#   3. all 65,535 ports of one host: the open set, equal to nmap -sS's;
#   4. without CAP_NET_RAW, --syn fails with a clear message (exit 2 or 3),
#      and the scanner holds no capability while it scans;
#   5. --host-inflight 4 against 20 dropped ports: all 20 filtered, and it
#      takes five rounds of the timeout (never more than 4 unanswered);
#   6. --host-inflight 1 at a low --rate: probes parked behind the cap
#      while the pace has no token for them must still be sent when the
#      host's last probe is answered (the pass used to spin forever with
#      them parked): all 40 ports reported, in seconds.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"
command -v nft >/dev/null || lab_skip "needs nftables"

s=$(lab_ns scan)
t1=$(lab_ns t1)
t2=$(lab_ns t2)
lab_link "$s" 198.18.11.1/24 "$t1" 198.18.11.2/24 fd00:198:18:11::1/64 fd00:198:18:11::2/64
lab_link "$s" 198.18.12.1/24 "$t2" 198.18.12.2/24

for p in 22 80 8080 9000 9100; do lab_listener "$t1" tcp 198.18.11.2 "$p" >/dev/null; done
for p in 22 443 9000; do lab_listener "$t1" tcp fd00:198:18:11::2 "$p" >/dev/null; done
for p in 5432 6379 3306; do lab_listener "$t2" tcp 198.18.12.2 "$p" >/dev/null; done
# t1: 9000 dropped (both families), 9100 rejected with an RST, 7000 with
# ICMP admin-prohibited; t2: 3306 dropped
ip netns exec "$t1" nft -f - <<'NFT' || lab_fail "nft failed in t1"
table inet lab_filter {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 9000 drop
		tcp dport 9100 reject with tcp reset
		meta nfproto ipv4 tcp dport 7000 reject with icmp type admin-prohibited
		meta nfproto ipv6 tcp dport 7000 reject with icmpv6 type admin-prohibited
	}
}
NFT
lab_drop "$t2" tcp 3306
for p in 22 80 8080 9000 9100; do lab_wait_listen "$t1" tcp "$p"; done
for p in 5432 6379 3306; do lab_wait_listen "$t2" tcp "$p"; done

# IPv6 answers once the addresses are past DAD: wait for it
for _ in $(seq 60); do
	lab_exec "$s" ping -6 -c1 -W1 fd00:198:18:11::2 >/dev/null 2>&1 && break
	sleep 0.1
done

ports=22,23,80,443,3306,5432,6379,7000,8080,9000,9100
# json -> "address port state" lines, sorted; statistics to $LAB_TMP/stats
states() {
	python3 -c '
import json, sys
doc = json.load(sys.stdin)
st = doc["snapshot"]["scan"]
with open(sys.argv[1], "w") as f:
    f.write("%s %d %d %d %d\n" % (st["engine"], st["sent"], st["replies"], st["retries"], st["capture_drops"]))
for e in doc["endpoints"]:
    assert e["source"] == "scan" and e["proto"] == "tcp", e
    print(e["address"], e["port"], e["state"])
' "$LAB_TMP/stats" | sort
}

# 1. the whole truth
expected=$(
	for a in 198.18.11.2 198.18.12.2 fd00:198:18:11::2; do
		for p in ${ports//,/ }; do
			st=closed
			case "$a:$p" in
			198.18.11.2:22 | 198.18.11.2:80 | 198.18.11.2:8080) st=open ;;
			198.18.11.2:9000 | fd00:198:18:11::2:9000) st=filtered ;; # inet: both families
			*:7000) [ "$a" != 198.18.12.2 ] && st=filtered ;;
			198.18.12.2:5432 | 198.18.12.2:6379) st=open ;;
			198.18.12.2:3306) st=filtered ;;
			fd00:198:18:11::2:22 | fd00:198:18:11::2:443) st=open ;;
			esac
			echo "$a $p $st"
		done
	done | sort
)
out=$(lab_exec "$s" "$PORTCENSUS" scan --syn --format json --show closed,filtered \
	--timeout 300 --retries 1 -p "$ports" 198.18.11.2 198.18.12.2 fd00:198:18:11::2) ||
	lab_fail "syn scan failed"
lab_assert_eq "syn scan, all states" "$expected" "$(states <<<"$out")"
read -r engine sent replies retries drops <"$LAB_TMP/stats"
lab_assert_eq "engine" syn "$engine"
lab_assert_eq "capture drops" 0 "$drops"
# 33 probes; the three silent ones (9000 x2, 3306) are sent twice
lab_assert_eq "retries" 3 "$retries"
lab_assert_eq "sent" 36 "$sent"
# every probe but the silent ones drew a reply we validated
lab_assert_eq "replies" 30 "$replies"

# 2. open only by default
out=$(lab_exec "$s" "$PORTCENSUS" scan --syn --format json --timeout 300 \
	-p "$ports" 198.18.11.2 198.18.12.2 fd00:198:18:11::2) || lab_fail "syn scan failed"
lab_assert_eq "syn scan, default view" "$(grep ' open$' <<<"$expected")" "$(states <<<"$out")"

# 3. every port of one host, against nmap -sS as a second opinion
out=$(lab_exec "$s" "$PORTCENSUS" scan --syn --format json --rate 0 --timeout 300 \
	-p- 198.18.11.2) || lab_fail "syn scan -p- failed"
truth=$(printf '198.18.11.2 %s open\n' 22 80 8080 | sort)
lab_assert_eq "all ports" "$truth" "$(states <<<"$out")"
read -r engine sent replies retries drops <"$LAB_TMP/stats"
lab_assert_eq "all ports: capture drops" 0 "$drops"
command -v nmap >/dev/null || lab_skip "needs nmap as the oracle (run scripts/deps)"
command -v setpriv >/dev/null || lab_skip "needs setpriv (util-linux)"
{
	nm=$(lab_exec "$s" nmap -n -Pn -sS -p- -T5 --open -oG - 198.18.11.2 |
		grep -o '[0-9]*/open/tcp' | cut -d/ -f1 | sort -n | tr '\n' ' ')
	ours=$(states <<<"$out" | awk '{print $2}' | sort -n | tr '\n' ' ')
	lab_assert_eq "open set equals nmap -sS" "$nm" "$ours"
}

# 4. no privilege: a clear refusal; with it, no capability while scanning
{
	msg=$(lab_exec "$s" setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all "$PORTCENSUS" scan --syn -p 80 198.18.11.2 2>&1)
	rc=$?
	case "$rc" in 2 | 3) ;; *) lab_fail "--syn without CAP_NET_RAW: exit $rc ($msg)" ;; esac
	grep -q "CAP_NET_RAW" <<<"$msg" || lab_fail "--syn without CAP_NET_RAW: unclear message: $msg"
}
# a scan that lasts a while (one dropped port, long timeout): read its
# capabilities from /proc while it runs
lab_exec "$s" "$PORTCENSUS" scan --syn --format json --timeout 3000 --retries 0 \
	-p 9000 198.18.11.2 >/dev/null &
pid=$!
lab_track "$pid"
caps=""
for _ in $(seq 40); do
	sleep 0.05
	# the scanner is the child of `ip netns exec` (or that process itself)
	for q in $pid $(pgrep -P "$pid" 2>/dev/null); do
		c=$(awk '/^CapEff|^CapPrm|^CapBnd/ {print $2}' "/proc/$q/status" 2>/dev/null | tr '\n' ' ')
		if [ -n "$c" ] && grep -q portcensus "/proc/$q/comm" 2>/dev/null; then caps=$c; fi
	done
	[ -n "$caps" ] && [ "$caps" = "0000000000000000 0000000000000000 0000000000000000 " ] && break
done
wait "$pid" || lab_fail "long syn scan failed"
lab_assert_eq "capabilities while scanning (eff, prm, bnd)" \
	"0000000000000000 0000000000000000 0000000000000000 " "$caps"
# 5. the per-host cap: 20 silent ports, 4 at a time, 400 ms each
ip netns exec "$t2" nft add rule inet lab_filter input tcp dport 20000-20019 drop
t0=$(date +%s%N)
out=$(lab_exec "$s" "$PORTCENSUS" scan --syn --format json --show closed,filtered --rate 1000 \
	--host-inflight 4 --timeout 400 --cooldown 400 --retries 0 -p 20000-20019 198.18.12.2) ||
	lab_fail "host-inflight scan failed"
t1=$(date +%s%N)
lab_assert_eq "host-inflight: all filtered" 20 "$(states <<<"$out" | grep -c ' filtered$')"
ms=$(((t1 - t0) / 1000000))
lab_log "host-inflight 4, 20 silent ports, 400 ms timeout: $ms ms"
[ "$ms" -ge 1900 ] || lab_fail "host-inflight 4 did not hold probes back ($ms ms < 5 x 400 ms)"
# 6: parked probes and the pace
out=$(lab_exec "$s" timeout 30 "$PORTCENSUS" scan --syn --format json --show all --rate 200 \
	--host-inflight 1 --timeout 50 --cooldown 50 --retries 0 -p 5401-5440 198.18.12.2) ||
	lab_fail "host-inflight 1 at --rate 200 failed or never ended (exit $?)"
lab_assert_eq "host-inflight 1, rate 200: reported" 40 "$(states <<<"$out" | wc -l)"
lab_assert_eq "host-inflight 1, rate 200: open" "198.18.12.2 5432 open" "$(states <<<"$out" | grep ' open$')"
echo "ok: syn scan exact (IPv4, IPv6, RST, drop, ICMP reject, -p- = nmap, privileges dropped, per-host cap, parked probes under the pace)"
