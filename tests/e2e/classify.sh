#!/usr/bin/env bash
# classify.sh - risk classification of real services, in an isolated lab.
#
# Namespace a runs three real redis-server instances (tests/lab/services.sh,
# throw-away configs, as the redis user): without a password on 0.0.0.0:6379,
# without a password on 127.0.0.1:6380, and with requirepass on
# 0.0.0.0:6381. Namespace b is a client on the veth link.
#
# Oracle: the reference case of issue 8. `portcensus audit` (inside
# lab_isolate) must rate 6379 critical with the reasons naming the probe's
# evidence and the bind scope, and 6380 (loopback) and 6381 (password) lower
# with their own reasons; the table puts the critical row first; --fail-on
# critical exits 1, no --fail-on exits 0, --fail-on with a bad severity and
# --kb with a bad file exit 2 (the latter naming file:line:col); a --kb file
# overrides the built-in entry; with --policy, the listeners no rule
# documents carry the "not covered by the policy" reason. A scan from b (no
# probes) rates every open port as reachable beyond the host and never info.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
. "$LAB_DIR/services.sh"
command -v redis-server >/dev/null || lab_skip "needs redis-server"
command -v setpriv >/dev/null || lab_skip "needs setpriv"

a=$(lab_ns a)
b=$(lab_ns b)
lab_link "$a" 198.18.1.1/24 "$b" 198.18.1.2/24

svc_redis "$a" 0.0.0.0 6379
svc_redis "$a" 127.0.0.1 6380
svc_redis "$a" 0.0.0.0 6381 "$SVC_REDIS_PASSWORD"
for p in 6379 6380 6381; do
	lab_wait_listen "$a" tcp "$p"
done

out="$LAB_TMP/audit.json"
"$PORTCENSUS" audit --format json --timeout 2000 >"$out" 2>"$LAB_TMP/audit.err" ||
	lab_fail "audit without --fail-on exited $?: $(cat "$LAB_TMP/audit.err")"

python3 - "$out" "$a" <<'PY' || exit 1
import json, sys

path, ns_a = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
eps = {}
for e in doc["endpoints"]:
    if (e.get("netns") or {}).get("name") == ns_a and e["proto"] == "tcp":
        eps[e["port"]] = e
fails = []

def reason(port, text):
    r = (eps.get(port) or {}).get("risk") or {}
    if not any(text in x for x in r.get("reasons", [])):
        fails.append(f"{port}: no reason containing {text!r} in {r.get('reasons')}")

for p in (6379, 6380, 6381):
    if p not in eps:
        fails.append(f"redis {p} missing")
    elif (eps[p].get("service") or {}).get("name") != "redis":
        fails.append(f"{p}: service {eps[p].get('service')}, want redis")
    elif not eps[p].get("risk"):
        fails.append(f"{p}: no risk")
if not fails:
    r79, r80, r81 = (eps[p]["risk"] for p in (6379, 6380, 6381))
    if r79["severity"] != "critical":
        fails.append(f"6379 (no password, 0.0.0.0): {r79['severity']} {r79['score']}, want critical")
    if r79["category"] != "cache":
        fails.append(f"6379 category {r79['category']}")
    if "requirepass" not in (r79["remediation"] or ""):
        fails.append(f"6379 remediation does not name requirepass: {r79['remediation']}")
    reason(6379, "answers without authentication: INFO answered without AUTH")
    reason(6379, "bound to every interface (0.0.0.0:6379): reachable from every network this host is on")
    reason(6379, "redis (Redis ")
    for p, r in ((6380, r80), (6381, r81)):
        if r["severity"] == "critical" or not r["score"] < r79["score"]:
            fails.append(f"{p}: {r['severity']} {r['score']}, want lower than 6379's {r79['score']}")
    reason(6380, "bound to loopback only (127.0.0.1:6380): only processes on this host can connect")
    reason(6380, "answers without authentication")
    reason(6381, "requires authentication: ")
    reason(6381, "bound to every interface (0.0.0.0:6381)")
    for p in (6379, 6380, 6381):
        if any("runs as root" in x for x in eps[p]["risk"]["reasons"]):
            fails.append(f"{p}: runs as the redis user, yet a root reason")
sev = doc["summary"].get("severity")
if not isinstance(sev, dict) or list(sev) != ["critical", "high", "medium", "low", "info"]:
    fails.append(f"summary.severity {sev}")
elif sev["critical"] < 1:
    fails.append(f"summary.severity.critical {sev['critical']}")
nrisk = sum(1 for e in doc["endpoints"] if e["risk"])
if sum(sev.values()) != nrisk:
    fails.append(f"summary.severity counts {sum(sev.values())} risks, endpoints hold {nrisk}")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: 6379 {r79['severity']} {r79['score']}, 6380 {r80['severity']} {r80['score']}, "
      f"6381 {r81['severity']} {r81['score']}")
PY

# the table: a SEVERITY column, the critical row first
"$PORTCENSUS" audit --no-color --timeout 2000 >"$LAB_TMP/audit.txt" 2>/dev/null
head -1 "$LAB_TMP/audit.txt" | grep -q '^SEVERITY ' || lab_fail "table has no SEVERITY column first: $(head -1 "$LAB_TMP/audit.txt")"
first=$(sed -n 2p "$LAB_TMP/audit.txt")
case "$first" in
critical*0.0.0.0:6379*) ;;
*) lab_fail "first table row is not the critical redis: $first" ;;
esac

# --fail-on
"$PORTCENSUS" audit --format json --timeout 2000 --fail-on critical >/dev/null 2>&1
lab_assert_eq "audit --fail-on critical exit code" 1 "$?"
"$PORTCENSUS" --fail-on=high audit --format jsonl --timeout 2000 >/dev/null 2>&1
lab_assert_eq "--fail-on=high before the command, jsonl" 1 "$?"
"$PORTCENSUS" audit --fail-on severe >/dev/null 2>"$LAB_TMP/err"
lab_assert_eq "audit --fail-on severe exit code" 2 "$?"
grep -q "fail-on takes critical, high, medium, low or info, not 'severe'" "$LAB_TMP/err" ||
	lab_fail "bad --fail-on message: $(cat "$LAB_TMP/err")"
"$PORTCENSUS" connections --fail-on high >/dev/null 2>&1
lab_assert_eq "connections --fail-on exit code" 2 "$?"

# --kb: a bad file is an input error naming file:line:col; a good one overrides
printf 'version: 1\nservices:\n  redis:\n    category: cache\n    colour: red\n' >"$LAB_TMP/bad.yaml"
"$PORTCENSUS" audit --kb "$LAB_TMP/bad.yaml" >/dev/null 2>"$LAB_TMP/err"
lab_assert_eq "audit --kb bad.yaml exit code" 2 "$?"
grep -q "bad.yaml:5:5: unknown key 'colour' in service 'redis'" "$LAB_TMP/err" ||
	lab_fail "bad --kb message: $(cat "$LAB_TMP/err")"
cat >"$LAB_TMP/ours.yaml" <<'EOF'
version: 1
services:
  redis:
    category: database
    severity: info
    why: Our redis holds nothing but a throw-away lab key.
    remediation: Call the lab team.
EOF
"$PORTCENSUS" audit --kb "$LAB_TMP/ours.yaml" --format json --timeout 2000 >"$out" 2>/dev/null ||
	lab_fail "audit --kb ours.yaml exited $?"
python3 - "$out" "$a" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
e = [e for e in doc["endpoints"] if (e.get("netns") or {}).get("name") == sys.argv[2]
     and e["port"] == 6380][0]
r = e["risk"]
ok = (r["category"] == "database" and r["remediation"] == "Call the lab team."
      and any("throw-away lab key" in x for x in r["reasons"]))
if not ok:
    print(f"FAIL: --kb did not override redis: {r}", file=sys.stderr)
    sys.exit(1)
PY

# with a policy that documents only 6381, the others are "not covered by the
# policy": the pipeline classifies again once the verdicts are known
cat >"$LAB_TMP/policy.yaml" <<'EOF'
version: 1
defaults:
  unlisted: warning
listeners:
  - name: redis-with-password
    match: {ports: [6381], proto: tcp}
    owner: lab
    reviewed: 2026-11-01
EOF
"$PORTCENSUS" audit --policy "$LAB_TMP/policy.yaml" --format json --timeout 2000 >"$out" \
	2>"$LAB_TMP/err" || lab_fail "audit --policy exited $?: $(cat "$LAB_TMP/err")"
python3 - "$out" "$a" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
eps = {e["port"]: e for e in doc["endpoints"]
       if (e.get("netns") or {}).get("name") == sys.argv[2] and e["proto"] == "tcp"}
fails = []
for p, covered in ((6379, False), (6380, False), (6381, True)):
    e = eps[p]
    v = (e.get("policy") or {}).get("verdict")
    has = any(r.startswith("not covered by the policy") for r in e["risk"]["reasons"])
    if v != ("allowed" if covered else "undocumented") or has == covered:
        fails.append(f"{p}: verdict {v}, 'not covered' reason {has}: {e['risk']['reasons']}")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
PY

# a scan from b: no probes, so nothing is identified; every open port is
# reachable beyond the host and rated at least low, never info
ip netns exec "$b" "$PORTCENSUS" scan 198.18.1.1 -p 6379,6380,6381 --connect --format json \
	--fail-on medium >"$out" 2>"$LAB_TMP/scan.err"
lab_assert_eq "scan --fail-on medium exit code" 1 "$?"
python3 - "$out" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
got = {e["port"]: e["risk"] for e in doc["endpoints"] if e["state"] == "open"}
fails = []
if sorted(got) != [6379, 6381]:
    fails.append(f"open ports {sorted(got)}, want [6379, 6381] (6380 is on loopback)")
for p, r in got.items():
    if not r or r["severity"] in ("info", "low"):
        fails.append(f"{p}: {r}")
    elif not any("reachable beyond this host: a network scan found 198.18.1.1:%d/tcp open" % p in x
                 for x in r["reasons"]):
        fails.append(f"{p}: no beyond-host reason in {r['reasons']}")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
PY
# streamed (jsonl): each line carries its risk, and --fail-on still gates
ip netns exec "$b" "$PORTCENSUS" scan 198.18.1.1 -p 6379 --connect --format jsonl \
	--fail-on medium >"$out" 2>/dev/null
lab_assert_eq "scan jsonl --fail-on medium exit code" 1 "$?"
grep -q '"risk":{"severity":"medium"' "$out" || lab_fail "jsonl scan line without risk: $(cat "$out")"
ip netns exec "$b" "$PORTCENSUS" scan 198.18.1.1 -p 6379 --connect --format jsonl \
	--fail-on critical >/dev/null 2>&1
lab_assert_eq "scan jsonl --fail-on critical exit code" 0 "$?"
echo "PASS: classify"
