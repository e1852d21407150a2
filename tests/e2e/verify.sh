#!/usr/bin/env bash
# verify.sh - `portcensus verify` on real nmap -oX and masscan -oL/-oJ files
# made in the lab, then on the same files after the lab changed under them
# (a listener stopped: closed now; an nftables drop: filtered now), on
# hand-made files that name the wrong service (different service), and on
# malformed files (exit 2 with file:line:col: what is wrong).
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v nmap >/dev/null || lab_skip "needs nmap"
command -v masscan >/dev/null || lab_skip "needs masscan"
command -v redis-server >/dev/null || lab_skip "needs redis-server (scripts/deps)"
. "$LAB_DIR/services.sh"

scan=$(lab_ns scan)
tgt=$(lab_ns tgt)
lab_link "$scan" 198.18.2.1/24 "$tgt" 198.18.2.2/24 fd00:198:18:2::1/64 fd00:198:18:2::2/64
scan_if=$LAB_LAST_IF1
tgt_mac=$(ip netns exec "$tgt" cat "/sys/class/net/$LAB_LAST_IF2/address")
T=198.18.2.2
D=$LAB_TMP

svc_redis "$tgt" $T 6379
lab_listener "$tgt" tcp $T 7001 >/dev/null
p7002=$(lab_listener "$tgt" tcp $T 7002)
lab_listener "$tgt" tcp $T 7003 >/dev/null
lab_listener "$tgt" tcp fd00:198:18:2::2 7006 >/dev/null
lab_listener "$tgt" udp $T 5353 >/dev/null
for p in 6379 7001 7002 7003 7006; do lab_wait_listen "$tgt" tcp $p; done
lab_wait_listen "$tgt" udp 5353

pcv() { ip netns exec "$scan" "$PORTCENSUS" verify --probe-timeout 500 "$@"; }

# verdicts FILE [ARGS]: "PORT STATUS CLAIM" lines from --format json
verdicts() {
	local f=$1
	shift
	pcv --format json "$@" "$f" >"$D/out.json"
	local rc=$?
	python3 - "$D/out.json" <<'EOF' || lab_fail "verify --format json did not parse"
import json, sys
doc = json.load(open(sys.argv[1]))
for e in sorted(doc["endpoints"], key=lambda e: e["port"]):
    r = e["recheck"]
    print(e["port"], r["status"], r["claimed_service"] or "-")
EOF
	return $rc
}

# claims FILE: "PORT CLAIM" for each open port, read from FILE itself with
# Python's parsers (not portcensus's), CLAIM being the service the file
# names ("ssl/" before a name nmap saw inside TLS), or "-". The expected
# verdict tables below are made from this, so the claimed-service column
# is checked against what each file really says.
claims() {
	python3 - "$1" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET
path = sys.argv[1]
text = open(path).read()
out = {}
if text.lstrip().startswith("<"):
    for port in ET.parse(path).getroot().iter("port"):
        st = port.find("state")
        if st is None or st.get("state") != "open":
            continue
        svc = port.find("service")
        name = "-"
        if svc is not None and svc.get("name"):
            name = ("ssl/" if svc.get("tunnel") == "ssl" else "") + svc.get("name")
        out[int(port.get("portid"))] = name
elif text.lstrip().startswith("#masscan") or text.lstrip().startswith("open "):
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "open":
            out[int(f[2])] = "-"
else:
    try:
        doc = json.loads(text)
        records = doc["endpoints"] if isinstance(doc, dict) else doc
    except ValueError:
        records = [json.loads(l) for l in text.splitlines() if l.strip()]
    for r in records:
        if "ports" in r:  # masscan -oJ
            for p in r["ports"]:
                if p.get("status") == "open":
                    out[p["port"]] = (p.get("service") or {}).get("name") or "-"
        elif r.get("state") in ("open", "listen"):
            name = (r.get("service") or {}).get("name") or \
                (r.get("recheck") or {}).get("claimed_service") or "-"
            out[r["port"]] = name
for port in sorted(out):
    print(port, out[port])
EOF
}
# confirmed FILE: the verdicts when every port FILE claims is still open
confirmed() { claims "$1" | sed 's/ / confirmed /'; }

# ---- real peer files, made now, in the lab ----
ports=6379,7001,7002,7003,7004
ip netns exec "$scan" nmap -n -Pn -sT -p$ports $T -oX "$D/nmap.xml" >/dev/null ||
	lab_fail "nmap failed"
mscan() {
	ip netns exec "$scan" masscan $T -p$ports --rate 2000 --wait 1 -e "$scan_if" \
		--adapter-ip 198.18.2.1 --adapter-port 41000 --router-mac "$tgt_mac" "$@" \
		>/dev/null 2>&1 || lab_fail "masscan failed"
}
t1=$SECONDS; mscan -oL "$D/masscan.list"; lab_log "masscan took $((SECONDS - t1)) s"
mscan -oJ "$D/masscan.json"
xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd "$D/nmap.xml" 2>/dev/null ||
	lab_log "note: nmap's own file does not validate against its DTD"

# our own scan, as nmap XML and as JSON Lines
ip netns exec "$scan" "$PORTCENSUS" scan --connect $T -p $ports --format nmap-xml \
	>"$D/ours.xml" || lab_fail "portcensus scan (nmap-xml) failed"
ip netns exec "$scan" "$PORTCENSUS" scan --connect $T -p $ports --format jsonl \
	>"$D/ours.jsonl" || lab_fail "portcensus scan (jsonl) failed"

expect_ports="6379
7001
7002
7003"
# every file must claim exactly the open ports, and nmap's names 6379 from
# its port table: the claimed-service column is exercised, not all "-"
for f in nmap.xml masscan.list masscan.json ours.xml ours.jsonl; do
	lab_assert_eq "open ports in $f" "$expect_ports" "$(claims "$D/$f" | cut -d' ' -f1)"
done
lab_assert_eq "nmap's claim for 6379" "6379 redis" "$(claims "$D/nmap.xml" | grep '^6379 ')"
lab_assert_eq "nmap -oX, all still open" "$(confirmed "$D/nmap.xml")" "$(verdicts "$D/nmap.xml")"
verdicts "$D/nmap.xml" >/dev/null
lab_assert_eq "exit status when all confirmed" 0 $?
lab_assert_eq "masscan -oL, all still open" "$(confirmed "$D/masscan.list")" \
	"$(verdicts "$D/masscan.list")"
lab_assert_eq "masscan -oJ, all still open" "$(confirmed "$D/masscan.json")" \
	"$(verdicts "$D/masscan.json")"
grep -q 'redis' "$D/out.json" || lab_fail "redis on 6379 was not identified"
for f in ours.xml ours.jsonl; do
	lab_assert_eq "our scan ($f), all still open" "$(confirmed "$D/$f")" "$(verdicts "$D/$f")"
done
# verify's nmap XML output is itself a file verify reads; it names the
# service verify found, so the claim for 6379 is now redis
pcv --format nmap-xml "$D/masscan.list" >"$D/again.xml"
lab_assert_eq "verify's own nmap-xml claims" "6379 redis" "$(claims "$D/again.xml" | grep '^6379 ')"
lab_assert_eq "verify's own nmap-xml read back" "$(confirmed "$D/again.xml")" \
	"$(verdicts "$D/again.xml")"

# ---- the lab changes: 7002 stops, 7003 is dropped ----
kill "$p7002"
wait "$p7002" 2>/dev/null
lab_drop "$tgt" tcp 7003
t0=$(date +%s%N)
verdicts "$D/masscan.list" --timeout 500 --probe-timeout 300 >"$D/v.txt"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
lab_assert_eq "masscan -oL after the change" "6379 confirmed -
7001 confirmed -
7002 closed_now -
7003 filtered_now -" "$(cat "$D/v.txt")"
lab_assert_eq "exit status when some are not confirmed" 1 $rc
[ $ms -lt 5000 ] || lab_fail "verify took ${ms} ms with --timeout 500"
python3 - "$D/out.json" <<'EOF' || lab_fail "json summary or reasons wrong"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]["recheck"]
assert s == {"confirmed": 2, "closed_now": 1, "filtered_now": 1, "different_service": 0}, s
by = {e["port"]: e for e in d["endpoints"]}
assert by[7002]["state"] == "closed" and by[7002]["recheck"]["reason"] == "connection refused now"
assert by[7003]["state"] == "filtered" and by[7003]["verified"]["error"] == "timeout"
assert by[6379]["service"]["name"] == "redis", by[6379]["service"]
EOF
pcv --timeout 500 --exit-zero "$D/nmap.xml" >"$D/table.txt"
lab_assert_eq "--exit-zero" 0 $?
grep -q '^verify: 2 confirmed, 1 closed now, 1 filtered now, 0 different service$' \
	"$D/table.txt" || lab_fail "table summary line missing: $(tail -2 "$D/table.txt")"
pcv --timeout 500 --format csv "$D/nmap.xml" >"$D/out.csv"
head -1 "$D/out.csv" | grep -q ',recheck,claimed_service,recheck_reason$' ||
	lab_fail "csv header lacks the verify columns"
grep -q '^import,tcp,198.18.2.2,7002,closed,.*,closed_now,' "$D/out.csv" ||
	lab_fail "csv row for 7002 wrong: $(grep 7002 "$D/out.csv")"
pcv --timeout 500 --format jsonl "$D/masscan.json" >"$D/out.jsonl"
lab_assert_eq "jsonl lines" 4 "$(wc -l <"$D/out.jsonl")"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$D/out.jsonl" ||
	lab_fail "jsonl does not parse"
# our own output read back
pcv --timeout 500 --format json "$D/masscan.list" >"$D/ours.json"
# (closed and filtered records are not claims of an open port)
lab_assert_eq "our JSON read back" "6379 confirmed redis
7001 confirmed -" "$(verdicts "$D/ours.json" --timeout 500)"
# stdin
lab_assert_eq "stdin" "$(verdicts "$D/masscan.list" --timeout 500)" \
	"$(cat "$D/masscan.list" | verdicts - --timeout 500)"

# ---- hand-made claims: a different service ----
cat >"$D/claims.jsonl" <<EOF
{"proto":"tcp","address":"$T","port":6379,"state":"open","service":{"name":"http"}}
{"proto":"tcp","address":"$T","port":7001,"state":"open","service":{"name":"ssh"}}
EOF
pcv --format json "$D/claims.jsonl" >"$D/out.json"
lab_assert_eq "different service exit" 1 $?
python3 - "$D/out.json" <<'EOF' || lab_fail "different-service verdict wrong: $(cat "$D/out.json")"
import json, sys
by = {e["port"]: e["recheck"] for e in json.load(open(sys.argv[1]))["endpoints"]}
assert by[6379]["status"] == "different_service", by[6379]
assert by[6379]["reason"].startswith("file says http; it is redis"), by[6379]
# 7001 answers nothing: open, but the claim cannot be checked
assert by[7001]["status"] == "confirmed" and "unchecked" in by[7001]["reason"], by[7001]
EOF
# without probes the wrong claim cannot be seen: confirmed, unchecked
pcv --no-probe --format json "$D/claims.jsonl" >"$D/out.json"
lab_assert_eq "--no-probe exit" 0 $?
python3 - "$D/out.json" <<'EOF' || lab_fail "--no-probe verdict wrong: $(cat "$D/out.json")"
import json, sys
by = {e["port"]: e for e in json.load(open(sys.argv[1]))["endpoints"]}
assert by[6379]["recheck"]["status"] == "confirmed", by[6379]["recheck"]
assert by[6379]["recheck"]["reason"] == 'open; not probed, so "http" is unchecked'
assert by[6379]["service"] is None
EOF
cat >"$D/claims.xml" <<EOF
<?xml version="1.0"?>
<nmaprun scanner="nmap"><host><address addr="$T" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="6379"><state state="open"/><service name="http" method="probed"/></port>
<port protocol="tcp" portid="7001"><state state="open"/><service name="afs3-callback" method="table"/></port>
</ports></host></nmaprun>
EOF
lab_assert_eq "nmap claims" "6379 different_service http
7001 confirmed afs3-callback" "$(verdicts "$D/claims.xml")"

# ---- IPv6 and UDP ----
# a silent UDP socket is "open or filtered" (nothing tells them apart); a
# UDP port nobody holds answers with ICMP port unreachable: closed now
cat >"$D/v6udp.jsonl" <<EOF
{"proto":"tcp","address":"fd00:198:18:2::2","port":7006,"state":"open"}
{"proto":"tcp","address":"fd00:198:18:2::2","port":7007,"state":"open"}
{"proto":"udp","address":"$T","port":5353,"state":"open"}
{"proto":"udp","address":"$T","port":5354,"state":"open"}
EOF
got=$(verdicts "$D/v6udp.jsonl" --timeout 800 --probe-timeout 300)
lab_assert_eq "IPv6 and UDP" "5353 filtered_now -
5354 closed_now -
7006 confirmed -
7007 closed_now -" "$got"
python3 - "$D/out.json" <<'EOF' || lab_fail "IPv6/UDP states wrong"
import json, sys
by = {e["port"]: e for e in json.load(open(sys.argv[1]))["endpoints"]}
assert by[5353]["state"] == "open|filtered", by[5353]["state"]
assert by[5354]["verified"]["error"] == "port unreachable", by[5354]["verified"]
assert by[7006]["address"] == "fd00:198:18:2::2"
EOF

# ---- malformed input: exit 2, one line naming file:line:col ----
bad() { # bad NAME CONTENT EXPECTED-STDERR
	printf '%s' "$2" >"$D/$1"
	local err
	err=$(pcv "$D/$1" 2>&1 >/dev/null)
	local rc=$?
	lab_assert_eq "exit status for $1" 2 $rc
	lab_assert_eq "message for $1" "portcensus: error: $D/$3" "$err"
}
bad trunc.xml $'<?xml version="1.0"?>\n<nmaprun><host>\n<address addr="198.18.2.2" addrtype="ipv4"/>' \
	'trunc.xml:3:45: malformed XML: no element found'
bad port.list $'#masscan\nopen tcp 80 198.18.2.2 1\nopen tcp 70000 198.18.2.2 1\n' \
	"port.list:3:10: port must be a number 1-65535, not '70000'"
bad comma.json $'[\n{"ip": "198.18.2.2", "ports": [{"port": 80, "proto": "tcp", "status": "open"},]}\n]\n' \
	"comma.json:2:79: trailing comma before ']'"
bad type.jsonl $'{"proto":"tcp","address":"198.18.2.2","port":80,"state":"open"}\n{"proto":"tcp","address":"198.18.2.2","port":"80","state":"open"}\n' \
	'type.jsonl:2:46: "port" must be a number, not a string'
bad empty.txt '' 'empty.txt: empty input: no scan results to verify'
bad greppable.gnmap $'# Nmap 7.93 scan\nHost: 198.18.2.2 ()\tStatus: Up\n' \
	"greppable.gnmap:2:1: expected a masscan -oL record (open, closed or banner), not 'Host:'"
bad xml.txt $'\n\n  Host: 198.18.2.2\n' \
	'xml.txt:3:3: unrecognised format (expected nmap XML, masscan -oL or -oJ, or portcensus JSON or JSON Lines)'
err=$(pcv "$D/missing.xml" 2>&1)
lab_assert_eq "missing file exit" 2 $?
lab_assert_eq "missing file message" \
	"portcensus: error: $D/missing.xml: cannot open: No such file or directory" "$err"
echo "PASS verify"
