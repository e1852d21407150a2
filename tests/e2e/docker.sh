#!/usr/bin/env bash
# docker.sh - real docker containers, named with their images by `audit`.
#
# Debian's docker.io (dockerd 20.10 with its own containerd and runc) runs
# here inside this test's unshare host (pid, net and mount namespaces),
# with its data root, exec root and socket in a temporary folder and tmpfs
# over /run, /var/lib and /etc/docker (dockerd writes /etc/docker/key.json
# and /run/docker whatever its --data-root), so nothing of it reaches the
# machine. The default bridge and address pools are moved into
# 198.18.0.0/15 (--bip 198.18.62.1/24, pool 198.18.64.0/18). No registry:
# two images are imported from a busybox-static root filesystem built here.
#
# Two containers, web1 (pcweb:1) published on 198.18.60.1:8080 and web2
# (pcweb:2) on 198.18.60.1:8081, each a busybox httpd on port 80. The data
# root is not /var/lib/docker: portcensus must find it from the running
# dockerd's command line, as for a real user who passes no option.
#
# Oracle: docker's own view (`docker inspect`: id, name, image as given,
# image id) against `portcensus audit --format json`:
# - each container's listener on port 80 has an owner whose container is
#   {id, runtime "docker", name, image, image_id};
# - docker-proxy's listener on each published port names the same
#   container (resolved from -container-ip to the container's address);
# - the table format shows "web1 (pcweb:1)";
# - the live check reaches the published ports.
# At the end no dockerd, containerd, shim, proxy or container process and
# no mount of the data root is left (checked).
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
oracle=$(dirname "$0")/containers_oracle.py

for c in dockerd docker containerd runc docker-proxy iptables busybox python3; do
	command -v "$c" >/dev/null || lab_skip "needs $c (scripts/deps: docker.io)"
done
ldd "$(command -v busybox)" 2>&1 | grep -q 'not a dynamic' || lab_skip "needs busybox-static"
[ -d /etc/docker ] || lab_skip "needs /etc/docker (docker.io's own directory)"

mount -t tmpfs -o mode=755 pc-run /run || lab_fail "cannot mount a tmpfs on /run"
mount -t tmpfs -o mode=755 pc-varlib /var/lib || lab_fail "cannot mount a tmpfs on /var/lib"
mount -t tmpfs -o mode=755 pc-etcdocker /etc/docker || lab_fail "cannot mount a tmpfs on /etc/docker"
mkdir -p /run/netns && mount -t tmpfs -o mode=755 lab-netns /run/netns ||
	lab_fail "cannot mount /run/netns"
lab_init

D=$LAB_TMP/docker
mkdir -p "$D"
dk() { docker -H "unix://$D/docker.sock" "$@"; }

docker_cleanup() {
	[ -S "$D/docker.sock" ] && timeout 60 docker -H "unix://$D/docker.sock" rm -f web1 web2 \
		>/dev/null 2>&1
	local p
	if [ -f "$D/docker.pid" ] && p=$(cat "$D/docker.pid") && [ -n "$p" ]; then
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
	fi
	local m
	awk -v d="$D" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
}
trap 'docker_cleanup; lab_cleanup' EXIT

ip link add pch0 type veth peer name pch1 || lab_fail "cannot create veth"
ip addr add 198.18.60.1/24 dev pch0
ip link set pch0 up
ip link set pch1 up

dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/docker.pid" \
	-H "unix://$D/docker.sock" --bip 198.18.62.1/24 \
	--default-address-pool base=198.18.64.0/18,size=24 >"$D/dockerd.log" 2>&1 &
for _ in $(seq 120); do
	dk info >/dev/null 2>&1 && break
	sleep 0.25
done
dk info >/dev/null 2>&1 || lab_fail "dockerd did not start: $(tail -5 "$D/dockerd.log")"

for v in 1 2; do
	r=$D/rootfs$v
	mkdir -p "$r/bin" "$r/www"
	cp "$(command -v busybox)" "$r/bin/busybox"
	for t in sh httpd; do ln -s busybox "$r/bin/$t"; done
	printf 'pcweb %s\n' "$v" >"$r/www/index.html"
	tar -C "$r" -c . | dk import - "pcweb:$v" >/dev/null || lab_fail "docker import pcweb:$v failed"
done
dk run -d --name web1 -p 198.18.60.1:8080:80 pcweb:1 /bin/httpd -f -p 80 -h /www >/dev/null ||
	lab_fail "docker run web1 failed"
dk run -d --name web2 -p 198.18.60.1:8081:80 pcweb:2 /bin/httpd -f -p 80 -h /www >/dev/null ||
	lab_fail "docker run web2 failed"

# both published ports answer, each with its own image's page
python3 "$oracle" wait "http://198.18.60.1:8080/=pcweb 1" "http://198.18.60.1:8081/=pcweb 2" ||
	lab_fail "the published ports do not serve their containers' pages"

dk inspect --format '{{.Id}} {{.Name}} {{.Config.Image}} {{.Image}}' web1 web2 >"$LAB_TMP/inspect" ||
	lab_fail "docker inspect failed"

out=$LAB_TMP/audit.json
"$PORTCENSUS" audit --format json --timeout 2000 >"$out" 2>"$LAB_TMP/audit.err" ||
	lab_fail "audit failed: $(cat "$LAB_TMP/audit.err")"
"$PORTCENSUS" listeners --format table >"$LAB_TMP/table" 2>/dev/null ||
	lab_fail "listeners --format table failed"

python3 "$oracle" check "$out" "$LAB_TMP/inspect" "$LAB_TMP/table" docker docker-proxy || exit 1

docker_cleanup
sleep 0.2
left=$(ps -eo comm= | grep -E '^(dockerd|containerd|containerd-shim|docker-proxy|runc|httpd)' |
	sort | uniq -c)
[ -z "$left" ] || lab_fail "processes left after cleanup: $left"
mounts=$(awk -v d="$D" 'index($5, d) == 1' /proc/self/mountinfo)
[ -z "$mounts" ] || lab_fail "mounts left after cleanup: $mounts"
echo "ok"
