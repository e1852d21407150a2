#!/usr/bin/env bash
# fleet_exposure.sh - the host view joined to the network view: two agent
# hosts and two scanner segments with different firewall rules, one central
# PostgreSQL; `fleet exposure` says what each segment saw of every listener
# and `fleet unexplained` names the open ports no agent explains.
#
# Lab (all 198.18.0.0/15), a router namespace in the middle:
#   h1 198.18.10.2  agent: 0.0.0.0:8080 (python), 198.18.10.2:2222 (socat),
#                   127.0.0.1:6379 (loopback: never listed)
#   h2 198.18.20.2  agent: 0.0.0.0:9090 (socat), 0.0.0.0:5555 (never scanned),
#                   and 6060 redirected to 9090 by its own nft rules (a
#                   forwarded port: listed on its front, explained)
#   h3 198.18.30.2  no agent: 8888 (socat), 7070 (socat)
#   seg-a 198.18.40.2, seg-b 198.18.50.2: the scanners
# The router lets seg-a through, drops seg-b's packets to h1:8080 (filtered)
# and rejects seg-b's to h2:9090 with a reset (closed), and forwards
# 198.18.20.2:7070 to h3 (DNAT): a port open on h2's address that h2's agent
# has no socket for. Both scanners keep closed and filtered ports.
#
# Asserted: every listener's exposure matches those rules, the loopback
# listener is not listed, 5555 was never scanned, and the unexplained ports
# are exactly h3's 8888 and 7070 (no agent reports the address: medium) and
# h2:7070 (h2 reports the address, no listener: high), from both segments,
# with exit code 1; the same answers from an SQLite ledger holding the same
# snapshots.
set -u
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/../lab/pg.sh"
lab_isolate "$@"
lab_init
lab_pg_init
command -v python3 >/dev/null || lab_skip "needs python3"
command -v socat >/dev/null || lab_skip "needs socat"
command -v nft >/dev/null || lab_skip "needs nft"

r=$(lab_ns router)
h1=$(lab_ns h1)
h2=$(lab_ns h2)
h3=$(lab_ns h3)
sa=$(lab_ns seg-a)
sb=$(lab_ns seg-b)
n=0
for leaf in "$h1" "$h2" "$h3" "$sa" "$sb"; do
	n=$((n + 1))
	lab_link "$r" "198.18.${n}0.1/24" "$leaf" "198.18.${n}0.2/24"
	lab_route "$leaf" 198.18.0.0/16 "198.18.${n}0.1"
done
ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$r" nft -f - <<'NFT' || lab_fail "router ruleset"
table ip lab {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr 198.18.20.2 tcp dport 7070 dnat to 198.18.30.2:7070
	}
	chain filt {
		type filter hook forward priority filter;
		ip saddr 198.18.50.0/24 ip daddr 198.18.10.2 tcp dport 8080 drop
		ip saddr 198.18.50.0/24 ip daddr 198.18.20.2 tcp dport 9090 reject with tcp reset
	}
}
NFT

ip netns exec "$h2" nft -f - <<'NFT' || lab_fail "h2's ruleset"
table ip h2nat {
	chain pre {
		type nat hook prerouting priority dstnat;
		tcp dport 6060 redirect to :9090 comment "lab redirect"
	}
}
NFT

lab_spawn "$h1" python3 -m http.server 8080 --bind 0.0.0.0 >/dev/null
lab_spawn "$h1" socat TCP-LISTEN:2222,bind=198.18.10.2,fork,reuseaddr - >/dev/null
lab_spawn "$h1" socat TCP-LISTEN:6379,bind=127.0.0.1,fork,reuseaddr - >/dev/null
lab_spawn "$h2" socat TCP-LISTEN:9090,fork,reuseaddr - >/dev/null
lab_spawn "$h2" socat TCP-LISTEN:5555,fork,reuseaddr - >/dev/null
lab_spawn "$h3" socat TCP-LISTEN:8888,fork,reuseaddr - >/dev/null
lab_spawn "$h3" socat TCP-LISTEN:7070,fork,reuseaddr - >/dev/null
lab_wait_listen "$h1" tcp 8080
lab_wait_listen "$h1" tcp 2222
lab_wait_listen "$h1" tcp 6379
lab_wait_listen "$h2" tcp 9090
lab_wait_listen "$h2" tcp 5555
lab_wait_listen "$h3" tcp 8888
lab_wait_listen "$h3" tcp 7070

agent() { # N DB NAME: agent hN audits its own namespace into DB and PostgreSQL
	local ns
	ns=$(eval echo "\$h$1")
	ip netns exec "$ns" "$PORTCENSUS" audit --own-netns --no-verify \
		--db "$2" --ledger "$LAB_PG_URL" --host-id "h$1" \
		--format json -o "$LAB_TMP/$3.json" 2>"$LAB_TMP/$3.err" ||
		lab_fail "audit $3 of h$1: $(cat "$LAB_TMP/$3.err")"
	grep -q "kept in" "$LAB_TMP/$3.err" && lab_fail "audit $3 of h$1 did not ship"
	return 0
}
# every snapshot also goes to one SQLite ledger (all.db), in turn, for the
# same questions there
agent 1 "$LAB_TMP/all.db" audit1
agent 2 "$LAB_TMP/all.db" audit2
python3 - "$LAB_TMP/audit1.json" <<'PY' || lab_fail "h1's audit lacks its addresses: $(head -c 600 "$LAB_TMP/audit1.json")"
import json, sys
d = json.load(open(sys.argv[1]))
addrs = [a["address"] for a in d["snapshot"]["addresses"]]
assert "198.18.10.2" in addrs and not any(a.startswith("127.") for a in addrs), addrs
PY
for seg in a b; do
	ns=$sa
	[ $seg = b ] && ns=$sb
	lab_exec "$ns" "$PORTCENSUS" scan --syn --rate 0 --timeout 300 --retries 1 --cooldown 300 \
		--show closed,filtered -p 2222,6060,7070,8080,8888,9090 \
		--segment "seg-$seg" --sweep-id "sweep-$seg" --host-id "scanner-$seg" \
		--db "$LAB_TMP/all.db" --ledger "$LAB_PG_URL" --format json -o "$LAB_TMP/scan$seg.json" \
		198.18.10.2 198.18.20.2 198.18.30.2 2>"$LAB_TMP/scan$seg.err" ||
		lab_fail "scan from seg-$seg: $(cat "$LAB_TMP/scan$seg.err")"
done
# scan drops its capabilities before it stores, and the lab's PostgreSQL
# socket is in a 0700 directory of its own user: the scans wait in the
# local ledger's outbox (store and forward), shipped here as root
"$PORTCENSUS" fleet ship --db "$LAB_TMP/all.db" --ledger "$LAB_PG_URL" 2>"$LAB_TMP/ship.err" ||
	lab_fail "fleet ship: $(cat "$LAB_TMP/ship.err")"
lab_assert_eq "both sweeps in the central ledger" 2 \
	"$(lab_pg_sql "SELECT count(*) FROM snapshot WHERE kind = 'scan'")"

fleet() { # DB|PG QUESTION ...
	local where=$1
	shift
	if [ "$where" = pg ]; then
		"$PORTCENSUS" fleet "$@" --ledger "$LAB_PG_URL" --format json
	else
		"$PORTCENSUS" fleet "$@" --db "$LAB_TMP/all.db" --format json
	fi
}

for where in pg sqlite; do
	fleet $where exposure >"$LAB_TMP/exp.$where.json" ||
		lab_fail "fleet exposure ($where)"
	python3 - "$LAB_TMP/exp.$where.json" <<'PY' || lab_fail "fleet exposure ($where): $(cat "$LAB_TMP/exp.$where.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
got = {(r["host_id"], r["address"], r["port"], r["segment"]): (r["seen"], r["sweep"]) for r in rows}
want = {
    ("h1", "198.18.10.2", 8080, "seg-a"): ("open", "sweep-a"),
    ("h1", "198.18.10.2", 8080, "seg-b"): ("filtered", "sweep-b"),
    ("h1", "198.18.10.2", 2222, "seg-a"): ("open", "sweep-a"),
    ("h1", "198.18.10.2", 2222, "seg-b"): ("open", "sweep-b"),
    ("h2", "198.18.20.2", 9090, "seg-a"): ("open", "sweep-a"),
    ("h2", "198.18.20.2", 9090, "seg-b"): ("closed", "sweep-b"),
    ("h2", "198.18.20.2", 6060, "seg-a"): ("open", "sweep-a"),
    ("h2", "198.18.20.2", 6060, "seg-b"): ("open", "sweep-b"),
    ("h2", "198.18.20.2", 5555, "seg-a"): ("never", ""),
    ("h2", "198.18.20.2", 5555, "seg-b"): ("never", ""),
}
assert got == want, sorted(set(got.items()) ^ set(want.items()))
assert len(rows) == len(want), len(rows)
assert not any(r["port"] == 6379 for r in rows), "a loopback listener was listed"
bound = {(r["port"], r["bound"]) for r in rows}
assert (8080, "0.0.0.0") in bound and (2222, "198.18.10.2") in bound, bound
assert any(p == 6060 and b.endswith("(fwd)") for p, b in bound), bound
PY
	fleet $where exposure --segment seg-b >"$LAB_TMP/expb.$where.json" ||
		lab_fail "fleet exposure --segment seg-b ($where)"
	lab_assert_eq "--segment seg-b keeps its rows ($where)" "seg-b:5" \
		"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(",".join(sorted({x["segment"] for x in r})) + ":" + str(len(r)))' "$LAB_TMP/expb.$where.json")"

	fleet $where unexplained >"$LAB_TMP/unx.$where.json"
	rc=$?
	lab_assert_eq "unexplained ports exit 1 ($where)" 1 "$rc"
	python3 - "$LAB_TMP/unx.$where.json" <<'PY' || lab_fail "fleet unexplained ($where): $(cat "$LAB_TMP/unx.$where.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
got = sorted((r["address"], r["port"], r["segment"], r["severity"], r["host_id"]) for r in rows)
want = sorted([
    ("198.18.20.2", 7070, "seg-a", "high", "h2"),
    ("198.18.20.2", 7070, "seg-b", "high", "h2"),
    ("198.18.30.2", 7070, "seg-a", "medium", "-"),
    ("198.18.30.2", 7070, "seg-b", "medium", "-"),
    ("198.18.30.2", 8888, "seg-a", "medium", "-"),
    ("198.18.30.2", 8888, "seg-b", "medium", "-"),
])
assert got == want, got
for r in rows:
    if r["address"] == "198.18.30.2":
        assert "no agent reports 198.18.30.2" in r["reason"], r["reason"]
    else:
        assert "host h2 reports 198.18.20.2 but has no listener" in r["reason"], r["reason"]
    assert "from segment " + r["segment"] in r["reason"], r["reason"]
PY
done
cmp -s "$LAB_TMP/exp.pg.json" "$LAB_TMP/exp.sqlite.json" ||
	lab_fail "fleet exposure differs between PostgreSQL and SQLite"

# audit --ledger: the classifier takes the sweeps as evidence. h1's 8080
# was seen open from seg-a (and filtered from seg-b); h2's 9090 open from
# seg-a; 5555 was never scanned, so no sweep is named for it
agent 1 "$LAB_TMP/again1.db" again1
agent 2 "$LAB_TMP/again2.db" again2
python3 - "$LAB_TMP/again1.json" "$LAB_TMP/again2.json" <<'PY' || lab_fail "the classifier ignored the sweeps"
import json, sys
reasons = {}
for f in sys.argv[1:]:
    for e in json.load(open(f))["endpoints"]:
        reasons[e["port"]] = (e.get("risk") or {}).get("reasons", [])
want = {8080: "sweep sweep-a from segment seg-a found 198.18.10.2:8080 open",
        2222: "sweep sweep-a from segment seg-a found 198.18.10.2:2222 open",
        9090: "sweep sweep-a from segment seg-a found 198.18.20.2:9090 open"}
for port, text in want.items():
    assert any(text in r for r in reasons[port]), (port, reasons[port])
assert not any("sweep" in r for r in reasons[5555]), reasons[5555]
assert not any("sweep" in r for r in reasons[6379]), reasons[6379]
PY

# the other formats render the same question
for fmt in table md html prom; do
	"$PORTCENSUS" fleet exposure --ledger "$LAB_PG_URL" --format $fmt >"$LAB_TMP/exp.$fmt" ||
		lab_fail "fleet exposure --format $fmt"
	grep -q "198.18.10.2" "$LAB_TMP/exp.$fmt" || grep -q "h1" "$LAB_TMP/exp.$fmt" ||
		lab_fail "fleet exposure --format $fmt: $(head -5 "$LAB_TMP/exp.$fmt")"
done
echo "fleet_exposure: ok"
