#!/usr/bin/env bash
# enforce.sh - `policy enforce` makes the policy true, proved by scans.
#
# Lab (inside lab_isolate, so the owner walk sees only this test): a target
# namespace t with listeners on every address, and two client segments, each
# its own namespace: app (198.18.10.0/24) and ops (198.18.20.0/24), each on
# its own veth pair to t. The policy lets app reach redis (6379), ops reach
# postgres (5432), both reach 9000, documents 80 without reachable_from
# (open to all) and says nothing of 8080, 5353/udp or 22 (SSH).
#
# Checks:
#   1. before any rule, every port is open from both segments (so a
#      filtered port later can only be the rules' doing), and `audit
#      --policy --from ops` of the target from ops reports redis as
#      "reachable from segment ops, policy allows app only" (exit 1);
#   2. enforce writes the same bytes twice; `nft -c -f` accepts the file;
#      the iptables and ip6tables emitters write their files too;
#   3. after `nft -f` in t (applied twice: the second run replaces the
#      table, one table and the same rules remain), portcensus and nmap
#      from each segment agree on the exact states: allowed ports open from
#      the allowed segment and filtered from the other, undocumented ports
#      filtered from both, undocumented SSH and rule-without-reachable_from
#      ports open from both; the loopback-only listener is untouched.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v nft >/dev/null || lab_skip "needs nftables (nft)"
command -v nmap >/dev/null || lab_skip "needs nmap"
command -v python3 >/dev/null || lab_skip "needs python3"

t=$(lab_ns t)
app=$(lab_ns app)
ops=$(lab_ns ops)
lab_link "$app" 198.18.10.2/24 "$t" 198.18.10.1/24
lab_link "$ops" 198.18.20.2/24 "$t" 198.18.20.1/24

tcp_ports="22 80 5432 6379 8080 9000"
for p in $tcp_ports; do lab_listener "$t" tcp 0.0.0.0 "$p" >/dev/null; done
lab_listener "$t" tcp 127.0.0.1 11211 >/dev/null
lab_listener "$t" udp 0.0.0.0 5353 >/dev/null
for p in $tcp_ports 11211; do lab_wait_listen "$t" tcp "$p"; done
lab_wait_listen "$t" udp 5353

policy="$LAB_TMP/site.yaml"
cat >"$policy" <<'EOF'
version: 1
segments:
  app: [198.18.10.0/24]
  ops: [198.18.20.0/24]
defaults:
  unlisted: violation
listeners:
  - name: redis
    match: {ports: [6379], proto: tcp}
    reachable_from: [app]
    owner: cache-team
  - name: postgres
    match: {ports: [5432], proto: tcp}
    reachable_from: [ops]
  - name: shared
    match: {ports: [9000]}
    reachable_from: [app, ops]
  - name: web
    match: {ports: [80]}
EOF
"$PORTCENSUS" policy lint "$policy" >/dev/null || lab_fail "the lab policy does not lint"

ports_csv=$(echo $tcp_ports | tr ' ' ,)

# scan_states NS TARGET -> "port state" lines, from portcensus
scan_states() {
	ip netns exec "$1" "$PORTCENSUS" scan "$2" -p "$ports_csv" --connect --timeout 1000 \
		--retries 1 --show closed,filtered --format json -q 2>"$LAB_TMP/scan.err" |
		python3 -c '
import json, sys
doc = json.load(sys.stdin)
for e in sorted(doc["endpoints"], key=lambda e: e["port"]):
    print(e["port"], e["state"])' || lab_fail "portcensus scan from $1 failed: $(cat "$LAB_TMP/scan.err")"
}

# nmap_states NS TARGET -> "port state" lines, from nmap's XML
nmap_states() {
	ip netns exec "$1" nmap -n -Pn -sT -T4 --max-retries 1 -p "$ports_csv" "$2" -oX - 2>/dev/null |
		python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
for p in sorted(root.iter("port"), key=lambda p: int(p.get("portid"))):
    print(p.get("portid"), p.find("state").get("state"))' || lab_fail "nmap from $1 failed"
}

expect() { # expect "22:open 80:filtered ..."
	local s
	for s in $1; do echo "${s%%:*} ${s##*:}"; done
}

all_open=$(expect "22:open 80:open 5432:open 6379:open 8080:open 9000:open")
lab_assert_eq "before enforce, from app" "$all_open" "$(scan_states "$app" 198.18.10.1)"
lab_assert_eq "before enforce, from ops" "$all_open" "$(scan_states "$ops" 198.18.20.1)"

# 1b. network-side evidence: from ops, redis is reachable and must not be
out="$LAB_TMP/audit_ops.json"
ip netns exec "$ops" "$PORTCENSUS" audit 198.18.20.1 -p 6379,5432 --connect --timeout 1000 \
	--no-probe --policy "$policy" --from ops --format json >"$out" 2>"$LAB_TMP/audit.err"
rc=$?
lab_assert_eq "audit --policy exit code with a violation" 1 "$rc"
python3 - "$out" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
got = {e["port"]: e["policy"] for e in doc["endpoints"]}
want = {
    6379: ("redis", "violation", "reachable from segment ops, policy allows app only"),
    5432: ("postgres", "allowed", "documented by rule 'postgres'"),
}
fails = []
for port, (rule, verdict, reason) in want.items():
    p = got.get(port)
    if not p or p["rule"] != rule or p["verdict"] != verdict or p["reasons"][:1] != [reason]:
        fails.append(f"{port}: {p}, want {rule} {verdict} {reason!r}")
s = doc["summary"]["policy"]
if s["violation"] != 1 or s["allowed"] != 1:
    fails.append(f"summary.policy {s}")
stale = sorted(f["rule"] for f in doc["snapshot"]["findings"] if f["kind"] == "stale_rule")
if stale != ["shared", "web"]:
    fails.append(f"stale rules {stale}, want shared and web (not scanned from here)")
if fails:
    print("FAIL: audit --from ops:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
PY

# 2. emit: deterministic, accepted by nft -c
rules="$LAB_TMP/rules.nft"
ip netns exec "$t" "$PORTCENSUS" policy enforce --policy "$policy" -o "$rules" -q ||
	lab_fail "policy enforce failed"
ip netns exec "$t" "$PORTCENSUS" policy enforce --policy "$policy" -q >"$LAB_TMP/again.nft" ||
	lab_fail "policy enforce (second run) failed"
cmp -s "$rules" "$LAB_TMP/again.nft" || lab_fail "enforce is not deterministic: $(diff "$rules" "$LAB_TMP/again.nft")"
for want in "tcp dport 6379 ip saddr @seg_app_v4 accept" "tcp dport 6379 drop" \
	"tcp dport 5432 ip saddr @seg_ops_v4 accept" "tcp dport { 8080 } drop" \
	"udp dport { 5353 } drop" "# tcp/22: SSH, no rule names it: kept open"; do
	grep -qF "$want" "$rules" || lab_fail "emitted rules lack '$want': $(cat "$rules")"
done
grep -q 11211 "$rules" && lab_fail "the loopback listener got a rule"
ip netns exec "$t" nft -c -f "$rules" || lab_fail "nft -c rejects the emitted file"
for emit in iptables ip6tables; do
	ip netns exec "$t" "$PORTCENSUS" policy enforce --policy "$policy" --emit "$emit" -q \
		>"$LAB_TMP/rules.$emit" || lab_fail "enforce --emit $emit failed"
	grep -q '^COMMIT$' "$LAB_TMP/rules.$emit" || lab_fail "$emit output has no COMMIT"
done
grep -qF -- "-A PORTCENSUS -p tcp --dport 6379 -s 198.18.10.0/24 -j RETURN" "$LAB_TMP/rules.iptables" ||
	lab_fail "iptables output lacks the redis rule: $(cat "$LAB_TMP/rules.iptables")"
# the iptables formats are checked by the tools when they are installed
# (they are optional: the nft file is what this test applies)
if command -v iptables-restore >/dev/null && command -v ip6tables-restore >/dev/null; then
	ip netns exec "$t" iptables-restore --test --noflush "$LAB_TMP/rules.iptables" ||
		lab_fail "iptables-restore --test rejects the emitted file"
	ip netns exec "$t" ip6tables-restore --test --noflush "$LAB_TMP/rules.ip6tables" ||
		lab_fail "ip6tables-restore --test rejects the emitted file"
	# applied twice in a scratch namespace: the chain is replaced, not doubled
	ipt=$(lab_ns ipt)
	for _ in 1 2; do
		ip netns exec "$ipt" iptables-restore --noflush "$LAB_TMP/rules.iptables" ||
			lab_fail "iptables-restore failed"
	done
	lab_assert_eq "PORTCENSUS chain after two restores" \
		"$(grep -c '^-A PORTCENSUS' "$LAB_TMP/rules.iptables")" \
		"$(ip netns exec "$ipt" iptables -S PORTCENSUS | grep -c '^-A PORTCENSUS')"
else
	lab_log "iptables-restore not installed: the iptables files are checked by shape only"
fi

# 2b. every feature of the emitter in one file nft must accept: inline CIDRs
# of both families, overlapping segment CIDRs, a v6-only segment, names
# that are not nft identifiers, an empty segment, reachable_from: [], UDP,
# a rule without reachable_from, SSH named by a rule
features="$LAB_TMP/features.yaml"
cat >"$features" <<'EOF'
version: 1
segments:
  app-tier.1: [198.18.10.0/24, 198.18.10.128/25, 198.18.0.0/16, 198.19.0.5]
  "ops team": ["fd00:198:18:20::/64", "fd00:198:18::/48"]
  empty: []
listeners:
  - {name: ssh, match: {ports: [22]}, reachable_from: ["ops team", 198.18.20.0/24]}
  - {name: redis, match: {ports: [6379]}, reachable_from: [app-tier.1, empty, "fd00:198:18:99::/64", 198.18.99.0/24]}
  - {name: closed, match: {ports: [8080]}, reachable_from: []}
  - {name: mdns, match: {ports: [5353], proto: udp}, reachable_from: [app-tier.1]}
  - {name: web, match: {ports: [80]}}
EOF
ip netns exec "$t" "$PORTCENSUS" policy enforce --policy "$features" -q >"$LAB_TMP/features.nft" ||
	lab_fail "enforce (features) failed"
ip netns exec "$t" nft -c -f "$LAB_TMP/features.nft" ||
	lab_fail "nft -c rejects the features file: $(cat "$LAB_TMP/features.nft")"
grep -qF 'elements = { 198.18.0.0/16, 198.19.0.5/32 }' "$LAB_TMP/features.nft" ||
	lab_fail "overlapping CIDRs not reduced: $(cat "$LAB_TMP/features.nft")"
grep -qF 'tcp dport 22 ip6 saddr @seg_ops_team_v6 accept' "$LAB_TMP/features.nft" ||
	lab_fail "SSH named by a rule is not restricted: $(cat "$LAB_TMP/features.nft")"

# 3. apply twice: the second run replaces the table whole
ip netns exec "$t" nft -f "$rules" || lab_fail "nft -f failed"
first=$(ip netns exec "$t" nft list table inet portcensus)
ip netns exec "$t" nft -f "$rules" || lab_fail "nft -f (re-run) failed"
second=$(ip netns exec "$t" nft list table inet portcensus)
lab_assert_eq "the table after a re-run" "$first" "$second"
lab_assert_eq "tables named portcensus" 1 "$(ip netns exec "$t" nft list tables | grep -c 'inet portcensus')"

want_app=$(expect "22:open 80:open 5432:filtered 6379:open 8080:filtered 9000:open")
want_ops=$(expect "22:open 80:open 5432:open 6379:filtered 8080:filtered 9000:open")
lab_assert_eq "portcensus from app" "$want_app" "$(scan_states "$app" 198.18.10.1)"
lab_assert_eq "portcensus from ops" "$want_ops" "$(scan_states "$ops" 198.18.20.1)"
lab_assert_eq "nmap from app" "$want_app" "$(nmap_states "$app" 198.18.10.1)"
lab_assert_eq "nmap from ops" "$want_ops" "$(nmap_states "$ops" 198.18.20.1)"

# loopback untouched: the target still reaches its own loopback listener
ip netns exec "$t" python3 -c '
import socket; socket.create_connection(("127.0.0.1", 11211), timeout=2).close()' ||
	lab_fail "loopback listener unreachable after enforce"
echo "PASS: enforce: rules emitted, applied and proved from both segments"
