#!/usr/bin/env bash
# forward_containers.sh - Docker's and netavark's published-port shapes,
# written by hand with iptables-nft-restore (tests/e2e/forward/
# containers.rules, as netavark 1.4 and Docker write them: the
# NETAVARK-HOSTPORT-DNAT -> NETAVARK-DN-* chains with their comment, the
# DOCKER chain's DNAT and a REDIRECT), with each "container" a namespace
# holding an http server, and a userland proxy named docker-proxy holding
# the Docker host port, as Docker runs it. The real podman test belongs to
# the containers suite; this one pins the NAT shapes.
#
# Under lab_isolate, `portcensus audit --format json` must show:
# - 198.18.60.1:8080 forwarded (no socket), kind dnat, rule
#   nat/NETAVARK-HOSTPORT-DNAT with netavark's comment, to 198.18.61.2:80,
#   backend = the http server of the ctr1 namespace, live check reachable;
# - 0.0.0.0:8081 in state listen (docker-proxy holds it), kind proxy,
#   to 198.18.62.2:80, backend = the server of ctr2;
# - 0.0.0.0:8082 forwarded, kind redirect, to port 9090 of the host itself,
#   backend = the host's own listener on 9090;
# - `listeners` as a table has a FORWARD column ("dnat -> 198.18.61.2:80"),
#   and as csv a forward column ("proxy -> 198.18.62.2:80").
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v iptables-nft-restore >/dev/null || lab_skip "needs iptables (iptables-nft-restore)"
command -v python3 >/dev/null || lab_skip "needs python3"
command -v socat >/dev/null || lab_skip "needs socat"
HERE=$(cd "$(dirname "$0")" && pwd)

host=$(lab_ns host)
ctr1=$(lab_ns ctr1)
ctr2=$(lab_ns ctr2)
client=$(lab_ns client)
lab_link "$host" 198.18.61.1/24 "$ctr1" 198.18.61.2/24
lab_link "$host" 198.18.62.1/24 "$ctr2" 198.18.62.2/24
lab_link "$host" 198.18.60.1/24 "$client" 198.18.60.2/24
lab_exec "$ctr1" ip route add default via 198.18.61.1
lab_exec "$ctr2" ip route add default via 198.18.62.1
lab_exec "$host" sysctl -qw net.ipv4.ip_forward=1
lab_exec "$host" iptables-nft-restore <"$HERE/forward/containers.rules" ||
	lab_fail "iptables-nft-restore refused the container rules"

mkdir -p "$LAB_TMP/www"
echo hello >"$LAB_TMP/www/index.html"
c1=$(lab_spawn "$ctr1" python3 -m http.server 80 --bind 0.0.0.0 --directory "$LAB_TMP/www")
c2=$(lab_spawn "$ctr2" python3 -m http.server 80 --bind 0.0.0.0 --directory "$LAB_TMP/www")
h9=$(lab_spawn "$host" python3 -m http.server 9090 --bind 0.0.0.0 --directory "$LAB_TMP/www")
# Docker's userland proxy: socat under the name docker-proxy (the kernel
# names a process after its executable file)
cp "$(command -v socat)" "$LAB_TMP/docker-proxy"
lab_spawn "$host" "$LAB_TMP/docker-proxy" TCP-LISTEN:8081,fork,reuseaddr TCP:198.18.62.2:80 >/dev/null
for spec in "$ctr1 80" "$ctr2 80" "$host 9090" "$host 8081"; do
	# shellcheck disable=SC2086
	set -- $spec
	lab_wait_listen "$1" tcp "$2"
done
lab_exec "$client" python3 -c 'import socket; socket.create_connection(("198.18.60.1", 8080), 2).close()' ||
	lab_fail "the netavark port does not answer: the lab rules are wrong"

"$PORTCENSUS" audit --format json -o "$LAB_TMP/audit.json" 2>"$LAB_TMP/audit.err" ||
	lab_fail "audit failed: $(cat "$LAB_TMP/audit.err")"
python3 "$HERE/forward_check.py" "$LAB_TMP/audit.json" "$host" 8080 198.18.60.1 dnat \
	"nat/NETAVARK-HOSTPORT-DNAT: dnat name: podman id: 3a8b6f0c2d1e" \
	"$ctr1:198.18.61.2:80:$c1:-" --reachable --service http || exit 1
python3 "$HERE/forward_check.py" "$LAB_TMP/audit.json" "$host" 8081 0.0.0.0 proxy \
	"nat/DOCKER" "$ctr2:198.18.62.2:80:$c2:-" --state listen || exit 1
python3 "$HERE/forward_check.py" "$LAB_TMP/audit.json" "$host" 8082 0.0.0.0 redirect \
	"nat/DOCKER" "$host:0.0.0.0:9090:$h9:-" || exit 1
# the proxy is an owner of its port
python3 - "$LAB_TMP/audit.json" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
ep = [e for e in doc["endpoints"] if e["port"] == 8081 and e["state"] == "listen"][0]
if "docker-proxy" not in [o["comm"] for o in ep["owners"]]:
    sys.exit("FAIL: docker-proxy is not an owner of 8081: %s" % ep["owners"])
PY
# table and csv say it in a few words
"$PORTCENSUS" listeners >"$LAB_TMP/table.txt" 2>&1 || lab_fail "listeners failed"
head -1 "$LAB_TMP/table.txt" | grep -q FORWARD || lab_fail "no FORWARD column: $(head -1 "$LAB_TMP/table.txt")"
grep -E '198\.18\.60\.1:8080 +forwarded .*dnat -> 198\.18\.61\.2:80' "$LAB_TMP/table.txt" >/dev/null ||
	lab_fail "table lacks the netavark forward: $(cat "$LAB_TMP/table.txt")"
"$PORTCENSUS" listeners --format csv >"$LAB_TMP/out.csv" || lab_fail "csv failed"
head -1 "$LAB_TMP/out.csv" | grep -q ',container_name,container_image,forward$' || lab_fail "csv header: $(head -1 "$LAB_TMP/out.csv")"
grep -q '^host,tcp,0.0.0.0,8081,listen,.*,proxy -> 198.18.62.2:80$' "$LAB_TMP/out.csv" ||
	lab_fail "csv lacks the proxy row: $(cat "$LAB_TMP/out.csv")"
echo "forward_containers: ok"
