#!/usr/bin/env bash
# services.sh - real services from Debian packages in a lab namespace
# (tests/lab/services.sh: redis with and without requirepass, memcached,
# PostgreSQL trust and scram-sha-256, MariaDB, nginx plain and TLS, sshd,
# mosquitto anonymous and not, etcd, node_exporter), each on its standard
# port and on a port no table associates with it. `portcensus verify` on a
# masscan -oL file listing them must name each service, its product and
# version where the protocol says them, its auth verdict and TLS - exactly.
#
# Then `portcensus audit` (inside lab_isolate, so it sees only this test's
# namespaces and processes) must find the same 13 servers as listeners in
# the service namespace, owned by their Debian users, and probe them from
# inside that namespace to the same verdicts.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
. "$LAB_DIR/services.sh"
svc_require

srv=$(lab_ns srv)
cli=$(lab_ns cli)
lab_link "$cli" 198.18.3.1/24 "$srv" 198.18.3.2/24
T=198.18.3.2
D=$LAB_TMP
svc_start_all "$srv" $T

{
	echo "#masscan"
	echo "$SVC_EXPECT" | awk -v t=$T '{ print "open tcp", $1, t, 1795744158 }'
	echo "# end"
} >"$D/lab.list"

t0=$SECONDS
ip netns exec "$cli" "$PORTCENSUS" verify --format json "$D/lab.list" >"$D/out.json"
rc=$?
lab_log "verify of $(echo "$SVC_EXPECT" | wc -l) endpoints took $((SECONDS - t0)) s"
python3 - "$D/out.json" >"$D/got.txt" <<'EOF' || lab_fail "verify output does not parse"
import json, sys
d = json.load(open(sys.argv[1]))
for e in sorted(d["endpoints"], key=lambda e: e["port"]):
    s = e["service"] or {}
    tls = s.get("tls")
    print(e["port"], s.get("name") or "-", (s.get("product") or "-").replace(" ", "_"),
          (s.get("version") or "-").replace(" ", "_"), s.get("auth") or "-",
          "-" if tls is None else ("yes" if tls else "no"),
          e["recheck"]["status"])
EOF
want=$(echo "$SVC_EXPECT" | sort -n | sed 's/$/ confirmed/')
got=$(cat "$D/got.txt")
if [ "$want" != "$got" ]; then
	printf '%-6s %-42s %s\n' PORT WANT GOT >&2
	paste -d'|' <(echo "$want") <(echo "$got") | while IFS='|' read -r w g; do
		mark=" "
		[ "$w" = "$g" ] || mark="X"
		printf '%s %-48s %s\n' "$mark" "$w" "$g" >&2
	done
	lab_fail "identification differs from the lab (X marks the rows)"
fi
lab_assert_eq "verify exit status" 0 $rc

# UDP: memcached over UDP on its port and on a redirected one; a UDP port
# nobody holds is closed now (ICMP port unreachable)
{
	echo "$SVC_EXPECT_UDP" | awk -v t=$T '{ print "open udp", $1, t, 1795744158 }'
	echo "open udp 11299 $T 1795744158"
} >"$D/udp.list"
ip netns exec "$cli" "$PORTCENSUS" verify --format json "$D/udp.list" >"$D/udp.json"
lab_assert_eq "udp verify exit status" 1 $?
got=$(python3 - "$D/udp.json" <<'EOF'
import json, sys
for e in sorted(json.load(open(sys.argv[1]))["endpoints"], key=lambda e: e["port"]):
    s = e["service"] or {}
    print(e["proto"], e["port"], s.get("name") or "-", s.get("version") or "-",
          s.get("auth") or "-", e["state"], e["recheck"]["status"])
EOF
)
memc_v=$(memcached -V | awk '{print $2}')
lab_assert_eq "udp" "udp 11211 memcached $memc_v none open confirmed
udp 11299 - - - closed closed_now
udp 21211 memcached $memc_v none open confirmed" "$got"

# The same endpoints as nmap would name them from its port table, plus
# real claims: every claim of the right service is confirmed; a wrong one
# is a different service.
cat >"$D/claims.jsonl" <<EOF
{"proto":"tcp","address":"$T","port":11211,"state":"open","service":{"name":"memcache"}}
{"proto":"tcp","address":"$T","port":15432,"state":"open","service":{"name":"postgresql"}}
{"proto":"tcp","address":"$T","port":10443,"state":"open","service":{"name":"https"}}
{"proto":"tcp","address":"$T","port":12379,"state":"open","service":{"name":"etcd-client"}}
{"proto":"tcp","address":"$T","port":19100,"state":"open","service":{"name":"http"}}
{"proto":"tcp","address":"$T","port":10080,"state":"open","service":{"name":"https"}}
{"proto":"tcp","address":"$T","port":16380,"state":"open","service":{"name":"http"}}
EOF
ip netns exec "$cli" "$PORTCENSUS" verify --format json "$D/claims.jsonl" >"$D/claims.json"
lab_assert_eq "claims exit status" 1 $?
got=$(python3 -c '
import json, sys
for e in sorted(json.load(open(sys.argv[1]))["endpoints"], key=lambda e: e["port"]):
    print(e["port"], e["recheck"]["status"])' "$D/claims.json")
lab_assert_eq "claims" "10080 different_service
10443 confirmed
11211 confirmed
12379 confirmed
15432 confirmed
16380 different_service
19100 confirmed" "$got"
# ---- the host side: audit ----
ip netns exec "$srv" "$PORTCENSUS" audit --format json >"$D/audit.json" ||
	lab_fail "audit failed"
python3 - "$D/audit.json" >"$D/audit.txt" <<'EOF' || lab_fail "audit output does not parse"
import json, sys
for e in sorted(json.load(open(sys.argv[1]))["endpoints"], key=lambda e: e["port"]):
    if e["proto"] != "tcp" or e["address"] != "198.18.3.2":
        continue
    s = e["service"] or {}
    tls = s.get("tls")
    users = ",".join(sorted({o["user"] or "?" for o in e["owners"]}))
    print(e["port"], s.get("name") or "-", (s.get("product") or "-").replace(" ", "_"),
          (s.get("version") or "-").replace(" ", "_"), s.get("auth") or "-",
          "-" if tls is None else ("yes" if tls else "no"), users)
EOF
users="22 root
80 root,www-data
443 root,www-data
1883 mosquitto
1884 mosquitto
2379 etcd
3306 mysql
5432 postgres
5433 postgres
6379 redis
6380 redis
9100 prometheus
11211 memcache"
want=$(join <(echo "$SVC_EXPECT" | sort -k1,1) <(echo "$users" | sort -k1,1) | sort -n)
lab_assert_eq "audit of the service namespace" "$want" "$(cat "$D/audit.txt")"
echo "PASS services"
