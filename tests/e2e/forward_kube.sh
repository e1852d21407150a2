#!/usr/bin/env bash
# forward_kube.sh iptables|nft - a Kubernetes NodePort without a cluster.
#
# One service (demo/web, port http 80/TCP, ClusterIP 198.18.99.10, NodePort
# 30080) with two endpoints, 198.18.71.2:8080 and 198.18.72.2:8080, each an
# http server in its own "pod" namespace, behind a lab "node" namespace
# holding kube-proxy's rules exactly as kube-proxy writes them:
# - iptables: tests/e2e/forward/kube-iptables.rules through
#   iptables-nft-restore (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-EXT, KUBE-SVC
#   with statistic random 0.5, KUBE-SEP DNAT, comments
#   namespace/service:portname), route_localnet set as kube-proxy sets it;
# - nft: tests/e2e/forward/kube-nft.nft through nft -f (table ip
#   kube-proxy, service-ips / service-nodeports verdict maps, nodeport-ips,
#   numgen random vmap over the endpoint chains).
#
# Under lab_isolate, `portcensus audit --format json` must show the NodePort
# (iptables: 0.0.0.0:30080, every local address; nft: 198.18.70.1:30080,
# the node's address in nodeport-ips) and the ClusterIP 198.18.99.10:80 as
# forwarded, kind dnat, to both endpoints with weight 0.5 each, each backend
# resolved to its pod's http server and that server's pid; the live check
# reaches the NodePort through its front address from the node's namespace,
# and the backends' service (http) is joined to it.
set -u
mode=${1:-iptables}
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"
HERE=$(cd "$(dirname "$0")" && pwd)

node=$(lab_ns node)
pod1=$(lab_ns pod1)
pod2=$(lab_ns pod2)
client=$(lab_ns client)
lab_link "$node" 198.18.71.1/24 "$pod1" 198.18.71.2/24
lab_link "$node" 198.18.72.1/24 "$pod2" 198.18.72.2/24
lab_link "$node" 198.18.70.1/24 "$client" 198.18.70.2/24
lab_exec "$pod1" ip route add default via 198.18.71.1
lab_exec "$pod2" ip route add default via 198.18.72.1
lab_exec "$node" sysctl -qw net.ipv4.ip_forward=1
case "$mode" in
iptables)
	command -v iptables-nft-restore >/dev/null || lab_skip "needs iptables (iptables-nft-restore)"
	lab_exec "$node" sysctl -qw net.ipv4.conf.all.route_localnet=1
	lab_exec "$node" iptables-nft-restore <"$HERE/forward/kube-iptables.rules" ||
		lab_fail "iptables-nft-restore refused the kube-proxy rules"
	nodeport=0.0.0.0
	dial=127.0.0.1
	np_rule="nat/KUBE-NODEPORTS: demo/web:http"
	cip_rule="nat/KUBE-SERVICES: demo/web:http cluster IP"
	;;
nft)
	command -v nft >/dev/null || lab_skip "needs nftables (nft)"
	lab_exec "$node" nft -f "$HERE/forward/kube-nft.nft" || lab_fail "nft refused the kube-proxy rules"
	nodeport=198.18.70.1
	dial=198.18.70.1
	np_rule="kube-proxy/services: external-WEB4ZKD3-demo/web/tcp/http"
	cip_rule="kube-proxy/services: service-WEB4ZKD3-demo/web/tcp/http"
	;;
*) lab_fail "usage: forward_kube.sh iptables|nft" ;;
esac

mkdir -p "$LAB_TMP/www"
echo hello >"$LAB_TMP/www/index.html"
p1=$(lab_spawn "$pod1" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$LAB_TMP/www")
p2=$(lab_spawn "$pod2" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$LAB_TMP/www")
lab_wait_listen "$pod1" tcp 8080
lab_wait_listen "$pod2" tcp 8080
# the NodePort works for clients before we ask portcensus about it
lab_exec "$node" python3 -c "import socket; socket.create_connection(('$dial', 30080), 2).close()" ||
	lab_fail "the NodePort does not answer on the node: the lab rules are wrong"
lab_exec "$client" python3 -c "import socket; socket.create_connection(('198.18.70.1', 30080), 2).close()" ||
	lab_fail "the NodePort does not answer a client: the lab rules are wrong"

"$PORTCENSUS" audit --format json -o "$LAB_TMP/audit.json" 2>"$LAB_TMP/audit.err" ||
	lab_fail "audit failed: $(cat "$LAB_TMP/audit.err")"
python3 "$HERE/forward_check.py" "$LAB_TMP/audit.json" "$node" 30080 "$nodeport" dnat "$np_rule" \
	"$pod1:198.18.71.2:8080:$p1:0.5" "$pod2:198.18.72.2:8080:$p2:0.5" \
	--reachable --service http || exit 1
python3 "$HERE/forward_check.py" "$LAB_TMP/audit.json" "$node" 80 198.18.99.10 dnat "$cip_rule" \
	"$pod1:198.18.71.2:8080:$p1:0.5" "$pod2:198.18.72.2:8080:$p2:0.5" || exit 1
echo "forward_kube $mode: ok"
