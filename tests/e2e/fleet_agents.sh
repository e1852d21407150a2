#!/usr/bin/env bash
# fleet_agents.sh - eight agents write one central ledger at once.
#
# Eight lab namespaces, each an "agent host" with its own listeners (port
# 7100+N on 198.18.1.N, and 7200 on every host) and its own host id; each
# agent audits its own namespace (--own-netns) twice, all eight at once,
# writing to one PostgreSQL. Then: every snapshot is stored once (16, no
# origin twice), and the fleet questions answer what the lab was built as:
# eight hosts with two audits each, 7103 exposed by agent-3 only, 7200 by
# all eight, and each host's drift since before the second round is the
# listener added in between (7300 on even hosts).
set -u
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/../lab/pg.sh"
lab_isolate "$@"
lab_init
lab_pg_init
command -v python3 >/dev/null || lab_skip "needs python3"
command -v socat >/dev/null || lab_skip "needs socat"

declare -a ns
for n in 1 2 3 4 5 6 7 8; do
	ns[n]=$(lab_ns "h$n")
	ip -n "${ns[n]}" addr add "198.18.1.$n/32" dev lo
	lab_spawn "${ns[n]}" socat "TCP-LISTEN:$((7100 + n)),bind=198.18.1.$n,fork,reuseaddr" - >/dev/null
	lab_spawn "${ns[n]}" socat TCP-LISTEN:7200,fork,reuseaddr - >/dev/null
done
for n in 1 2 3 4 5 6 7 8; do
	lab_wait_listen "${ns[n]}" tcp $((7100 + n))
	lab_wait_listen "${ns[n]}" tcp 7200
done

round() { # R: all eight agents at once
	local n pids=()
	for n in 1 2 3 4 5 6 7 8; do
		ip netns exec "${ns[n]}" "$PORTCENSUS" audit --own-netns --no-verify \
			--db "$LAB_TMP/agent$n.db" --ledger "$LAB_PG_URL" --host-id "agent-$n" \
			--format json >"$LAB_TMP/r$1.$n.json" 2>"$LAB_TMP/r$1.$n.err" &
		pids[n]=$!
	done
	for n in 1 2 3 4 5 6 7 8; do
		wait "${pids[n]}" || lab_fail "round $1 agent $n: $(cat "$LAB_TMP/r$1.$n.err")"
		grep -q "kept in" "$LAB_TMP/r$1.$n.err" && lab_fail "round $1 agent $n did not ship: $(cat "$LAB_TMP/r$1.$n.err")"
	done
	return 0
}

round 1
sleep 1
between=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
for n in 2 4 6 8; do
	lab_spawn "${ns[n]}" socat TCP-LISTEN:7300,fork,reuseaddr - >/dev/null
	lab_wait_listen "${ns[n]}" tcp 7300
done
round 2

lab_assert_eq "every snapshot stored" 16 "$(lab_pg_sql 'SELECT count(*) FROM snapshot')"
lab_assert_eq "none stored twice" 16 "$(lab_pg_sql 'SELECT count(DISTINCT (host_id, origin)) FROM snapshot')"
lab_assert_eq "every endpoint of every audit" \
	"$(python3 -c 'import json,sys
print(sum(len(json.load(open(f))["endpoints"]) for f in sys.argv[1:]))' "$LAB_TMP"/r*.json)" \
	"$(lab_pg_sql 'SELECT count(*) FROM endpoint')"

fleet() { "$PORTCENSUS" fleet "$@" --ledger "$LAB_PG_URL" --format json; }
fleet hosts >"$LAB_TMP/hosts.json" || lab_fail "fleet hosts"
python3 - "$LAB_TMP/hosts.json" <<'PY' || lab_fail "fleet hosts: $(cat "$LAB_TMP/hosts.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert [(x["host_id"], x["audits"]) for x in h] == [("agent-%d" % n, 2) for n in range(1, 9)], h
PY
fleet exposes 7103 >"$LAB_TMP/x3.json" || lab_fail "fleet exposes 7103"
python3 - "$LAB_TMP/x3.json" <<'PY' || lab_fail "fleet exposes 7103: $(cat "$LAB_TMP/x3.json")"
import json, sys
x = json.load(open(sys.argv[1]))
assert [(e["address"], e["port"]) for e in x] == [("198.18.1.3", 7103)], x
PY
fleet exposes 7200 >"$LAB_TMP/x0.json" || lab_fail "fleet exposes 7200"
lab_assert_eq "7200 on every host" 8 "$(python3 -c 'import json,sys; print(len({e["host"] + e["namespace"] for e in json.load(open(sys.argv[1]))}))' "$LAB_TMP/x0.json")"
fleet drift --since "$between" >"$LAB_TMP/drift.json" || lab_fail "fleet drift"
python3 - "$LAB_TMP/drift.json" <<'PY' || lab_fail "fleet drift: $(cat "$LAB_TMP/drift.json")"
import json, sys
d = json.load(open(sys.argv[1]))
got = sorted((c["action"], c["port"]) for c in d)
assert got == [("added", 7300)] * 4, got
PY
echo "fleet_agents: ok"
