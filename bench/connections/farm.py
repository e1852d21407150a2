#!/usr/bin/env python3
"""farm.py - hold N TCP connections through NAT for bench/connections/run.

usage: farm.py serve ADDR PORT N
       farm.py dial  ADDR PORT N

serve listens on ADDR:PORT and accepts N connections; dial opens N
connections to ADDR:PORT (the front that gw's DNAT rewrites). Each keeps
its sockets open until a signal ends it; the bench knows they are all up
when `ss` counts N established sockets with an owner in each namespace.
The bench starts them with ip netns exec in its own lab namespaces only.
"""
import resource
import signal
import socket
import sys


def main():
    mode, addr, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # one fd per connection, plus a few: raise the soft limit to the hard one
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = []
    if mode == "serve":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, port))
        ls.listen(4096)
        held.append(ls)
        while len(held) <= n:
            held.append(ls.accept()[0])
    elif mode == "dial":
        for _ in range(n):
            held.append(socket.create_connection((addr, port), timeout=10))
    else:
        sys.exit("farm.py: mode must be serve or dial, not %r" % mode)
    while True:
        signal.pause()  # SIGTERM from the lab's cleanup ends it


main()
