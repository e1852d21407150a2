#!/usr/bin/env bash
# privsep_audit.sh - `portcensus audit` reads the network only in a
# confined worker.
#
# In an isolated lab (lab_isolate), namespace a has a listener that accepts
# and never answers, so the probe waits on it. While it waits, the process
# that holds the probe's socket (found with ss -tnp in a) must be the
# worker: a child of the audit process, with no capability, uid nobody,
# no_new_privs and a seccomp filter. The socket was made by the privileged
# parent inside namespace a and passed over; the parent must not hold it.
# The audit must still end well: the listener checked and reachable.
set -u
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/privsep_lib.sh"
lab_isolate "$@"
lab_init

a=$(lab_ns a)
privsep_silent "$a" 7001
nobody=$(id -u nobody) || lab_skip "needs a user named nobody"

"$PORTCENSUS" audit --format json --timeout 1500 >"$LAB_TMP/out.json" 2>"$LAB_TMP/err" &
main=$!
lab_track "$main"
holder=$(privsep_wait_holder "$a" -tn state established "dport = :7001") ||
	lab_fail "no process holds a connection to the silent listener"
privsep_assert_confined "audit probe worker" "$holder" "$nobody" "$main"
wait "$main" || lab_fail "audit exited $?: $(cat "$LAB_TMP/err")"

python3 - "$LAB_TMP/out.json" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
eps = [e for e in doc["endpoints"] if e["port"] == 7001 and e["proto"] == "tcp"]
assert len(eps) == 1, eps
v = eps[0].get("verified") or {}
assert v.get("reachable") is True, eps[0]
PY
echo "ok: audit's live check and probes run in a confined worker (no caps, uid nobody, no_new_privs, seccomp)"
