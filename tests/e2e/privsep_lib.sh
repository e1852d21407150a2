# privsep_lib.sh - helpers of the privsep lab tests (sourced, not a test).

# privsep_holders NS FILTER...: pids of the processes holding the sockets
# that `ss -H FILTER...` lists in NS (from its users:(...) column)
privsep_holders() {
	local ns=$1
	shift
	ip netns exec "$ns" ss -H -p "$@" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

# privsep_wait_holder NS FILTER...: the first pid holding such a socket,
# waiting up to 5 s for one to appear
privsep_wait_holder() {
	local p
	for _ in $(seq 100); do
		p=$(privsep_holders "$@" | head -1)
		[ -n "$p" ] && { printf '%s\n' "$p"; return 0; }
		sleep 0.05
	done
	return 1
}

# privsep_assert_confined WHAT PID UID MAIN_PID: PID is the probe worker
# (a child of the portcensus process MAIN_PID started: MAIN_PID itself, or
# its child when `ip netns exec` forks) and is confined: no effective,
# permitted or bounding capability, every uid UID (non-zero), no_new_privs,
# a seccomp filter
privsep_assert_confined() {
	local what=$1 pid=$2 uid=$3 main=$4 st ppid
	[ "$pid" != "$main" ] || lab_fail "$what: the privileged process $main holds the socket"
	st=$(cat "/proc/$pid/status" 2>/dev/null) || lab_fail "$what: no /proc/$pid/status"
	lab_log "$what: pid $pid: $(grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' <<<"$st" | tr '\t\n' '  ')"
	ppid=$(awk '/^PPid:/ {print $2}' <<<"$st")
	[ "$ppid" = "$main" ] || [ "$(awk '/^PPid:/ {print $2}' "/proc/$ppid/status")" = "$main" ] ||
		lab_fail "$what: pid $pid is not a child of the portcensus run $main"
	lab_assert_eq "$what: parent's name" portcensus "$(cat "/proc/$ppid/comm")"
	lab_assert_eq "$what: CapEff" 0000000000000000 "$(awk '/^CapEff:/ {print $2}' <<<"$st")"
	lab_assert_eq "$what: CapPrm" 0000000000000000 "$(awk '/^CapPrm:/ {print $2}' <<<"$st")"
	lab_assert_eq "$what: CapBnd" 0000000000000000 "$(awk '/^CapBnd:/ {print $2}' <<<"$st")"
	lab_assert_eq "$what: Uid (real, effective, saved, fs)" "$uid $uid $uid $uid" \
		"$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$st")"
	[ "$uid" != 0 ] || lab_fail "$what: the worker runs as root"
	lab_assert_eq "$what: NoNewPrivs" 1 "$(awk '/^NoNewPrivs:/ {print $2}' <<<"$st")"
	lab_assert_eq "$what: Seccomp (2 = filter)" 2 "$(awk '/^Seccomp:/ {print $2}' <<<"$st")"
	# no file, no namespace: above stdio only sockets, epoll and pipes
	# (the report being written, -o, stays with the privileged process)
	local fd target files=""
	for fd in /proc/"$pid"/fd/*; do
		[ "${fd##*/}" -gt 2 ] || continue
		target=$(readlink "$fd") || continue
		case "$target" in socket:* | anon_inode:* | pipe:*) ;; *) files+="$target " ;; esac
	done
	lab_assert_eq "$what: files or namespaces held by the worker" "" "$files"
	lab_assert_eq "$what: stdout" /dev/null "$(readlink "/proc/$pid/fd/1")"
}

# privsep_silent NS PORT: a TCP listener on 0.0.0.0:PORT that accepts and
# never says a word, so a probe waits on it until its deadline
privsep_silent() {
	lab_spawn "$1" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)' "$2" >/dev/null
	lab_wait_listen "$1" tcp "$2"
}
