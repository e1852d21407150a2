#!/usr/bin/env bash
# privsep_verify.sh - `portcensus verify` re-checks in a confined worker,
# as the user --privsep-user names.
#
# Namespace c runs verify; namespace s has a listener that accepts and
# never answers. While a probe waits on it, the process holding the
# connection in c (ss -tnp) must be the worker: a child of verify, no
# capability, the uid of --privsep-user (daemon here, nobody by default),
# no_new_privs, a seccomp filter. The verdict must still be "confirmed".
# An unknown --privsep-user is a usage error (exit 2) that names the user.
set -u
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/privsep_lib.sh"
lab_init

c=$(lab_ns c)
s=$(lab_ns s)
lab_link "$c" 198.18.31.1/24 "$s" 198.18.31.2/24
privsep_silent "$s" 7002
printf '#masscan\nopen tcp 7002 198.18.31.2 1700000000\n# end\n' >"$LAB_TMP/claims.txt"

check() {
	local user=$1 uid=$2
	shift 2
	ip netns exec "$c" "$PORTCENSUS" "$@" verify --format json --probe-timeout 1500 \
		-o "$LAB_TMP/out.json" "$LAB_TMP/claims.txt" 2>"$LAB_TMP/err" &
	local main=$!
	lab_track "$main"
	local holder
	holder=$(privsep_wait_holder "$c" -tn state established "dport = :7002") ||
		lab_fail "no process holds the re-check's connection"
	privsep_assert_confined "verify worker ($user)" "$holder" "$uid" "$main"
	wait "$main" || lab_fail "verify exited $?: $(cat "$LAB_TMP/err")"
	python3 - "$LAB_TMP/out.json" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
eps = doc["endpoints"]
assert len(eps) == 1 and eps[0]["recheck"]["status"] == "confirmed", eps
PY
}
check nobody "$(id -u nobody)"
id -u daemon >/dev/null 2>&1 || lab_skip "needs a user named daemon"
check daemon "$(id -u daemon)" --privsep-user daemon

msg=$(lab_exec "$c" "$PORTCENSUS" --privsep-user pc-no-such-user verify "$LAB_TMP/claims.txt" 2>&1)
rc=$?
lab_assert_eq "unknown --privsep-user: exit" 2 "$rc"
grep -q "no user 'pc-no-such-user'" <<<"$msg" || lab_fail "unknown --privsep-user: unclear message: $msg"
echo "ok: verify re-checks in a confined worker, as --privsep-user"
