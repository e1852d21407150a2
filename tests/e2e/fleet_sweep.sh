#!/usr/bin/env bash
# fleet_sweep.sh - a sweep split into shards is one scan: four `scan
# --shard I/4 --sweep-id S` of a lab /16, stored in one ledger (SQLite here;
# the query is the same on PostgreSQL), give through `fleet sweep S`
# exactly what one unsharded scan of the /16 gives, and each open port was
# found by exactly one shard. No --seed: the sweep id gives the shards their
# common permutation.
#
# Lab: a scanner and a target namespace on a veth pair; the target answers
# for all of 198.18.0.0/16 (AnyIP) with a listener on 80 and none on 9999.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"

s=$(lab_ns scan)
t=$(lab_ns any)
lab_link "$s" 198.19.250.1/24 "$t" 198.19.250.2/24
lab_anyip "$t" 198.18.0.0/16
lab_route "$s" 198.18.0.0/16 198.19.250.2
ip netns exec "$t" sysctl -qw net.core.somaxconn=65535
ip netns exec "$t" sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
lab_spawn "$t" python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80))
s.listen(65535)
while True:
    time.sleep(3600)
' >/dev/null
lab_wait_listen "$t" tcp 80

db="$LAB_TMP/sweep.db"
scan() { # SWEEP [--shard I/N]
	local sweep=$1
	shift
	lab_exec "$s" "$PORTCENSUS" scan --syn --rate 0 --timeout 500 --retries 3 --cooldown 500 \
		-p 80,9999 --db "$db" --sweep-id "$sweep" --format json -o /dev/null "$@" \
		198.18.0.0/16 || lab_fail "scan $sweep $* failed"
}
for i in 1 2 3 4; do
	scan sharded --shard "$i/4"
done
scan whole
"$PORTCENSUS" fleet sweep sharded --db "$db" --format json >"$LAB_TMP/sharded.json" ||
	lab_fail "fleet sweep sharded"
"$PORTCENSUS" fleet sweep whole --db "$db" --format json >"$LAB_TMP/whole.json" ||
	lab_fail "fleet sweep whole"
python3 - "$LAB_TMP/sharded.json" "$LAB_TMP/whole.json" <<'PY' || lab_fail "the shards are not the whole sweep"
import json, sys
sh = json.load(open(sys.argv[1]))
wh = json.load(open(sys.argv[2]))
key = lambda e: (e["address"], e["port"], e["proto"], e["state"])
opens = [e for e in wh if e["state"] == "open"]
assert len(opens) == 65536 and all(e["port"] == 80 for e in opens), len(opens)
assert sorted(map(key, sh)) == sorted(map(key, wh)), (len(sh), len(wh))
assert all(e["shards"] == 1 for e in sh), [e for e in sh if e["shards"] != 1][:3]
PY
echo "fleet_sweep: ok"
