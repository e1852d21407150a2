#!/usr/bin/env bash
# deps_units.sh - scripts/deps quiets the units of the packages it installed
# and nothing else, and --assert-quiet notices a lab unit that is enabled.
#
# Runs on a fake root (PC_DEPS_ROOT: systemctl --root, a dpkg database of
# two made-up packages), so it installs nothing and touches no real unit:
# "lab" ships a service with an [Install] section, a socket and an init
# script, as a server package does, and postinst-style links enable them;
# "owner" is a package the machine's owner enabled before. After
# `scripts/deps --mask lab`, every lab unit must read "masked", the owner's
# unit must still be enabled, and the state files must list exactly the lab
# package and units.
set -u
deps="$(cd "$(dirname "$0")/../.." && pwd)/scripts/deps"
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
if ! command -v systemctl >/dev/null || ! command -v dpkg-query >/dev/null; then
	[ "${CI:-}" = "true" ] && fail "needs systemctl and dpkg-query"
	echo "SKIP: needs systemctl and dpkg-query" >&2
	exit 77
fi
root=$(mktemp -d /tmp/portcensus-deps-test.XXXXXX)
trap 'rm -rf "$root"' EXIT
export PC_DEPS_ROOT=$root

# ---- a fake root with two packages ----
mkdir -p "$root/lib/systemd/system" "$root/etc/systemd/system/multi-user.target.wants" \
	"$root/etc/systemd/system/sockets.target.wants" "$root/etc/init.d" \
	"$root/var/lib/dpkg/info" "$root/usr/sbin"
unit() { # unit NAME EXEC
	cat >"$root/lib/systemd/system/$1" <<EOF
[Unit]
Description=$1
[Service]
ExecStart=$2
[Install]
WantedBy=multi-user.target
EOF
}
unit labd.service /usr/sbin/labd
unit ownerd.service /usr/sbin/ownerd
cat >"$root/lib/systemd/system/labd.socket" <<'EOF'
[Socket]
ListenStream=198.18.0.1:7
[Install]
WantedBy=sockets.target
EOF
printf '#!/bin/sh\nexit 0\n' >"$root/etc/init.d/labinit"
cp "$(command -v sleep)" "$root/usr/sbin/labd" # a "server" that does nothing
chmod +x "$root/etc/init.d/labinit" "$root/usr/sbin/labd"
ln -s /lib/systemd/system/labd.service "$root/etc/systemd/system/multi-user.target.wants/"
ln -s /lib/systemd/system/labd.socket "$root/etc/systemd/system/sockets.target.wants/"
ln -s /lib/systemd/system/ownerd.service "$root/etc/systemd/system/multi-user.target.wants/"
for p in lab owner; do
	cat >>"$root/var/lib/dpkg/status" <<EOF
Package: $p
Status: install ok installed
Priority: optional
Section: misc
Maintainer: test <test@example.invalid>
Architecture: all
Version: 1.0
Description: fake package for deps_units.sh

EOF
done
printf '%s\n' /lib/systemd/system/labd.service /lib/systemd/system/labd.socket \
	/etc/init.d/labinit /usr/sbin/labd >"$root/var/lib/dpkg/info/lab.list"
printf '%s\n' /lib/systemd/system/ownerd.service >"$root/var/lib/dpkg/info/owner.list"
state() { systemctl --root="$root" is-enabled "$1" 2>/dev/null; }

[ "$(state labd.service)" = enabled ] || fail "fake root not set up: labd.service is $(state labd.service)"

# nothing recorded yet: nothing to assert
"$deps" --assert-quiet >/dev/null || fail "--assert-quiet failed with nothing recorded"
"$deps" --mask nosuchpkg 2>/dev/null && fail "--mask accepted a package that is not installed"

out=$("$deps" --mask lab) || fail "scripts/deps --mask lab failed: $out"
for u in labd.service labd.socket labinit.service; do
	[ "$(state $u)" = masked ] || fail "$u is $(state $u) after --mask, not masked"
done
[ "$(state ownerd.service)" = enabled ] || fail "the owner's unit was touched: $(state ownerd.service)"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/labd.service" ] ||
	fail "labd.service is still wanted by multi-user.target"
[ "$(cat "$root/var/lib/portcensus-lab/packages")" = lab ] ||
	fail "recorded packages: $(cat "$root/var/lib/portcensus-lab/packages")"
[ "$(cat "$root/var/lib/portcensus-lab/units")" = "labd.service
labd.socket
labinit.service" ] || fail "recorded units: $(cat "$root/var/lib/portcensus-lab/units")"
"$deps" --assert-quiet >/dev/null || fail "--assert-quiet failed after --mask"
# again: idempotent, same records
"$deps" --mask lab >/dev/null || fail "second --mask failed"
[ "$(wc -l <"$root/var/lib/portcensus-lab/units")" = 3 ] || fail "records grew on a second --mask"

# a lab server running in this network namespace is a leak; in a namespace
# of its own (as lab tests run them) it is not
"$root/usr/sbin/labd" 30 &
leak=$!
sleep 0.2; err=$("$deps" --assert-quiet 2>&1) && fail "--assert-quiet passed with labd running in the host namespace"
case "$err" in
*"lab server $root/usr/sbin/labd (pid $leak) runs in the host's network namespace"*) ;;
*) fail "--assert-quiet did not name the leaked server: $err" ;;
esac
kill "$leak"
wait "$leak" 2>/dev/null
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	unshare --net "$root/usr/sbin/labd" 30 &
	inlab=$!
	sleep 0.2
	"$deps" --assert-quiet >/dev/null || fail "--assert-quiet failed on a server in its own namespace"
	kill "$inlab"
	wait "$inlab" 2>/dev/null
fi

# someone re-enables a lab unit: the assertion must fail and name it
systemctl --root="$root" unmask labd.service >/dev/null 2>&1
systemctl --root="$root" enable labd.service >/dev/null 2>&1
[ "$(state labd.service)" = enabled ] || fail "could not re-enable labd.service for the negative case"
err=$("$deps" --assert-quiet 2>&1) && fail "--assert-quiet passed with labd.service enabled"
case "$err" in
*"lab unit labd.service is enabled"*) ;;
*) fail "--assert-quiet did not name the unit: $err" ;;
esac
echo "PASS deps_units"
