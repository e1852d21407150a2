#!/usr/bin/env bash
# forward_kube_iptables.sh - a Kubernetes NodePort without a cluster:
# kube-proxy's iptables-mode rules, written with iptables-nft-restore into a
# lab "node" namespace, for one service with two endpoints in two "pod"
# namespaces (tests/e2e/forward/kube-iptables.rules: KUBE-SERVICES,
# KUBE-NODEPORTS, KUBE-EXT, KUBE-SVC with statistic random 0.5, KUBE-SEP
# DNAT, comments namespace/service:portname), route_localnet set as
# kube-proxy sets it.
#
# Under lab_isolate, `portcensus audit --format json` must show:
# - the NodePort 0.0.0.0:30080 of the node as forwarded, kind dnat, rule
#   naming demo/web:http, to both endpoints with weight 0.5 each, each
#   backend resolved to the http server listening in its pod namespace,
#   with that server's pid; the live check reaches it through the front
#   (127.0.0.1:30080 from the node's namespace) and the backend's service
#   (http) is joined to it;
# - the ClusterIP 198.18.99.10:80 the same way.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v iptables-nft-restore >/dev/null || lab_skip "needs iptables (iptables-nft-restore)"
command -v python3 >/dev/null || lab_skip "needs python3"
HERE=$(cd "$(dirname "$0")" && pwd)

node=$(lab_ns node)
pod1=$(lab_ns pod1)
pod2=$(lab_ns pod2)
lab_link "$node" 198.18.71.1/24 "$pod1" 198.18.71.2/24
lab_link "$node" 198.18.72.1/24 "$pod2" 198.18.72.2/24
lab_exec "$pod1" ip route add default via 198.18.71.1
lab_exec "$pod2" ip route add default via 198.18.72.1
lab_exec "$node" sysctl -qw net.ipv4.conf.all.route_localnet=1
lab_exec "$node" sysctl -qw net.ipv4.ip_forward=1
lab_exec "$node" iptables-nft-restore <"$HERE/forward/kube-iptables.rules" ||
	lab_fail "iptables-nft-restore refused the kube-proxy rules"

mkdir -p "$LAB_TMP/www"
echo hello >"$LAB_TMP/www/index.html"
p1=$(lab_spawn "$pod1" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$LAB_TMP/www")
p2=$(lab_spawn "$pod2" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$LAB_TMP/www")
lab_wait_listen "$pod1" tcp 8080
lab_wait_listen "$pod2" tcp 8080
# the NodePort works for a client before we ask portcensus about it
lab_exec "$node" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 30080), 2).close()' ||
	lab_fail "the NodePort does not answer: the lab rules are wrong"

"$PORTCENSUS" audit --format json -o "$LAB_TMP/audit.json" 2>"$LAB_TMP/audit.err" ||
	lab_fail "audit failed: $(cat "$LAB_TMP/audit.err")"
python3 "$HERE/forward_check.py" "$LAB_TMP/audit.json" "$node" 30080 0.0.0.0 dnat \
	"nat/KUBE-NODEPORTS: demo/web:http" \
	"$pod1:198.18.71.2:8080:$p1:0.5" "$pod2:198.18.72.2:8080:$p2:0.5" \
	--reachable --service http || exit 1
python3 "$HERE/forward_check.py" "$LAB_TMP/audit.json" "$node" 80 198.18.99.10 dnat \
	"nat/KUBE-SERVICES: demo/web:http cluster IP" \
	"$pod1:198.18.71.2:8080:$p1:0.5" "$pod2:198.18.72.2:8080:$p2:0.5" || exit 1
echo "forward_kube_iptables: ok"
