#!/usr/bin/env bash
# listeners_nonroot.sh - `portcensus listeners` run by an unprivileged user.
#
# Inside lab_isolate: root holds a listener in a named namespace and one in
# the test's own namespace; user nobody holds one in the test's own
# namespace. Run as nobody (setpriv --reuid=nobody --regid=nogroup
# --clear-groups), portcensus must:
# - exit 0 and print valid JSON, through netlink and through --proc;
# - say in one plain warning what it could not read and why;
# - attribute nobody's own listener to nobody's process (pid, comm, user);
# - still list root's listener in its own namespace (sock_diag shows every
#   socket of the namespace), with owners unknown (an empty list);
# - not invent the named namespace's sockets it could not enter.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v setpriv >/dev/null || lab_skip "needs setpriv (util-linux)"
PY3=/usr/bin/python3
[ -x "$PY3" ] || lab_skip "needs /usr/bin/python3"
id nobody >/dev/null 2>&1 || lab_skip "needs user nobody"
nogroup=nogroup
getent group nogroup >/dev/null || nogroup=nobody
asuser() { setpriv --reuid=nobody --regid="$nogroup" --clear-groups "$@"; }

# nobody must be able to run the binary and read the listener script
asuser test -x "$PORTCENSUS" || lab_skip "user nobody cannot execute $PORTCENSUS"
asuser test -r "$LAB_DIR/listener.py" || lab_skip "user nobody cannot read listener.py"

a=$(lab_ns a)
lab_listener "$a" tcp 0.0.0.0 80 >/dev/null
"$PY3" "$LAB_DIR/listener.py" tcp 0.0.0.0 2222 </dev/null >/dev/null 2>&1 &
lab_track $!
# not through asuser: $! must be the listener's pid (setpriv execs it)
setpriv --reuid=nobody --regid="$nogroup" --clear-groups \
	"$PY3" "$LAB_DIR/listener.py" tcp 127.0.0.1 7070 </dev/null >/dev/null 2>&1 &
mine=$!
lab_track "$mine"
lab_wait_listen "$a" tcp 80
for ((i = 0; i < 100; i++)); do
	[ "$(ss -Hltn '( sport = :2222 or sport = :7070 )' | wc -l)" -eq 2 ] && break
	sleep 0.05
done

out=$LAB_TMP/out
mkdir -p "$out"
chmod 777 "$out"
for mode in "" --proc; do
	asuser "$PORTCENSUS" listeners $mode --format json >"$out/pc.json" 2>"$out/pc.err"
	rc=$?
	[ "$rc" -eq 0 ] || lab_fail "listeners $mode as nobody exited $rc: $(cat "$out/pc.err")"
	python3 - "$out/pc.json" "$mine" "$mode" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
mine, mode = int(sys.argv[2]), sys.argv[3]
def fail(msg):
    print("FAIL (%s):" % (mode or "netlink"), msg)
    sys.exit(1)
warnings = doc["snapshot"]["warnings"]
if len(warnings) != 1:
    fail("expected one warning, got %r" % warnings)
w = warnings[0]
for word in ("without root", "namespace", "owners"):
    if word not in w:
        fail("warning does not say %r: %s" % (word, w))
eps = {(e["proto"], e["port"]): e for e in doc["endpoints"]}
own = eps.get(("tcp", 7070))
if not own:
    fail("nobody's own listener is missing")
if [o["pid"] for o in own["owners"]] != [mine]:
    fail("own listener owners %r, want pid %d" % (own["owners"], mine))
o = own["owners"][0]
if o["user"] != "nobody" or o["comm"] != "python3" or o["uid"] in (None, 0):
    fail("own listener owner fields: %r" % o)
root = eps.get(("tcp", 2222))
if not root:
    fail("root's listener in our own namespace is missing")
if root["owners"]:
    fail("root's listener has owners we cannot know: %r" % root["owners"])
if ("tcp", 80) in eps:
    fail("a socket of a namespace we cannot enter was listed: %r" % eps[("tcp", 80)])
print("ok (%s): %d endpoints, warning: %s" % (mode or "netlink", len(eps), w))
PY
done
echo "ok: listeners as nobody"
