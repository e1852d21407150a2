#!/usr/bin/env bash
# policy.sh - `policy init`, `policy lint` and `audit --policy` on a lab host.
#
# Inside lab_isolate (the audit walks every namespace and process): the
# isolated root namespace and two named namespaces, with listeners on any
# address, on a lab address and on loopback (TCP and UDP), owned by python3.
#
# Checks:
#   1. `policy init` writes a policy that `policy lint` accepts, documents
#      every listener (`audit --policy` of the same host: every listener
#      allowed, exit 0, no stale rule, nothing due for review) and pins the
#      loopback-only listeners to loopback;
#   2. a new listener makes the audit exit 1 with it undocumented;
#   3. a hand-written policy gives each verdict with its reason, a stale-rule
#      finding and a due-for-review finding, in JSON and in the summary;
#      `policy check` says the same;
#   4. a bad policy: `policy lint` and `audit --policy` exit 2 with one line
#      per problem, each naming file:line:col.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"

a=$(lab_ns a)
b=$(lab_ns b)
lab_link "$a" 198.18.40.1/24 "$b" 198.18.40.2/24

lab_listener "$a" tcp 0.0.0.0 6379 >/dev/null
lab_listener "$a" tcp 127.0.0.1 8125 >/dev/null
lab_listener "$a" tcp 198.18.40.1 5432 >/dev/null
lab_listener "$b" tcp :: 8080 >/dev/null
lab_listener "$b" udp 0.0.0.0 5353 >/dev/null
lab_listener "$b" udp 127.0.0.1 5354 >/dev/null
root_pid=$(python3 "$LAB_DIR/listener.py" tcp 127.0.0.1 9000 0 </dev/null >/dev/null 2>&1 &
	echo $!)
lab_track "$root_pid"
lab_wait_listen "$a" tcp 6379
lab_wait_listen "$a" tcp 8125
lab_wait_listen "$a" tcp 5432
lab_wait_listen "$b" tcp 8080
lab_wait_listen "$b" udp 5353
lab_wait_listen "$b" udp 5354
for _ in $(seq 100); do ss -Hltn 'sport = :9000' | grep -q . && break; sleep 0.05; done

# 1. init -> lint -> audit of the same host
init="$LAB_TMP/init.yaml"
"$PORTCENSUS" policy init -o "$init" 2>"$LAB_TMP/init.err" ||
	lab_fail "policy init failed: $(cat "$LAB_TMP/init.err")"
"$PORTCENSUS" policy lint "$init" >"$LAB_TMP/lint.out" 2>&1 ||
	lab_fail "policy lint rejects init's output: $(cat "$LAB_TMP/lint.out")"
grep -q ': ok (' "$LAB_TMP/lint.out" || lab_fail "lint said: $(cat "$LAB_TMP/lint.out")"
grep -q 'owner: TODO' "$init" || lab_fail "init wrote no owner: TODO"
out="$LAB_TMP/audit.json"
"$PORTCENSUS" audit --no-verify --policy "$init" --format json >"$out" 2>"$LAB_TMP/audit.err"
lab_assert_eq "audit --policy init.yaml exit code" 0 "$?"
python3 - "$out" "$init" "$a" "$b" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
ns_a, ns_b = sys.argv[3], sys.argv[4]
fails = []
want = {(ns_a, "tcp", 6379), (ns_a, "tcp", 8125), (ns_a, "tcp", 5432), (ns_b, "tcp", 8080),
        (ns_b, "udp", 5353), (ns_b, "udp", 5354), (None, "tcp", 9000)}
seen = set()
for e in doc["endpoints"]:
    if e["state"] != "listen":
        continue
    key = ((e["netns"] or {}).get("name"), e["proto"], e["port"])
    seen.add(key)
    p = e["policy"]
    if not p or p["verdict"] != "allowed":
        fails.append(f"{key}: {p}")
    elif e["bind"] == "loopback" and not p["rule"].endswith("-loopback") and "-loopback-" not in p["rule"]:
        fails.append(f"{key}: loopback listener documented by {p['rule']}, not a pinned rule")
if not want <= seen:
    fails.append(f"listeners missing from the audit: {sorted(want - seen, key=str)}")
s = doc["summary"]["policy"]
if s["allowed"] != len(seen) or s["violation"] or s["undocumented"]:
    fails.append(f"summary.policy {s}, want {len(seen)} allowed")
if s["stale_rules"] or s["review_due"] or doc["snapshot"]["findings"]:
    fails.append(f"findings on a fresh init: {doc['snapshot']['findings']}")
# loopback-only listeners are pinned
if text.count("bind: loopback") < 2:
    fails.append("fewer than two rules pinned to loopback:\n" + text)
if fails:
    print("FAIL: init round trip:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: init documents {len(seen)} listeners")
PY

# 2. a listener the policy does not know: exit 1, undocumented
lab_listener "$b" tcp 198.18.40.2 7777 >/dev/null
lab_wait_listen "$b" tcp 7777
"$PORTCENSUS" audit --no-verify --policy "$init" --format json >"$out" 2>"$LAB_TMP/audit.err"
lab_assert_eq "audit exit code with an undocumented listener" 1 "$?"
python3 - "$out" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
u = [e for e in doc["endpoints"] if e["policy"] and e["policy"]["verdict"] == "undocumented"]
if [(e["port"], e["policy"]["reasons"][0]) for e in u] != [(7777, "no rule documents tcp/7777 (python3)")]:
    print(f"FAIL: undocumented {[(e['port'], e['policy']) for e in u]}", file=sys.stderr)
    sys.exit(1)
PY

# 3. every verdict, stale and due-for-review from a hand-written policy
hand="$LAB_TMP/hand.yaml"
cat >"$hand" <<EOF
version: 1
segments:
  lab: [198.18.40.0/24]
defaults:
  unlisted: warning
  review_max_age: 30
listeners:
  - name: redis
    match: {ports: [6379], netns: "$a"}
    bind: loopback
    owner: cache-team
    reviewed: 2020-01-01
  - name: statsd
    match: {ports: [8125], process: "python3"}
    bind: loopback
  - name: postgres
    match: {ports: [5432]}
    bind: [198.18.40.0/24]
    reachable_from: [lab]
  - name: gone
    match: {ports: [11211]}
EOF
"$PORTCENSUS" audit --no-verify --policy "$hand" --format json >"$out" 2>"$LAB_TMP/audit.err"
lab_assert_eq "audit exit code with a violation" 1 "$?"
grep -q 'policy: 2 allowed, 1 violations, 5 undocumented, 1 stale rules, 4 rules due for review' \
	"$LAB_TMP/audit.err" || lab_fail "summary line: $(cat "$LAB_TMP/audit.err")"
python3 - "$out" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
by_port = {e["port"]: e["policy"] for e in doc["endpoints"] if e["state"] == "listen"}
fails = []
def check(port, rule, verdict, reason):
    p = by_port.get(port)
    if not p or p["rule"] != rule or p["verdict"] != verdict or reason not in p["reasons"]:
        fails.append(f"{port}: {p}, want {rule} {verdict} {reason!r}")
check(6379, "redis", "violation", "bound to any, policy says loopback")
check(8125, "statsd", "allowed", "documented by rule 'statsd'")
check(5432, "postgres", "allowed", "reachable_from lab not proven: bound to 198.18.40.1 and no network-side scan in this audit (policy enforce makes it true)")
check(8080, None, "undocumented", "no rule documents tcp/8080 (python3)")
if by_port[6379]["owner"] != "cache-team":
    fails.append(f"owner not carried: {by_port[6379]}")
f = {(x["kind"], x["rule"]): x for x in doc["snapshot"]["findings"]}
if ("stale_rule", "gone") not in f:
    fails.append(f"no stale finding for 'gone': {list(f)}")
r = f.get(("review_due", "redis"))
if not r or "last reviewed on 2020-01-01" not in r["message"] or r["severity"] != "info":
    fails.append(f"review finding for redis: {r}")
if ("review_due", "statsd") not in f or "has no reviewed date" not in f[("review_due", "statsd")]["message"]:
    fails.append("no review finding for statsd (never reviewed)")
s = doc["summary"]["policy"]
if s != {"allowed": 2, "violation": 1, "undocumented": 5, "stale_rules": 1, "review_due": 4}:
    fails.append(f"summary.policy {s}")
if doc["summary"]["findings"] != 5:
    fails.append(f"summary.findings {doc['summary']['findings']}")
if fails:
    print("FAIL: verdicts:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
PY
"$PORTCENSUS" policy check --policy "$hand" --no-verify --format json >"$LAB_TMP/check.json" 2>/dev/null
lab_assert_eq "policy check exit code" 1 "$?"
python3 -c '
import json, sys
a = [e["policy"] for e in json.load(open(sys.argv[1]))["endpoints"]]
b = [e["policy"] for e in json.load(open(sys.argv[2]))["endpoints"]]
sys.exit(a != b)' "$out" "$LAB_TMP/check.json" || lab_fail "policy check and audit --policy disagree"

# 4. a bad policy: exit 2, one line per problem with file:line:col
bad="$LAB_TMP/bad.yaml"
printf 'version: 1\nlisteners:\n  - name: x\n    match: {ports: [99999], prog: y}\n    reachable_from: [nowhere]\n' >"$bad"
"$PORTCENSUS" policy lint "$bad" >/dev/null 2>"$LAB_TMP/bad.err"
lab_assert_eq "policy lint exit code on a bad file" 2 "$?"
lab_assert_eq "lint diagnostics" \
	"$bad:4:21: rule 'x': bad port '99999' (expected a port 1-65535 or a range such as 8000-8100)
$bad:4:29: rule 'x': unknown key 'prog' (expected one of: ports, proto, process, unit, container, netns, host)
$bad:5:22: rule 'x': undefined segment 'nowhere' in reachable_from (expected a CIDR or one of the segments: none defined)" \
	"$(cat "$LAB_TMP/bad.err")"
"$PORTCENSUS" audit --no-verify --policy "$bad" --format json >/dev/null 2>"$LAB_TMP/bad.err"
lab_assert_eq "audit --policy exit code on a bad file" 2 "$?"
"$PORTCENSUS" audit --no-verify --policy "$LAB_TMP/missing.yaml" >/dev/null 2>&1
lab_assert_eq "audit --policy exit code on a missing file" 2 "$?"
echo "PASS: policy init, lint and audit --policy"
