#!/usr/bin/env bash
# listeners_fallback.sh - the /proc/net fallback when the kernel has no
# NETLINK_SOCK_DIAG, taken on its own (not forced with --proc).
#
# A kernel without sock_diag is simulated for portcensus alone: an
# LD_PRELOAD shim, compiled here, makes socket(AF_NETLINK, ...,
# NETLINK_SOCK_DIAG) fail with EPROTONOSUPPORT, as a kernel built without
# it does. (`ss`, the oracle, runs without the shim.) In an isolated lab of
# two named namespaces plus the test's own, with TCP and UDP listeners on
# IPv4 and IPv6, a shared socket and two connections, portcensus must:
# - exit 0 and say once that it read /proc/net instead;
# - give exactly what `ss -Hltnup` and `ss -Htnp state established` give in
#   every namespace, pids included;
# - and prove the shim bit: with it, the netlink path must not have been
#   used (the warning), without it there is no warning.
# A second shim refuses only the legacy TCPDIAG_GETSOCK request (both TCP
# families in one dump), as an older or stripped kernel might: portcensus
# must fall back to one dump per family and give the same sets, silently.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
CC=${CC:-cc}
command -v "$CC" >/dev/null || lab_skip "needs a C compiler for the LD_PRELOAD shim"
CMP="$(dirname "$0")/listeners_compare.py"

cat >"$LAB_TMP/nodiag.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#ifdef NO_SOCK_DIAG
/* a kernel without NETLINK_SOCK_DIAG */
int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);
	if (domain == AF_NETLINK && protocol == NETLINK_SOCK_DIAG) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	if (!real)
		real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	return real(domain, type, protocol);
}
#else
/* a kernel without the legacy both-families request (TCPDIAG_GETSOCK):
 * the kernel would answer EINVAL; refusing to send it is the same to us */
ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
	       socklen_t tolen)
{
	static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	struct nlmsghdr h;
	if (len >= sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		if (h.nlmsg_type == 18) {
			errno = EINVAL;
			return -1;
		}
	}
	if (!real)
		real = (ssize_t(*)(int, const void *, size_t, int, const struct sockaddr *,
				   socklen_t))dlsym(RTLD_NEXT, "sendto");
	return real(fd, buf, len, flags, to, tolen);
}
#endif
C
"$CC" -shared -fPIC -O2 -DNO_SOCK_DIAG -o "$LAB_TMP/nodiag.so" "$LAB_TMP/nodiag.c" -ldl ||
	lab_fail "cannot build the shim"
"$CC" -shared -fPIC -O2 -o "$LAB_TMP/nocompat.so" "$LAB_TMP/nodiag.c" -ldl ||
	lab_fail "cannot build the second shim"

a=$(lab_ns a)
b=$(lab_ns b)
lab_link "$a" 198.18.4.1/24 "$b" 198.18.4.2/24 fd00:198:18:4::1/64 fd00:198:18:4::2/64
sleep 0.3
lab_listener "$a" tcp 0.0.0.0 80 2 >/dev/null
lab_listener "$a" udp 198.18.4.1 53 >/dev/null
lab_listener "$a" tcp fd00:198:18:4::1 443 >/dev/null
lab_listener "$b" udp :: 5353 >/dev/null
lab_listener "$b" tcp 127.0.0.1 6379 >/dev/null
python3 "$LAB_DIR/listener.py" tcp ::1 9999 </dev/null >/dev/null 2>&1 &
lab_track $!
for spec in "$a tcp 80" "$a udp 53" "$a tcp 443" "$b udp 5353" "$b tcp 6379"; do
	# shellcheck disable=SC2086
	lab_wait_listen $spec
done
for ((i = 0; i < 100; i++)); do
	ss -Hltn 'sport = :9999' | grep -q . && break
	sleep 0.05
done
cat >"$LAB_TMP/client.py" <<'PY'
import os, signal, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(3600)
PY
lab_spawn "$b" python3 "$LAB_TMP/client.py" 198.18.4.1 80 >/dev/null
lab_spawn "$b" python3 "$LAB_TMP/client.py" fd00:198:18:4::1 443 >/dev/null
for ((i = 0; i < 100; i++)); do
	[ "$(ip netns exec "$a" ss -Htnp state established | grep -c pid=)" -ge 2 ] && break
	sleep 0.05
done

out=$LAB_TMP/out
mkdir -p "$out/listen" "$out/est"
ss -Hltnup >"$out/listen/-"
ss -Htnp state established >"$out/est/-"
for ns in "$a" "$b"; do
	ip netns exec "$ns" ss -Hltnup >"$out/listen/$ns"
	ip netns exec "$ns" ss -Htnp state established >"$out/est/$ns"
done

# an ASan build wants its runtime first; the shim only wraps socket()
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	LD_PRELOAD="$LAB_TMP/nodiag.so" "$PORTCENSUS" listeners --established --format json \
	>"$out/pc.json" 2>"$out/pc.err" || lab_fail "listeners exited $?: $(cat "$out/pc.err")"
python3 "$CMP" listen "$out/pc.json" "$out/listen" || exit 1
python3 "$CMP" established "$out/pc.json" "$out/est" || exit 1
python3 - "$out/pc.json" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["snapshot"]["warnings"]
if len(w) != 1 or "/proc/net" not in w[0] or "NETLINK_SOCK_DIAG" not in w[0]:
    print("FAIL: expected one warning about the /proc/net fallback, got %r" % w)
    sys.exit(1)
print("ok: warning:", w[0])
PY
# without TCPDIAG_GETSOCK: one TCP dump per family instead, same result,
# nothing to say
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	LD_PRELOAD="$LAB_TMP/nocompat.so" "$PORTCENSUS" listeners --established --format json \
	>"$out/nocompat.json" 2>"$out/nocompat.err" ||
	lab_fail "listeners without TCPDIAG_GETSOCK exited $?: $(cat "$out/nocompat.err")"
python3 "$CMP" listen "$out/nocompat.json" "$out/listen" || exit 1
python3 "$CMP" established "$out/nocompat.json" "$out/est" || exit 1
python3 -c 'import json,sys; w=json.load(open(sys.argv[1]))["snapshot"]["warnings"]; sys.exit(1 if w else 0)' \
	"$out/nocompat.json" || lab_fail "warnings without TCPDIAG_GETSOCK: $(cat "$out/nocompat.json")"

# without the shim, netlink is used and nothing is said
"$PORTCENSUS" listeners --format json >"$out/nl.json" || lab_fail "listeners failed"
python3 -c 'import json,sys; w=json.load(open(sys.argv[1]))["snapshot"]["warnings"]; sys.exit(1 if w else 0)' \
	"$out/nl.json" || lab_fail "warnings without the shim: $(cat "$out/nl.json")"
python3 "$CMP" listen "$out/nl.json" "$out/listen" || exit 1
echo "ok: listeners fallback"
