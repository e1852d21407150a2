#!/usr/bin/env python3
"""capture.py OUTDIR - capture real NETLINK_SOCK_DIAG replies for the unit
tests of src/inventory/sockdiag.c.

Run it once inside a fresh network namespace (`unshare --net python3
capture.py DIR`): it brings lo up, opens a known set of sockets, asks the
kernel for four inet_diag dumps with its own request code (independent of
the code under test) and writes the bytes of every recv() of each dump,
concatenated, to DIR/NAME.bin. The request sequence number is 1.

Sockets made (what test_sockdiag.c expects to read back):
  tcp  127.0.0.1:8080 LISTEN, and one connection to it (two ESTABLISHED)
  tcp6 [::]:8443 LISTEN (IPV6_V6ONLY)
  udp  0.0.0.0:5353 bound
  udp6 [::1]:5354 bound
"""
import os
import socket
import struct
import subprocess
import sys

SOCK_DIAG_BY_FAMILY = 20
TCPDIAG_GETSOCK = 18
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN = 1, 7, 10


def sockid():
    return struct.pack("!HH16s16s", 0, 0, b"", b"") + struct.pack("=I2I", 0, 0, 0)


def dump(out, name, msg_type, body):
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    hdr = struct.pack("=IHHII", 16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    nl.sendto(hdr + body, (0, 0))
    data = b""
    while True:
        chunk = nl.recv(65536)
        data += chunk
        # the last message of a dump is NLMSG_DONE (type 3)
        off, done = 0, False
        while off + 16 <= len(chunk):
            ln, ty = struct.unpack_from("=IH", chunk, off)
            if ty == 3:
                done = True
            off += (ln + 3) & ~3
        if done:
            break
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(data)
    nl.close()


def main():
    out = sys.argv[1]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    t4 = socket.socket()
    t4.bind(("127.0.0.1", 8080))
    t4.listen(8)
    cl = socket.create_connection(("127.0.0.1", 8080))
    srv, _ = t4.accept()
    t6 = socket.socket(socket.AF_INET6)
    t6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    t6.bind(("::", 8443))
    t6.listen(8)
    u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u4.bind(("0.0.0.0", 5353))
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u6.bind(("::1", 5354))

    # legacy request, both families: struct inet_diag_req
    legacy = struct.pack("=BBBB", 0, 0, 0, 0) + sockid() + struct.pack(
        "=II", (1 << TCP_LISTEN) | (1 << TCP_ESTABLISHED), 0)
    dump(out, "tcp_both", TCPDIAG_GETSOCK, legacy)

    def v2(family, proto, states):
        return struct.pack("=BBBBI", family, proto, 0, 0, states) + sockid()

    dump(out, "tcp6_listen", SOCK_DIAG_BY_FAMILY, v2(socket.AF_INET6, 6, 1 << TCP_LISTEN))
    dump(out, "udp4", SOCK_DIAG_BY_FAMILY, v2(socket.AF_INET, 17, 1 << TCP_CLOSE))
    dump(out, "udp6", SOCK_DIAG_BY_FAMILY, v2(socket.AF_INET6, 17, 1 << TCP_CLOSE))
    for s in (t4, cl, srv, t6, u4, u6):
        s.close()


if __name__ == "__main__":
    main()
