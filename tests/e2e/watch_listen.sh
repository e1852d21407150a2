#!/usr/bin/env bash
# watch_listen.sh - the fast host watch (pc_watch_listeners, through
# bench/watch/watch_driver) inside lab_isolate: what listens before it
# starts is the baseline (not reported); a TCP listener in a namespace made
# with `ip netns add` after the start, a UDP socket in a namespace that only
# a process holds (unshare --net, no /run/netns name) and a second listener
# in a namespace already watched are each reported within 1 s of listen(),
# naming the owning pid and command, and as a new_listener alert.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
[ -x "${WATCH_DRIVER:-}" ] || lab_fail "WATCH_DRIVER not set (run through meson test)"
command -v python3 >/dev/null || lab_fail "needs python3"
here=$(cd "$(dirname "$0")" && pwd)
listen_at=$here/../../bench/watch/listen_at.py

old=$(lab_ns old)
lab_listener "$old" tcp 0.0.0.0 2222 >/dev/null
lab_wait_listen "$old" tcp 2222

out=$LAB_TMP/watch.out
"$WATCH_DRIVER" -j >"$out" 2>"$LAB_TMP/watch.err" &
wpid=$!
lab_track "$wpid"
for _ in $(seq 100); do grep -q '^READY' "$out" && break; sleep 0.05; done
grep -q '^READY' "$out" || lab_fail "watch did not start: $(cat "$LAB_TMP/watch.err")"
sleep 0.6 # one pass at least: the baseline

# 1. a namespace born after the start, a TCP listener in it
new=$(lab_ns new)
lab_anyip "$new" 198.18.0.0/24
lab_spawn "$new" python3 "$listen_at" tcp 198.18.0.1 6379 1 0 0 >/dev/null
# 2. a namespace only a process holds, a UDP socket in it
unshare --net python3 "$listen_at" udp 0.0.0.0 5353 1 0.2 0.2 </dev/null >>"$LAB_TMP/spawn.log" 2>&1 &
lab_track $!
# 3. a new listener where the watch already looks
lab_spawn "$old" python3 "$listen_at" tcp :: 8080 1 0.4 0.4 >/dev/null

check() { # PROTO PORT NSNAME(or -)
	local proto=$1 port=$2 ns=$3 line ev lt pid i
	for i in $(seq 60); do
		line=$(grep "^LISTEN $proto $port " "$LAB_TMP/spawn.log")
		ev=$(grep "^EVENT [0-9.]* $proto .*:$port " "$out")
		[ -n "$line" ] && [ -n "$ev" ] && break
		sleep 0.05
	done
	[ -n "$line" ] || lab_fail "listener $proto/$port did not start: $(cat "$LAB_TMP/spawn.log")"
	[ -n "$ev" ] || lab_fail "no event for $proto/$port: $(cat "$out")"
	lt=$(echo "$line" | awk '{print $4}')
	pid=$(echo "$line" | awk '{print $5}')
	lat=$(echo "$ev" | awk -v l="$lt" '{printf "%d", $2 - l}')
	lab_log "$proto/$port: noticed $lat ms after listen(): $ev"
	[ "$lat" -lt 1000 ] || lab_fail "$proto/$port noticed after $lat ms (bound: 1000)"
	[ "$lat" -ge 0 ] || lab_fail "$proto/$port event before listen? $lat ms"
	echo "$ev" | grep -q " owner=$pid/python3\$" || lab_fail "$proto/$port: owner is not $pid/python3: $ev"
	if [ "$ns" != - ]; then
		echo "$ev" | grep -q " netns=$ns " || lab_fail "$proto/$port: netns not $ns: $ev"
	fi
	# the same event as an alert (jsonl sink): kind, owner pid, port
	grep '^{' "$out" | python3 -c '
import json, sys
port, pid = int(sys.argv[1]), int(sys.argv[2])
for l in sys.stdin:
    a = json.loads(l)
    c = a["change"]
    if c["port"] == port:
        assert a["kind"] == "new_listener", a
        assert c["owners"][0]["pid"] == pid and c["owners"][0]["comm"] == "python3", c
        assert ("owner %d/python3" % pid) in a["text"], a
        sys.exit(0)
sys.exit("no alert for port %d" % port)' "$port" "$pid" || lab_fail "alert for $proto/$port wrong"
}
check tcp 6379 "$new"
check udp 5353 -
check tcp 8080 "$old"

# the baseline listener was not reported; nothing else was
if grep -q ':2222 ' "$out"; then lab_fail "a listener from before the start was reported"; fi
kill -TERM "$wpid"
wait "$wpid" 2>/dev/null
grep '^STATS' "$out" >&2 || lab_fail "watch did not stop cleanly on SIGTERM"
lab_assert_eq "events" 3 "$(grep -c '^EVENT' "$out")"
echo "PASS watch_listen"
