#!/usr/bin/env bash
# forward_capture.sh - (re)capture the netlink dumps under
# tests/unit/data/forward/ that test_forward.c replays. Not a test: run it
# by hand, as root, after changing a rules file:
#
#   tests/e2e/forward_capture.sh build
#
# Each ruleset is loaded into a fresh `unshare --net` namespace (nothing
# leaves it) and dumped by build/tests/unit/test_forward_capture, which uses
# the project's own netlink code. The kube-proxy nftables-mode ruleset is
# loaded with nft -f, the others with iptables-nft-restore.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tool="$root/$build/tests/unit/test_forward_capture"
out="$root/tests/unit/data/forward"
[ -x "$tool" ] || { echo "build $tool first" >&2; exit 2; }
mkdir -p "$out"
for name in kube-iptables containers kube-nft; do
	rules="$here/forward/$name.rules"
	[ -e "$rules" ] || rules="$here/forward/$name.nft"
	loader="iptables-nft-restore"
	case "$rules" in *.nft) loader="nft -f /dev/stdin" ;; esac
	unshare --net bash -c "
		set -e
		ip link set lo up
		ip addr add 198.18.60.1/24 dev lo
		$loader <'$rules'
		'$tool' '$out/$name.bin'
	"
	echo "captured $name"
done
