#!/usr/bin/env python3
"""Lab listener: bind one socket, optionally share it with forked children,
and hold it until killed. Used by lab tests; runs only inside lab namespaces.

usage: listener.py tcp|udp ADDR PORT [FORKS]
"""
import os
import signal
import socket
import sys
import time


def main():
    proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    forks = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    if kind == socket.SOCK_STREAM:
        s.listen(128)
    children = []
    for _ in range(forks):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
            while True:
                time.sleep(3600)
        children.append(pid)

    def stop(*_):
        for c in children:
            try:
                os.kill(c, signal.SIGTERM)
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    conns = []
    if kind == socket.SOCK_STREAM:
        while True:
            c, _ = s.accept()
            conns.append(c)  # keep established connections open
    else:
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
