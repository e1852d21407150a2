#!/usr/bin/env python3
"""listeners_compare.py - compare `portcensus listeners` JSON with `ss`.

usage: listeners_compare.py MODE PORTCENSUS_JSON ORACLE_DIR [--no-pids]

MODE is "listen" (oracle files from `ss -Hltnup`) or "established"
(`ss -Htnp state established`). ORACLE_DIR holds one file per network
namespace, named after it ("-" for the namespace the test runs in, whose
netns.name is null). Prints both sets and the difference on failure and
exits 1; exits 0 when they are equal.

A row is (netns, proto, address, port[, peer address, peer port], pids).
"""
import ipaddress
import json
import os
import re
import sys


def norm_addr(text):
    text = text.strip("[]")
    text = text.split("%", 1)[0]  # ss adds %iface to some addresses
    if text == "*":
        return "*"
    return str(ipaddress.ip_address(text))


def split_hostport(text):
    host, _, port = text.rpartition(":")
    return norm_addr(host), int(port)


def ss_rows(mode, ns, path, with_pids):
    rows = set()
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if mode == "listen":
                # Netid State Recv-Q Send-Q Local Peer [Process]
                proto, local = parts[0], parts[4]
                rest = " ".join(parts[6:])
            else:
                # (state filter drops the State column) Recv-Q Send-Q Local Peer [Process]
                proto, local, peer = "tcp", parts[2], parts[3]
                rest = " ".join(parts[4:])
            addr, port = split_hostport(local)
            pids = tuple(sorted(int(p) for p in re.findall(r"pid=(\d+)", rest)))
            row = (ns, proto, addr, port)
            if mode == "established":
                row += split_hostport(peer)
            rows.add(row + (pids if with_pids else (),))
    return rows


def pc_rows(mode, doc, with_pids):
    rows = set()
    for ep in doc["endpoints"]:
        if ep["state"] != mode:
            continue
        ns = ep["netns"]["name"] if ep["netns"] and ep["netns"]["name"] else "-"
        row = (ns, ep["proto"], norm_addr(ep["address"]), ep["port"])
        if mode == "established":
            row += (norm_addr(ep["peer"]["address"]), ep["peer"]["port"])
        pids = tuple(sorted(o["pid"] for o in ep["owners"]))
        rows.add(row + (pids if with_pids else (),))
    return rows


def main():
    mode, pc_json, oracle_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    with_pids = "--no-pids" not in sys.argv[4:]
    with open(pc_json) as f:
        doc = json.load(f)
    want = set()
    for ns in sorted(os.listdir(oracle_dir)):
        want |= ss_rows(mode, ns, os.path.join(oracle_dir, ns), with_pids)
    got = pc_rows(mode, doc, with_pids)
    # ss prints a dual-stack wildcard as "*"; portcensus says "::"
    got = {r[:2] + ("*",) + r[3:] if r[2] == "::" and
           (r[:2] + ("*",) + r[3:]) in want else r for r in got}
    if got != want:
        print("FAIL: portcensus listeners (%s) differs from ss" % mode)
        for r in sorted(want - got, key=str):
            print("  only in ss:         ", r)
        for r in sorted(got - want, key=str):
            print("  only in portcensus: ", r)
        sys.exit(1)
    print("ok: %d %s rows equal to ss" % (len(got), mode))


if __name__ == "__main__":
    main()
