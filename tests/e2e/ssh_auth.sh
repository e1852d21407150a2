#!/usr/bin/env bash
# ssh_auth.sh - SSH authentication evidence (probe/ssh_auth.c) against the
# real OpenSSH server, in an isolated lab.
#
# Two sshd in namespace srv, each with a throw-away host key made here and a
# config in the lab's temp dir (never /etc/ssh):
#   198.18.23.2:22    PasswordAuthentication yes, ed25519 host key
#   198.18.23.2:2222  PasswordAuthentication no,  ECDSA host key
# and on 2200 a fake that sends an SSH banner and then nothing: its key
# exchange must end at the deadline with auth unknown and the reason.
# (keyboard-interactive off on both, no PAM). Oracle: the configs we wrote
# and `ssh-keygen -lf` of the keys we made. For each endpoint:
# auth "required", auth_methods exactly [publickey, password] vs
# [publickey], ssh.hostkey_type the key's type and ssh.hostkey_fingerprint
# ssh-keygen's SHA256 fingerprint, the evidence line naming both.
#
# Three ways in:
#   - `audit` of the host: the records of namespace srv, probed by the
#     confined worker from inside srv (its sockets come from the parent's
#     broker);
#   - `audit TARGET` from namespace cli, the network side;
#   - `verify` of an nmap -oX file made from cli.
# And the table's auth column says "required", jsonl carries the fields;
# sshd's own log shows the "none" request as user portcensus-probe and no
# password attempt.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
[ -x /usr/sbin/sshd ] || lab_skip "needs openssh-server"
command -v ssh-keygen >/dev/null || lab_skip "needs ssh-keygen (openssh-client)"
command -v nmap >/dev/null || lab_skip "needs nmap"
command -v python3 >/dev/null || lab_skip "needs python3"

cli=$(lab_ns cli)
srv=$(lab_ns srv)
lab_link "$cli" 198.18.23.1/24 "$srv" 198.18.23.2/24
T=198.18.23.2
D=$LAB_TMP
chmod 711 "$D"

# sshd (OpenSSH 9.2) insists on its privilege separation directory; inside
# lab_isolate's mount namespace a tmpfs there is ours alone
mkdir -p /run/sshd
mount -t tmpfs -o mode=755 lab-sshd /run/sshd || lab_fail "cannot mount /run/sshd"

ssh-keygen -q -t ed25519 -N '' -f "$D/key_pw" || lab_fail "ssh-keygen ed25519"
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$D/key_nopw" || lab_fail "ssh-keygen ecdsa"

# sshd_conf NAME PORT PASSWORD(yes|no)
sshd_conf() {
	cat >"$D/sshd_$1.conf" <<EOF
ListenAddress $T:$2
HostKey $D/key_$1
PidFile none
UsePAM no
PasswordAuthentication $3
KbdInteractiveAuthentication no
PermitRootLogin no
AuthorizedKeysFile none
LogLevel VERBOSE
EOF
}
sshd_conf pw 22 yes
sshd_conf nopw 2222 no
lab_exec "$srv" /usr/sbin/sshd -D -e -f "$D/sshd_pw.conf" </dev/null >>"$D/sshd.log" 2>&1 &
lab_track $!
lab_exec "$srv" /usr/sbin/sshd -D -e -f "$D/sshd_nopw.conf" </dev/null >>"$D/sshd.log" 2>&1 &
lab_track $!
# a stalling "server": the SSH banner, then silence, to every connection
lab_spawn "$srv" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 2200))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"SSH-2.0-stall\r\n")
        held.append(c)
    except OSError:
        c.close()' "$T" >/dev/null
lab_wait_listen "$srv" tcp 22 20
lab_wait_listen "$srv" tcp 2222 20
lab_wait_listen "$srv" tcp 2200 20

# expected "PORT TYPE FINGERPRINT METHODS" lines, from the keys and configs
fp() { ssh-keygen -lf "$D/$1.pub" | awk '{print $2}'; }
ktype() { awk '{print $1}' "$D/$1.pub"; }
expected="22 $(ktype key_pw) $(fp key_pw) publickey,password
2222 $(ktype key_nopw) $(fp key_nopw) publickey"

# found JSON: the same lines from a report, for the endpoints of $T
found() {
	python3 - "$1" "$T" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = []
for e in d["endpoints"]:
    if e["address"] != sys.argv[2] or e["proto"] != "tcp" or e["port"] not in (22, 2222):
        continue
    s = e.get("service") or {}
    assert s.get("name") == "ssh", e
    assert s.get("auth") == "required", s
    ssh = s.get("ssh") or {}
    methods = ",".join(s.get("auth_methods") or [])
    ev = s.get("evidence") or ""
    want = "ssh: server offers %s; host key %s %s" % (
        methods, ssh.get("hostkey_type"), ssh.get("hostkey_fingerprint"))
    assert ev == want, (ev, want)
    rows.append("%d %s %s %s" % (e["port"], ssh.get("hostkey_type"),
                                  ssh.get("hostkey_fingerprint"), methods))
print("\n".join(sorted(rows)))
PY
}

# 1. the host's own listeners, probed from inside their namespace
"$PORTCENSUS" audit --no-store --format json >"$D/host.json" 2>"$D/host.err" ||
	lab_fail "audit exited $?: $(cat "$D/host.err")"
lab_assert_eq "audit (host records): ssh auth evidence" "$expected" "$(found "$D/host.json")"
lab_log "host: $(found "$D/host.json" | tr "\n" "|")"

# 2. the network side: audit TARGET from cli; 2200 stalls after its banner,
# so its key exchange ends at the deadline (--timeout 1000), auth unknown
t0=$(date +%s%N)
lab_exec "$cli" "$PORTCENSUS" audit --no-store --connect --timeout 1000 -p 22,2222,2200 \
	--format json "$T" >"$D/net.json" 2>"$D/net.err" ||
	lab_fail "audit $T exited $?: $(cat "$D/net.err")"
ms=$((($(date +%s%N) - t0) / 1000000))
lab_log "audit $T (two sshd and a stall) took $ms ms"
lab_assert_eq "audit $T: ssh auth evidence" "$expected" "$(found "$D/net.json")"
python3 - "$D/net.json" "$T" <<'PY' || lab_fail "the stalled endpoint"
import json, sys
d = json.load(open(sys.argv[1]))
s = [e for e in d["endpoints"] if e["address"] == sys.argv[2] and e["port"] == 2200][0]["service"]
assert s["name"] == "ssh" and s["auth"] == "unknown", s
assert "auth_methods" not in s and "ssh" not in s, s
assert s["evidence"].endswith("; ssh auth not checked: key exchange: Timeout connecting to 198.18.23.2"), s
PY
# the engine's budget (one exchange each, at most six) plus one key
# exchange deadline; 10 s is far above either and far below a hang
[ "$ms" -lt 10000 ] || lab_fail "audit with a stalling SSH server took $ms ms"

# 3. verify of nmap's own scan
lab_exec "$cli" nmap -n -Pn -sT -p 22,2222 -oX "$D/nmap.xml" "$T" >/dev/null ||
	lab_fail "nmap failed"
lab_exec "$cli" "$PORTCENSUS" verify --format json "$D/nmap.xml" >"$D/verify.json" \
	2>"$D/verify.err" || lab_fail "verify exited $?: $(cat "$D/verify.err")"
lab_assert_eq "verify: ssh auth evidence" "$expected" "$(found "$D/verify.json")"

# 4. the table's auth column
lab_exec "$cli" "$PORTCENSUS" audit --no-store --connect -p 22 --format table "$T" \
	>"$D/net.txt" 2>&1 || lab_fail "audit --format table exited $?"
grep -E '\b22\b.*\bssh\b.*\brequired\b' "$D/net.txt" >/dev/null ||
	lab_fail "table: no 'required' for ssh on 22: $(cat "$D/net.txt")"

# jsonl streams each endpoint: the SSH fields are there too
lab_exec "$cli" "$PORTCENSUS" audit --no-store --connect -p 22 --format jsonl "$T" \
	>"$D/net.jsonl" 2>&1 || lab_fail "audit --format jsonl exited $?"
python3 - "$D/net.jsonl" <<'PY' || lab_fail "jsonl lacks the SSH fields: $(cat "$D/net.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = [r for r in rows if r.get("port") == 22][0]["service"]
assert s["auth_methods"] == ["publickey", "password"] and s["ssh"]["hostkey_type"], s
PY

# sshd saw our user name and the none method, and no password nor key
grep -q 'portcensus-probe' "$D/sshd.log" || lab_fail "sshd never saw user portcensus-probe"
if grep -Ei 'Failed (password|publickey)|Accepted' "$D/sshd.log"; then
	lab_fail "a password or a key was tried"
fi

echo "PASS ssh_auth"
