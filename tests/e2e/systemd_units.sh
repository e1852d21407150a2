#!/usr/bin/env bash
# systemd_units.sh - deploy/systemd passes `systemd-analyze verify` (offline:
# no running systemd needed), holds the hardening docs/scheduling.md
# promises, and reports `systemd-analyze security --offline=yes` exposure
# (failing above 4.0, "OK" on systemd's scale, so a loosened unit is noticed).
# ExecStart names /usr/bin/portcensus; verify checks that the program
# exists, so the test points it at the build in a copy of the units.
set -u
. "$(dirname "$0")/../lab/lab.sh"
command -v systemd-analyze >/dev/null || lab_skip "needs systemd-analyze (systemd)"
units=$(cd "$(dirname "$0")/../../deploy/systemd" && pwd)
[ -x "$PORTCENSUS" ] || lab_fail "no binary at $PORTCENSUS"
tmp=$(mktemp -d /tmp/portcensus-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for f in portcensus-audit.service portcensus-audit.timer portcensus-watch.service; do
	[ -f "$units/$f" ] || lab_fail "missing deploy/systemd/$f"
	sed "s#/usr/bin/portcensus#$PORTCENSUS#" "$units/$f" >"$tmp/$f"
done
cd "$tmp" || exit 1
out=$(systemd-analyze verify --man=no ./portcensus-audit.service ./portcensus-audit.timer \
	./portcensus-watch.service 2>&1)
rc=$?
[ "$rc" -eq 0 ] || lab_fail "systemd-analyze verify failed ($rc): $out"
# verify may warn without failing: any line about our units is a failure
if printf '%s\n' "$out" | grep -q portcensus; then lab_fail "systemd-analyze verify warned: $out"; fi

need() { # FILE LINE
	grep -qxF "$2" "$tmp/$1" || lab_fail "$1 lacks: $2"
}
need portcensus-audit.timer "OnCalendar=hourly"
need portcensus-audit.timer "Persistent=true"
grep -q '^RandomizedDelaySec=' "$tmp/portcensus-audit.timer" || lab_fail "timer lacks RandomizedDelaySec"
for s in portcensus-audit.service portcensus-watch.service; do
	need "$s" "ProtectSystem=strict"
	need "$s" "NoNewPrivileges=yes"
	need "$s" "PrivateTmp=yes"
	need "$s" "StateDirectory=portcensus"
	need "$s" "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET"
	need "$s" "CapabilityBoundingSet=CAP_NET_RAW CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_SETUID CAP_SETGID"
	# root without capabilities: SecureBits=noroot would strip what we need
	if grep -q '^SecureBits=.*noroot' "$tmp/$s"; then lab_fail "$s: noroot leaves root no capabilities"; fi
	sec=$(systemd-analyze security --offline=yes "./$s" 2>&1) || lab_fail "security $s: $sec"
	level=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$level" ] || lab_fail "no exposure level for $s: $sec"
	echo "# $s: systemd-analyze security exposure $level" >&2
	awk -v l="$level" 'BEGIN { exit !(l <= 4.0) }' || lab_fail "$s exposure $level above 4.0"
done
echo "PASS systemd_units"
