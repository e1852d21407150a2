#!/usr/bin/env bash
# listeners.sh - `portcensus listeners` against `ss`, in an isolated lab.
#
# Inside lab_isolate (own pid, net and mount namespaces, so only this
# test's processes and namespaces exist), three named namespaces plus the
# test's own hold listeners on IPv4 and IPv6, TCP and UDP, loopback, any and
# specific addresses, and one TCP socket shared by a parent and two
# children (listener.py with FORKS=2). Two connections cross namespaces.
#
# Oracles, namespace by namespace:
# - `ss -Hltnup`: the same set of (netns, proto, address, port, pids) as
#   `portcensus listeners --format json`, and the same again from the
#   /proc/net fallback (`--proc`);
# - `ss -Htnp state established`: the same (netns, local, peer, pids) as
#   `--established`;
# - the shared socket lists exactly its three pids; bind scopes and
#   netns.inode are what the addresses and /run/netns say;
# - jsonl has one line per endpoint, csv one row per endpoint, the table
#   runs; `--own-netns` shows only the test's own namespace; `help
#   listeners` prints the usage; a bad option exits 2.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"
CMP="$(dirname "$0")/listeners_compare.py"

a=$(lab_ns a)
b=$(lab_ns b)
c=$(lab_ns c)
lab_link "$a" 198.18.0.1/24 "$b" 198.18.0.2/24 fd00:198:18::1/64 fd00:198:18::2/64
lab_link "$b" 198.18.1.1/24 "$c" 198.18.1.2/24 fd00:198:18:1::1/64 fd00:198:18:1::2/64
sleep 0.3 # IPv6 addresses are usable once DAD is off (nodad) and links are up

lab_listener "$a" tcp 127.0.0.1 8080 2 >/dev/null # shared by parent + 2 children
lab_listener "$a" tcp 198.18.0.1 80 >/dev/null
lab_listener "$a" udp 0.0.0.0 53 >/dev/null
lab_listener "$a" tcp :: 8443 >/dev/null
lab_listener "$b" tcp 0.0.0.0 22 >/dev/null
lab_listener "$b" udp fd00:198:18::2 5353 >/dev/null
lab_listener "$b" tcp ::1 6379 >/dev/null
lab_listener "$b" udp 127.0.0.1 11211 >/dev/null
lab_listener "$c" tcp 198.18.1.2 5432 >/dev/null
lab_listener "$c" tcp fd00:198:18:1::2 443 >/dev/null
lab_listener "$c" udp :: 161 >/dev/null
# and one in the test's own namespace (netns.name null)
python3 "$LAB_DIR/listener.py" tcp 127.0.0.1 9999 </dev/null >/dev/null 2>&1 &
lab_track $!
for spec in "$a tcp 8080" "$a tcp 80" "$a udp 53" "$a tcp 8443" "$b tcp 22" "$b udp 5353" \
	"$b tcp 6379" "$b udp 11211" "$c tcp 5432" "$c tcp 443" "$c udp 161"; do
	# shellcheck disable=SC2086
	lab_wait_listen $spec
done
for ((i = 0; i < 100; i++)); do
	ss -Hltn 'sport = :9999' | grep -q . && break
	sleep 0.05
done

# connections across namespaces, held open by both ends
cat >"$LAB_TMP/client.py" <<'PY'
import os, signal, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port))
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(3600)
PY
lab_spawn "$b" python3 "$LAB_TMP/client.py" 198.18.0.1 80 >/dev/null
lab_spawn "$b" python3 "$LAB_TMP/client.py" fd00:198:18:1::2 443 >/dev/null
for ((i = 0; i < 100; i++)); do
	n=$( (ip netns exec "$a" ss -Htnp state established; ip netns exec "$c" ss -Htnp state established) |
		grep -c 'pid=')
	[ "$n" -ge 2 ] && break
	sleep 0.05
done

out=$LAB_TMP/out
mkdir -p "$out/listen" "$out/est"
snap() { # snap DIR: the oracle, one file per namespace
	ss -Hltnup >"$1/listen/-"
	ss -Htnp state established >"$1/est/-"
	for ns in "$a" "$b" "$c"; do
		ip netns exec "$ns" ss -Hltnup >"$1/listen/$ns"
		ip netns exec "$ns" ss -Htnp state established >"$1/est/$ns"
	done
}
snap "$out"

"$PORTCENSUS" listeners --format json >"$out/pc.json" 2>"$out/pc.err" ||
	lab_fail "listeners exited $? ($(cat "$out/pc.err"))"
python3 "$CMP" listen "$out/pc.json" "$out/listen" || exit 1
"$PORTCENSUS" listeners --proc --format json >"$out/proc.json" 2>"$out/proc.err" ||
	lab_fail "listeners --proc exited $? ($(cat "$out/proc.err"))"
python3 "$CMP" listen "$out/proc.json" "$out/listen" || exit 1
"$PORTCENSUS" listeners --established --format json >"$out/est.json" ||
	lab_fail "listeners --established failed"
python3 "$CMP" established "$out/est.json" "$out/est" || exit 1
python3 "$CMP" listen "$out/est.json" "$out/listen" || exit 1
"$PORTCENSUS" listeners --established --proc --format json >"$out/estproc.json" ||
	lab_fail "listeners --established --proc failed"
python3 "$CMP" established "$out/estproc.json" "$out/est" || exit 1
"$PORTCENSUS" listeners --no-owners --format json >"$out/noown.json" ||
	lab_fail "listeners --no-owners failed"
python3 "$CMP" listen "$out/noown.json" "$out/listen" --no-pids || exit 1
python3 "$CMP" listen "$out/noown.json" "$out/listen" >/dev/null && lab_fail "the comparison cannot tell missing owners"

# what the oracle cannot see: exact owners of the shared socket, bind
# scopes, namespace inodes and names, no warnings as root, the JSON contract
python3 - "$out/pc.json" "$a" "$b" "$c" <<'PY' || exit 1
import json, os, sys
doc = json.load(open(sys.argv[1]))
names = sys.argv[2:]
eps = doc["endpoints"]
def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)
if doc["snapshot"]["warnings"]:
    fail("warnings as root: %r" % doc["snapshot"]["warnings"])
shared = [e for e in eps if e["port"] == 8080 and e["proto"] == "tcp"]
if len(shared) != 1 or len(shared[0]["owners"]) != 3:
    fail("the shared socket should have 3 owners: %r" % shared)
pids = [o["pid"] for o in shared[0]["owners"]]
if pids != sorted(pids) or len(set(pids)) != 3:
    fail("owners not 3 distinct pids in order: %r" % pids)
for o in shared[0]["owners"]:
    if o["comm"] != "python3" or o["uid"] != 0 or o["user"] != "root" or not o["exe"]:
        fail("owner fields: %r" % o)
want_bind = {8080: "loopback", 80: "specific", 53: "any", 8443: "any", 22: "any",
             5353: "specific", 6379: "loopback", 11211: "loopback", 5432: "specific",
             443: "specific", 161: "any", 9999: "loopback"}
for e in eps:
    if e["bind"] != want_bind.get(e["port"]):
        fail("bind of %s:%d is %s" % (e["address"], e["port"], e["bind"]))
    if e["source"] != "host" or e["state"] != "listen" or e["peer"] is not None:
        fail("endpoint fields: %r" % e)
for name in names:
    ino = os.stat("/run/netns/" + name).st_ino
    got = {e["netns"]["inode"] for e in eps if e["netns"]["name"] == name}
    if got != {ino}:
        fail("netns %s: inode %r, /run/netns says %d" % (name, got, ino))
own = {e["netns"]["inode"] for e in eps if e["netns"]["name"] is None}
if own != {os.stat("/proc/self/ns/net").st_ino}:
    fail("own namespace inode %r" % own)
if len(eps) != 12:
    fail("expected 12 listeners, got %d" % len(eps))
print("ok: owners, bind scopes, namespaces")
PY

# the other formats carry the same endpoints
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["endpoints"]))' "$out/pc.json")
"$PORTCENSUS" listeners --format jsonl >"$out/pc.jsonl" || lab_fail "jsonl failed"
lab_assert_eq "jsonl lines" "$n" "$(wc -l <"$out/pc.jsonl")"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$out/pc.jsonl" ||
	lab_fail "jsonl is not JSON lines"
"$PORTCENSUS" listeners --format csv >"$out/pc.csv" || lab_fail "csv failed"
lab_assert_eq "csv rows" "$n" "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1])))) - 1)' "$out/pc.csv")"
"$PORTCENSUS" listeners >"$out/pc.txt" || lab_fail "table failed"
grep -q "8080" "$out/pc.txt" || lab_fail "table lacks 8080"
"$PORTCENSUS" listeners --format json -o "$out/file.json" || lab_fail "-o failed"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out/file.json" || lab_fail "-o output"

# --own-netns: only the test's own namespace (port 9999)
"$PORTCENSUS" listeners --own-netns --format json >"$out/own.json" || lab_fail "--own-netns failed"
lab_assert_eq "own-netns ports" "9999" \
	"$(python3 -c 'import json,sys; print(" ".join(str(e["port"]) for e in json.load(open(sys.argv[1]))["endpoints"]))' "$out/own.json")"

"$PORTCENSUS" help listeners | grep -q -- "--established" || lab_fail "help listeners"
"$PORTCENSUS" listeners --bogus >/dev/null 2>&1
lab_assert_eq "exit code of a bad option" 2 $?
"$PORTCENSUS" listeners extra >/dev/null 2>&1
lab_assert_eq "exit code of an argument" 2 $?
echo "ok: listeners"
