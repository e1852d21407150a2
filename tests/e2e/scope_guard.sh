#!/usr/bin/env bash
# scope_guard.sh - scan, audit TARGET and verify refuse the same addresses,
# and verify sends nothing at all when one entry of its file is refused.
#
# In a lab namespace whose only route is 198.18.8.0/24 (so even a bug could
# not reach a public address), with an nftables counter on every TCP and UDP
# packet the namespace sends:
#   - each address of one list (public v4 and v6, IPv4-mapped, 6to4, NAT64
#     and local-use NAT64 forms of a public address) is refused by `scan`,
#     `audit TARGET` and `verify` (a file whose first entry is a live lab
#     listener and whose second is the address): exit 2, a one-line error,
#     verify's naming FILE:2; after all of them the counter is still 0;
#   - errors that quote a hostile argument or file name reach stderr with
#     every control, C1, bidi and line-separator character replaced;
#   - the same file without the public entry is verified (the guard is not
#     refusing everything), and --allow-public lets the public one through;
#   - verify --rate paces its checks: 10 entries at --rate 20 --parallel 1
#     take at least 0.4 s, and the default does not slow down a few ports.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v nft >/dev/null || lab_skip "needs nftables"
command -v python3 >/dev/null || lab_skip "needs python3"
P=$PORTCENSUS
a=$(lab_ns cli)
b=$(lab_ns srv)
lab_link "$a" 198.18.8.1/24 "$b" 198.18.8.2/24
lab_listener "$b" tcp 198.18.8.2 8080 >/dev/null
lab_wait_listen "$b" tcp 8080
lab_exec "$a" nft -f - <<'NFT' || lab_fail "nft"
table inet pcguard {
	counter sent {}
	chain out {
		type filter hook output priority 0; policy accept;
		# what portcensus would send (connects, SYNs, datagrams); the
		# kernel's own ICMPv6 on link up (DAD, MLD, RS) is not ours
		meta l4proto { tcp, udp } counter name "sent"
	}
}
NFT
sent() { lab_exec "$a" nft list counter inet pcguard sent | awk '/packets/ {print $2}'; }
[ "$(sent)" = 0 ] || lab_fail "counter not zero at start"

refused=(8.8.8.8 203.0.113.5 2001:4860:4860::8888 ::ffff:8.8.8.8 2002:808:808::1
	64:ff9b::8.8.8.8 64:ff9b::10.0.0.1 64:ff9b:1::808:808)
for addr in "${refused[@]}"; do
	for cmd in scan audit; do
		rc=0
		lab_exec "$a" "$P" "$cmd" -p 80 "$addr" >/dev/null 2>"$LAB_TMP/err" || rc=$?
		[ $rc -eq 2 ] || lab_fail "$cmd $addr: exit $rc, want 2"
		grep -q "is not in an internal range (use --allow-public" "$LAB_TMP/err" ||
			lab_fail "$cmd $addr: $(cat "$LAB_TMP/err")"
		[ "$(wc -l <"$LAB_TMP/err")" -eq 1 ] || lab_fail "$cmd $addr: more than one line"
	done
	printf 'open tcp 8080 198.18.8.2 1700000000\nopen tcp 80 %s 1700000000\n' "$addr" \
		>"$LAB_TMP/claims.txt"
	rc=0
	lab_exec "$a" "$P" verify "$LAB_TMP/claims.txt" >/dev/null 2>"$LAB_TMP/err" || rc=$?
	[ $rc -eq 2 ] || lab_fail "verify $addr: exit $rc, want 2"
	grep -q "claims.txt:2:1: .* is not in an internal range (use --allow-public" "$LAB_TMP/err" ||
		lab_fail "verify $addr: $(cat "$LAB_TMP/err")"
done
# the errors quote argv and file names: they reach stderr sanitised
hostile=$'8.8.8.8\e[2J\xc2\x9b\xe2\x80\xae\xe2\x81\xa6\xe2\x80\xa8\xff'
for args in "scan -p 80 $hostile" "audit -p 80 $hostile" "verify $LAB_TMP/$hostile.txt" \
	"verify --rate $hostile" "$hostile"; do
	rc=0
	# shellcheck disable=SC2086 # word splitting wanted: the args
	lab_exec "$a" "$P" $args >/dev/null 2>"$LAB_TMP/err" || rc=$?
	[ $rc -eq 2 ] || lab_fail "'$args': exit $rc, want 2"
	python3 - "$LAB_TMP/err" <<'PY' || lab_fail "a control or bidi character reached stderr"
import sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0
       or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069 or ord(c) in (0x2028, 0x2029)]
assert not bad and "?[2J" in text, repr(text)
PY
done
lab_assert_eq "packets sent by the refused runs" 0 "$(sent)"
lab_log "${#refused[@]} addresses refused by scan, audit and verify; nothing sent"

# the guard lets internal entries through, and --allow-public the rest
printf 'open tcp 8080 198.18.8.2 1700000000\n' >"$LAB_TMP/ok.txt"
lab_exec "$a" "$P" verify --no-probe "$LAB_TMP/ok.txt" >"$LAB_TMP/out" ||
	lab_fail "verify of a lab listener: $(cat "$LAB_TMP/out")"
grep -q '^verify: 1 confirmed' "$LAB_TMP/out" || lab_fail "not confirmed: $(cat "$LAB_TMP/out")"
[ "$(sent)" -gt 0 ] || lab_fail "the counter does not count (no packet seen)"
printf 'open tcp 8080 198.18.8.2 1700000000\nopen tcp 80 8.8.8.8 1700000000\n' >"$LAB_TMP/pub.txt"
rc=0
lab_exec "$a" "$P" verify --no-probe --timeout 300 --allow-public "$LAB_TMP/pub.txt" \
	>"$LAB_TMP/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || lab_fail "verify --allow-public: exit $rc, want 1: $(cat "$LAB_TMP/out")"
grep -q '^verify: 1 confirmed, 0 closed now, 1 filtered now' "$LAB_TMP/out" ||
	lab_fail "verify --allow-public: $(cat "$LAB_TMP/out")"

# --rate: 10 closed ports, one at a time at 20/s: >= 9 intervals of 50 ms
for p in 1 2 3 4 5 6 7 8 9 10; do printf 'open tcp %d 198.18.8.2 1\n' $((9000 + p)); done \
	>"$LAB_TMP/ten.txt"
start=$(date +%s%N)
lab_exec "$a" "$P" verify --no-probe --rate 20 --parallel 1 "$LAB_TMP/ten.txt" >"$LAB_TMP/out" ||
	true
ms=$((($(date +%s%N) - start) / 1000000))
grep -q '^verify: 0 confirmed, 10 closed now' "$LAB_TMP/out" || lab_fail "--rate: $(cat "$LAB_TMP/out")"
lab_log "10 checks at --rate 20 --parallel 1: ${ms} ms"
[ $ms -ge 400 ] || lab_fail "--rate 20 did not pace: ${ms} ms"
start=$(date +%s%N)
lab_exec "$a" "$P" verify --no-probe "$LAB_TMP/ten.txt" >/dev/null || true
ms=$((($(date +%s%N) - start) / 1000000))
lab_log "10 checks at the default rate: ${ms} ms"
[ $ms -lt 400 ] || lab_fail "the default rate slowed 10 checks down to ${ms} ms"
echo "PASS scope guard"
