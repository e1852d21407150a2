#!/usr/bin/env bash
# scan_nmap_xml.sh - `--format nmap-xml` is valid against nmap's own DTD,
# carries exactly the scan's hosts, ports, states and host names, and ndiff
# reads two of our files: exit 0 when equal, 1 with the changed port shown
# when a port opened between the two scans.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v xmllint >/dev/null || lab_skip "needs xmllint (libxml2-utils)"
command -v ndiff >/dev/null || lab_skip "needs ndiff"
[ -f /usr/share/nmap/nmap.dtd ] || lab_skip "needs /usr/share/nmap/nmap.dtd (nmap)"

s=$(lab_ns scan)
t=$(lab_ns t)
lab_link "$s" 198.18.1.1/24 "$t" 198.18.1.2/24 fd00:198:18:1::1/64 fd00:198:18:1::2/64
lab_listener "$t" tcp 198.18.1.2 22 >/dev/null
lab_listener "$t" tcp 198.18.1.2 80 >/dev/null
lab_listener "$t" tcp fd00:198:18:1::2 22 >/dev/null
lab_wait_listen "$t" tcp 22
lab_wait_listen "$t" tcp 80
# settle neighbour discovery (ARP and NDP) first: this test is about the
# file, and under a loaded machine a first resolution can outlast a probe
for _ in $(seq 60); do
	lab_exec "$s" ping -6 -c1 -W1 fd00:198:18:1::2 >/dev/null 2>&1 &&
		lab_exec "$s" ping -c1 -W1 198.18.1.2 >/dev/null 2>&1 && break
	sleep 0.1
done

# a host name, resolved from a private /etc/hosts (mount namespace)
printf '198.18.1.2 db1.lab\n' >"$LAB_TMP/hosts"
scan() { # scan OUT
	lab_exec "$s" unshare --mount bash -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' \
		_ "$LAB_TMP/hosts" "$PORTCENSUS" scan --connect --format nmap-xml -o "$1" \
		--show closed --timeout 500 -p 22,80,443 db1.lab fd00:198:18:1::2 ||
		lab_fail "scan failed"
}
scan "$LAB_TMP/a.xml"
xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd "$LAB_TMP/a.xml" ||
	lab_fail "a.xml is not valid against nmap.dtd"

summary() {
	python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "nmaprun"
for h in root.findall("host"):
    addr = h.find("address").get("addr")
    names = [n.get("name") for n in h.findall("hostnames/hostname")]
    for p in h.findall("ports/port"):
        print(addr, ",".join(names) or "-", p.get("protocol"), p.get("portid"),
              p.find("state").get("state"))
PY
}
expected="198.18.1.2 db1.lab tcp 22 open
198.18.1.2 db1.lab tcp 80 open
198.18.1.2 db1.lab tcp 443 closed
fd00:198:18:1::2 - tcp 22 open
fd00:198:18:1::2 - tcp 80 closed
fd00:198:18:1::2 - tcp 443 closed"
lab_assert_eq "nmap-xml contents" "$expected" "$(summary "$LAB_TMP/a.xml")"

# same network, same file content for ndiff: exit 0
scan "$LAB_TMP/a2.xml"
ndiff "$LAB_TMP/a.xml" "$LAB_TMP/a2.xml" >"$LAB_TMP/same.txt"
rc=$?
lab_assert_eq "ndiff of two equal scans exits 0" 0 "$rc"

# a port opens: ndiff exits 1 and names it
lab_listener "$t" tcp 198.18.1.2 443 >/dev/null
lab_wait_listen "$t" tcp 443
scan "$LAB_TMP/b.xml"
xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd "$LAB_TMP/b.xml" || lab_fail "b.xml invalid"
ndiff "$LAB_TMP/a.xml" "$LAB_TMP/b.xml" >"$LAB_TMP/diff.txt"
rc=$?
lab_assert_eq "ndiff of different scans exits 1" 1 "$rc"
grep -q '^-443/tcp closed' "$LAB_TMP/diff.txt" || lab_fail "ndiff lost the old state: $(cat "$LAB_TMP/diff.txt")"
grep -q '^+443/tcp open' "$LAB_TMP/diff.txt" || lab_fail "ndiff lost the new state: $(cat "$LAB_TMP/diff.txt")"
[ "$(grep -c '^[-+][0-9]' "$LAB_TMP/diff.txt")" = 2 ] || lab_fail "ndiff shows more than the one port: $(cat "$LAB_TMP/diff.txt")"
echo "ok: nmap-xml valid, exact, and ndiff reads it"
