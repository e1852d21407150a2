#!/usr/bin/env bash
# probe_hostile.sh - the probe engine against a hostile host (tests/lab/hostile.py
# in a lab namespace): an endless banner, a one-byte-per-second trickle, a
# silent accept, an immediate reset, NULs, ANSI escapes, <script>, invalid
# UTF-8, a TLS server with a garbage certificate, an HTTP answer with escapes
# in its headers and title, a fake Redis whose INFO never ends, and an
# endless multi-line greeting.
#
# Asserts: every endpoint is done within the engine's budget (6 exchanges of
# -t each); the garbage certificate is reported as TLS; the byte cap holds
# (the sum of recv() calls on the endless ports, traced, is <= 64 KiB); every
# output format stays valid (json/jsonl parse, csv parses, table and csv
# are valid UTF-8 with no C0, DEL, C1, bidi or line-separator character,
# nmap-xml validates); every tool it needs is required (a missing one is a
# failure, not a skip); 1,008 hostile
# connections at once keep the peak RSS (VmHWM) under 64 MiB (320 MiB in an
# ASan build, whose quarantine and redzones inflate it).
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_init
: "${PROBE_DRIVER:?PROBE_DRIVER must point to the test-only probe_driver}"
# every tool this test needs is required: a missing one fails the test
# rather than skipping a check silently
for tool in python3 xmllint strace; do
	command -v $tool >/dev/null || lab_fail "needs $tool (run scripts/deps)"
done
[ -f /usr/share/nmap/nmap.dtd ] || lab_fail "needs nmap's DTD /usr/share/nmap/nmap.dtd (run scripts/deps)"

a=$(lab_ns cli)
b=$(lab_ns evil)
lab_link "$a" 198.18.7.1/24 "$b" 198.18.7.2/24
BASE=7100
N=12
pid=$(lab_spawn "$b" python3 "$LAB_DIR/hostile.py" 198.18.7.2 $BASE)
for ((i = 0; i < N; i++)); do lab_wait_listen "$b" tcp $((BASE + i)); done

eps=()
for ((i = 0; i < N; i++)); do eps+=("tcp:198.18.7.2:$((BASE + i))"); done

T=1000
out=$LAB_TMP/out
mkdir -p "$out"

# 1. one pass, every format, within the budget
start=$(date +%s%N)
lab_exec "$a" "$PROBE_DRIVER" -t $T -f json "${eps[@]}" >"$out/all.json" ||
	lab_fail "probe_driver failed (json)"
ms=$((($(date +%s%N) - start) / 1000000))
lab_log "one pass over $N hostile ports: ${ms} ms (budget per endpoint $((6 * T)) ms)"
[ "$ms" -le $((6 * T + 2500)) ] || lab_fail "probing took ${ms} ms, over the budget"

python3 - "$out/all.json" $BASE <<'PY' || lab_fail "json checks"
import json, sys
doc = json.load(open(sys.argv[1]))
base = int(sys.argv[2])
eps = {e["port"] - base: e for e in doc["endpoints"]}
assert len(eps) == 12, f"expected 12 endpoints, got {len(eps)}"
def svc(i):
    return eps[i].get("service")
# reset and silent: nothing identified
assert svc(3) is None, f"reset port has a service: {svc(3)}"
assert svc(2) is None, f"silent port has a service: {svc(2)}"
# garbage certificate: still TLS
s = svc(8)
assert s and s["name"] == "tls" and s["tls"] is True, f"garbage TLS: {s}"
# the hostile HTTP answer is HTTP with a cleaned title
s = svc(9)
assert s and s["name"].startswith("http"), f"hostile http: {s}"
# the fake Redis is cut by the byte cap and still named
s = svc(10)
assert s and s["name"] == "redis", f"fake redis: {s}"
# no control character (C0, DEL, C1) in any string a probe produced; valid
# UTF-8 may stay, broken bytes must not (json.load would have refused them
# only if the writer let them through unescaped)
def walk(v):
    if isinstance(v, dict):
        for x in v.values(): walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
    elif isinstance(v, str):
        for ch in v:
            o = ord(ch)
            assert o >= 0x20 and o != 0x7f and not (0x80 <= o < 0xa0) and ch != "\ufffd", \
                f"control or replacement character {ch!r} in {v!r}"
for e in doc["endpoints"]:
    walk(e.get("service"))
print("json ok:", {k: (v.get("service") or {}).get("name") for k, v in sorted(eps.items())})
PY

lab_exec "$a" "$PROBE_DRIVER" -t $T -f jsonl "${eps[@]}" >"$out/all.jsonl" || lab_fail "jsonl"
python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    json.loads(line); n += 1
assert n >= 12, n
' "$out/all.jsonl" || lab_fail "jsonl does not parse"
lab_exec "$a" "$PROBE_DRIVER" -t $T -f csv "${eps[@]}" >"$out/all.csv" || lab_fail "csv"
python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len(rows) >= 13, len(rows)
' "$out/all.csv" || lab_fail "csv does not parse"
lab_exec "$a" "$PROBE_DRIVER" -t $T -f table "${eps[@]}" >"$out/all.table" || lab_fail "table"
# table and csv are for terminals and spreadsheets: valid UTF-8 with no C0
# (but the line end), DEL, C1, bidi override or isolate, or line separator
python3 - "$out/all.table" "$out/all.csv" <<'PY' || lab_fail "a control or bidi character reached the table or csv"
import sys
bad = set(range(0x20)) - {0x0a} | set(range(0x7f, 0xa0)) | set(range(0x202a, 0x202f)) \
    | set(range(0x2066, 0x206a)) | {0x2028, 0x2029, 0x200e, 0x200f, 0x061c}
for path in sys.argv[1:]:
    raw = open(path, "rb").read()
    text = raw.decode("utf-8")  # raises on invalid UTF-8
    for i, ch in enumerate(text):
        assert ord(ch) not in bad, f"{path}: U+{ord(ch):04X} at {i}: {text[max(0, i - 40):i + 10]!r}"
    print(path, "clean,", len(raw), "bytes")
PY
lab_exec "$a" "$PROBE_DRIVER" -t $T -f nmap-xml "${eps[@]}" >"$out/all.xml" ||
	lab_fail "nmap-xml output failed"
xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd "$out/all.xml" ||
	lab_fail "nmap-xml does not validate"
lab_log "nmap-xml validates against nmap.dtd"

# 2. the byte cap: everything recv()'d from one endless endpoint <= 64 KiB
for port in $BASE $((BASE + 10)) $((BASE + 11)) $((BASE + 4)); do
	# LeakSanitizer cannot run under ptrace (ASan builds)
	lab_exec "$a" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -e trace=recvfrom -o "$out/trace.$port" \
		"$PROBE_DRIVER" -t $T -f json "tcp:198.18.7.2:$port" >/dev/null ||
		lab_fail "probe_driver under strace"
	total=$(grep -oE '= [0-9]+$' "$out/trace.$port" | awk '{s += $2} END {print s + 0}')
	lab_log "port $port: $total bytes read"
	[ "$total" -le 65536 ] || lab_fail "read $total bytes from port $port, cap is 65536"
	[ "$total" -gt 0 ] || [ "$port" -eq $((BASE + 4)) ] || lab_fail "read nothing from $port"
done

# 3. a crowd: 1,008 hostile connections at once, peak memory bounded (all
# on one host, so without the per-host cap on endpoints probed: -C 0)
# ASan keeps freed memory in quarantine and pads every allocation: bound it
# and allow for it, so the check still means "bounded", not "ASan's size"
limit=65536
if ldd "$PROBE_DRIVER" 2>/dev/null | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
	limit=327680
fi
start=$(date +%s%N)
lab_exec "$a" bash -c "ulimit -n 8192; exec \"\$0\" -t $T -P 1008 -H 1008 -C 0 -n 84 -m -f json \"\$@\"" \
	"$PROBE_DRIVER" "${eps[@]}" >"$out/crowd.json" 2>"$out/crowd.err" || lab_fail "crowd run failed"
ms=$((($(date +%s%N) - start) / 1000000))
hwm=$(awk '/VmHWM/ {print $2}' "$out/crowd.err")
lab_exec "$a" "$PROBE_DRIVER" -t $T -m -f json "${eps[@]}" >/dev/null 2>"$out/one.err"
hwm1=$(awk '/VmHWM/ {print $2}' "$out/one.err")
lab_log "1,008 hostile endpoints: ${ms} ms, VmHWM ${hwm} kB (12 endpoints: ${hwm1} kB)"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["endpoints"]) == 1008, len(d["endpoints"])
' "$out/crowd.json" || lab_fail "crowd json"
[ -n "$hwm" ] && [ "$hwm" -le "$limit" ] ||
	lab_fail "VmHWM ${hwm} kB with 1,008 connections (limit $limit kB)"
[ "$ms" -le $((6 * T + 8000)) ] || lab_fail "crowd took ${ms} ms"

echo "PASS: probe engine against the hostile host"
