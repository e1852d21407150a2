#!/usr/bin/env python3
"""listen_at.py - open COUNT listeners one after another, at random gaps,
printing the CLOCK_MONOTONIC time (ms) right after each listen() returns, so
a test or benchmark can measure how long the watch takes to notice. Runs
only inside a lab namespace. Keeps every socket until it is killed, or
HOLD seconds after the last one.

usage: listen_at.py tcp|udp ADDR BASEPORT COUNT MIN_GAP_S MAX_GAP_S [HOLD_S]
prints: LISTEN <proto> <port> <monotonic ms> <pid> <wall-clock ms>
"""
import os
import random
import socket
import sys
import time


def main():
    proto, addr, base, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    lo, hi = float(sys.argv[5]), float(sys.argv[6])
    hold = float(sys.argv[7]) if len(sys.argv) > 7 else 3600
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    keep = []
    for i in range(count):
        time.sleep(random.uniform(lo, hi))
        s = socket.socket(family, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, base + i))
        if kind == socket.SOCK_STREAM:
            s.listen(16)
        t = time.clock_gettime(time.CLOCK_MONOTONIC) * 1000
        wall = time.time() * 1000
        print("LISTEN %s %d %.1f %d %.0f" % (proto, base + i, t, os.getpid(), wall), flush=True)
        keep.append(s)
    time.sleep(hold)


main()
