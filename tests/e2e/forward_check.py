#!/usr/bin/env python3
"""forward_check.py - assertions on `portcensus audit --format json` for the
forwarded-port lab tests (forward_*.sh).

usage: forward_check.py JSON NODE_NS PORT ADDR KIND RULE_PART \
           BACKEND_NS:ADDR:PORT:PID:WEIGHT... [--reachable] [--service NAME]
           [--state STATE]

Checks that exactly one endpoint of NODE_NS has (ADDR, PORT), that its
state is `forwarded`, its forward.kind KIND, its rule contains RULE_PART,
its `to` list is exactly the given backends (address, port, weight; weight
"-" means null), and that each backend resolved to the listener of the given
namespace whose owners include PID. Exits 1 with a message otherwise.
"""
import json
import sys


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    reachable = "--reachable" in args
    if reachable:
        args.remove("--reachable")
    service = None
    state = "forwarded"
    if "--state" in args:
        i = args.index("--state")
        state = args[i + 1]
        del args[i : i + 2]
    if "--service" in args:
        i = args.index("--service")
        service = args[i + 1]
        del args[i : i + 2]
    path, node, port, addr, kind, rule_part = args[:6]
    backends = [b.split(":") for b in args[6:]]
    doc = json.load(open(path))
    eps = [
        e
        for e in doc["endpoints"]
        if e["port"] == int(port)
        and e["address"] == addr
        and (e["netns"] or {}).get("name") == node
    ]
    if len(eps) != 1:
        fail("want one endpoint %s:%s in %s, got %d" % (addr, port, node, len(eps)))
    ep = eps[0]
    if ep["state"] != state:
        fail("state %s, want %s" % (ep["state"], state))
    fw = ep.get("forward")
    if not fw:
        fail("no forward object on %s:%s" % (addr, port))
    if fw["kind"] != kind:
        fail("forward.kind %s, want %s" % (fw["kind"], kind))
    if rule_part not in (fw["rule"] or ""):
        fail("forward.rule %r lacks %r" % (fw["rule"], rule_part))
    got = sorted(
        (t["address"], t["port"], None if t["weight"] is None else round(t["weight"], 3))
        for t in fw["to"]
    )
    want = sorted(
        (b[1], int(b[2]), None if b[4] == "-" else round(float(b[4]), 3)) for b in backends
    )
    if got != want:
        fail("forward.to %s, want %s" % (got, want))
    if len(fw["backends"]) != len(fw["to"]):
        fail("backends and to differ in length")
    for t, be in zip(fw["to"], fw["backends"]):
        spec = [b for b in backends if b[1] == t["address"] and int(b[2]) == t["port"]][0]
        if be is None:
            fail("backend %s:%s not resolved" % (t["address"], t["port"]))
        if (be["netns"] or {}).get("name") != spec[0]:
            fail("backend %s:%s in netns %s, want %s"
                 % (t["address"], t["port"], be["netns"], spec[0]))
        if be["port"] != int(spec[2]):
            fail("backend port %s, want %s" % (be["port"], spec[2]))
        pids = [o["pid"] for o in be["owners"]]
        if int(spec[3]) not in pids:
            fail("backend %s:%s owners %s lack pid %s" % (t["address"], t["port"], pids, spec[3]))
    if reachable:
        v = ep.get("verified")
        if not v or not v["reachable"]:
            fail("live check of %s:%s: %s" % (addr, port, v))
    if service:
        s = ep.get("service")
        if not s or s["name"] != service:
            fail("service of %s:%s is %s, want %s" % (addr, port, s, service))
    print("ok %s:%s -> %s" % (addr, port, got))


main()
