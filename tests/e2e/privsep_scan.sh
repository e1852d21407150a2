#!/usr/bin/env bash
# privsep_scan.sh - `portcensus scan --syn` parses replies only in a
# confined worker.
#
# The privileged process opens the raw and packet sockets, forks the
# worker and closes them. While a scan waits on a dropped port, every
# process holding a packet or raw socket in the scanner's namespace (ss -0p,
# ss -wp) must be the worker: a child of the scan, no capability, uid
# nobody, no_new_privs, a seccomp filter; and the scan process itself must
# hold none. The scan must still report the open port exactly.
set -u
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/privsep_lib.sh"
lab_init

s=$(lab_ns s)
t=$(lab_ns t)
lab_link "$s" 198.18.32.1/24 "$t" 198.18.32.2/24
lab_listener "$t" tcp 198.18.32.2 80 >/dev/null
lab_wait_listen "$t" tcp 80
lab_drop "$t" tcp 9000
nobody=$(id -u nobody)

ip netns exec "$s" "$PORTCENSUS" scan --syn --format json --timeout 3000 --retries 0 \
	-o "$LAB_TMP/out.json" -p 80,9000 198.18.32.2 2>"$LAB_TMP/err" &
main=$!
lab_track "$main"
# the parent opens the sockets, forks, then closes its copies: wait (5 s at
# most) for the moment only one process holds them, and it is not the scan
# process itself
holders=""
for _ in $(seq 100); do
	holders=$( (privsep_holders "$s" -0; privsep_holders "$s" -w) | sort -u)
	[ -n "$holders" ] && [ "$(wc -l <<<"$holders")" = 1 ] && [ "$holders" != "$main" ] && break
	sleep 0.05
done
[ -n "$holders" ] || lab_fail "no process holds a packet or raw socket"
lab_assert_eq "processes holding packet and raw sockets" 1 "$(wc -l <<<"$holders")"
privsep_assert_confined "syn scan worker" "$holders" "$nobody" "$main"
wait "$main" || lab_fail "scan exited $?: $(cat "$LAB_TMP/err")"
open=$(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print(" ".join("%s %d %s" % (e["address"], e["port"], e["state"]) for e in doc["endpoints"]))' \
	"$LAB_TMP/out.json")
lab_assert_eq "syn scan result" "198.18.32.2 80 open" "$open"
echo "ok: the SYN engine's replies are parsed in a confined worker; the scan process holds no raw socket"
