#!/usr/bin/env python3
"""sockfarm.py - hold a population of TCP sockets for bench/inventory/run.

usage: sockfarm.py PORT PAIRS READY_FILE

Listens on 127.0.0.1:PORT, opens PAIRS loopback connections to itself and
accepts them (2 * PAIRS + 1 sockets: one listener, PAIRS client ends and
PAIRS server ends), writes READY_FILE, then sleeps until killed. Run only
inside lab namespaces (the bench starts it with ip netns exec).
"""
import socket
import sys
import time


def main():
    port, pairs, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4096)
    held = []
    done = 0
    while done < pairs:
        batch = min(512, pairs - done)
        for _ in range(batch):
            c = socket.socket()
            c.connect(("127.0.0.1", port))
            held.append(c)
        for _ in range(batch):
            a, _ = ls.accept()
            held.append(a)
        done += batch
    with open(ready, "w") as f:
        f.write("%d\n" % len(held))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
