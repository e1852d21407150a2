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
# (198.18.60.2) is a lab client namespace, cl.
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
# Connections through the published ports, held from cl (3 to :8080, 2 to
# :8081), against `portcensus connections --format json`: one edge per
# container, cl's python3 -> via dnat 198.18.60.1:PORT (translated in this
# host's namespace) -> the container's listener at its pcnet address:80 in
# its netns-*, basis "conntrack", count 3 and 2, the server's owners the
# container's httpd with {runtime podman, name, image}; no half edge (none
# to conmon's front, none from 198.18.60.2 as a remote client). And
# `listeners --format md` has the rows "httpd as root, container
# podman:web1 (localhost/pcweb:1)" and the same on conmon's port.
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

# the host address that containers are published on, on a veth whose peer
# is the lab client namespace cl (198.18.60.2)
cl=$(lab_ns cl)
ip link add pch0 type veth peer name pch1 netns "$cl" || lab_fail "cannot create veth"
ip addr add 198.18.60.1/24 dev pch0
ip link set pch0 up
ip -n "$cl" addr add 198.18.60.2/24 dev pch1
ip -n "$cl" link set pch1 up

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

# connections through the published ports, as a client elsewhere makes
# them: 3 from cl to web1's 198.18.60.1:8080 and 2 to web2's :8081, held
# open. netavark's DNAT takes them to the containers (conmon only holds the
# ports), so each container's socket sees 198.18.60.2 and cl's sockets see
# the front: two halves that only the conntrack entries of this host's
# namespace join. `connections` must give exactly two edges from cl, each
# client -> front -> the container's listener, basis conntrack, with the
# container (name, image) on the server end and the right count; no edge
# to conmon's port (the client half) and none from 198.18.60.2 as a remote
# client (the server half).
cat >"$LAB_TMP/client.py" <<'PY'
# client.py HOST PORT N: open N connections and hold them until killed
import os, signal, socket, sys, time
conns = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
         for _ in range(int(sys.argv[3]))]
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(3600)
PY
p_web1=$(lab_spawn "$cl" python3 "$LAB_TMP/client.py" 198.18.60.1 8080 3)
p_web2=$(lab_spawn "$cl" python3 "$LAB_TMP/client.py" 198.18.60.1 8081 2)
for ((i = 0; i < 100; i++)); do
	n=$(ip netns exec "$cl" ss -Htnp state established | grep -c 'pid=')
	[ "$n" -eq 5 ] && break
	sleep 0.05
done
[ "$n" -eq 5 ] || lab_fail "only $n of 5 client connections established: $(cat "$LAB_TMP/spawn.log")"
pod inspect --format '{{.Name}} {{.NetworkSettings.Networks.pcnet.IPAddress}}' web1 web2 \
	>"$LAB_TMP/addrs" || lab_fail "podman inspect of the addresses failed"
"$PORTCENSUS" connections --format json >"$LAB_TMP/connections.json" 2>"$LAB_TMP/conn.err" ||
	lab_fail "connections failed: $(cat "$LAB_TMP/conn.err")"
python3 - "$LAB_TMP/connections.json" "$LAB_TMP/addrs" "$cl" "$p_web1" "$p_web2" \
	"$(stat -L -c %i /proc/self/ns/net)" <<'PY' || exit 1
import json, sys

path, addrs_path, cl = sys.argv[1:4]
pids = {"web1": int(sys.argv[4]), "web2": int(sys.argv[5])}
host_ns = int(sys.argv[6])
doc = json.load(open(path))
addr = dict(line.split() for line in open(addrs_path))
want = {"web1": (8080, 3, "localhost/pcweb:1"), "web2": (8081, 2, "localhost/pcweb:2")}
fails = []

def from_cl(end):
    return end["local"] and (end["netns"]["name"] or "") == cl

joined = [e for e in doc["edges"] if from_cl(e["client"])]
if len(joined) != 2:
    fails.append(f"{len(joined)} edges from {cl}, want 2 (web1, web2)")
for name, (port, count, image) in want.items():
    mine = [e for e in joined if e["via"] and e["via"]["port"] == port]
    if len(mine) != 1:
        fails.append(f"{name}: {len(mine)} edges via 198.18.60.1:{port}, want 1")
        continue
    e = mine[0]
    c, v, s = e["client"], e["via"], e["server"]
    if sorted(o["pid"] for o in c["owners"]) != [pids[name]] or c["address"] != "198.18.60.2":
        fails.append(f"{name}: client {c['address']} owners {c['owners']}, want python3 "
                     f"pid {pids[name]} at 198.18.60.2")
    if (v["kind"], v["address"], v["source"], v["netns"]["inode"]) != \
            ("dnat", "198.18.60.1", None, host_ns):
        fails.append(f"{name}: via {v}, want dnat 198.18.60.1:{port} in netns {host_ns}")
    if (e["basis"], e["count"]) != ("conntrack", count):
        fails.append(f"{name}: basis {e['basis']} count {e['count']}, want conntrack {count}")
    if not s["local"] or s["address"] != addr[name] or s["port"] != 80 or \
            not (s["netns"]["name"] or "").startswith("netns-"):
        fails.append(f"{name}: server {s['address']}:{s['port']} in {s['netns']}, want "
                     f"{addr[name]}:80 in the container's netns-*")
    owners = [(o["comm"], (o["container"] or {}).get("runtime"),
               (o["container"] or {}).get("name"), (o["container"] or {}).get("image"))
              for o in s["owners"]]
    if not owners or any(o != ("httpd", "podman", name, image) for o in owners):
        fails.append(f"{name}: server owners {owners}, want httpd of podman {name} ({image})")
# neither half on its own: no edge to the fronts (conmon holds them) and
# none from cl's address as a remote client
for e in doc["edges"]:
    s, c = e["server"], e["client"]
    if s["address"] == "198.18.60.1" and s["port"] in (8080, 8081):
        fails.append(f"a half edge to the front {s['address']}:{s['port']}: {e}")
    if not c["local"] and c["address"] == "198.18.60.2":
        fails.append(f"a half edge from 198.18.60.2 as a remote client: {e}")
if doc["summary"]["nat"] != 5 or doc["summary"]["nat_entries"] < 5:
    fails.append(f"summary: {doc['summary']}, want nat 5 and at least 5 nat_entries")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    print(json.dumps(doc, indent=1)[:6000], file=sys.stderr)
    sys.exit(1)
print("ok: two edges through netavark's DNAT, 3 and 2 connections, to web1 and web2")
PY
kill "$p_web1" "$p_web2" 2>/dev/null

# the Markdown inventory names each container and its image, on its own
# listener (httpd on port 80) and on conmon's published port
"$PORTCENSUS" listeners --format md >"$LAB_TMP/listeners.md" 2>/dev/null ||
	lab_fail "listeners --format md failed"
for w in "web1 8080 1" "web2 8081 2"; do
	read -r name port v <<<"$w"
	c="container podman:$name (localhost/pcweb:$v) |"
	for row in "| tcp | \[::\]:80 | httpd as root, $c" "| tcp | 198.18.60.1:$port | conmon as root, $c"; do
		grep -qF -- "$row" "$LAB_TMP/listeners.md" ||
			lab_fail "listeners --format md has no row '$row': $(cat "$LAB_TMP/listeners.md")"
	done
done

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
