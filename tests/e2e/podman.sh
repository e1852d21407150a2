#!/usr/bin/env bash
# podman.sh - real podman containers, named with their images by `audit`.
#
# Debian's podman 4.3 with runc, netavark and iptables (docs/containers.md,
# FIELD-NOTES "Containers"), run by this test inside its own unshare host
# (pid, net and mount namespaces), with all of podman's state in a
# temporary folder: --root and --runroot under LAB_TMP, and tmpfs over /run
# and /var/lib so podman's fixed paths there (/run/libpod, /run/containers,
# /var/lib/containers/cache) never reach the machine's. No registry: two images are imported from a
# busybox-static root filesystem built here (localhost/pcweb:1 and :2,
# busybox httpd serving a different page each). One network on
# 198.18.61.0/24; the host address 198.18.60.1 lives on a veth whose peer
# stays in the host namespace.
#
# Two containers, web1 (pcweb:1) published on 198.18.60.1:8080 and web2
# (pcweb:2) on 198.18.60.1:8081. The storage is not at podman's default
# place, so portcensus must find it from conmon's command line, as it would
# for a real user who passes no option.
#
# Oracle: podman's own view (`podman inspect`: id, name, image name and id)
# against `portcensus audit --format json`:
# - each container's listener on port 80 (in its netns-<uuid> namespace) has
#   an owner with container {id, runtime "podman", name, image, image_id};
# - conmon's listener on each published host port names the same container
#   (id, name, image);
# - the table format shows "web1 (localhost/pcweb:1)";
# - the live check reaches the published ports (through conmon's socket
#   and netavark's DNAT).
# (That the host port's `forward` leads to the container's listener is the
# forward reader's to assert, once both land.)
# Then web2 is replaced by a container of pcweb:3 on the same port and a
# second audit is stored: `diff` says conmon's 198.18.60.1:8081 changed,
# image localhost/pcweb:2 -> localhost/pcweb:3, and :8080 keeps its image.
# At the end every container process, conmon, runc and podman is gone and
# no mount of the storage is left (checked, not assumed).
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
oracle=$(dirname "$0")/containers_oracle.py

for c in podman runc conmon iptables busybox python3; do
	command -v "$c" >/dev/null || lab_skip "needs $c (scripts/deps --test)"
done
[ -x /usr/lib/podman/netavark ] || lab_skip "needs netavark (scripts/deps --test)"
# busybox must be the static one: it is copied into an empty root fs
ldd "$(command -v busybox)" 2>&1 | grep -q 'not a dynamic' || lab_skip "needs busybox-static"

# podman writes to /run/libpod, /run/containers and
# /var/lib/containers/cache whatever its --root: tmpfs over /run and
# /var/lib keep them in this mount namespace (then /run/netns again, which
# lab_isolate had mounted; nothing this test runs needs the rest of /var/lib)
mount -t tmpfs -o mode=755 pc-run /run || lab_fail "cannot mount a tmpfs on /run"
mount -t tmpfs -o mode=755 pc-varlib /var/lib || lab_fail "cannot mount a tmpfs on /var/lib"
mkdir -p /run/netns && mount -t tmpfs -o mode=755 lab-netns /run/netns ||
	lab_fail "cannot mount /run/netns"
lab_init

D=$LAB_TMP/podman
mkdir -p "$D/store" "$D/run" "$D/net" "$D/tmp"
pod() {
	podman --root "$D/store" --runroot "$D/run" --runtime runc \
		--network-config-dir "$D/net" --cgroup-manager cgroupfs \
		--events-backend file --tmpdir "$D/tmp" "$@"
}

# Remove the containers, then anything podman left mounted; what podman
# could not stop dies with this pid namespace.
pod_cleanup() {
	[ -d "$D/store" ] || return 0
	timeout 60 podman --root "$D/store" --runroot "$D/run" --runtime runc \
		--network-config-dir "$D/net" --cgroup-manager cgroupfs \
		--events-backend file --tmpdir "$D/tmp" rm -a -f -t 0 >/dev/null 2>&1
	local m
	awk -v d="$D" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
}
trap 'pod_cleanup; lab_cleanup' EXIT

# the host address that containers are published on
ip link add pch0 type veth peer name pch1 || lab_fail "cannot create veth"
ip addr add 198.18.60.1/24 dev pch0
ip link set pch0 up
ip link set pch1 up

# two images from a busybox-static root fs
for v in 1 2 3; do
	r=$D/rootfs$v
	mkdir -p "$r/bin" "$r/www" "$r/etc"
	cp "$(command -v busybox)" "$r/bin/busybox"
	for t in sh httpd nc; do ln -s busybox "$r/bin/$t"; done
	printf 'pcweb %s\n' "$v" >"$r/www/index.html"
	tar -C "$r" -c . | pod import - "localhost/pcweb:$v" >/dev/null ||
		lab_fail "podman import of pcweb:$v failed"
done

pod network create --subnet 198.18.61.0/24 pcnet >/dev/null || lab_fail "podman network create failed"
pod run -d --name web1 --network pcnet -p 198.18.60.1:8080:80 localhost/pcweb:1 \
	/bin/httpd -f -p 80 -h /www >/dev/null || lab_fail "podman run web1 failed"
pod run -d --name web2 --network pcnet -p 198.18.60.1:8081:80 localhost/pcweb:2 \
	/bin/httpd -f -p 80 -h /www >/dev/null || lab_fail "podman run web2 failed"

# both published ports answer, each with its own image's page
python3 "$oracle" wait "http://198.18.60.1:8080/=pcweb 1" "http://198.18.60.1:8081/=pcweb 2" ||
	lab_fail "the published ports do not serve their containers' pages"

pod inspect --format '{{.Id}} {{.Name}} {{.ImageName}} {{.Image}}' web1 web2 >"$LAB_TMP/inspect" ||
	lab_fail "podman inspect failed"

out=$LAB_TMP/audit.json
db=$LAB_TMP/ledger.db
"$PORTCENSUS" audit --format json --timeout 2000 --db "$db" >"$out" 2>"$LAB_TMP/audit.err" ||
	lab_fail "audit failed: $(cat "$LAB_TMP/audit.err")"
"$PORTCENSUS" listeners --format table >"$LAB_TMP/table" 2>/dev/null ||
	lab_fail "listeners --format table failed"

python3 "$oracle" check "$out" "$LAB_TMP/inspect" "$LAB_TMP/table" podman conmon || exit 1

# a new image behind the same published port is drift: web2 replaced by a
# container of pcweb:3, then the ledger's diff of the two audits says
# "changed", image localhost/pcweb:2 -> localhost/pcweb:3, on conmon's
# 198.18.60.1:8081, and web1's 198.18.60.1:8080 keeps its image
pod rm -f -t 0 web2 >/dev/null || lab_fail "podman rm web2 failed"
pod run -d --name web2 --network pcnet -p 198.18.60.1:8081:80 localhost/pcweb:3 \
	/bin/httpd -f -p 80 -h /www >/dev/null || lab_fail "podman run web2 (pcweb:3) failed"
python3 "$oracle" wait "http://198.18.60.1:8081/=pcweb 3" ||
	lab_fail "the new web2 does not serve its page"
"$PORTCENSUS" audit --format json --timeout 2000 --db "$db" >"$LAB_TMP/audit2.json" \
	2>"$LAB_TMP/audit2.err" || lab_fail "second audit failed: $(cat "$LAB_TMP/audit2.err")"
"$PORTCENSUS" diff --db "$db" --format json >"$LAB_TMP/diff.json" 2>"$LAB_TMP/diff.err"
rc=$?
lab_assert_eq "diff exit status (1: drift)" 1 "$rc"
python3 "$oracle" drift "$LAB_TMP/diff.json" 198.18.60.1 8081 localhost/pcweb:2 \
	localhost/pcweb:3 8080 web2 || exit 1

# nothing of podman survives its cleanup: no container process, no conmon,
# no runc, no podman, no storage mount
pod_cleanup
sleep 0.2
left=$(ps -eo comm= | grep -E '^(conmon|runc|podman|httpd|netavark|aardvark-dns)$' | sort | uniq -c)
[ -z "$left" ] || lab_fail "processes left after cleanup: $left"
mounts=$(awk -v d="$D" 'index($5, d) == 1' /proc/self/mountinfo)
[ -z "$mounts" ] || lab_fail "mounts left after cleanup: $mounts"
echo "ok"
