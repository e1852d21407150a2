#!/usr/bin/env bash
# probe_engine.sh - the probe engine's own behaviour, through the test-only
# probe_driver, against real servers in a lab namespace:
#   - identification by protocol on ports no table associates with the
#     service (redis on 7777, also over IPv6, sshd on 2200, HTTPS on 4433);
#   - TLS on any port: nginx with a self-signed certificate made here on
#     4433 (the plain GET is refused with "plain HTTP request was sent to
#     HTTPS port", the engine hands over to TLS): tls_info subject, issuer,
#     ISO 8601 not_after, self_signed; a TLS-wrapped banner service (socat,
#     an IMAP greeting) on 9993 is found inside TLS by the passive read; a
#     TLS 1.0-only server (openssl s_server -tls1) is still talked to and
#     its version recorded;
#   - an in-band TLS upgrade: PostgreSQL with ssl=on answers the SSLRequest
#     with 'S', the engine upgrades the same connection, and the startup
#     (trust: auth none) runs inside TLS, with tls_info;
#   - UDP: memcached and dnsmasq (version.bind) over UDP, dnsmasq over TCP;
#   - a closed port keeps service null;
#   - the per-host cap: 8 endpoints on one silent host with -H 2 never hold
#     more than 2 connections to it at once, and with -H 8 they do overlap.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_init
: "${PROBE_DRIVER:?PROBE_DRIVER must point to the test-only probe_driver}"
for c in redis-server nginx socat openssl memcached dnsmasq python3; do
	command -v "$c" >/dev/null || lab_skip "needs $c"
done
[ -x /usr/sbin/sshd ] || lab_skip "needs openssh-server"
PG=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PG" ] && [ -x "$PG/postgres" ] || lab_skip "needs postgresql"
command -v runuser >/dev/null || lab_skip "needs runuser (util-linux)"

cli=$(lab_ns cli)
srv=$(lab_ns srv)
lab_link "$cli" 198.18.9.1/24 "$srv" 198.18.9.2/24 fd00:198:18:9::1/64 fd00:198:18:9::2/64
T=198.18.9.2
T6=fd00:198:18:9::2
D=$LAB_TMP
chmod 755 "$D"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/key.pem" -out "$D/cert.pem" -days 30 \
	-subj "/CN=probe.lab.test/O=portcensus lab" 2>/dev/null || lab_fail "openssl req"
cat "$D/key.pem" "$D/cert.pem" >"$D/both.pem"
printf '* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready.\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done\r\n' >"$D/imap.txt"

lab_spawn "$srv" redis-server --port 7777 --bind "$T $T6" --save "" --appendonly no \
	--protected-mode no --dir "$D" >/dev/null
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$D/hostkey"
lab_spawn "$srv" /usr/sbin/sshd -D -f /dev/null -o UsePAM=no -o HostKey="$D/hostkey" \
	-o ListenAddress=$T:2200 -o PidFile=none >/dev/null
cat >"$D/nginx.conf" <<NGX
daemon off; pid $D/nginx.pid; error_log stderr;
events {}
http {
	access_log off;
	server { listen $T:4433 ssl; ssl_certificate $D/cert.pem; ssl_certificate_key $D/key.pem;
		location / { return 200 "hello\n"; } }
}
NGX
lab_spawn "$srv" nginx -c "$D/nginx.conf" -e stderr >/dev/null
lab_spawn "$srv" socat OPENSSL-LISTEN:9993,bind=$T,cert="$D/both.pem",verify=0,fork,reuseaddr \
	SYSTEM:"cat $D/imap.txt; sleep 5" >/dev/null
lab_spawn "$srv" openssl s_server -quiet -accept $T:8445 -key "$D/key.pem" -cert "$D/cert.pem" \
	-www -tls1 -cipher 'DEFAULT:@SECLEVEL=0' >/dev/null
lab_spawn "$srv" memcached -u nobody -l $T -p 11211 -U 11211 >/dev/null
mkdir "$D/pg"
chown postgres "$D/pg"
runuser -u postgres -- "$PG/initdb" -D "$D/pg" -A trust -U postgres >/dev/null 2>&1 ||
	lab_fail "initdb"
echo "host all all 198.18.9.0/24 trust" >>"$D/pg/pg_hba.conf"
cp "$D/cert.pem" "$D/key.pem" "$D/pg/"
chown postgres "$D/pg/cert.pem" "$D/pg/key.pem"
chmod 600 "$D/pg/key.pem"
lab_spawn "$srv" runuser -u postgres -- "$PG/postgres" -D "$D/pg" -c listen_addresses=$T \
	-c port=6543 -c unix_socket_directories="$D/pg" -c ssl=on \
	-c ssl_cert_file="$D/pg/cert.pem" -c ssl_key_file="$D/pg/key.pem" >/dev/null
lab_spawn "$srv" dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=5353 \
	--listen-address=$T --bind-interfaces --pid-file="$D/dnsmasq.pid" >/dev/null
hostile_pid=$(lab_spawn "$srv" python3 "$LAB_DIR/hostile.py" $T 7100 "$D/hostile.json")
for p in 7777 2200 4433 9993 11211 5353 7102 6543 8445; do lab_wait_listen "$srv" tcp $p 20; done
lab_wait_listen "$srv" udp 11211
# IPv6 neighbour discovery waits for the link-local address to leave the
# tentative state: settle it before the probes' deadlines start
for _ in $(seq 50); do
	lab_exec "$cli" ping -6 -c 1 -W 1 $T6 >/dev/null 2>&1 && break
	sleep 0.1
done
lab_wait_listen "$srv" udp 5353

lab_exec "$cli" "$PROBE_DRIVER" -t 2000 -f json tcp:$T:7777 tcp:$T:2200 tcp:$T:4433 \
	tcp:$T:9993 udp:$T:11211 udp:$T:5353 tcp:$T:5353 tcp:$T:7999 "tcp:[$T6]:7777" \
	tcp:$T:6543 tcp:$T:8445 >"$D/out.json" ||
	lab_fail "probe_driver failed"

python3 - "$D/out.json" <<'PY' || lab_fail "identification checks"
import json, re, sys
d = json.load(open(sys.argv[1]))
got = {(e["proto"], e["port"]): e.get("service") for e in d["endpoints"] if ":" not in e["address"]}
v6 = [e for e in d["endpoints"] if ":" in e["address"]]
assert len(v6) == 1 and (v6[0]["service"] or {}).get("name") == "redis", v6
def check(key, **want):
    s = got[key]
    assert s is not None, f"{key}: no service"
    for k, v in want.items():
        assert s.get(k) == v, f"{key}: {k} = {s.get(k)!r}, expected {v!r} ({s})"
    return s
check(("tcp", 7777), name="redis", product="Redis", auth="none", tls=False)
s = check(("tcp", 2200), name="ssh", product="OpenSSH", tls=False)
assert s["version"], s
s = check(("tcp", 4433), name="http", product="nginx", auth="none", tls=True)
ti = s["tls_info"]
assert ti["subject"] == "O=portcensus lab,CN=probe.lab.test", ti
assert ti["issuer"] == ti["subject"], ti
assert ti["self_signed"] is True, ti
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ti["not_after"]), ti
assert ti["version"].startswith("TLSv1."), ti
assert ti["cipher"], ti
s = check(("tcp", 9993), name="imap", auth="required", tls=True)
assert s["tls_info"]["subject"].endswith("CN=probe.lab.test"), s
check(("udp", 11211), name="memcached", auth="none", tls=False)
s = check(("tcp", 8445), name="http", tls=True)
assert s["tls_info"]["version"] == "TLSv1", s
s = check(("tcp", 6543), name="postgresql", product="PostgreSQL", auth="none", tls=True)
assert "inside TLS" in s["evidence"], s
assert s["tls_info"]["subject"] == "O=portcensus lab,CN=probe.lab.test", s
s = check(("udp", 5353), name="dns", product="dnsmasq")
assert s["version"], s
check(("tcp", 5353), name="dns", product="dnsmasq")
assert got[("tcp", 7999)] is None, got[("tcp", 7999)]
print("identification ok")
PY

# per-host cap: 8 endpoints on the silent port, -H 2 then -H 8
start=$(date +%s%N)
lab_exec "$cli" "$PROBE_DRIVER" -t 400 -P 16 -H 2 -n 8 -f json tcp:$T:7102 >/dev/null ||
	lab_fail "probe_driver (cap 2)"
ms2=$((($(date +%s%N) - start) / 1000000))
kill -TERM "$hostile_pid"
for _ in $(seq 50); do [ -s "$D/hostile.json" ] && break; sleep 0.1; done
peak2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["peak"].get("silent", 0))' "$D/hostile.json")
rm -f "$D/hostile.json"
hostile_pid=$(lab_spawn "$srv" python3 "$LAB_DIR/hostile.py" $T 7100 "$D/hostile.json")
lab_wait_listen "$srv" tcp 7102
start=$(date +%s%N)
lab_exec "$cli" "$PROBE_DRIVER" -t 400 -P 16 -H 8 -n 8 -f json tcp:$T:7102 >/dev/null ||
	lab_fail "probe_driver (cap 8)"
ms8=$((($(date +%s%N) - start) / 1000000))
kill -TERM "$hostile_pid"
for _ in $(seq 50); do [ -s "$D/hostile.json" ] && break; sleep 0.1; done
peak8=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["peak"].get("silent", 0))' "$D/hostile.json")
lab_log "silent host, 8 endpoints: -H 2 peak $peak2 connections in ${ms2} ms; -H 8 peak $peak8 in ${ms8} ms"
[ "$peak2" -le 2 ] && [ "$peak2" -ge 1 ] || lab_fail "per-host cap 2 exceeded: $peak2 at once"
[ "$peak8" -gt 2 ] || lab_fail "with -H 8 the endpoints never overlapped ($peak8)"
[ "$ms8" -lt "$ms2" ] || lab_fail "more in flight was not faster (${ms8} >= ${ms2} ms)"

echo "PASS: probe engine (non-standard ports, TLS anywhere, STARTTLS, UDP, per-host cap)"
