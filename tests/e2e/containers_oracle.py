#!/usr/bin/env python3
"""containers_oracle.py - the shared checks of tests/e2e/podman.sh and docker.sh.

  containers_oracle.py wait URL=BODY...
      fetch each URL until it answers BODY (5 s at most); exit 1 if not.
  containers_oracle.py check AUDIT_JSON INSPECT TABLE RUNTIME PROXY_COMM
      compare `portcensus audit --format json` with the runtime's own view.
  containers_oracle.py drift DIFF_JSON ADDRESS PORT BEFORE AFTER QUIET_PORT
      `portcensus diff --format json` has ADDRESS:PORT changed, image
      BEFORE -> AFTER, and ADDRESS:QUIET_PORT neither added, removed nor
      changed in its image.

INSPECT has one line per container, "ID NAME IMAGE IMAGE_ID", as the
runtime's inspect printed it; the containers are web1 (published on
198.18.60.1:8080) and web2 (:8081). Checked, for each: its listener on
port 80 has an httpd owner whose container is {id, RUNTIME, name, image,
image_id}; the one owner of its published host port is PROXY_COMM and names
the same container (id, runtime, name, image); that port was reached by the
live check; the table shows "NAME (IMAGE)"; and no warning is about a
container.
"""
import json
import sys
import time
import urllib.request

PORTS = {"web1": 8080, "web2": 8081}


def verdict(fails, doc, ok_line):
    """Print the failures and the document (cut), or ok_line: the exit status."""
    if fails:
        print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
        print(json.dumps(doc, indent=1)[:6000], file=sys.stderr)
        return 1
    print(ok_line)
    return 0


def wait(pairs):
    # never through a proxy from the environment: lab addresses only
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 5
    for pair in pairs:
        url, want = pair.split("=", 1)
        got = None
        while time.monotonic() < deadline:
            try:
                got = opener.open(url, timeout=2).read().decode().strip()
            except OSError as e:
                got = str(e)
            if got == want:
                break
            time.sleep(0.1)
        if got != want:
            print(f"FAIL: {url} answers {got!r}, not {want!r}", file=sys.stderr)
            return 1
    return 0


def check(audit, inspect, table_path, runtime, proxy):
    doc = json.load(open(audit))
    table = open(table_path).read()
    want = {}
    for line in open(inspect):
        cid, name, image, image_id = line.split()
        name = name.lstrip("/")  # docker's inspect prints "/web1"
        want[name] = (cid, image, image_id, PORTS[name])
    fails = []

    def owners_with(pred):
        return [(e, o) for e in doc["endpoints"] for o in e.get("owners") or [] if pred(e, o)]

    for name, (cid, image, image_id, hport) in want.items():
        inner = owners_with(lambda e, o: e["port"] == 80 and e["state"] == "listen"
                            and (o.get("container") or {}).get("id") == cid)
        if not inner:
            fails.append(f"{name}: no listener on port 80 owned by container {cid[:12]}")
        for e, o in inner:
            c = o["container"]
            got = (c.get("runtime"), c.get("name"), c.get("image"), c.get("image_id"))
            if got != (runtime, name, image, image_id):
                fails.append(f"{name}: container listener says {got}, {runtime} says "
                             f"{(runtime, name, image, image_id)}")
            if o.get("comm") != "httpd":
                fails.append(f"{name}: port 80 owner is {o.get('comm')}, not httpd")
            if not (e.get("netns") or {}).get("inode"):
                fails.append(f"{name}: container listener has no namespace")
        front = owners_with(lambda e, o: e["port"] == hport and e["address"] == "198.18.60.1")
        if [o.get("comm") for _, o in front] != [proxy]:
            fails.append(f"{name}: want one {proxy} owner of 198.18.60.1:{hport}, got "
                         f"{[o.get('comm') for _, o in front]}")
        for e, o in front:
            c = o.get("container") or {}
            got = (c.get("id"), c.get("runtime"), c.get("name"), c.get("image"))
            if got != (cid, runtime, name, image):
                fails.append(f"{name}: {proxy}'s 198.18.60.1:{hport} names {got}")
            v = e.get("verified") or {}
            if v.get("reachable") is not True:
                fails.append(f"{name}: 198.18.60.1:{hport} not reachable in the live check: {v}")
        if f"{name} ({image})" not in table:
            fails.append(f"table lacks '{name} ({image})'")
    if len(want) != 2:
        fails.append(f"inspect listed {sorted(want)}, not web1 and web2")
    for w in doc.get("warnings") or []:
        if "container" in w:
            fails.append(f"container warning: {w}")
    return verdict(fails, doc, f"# named {len(want)} {runtime} containers, their images "
                   "and their published ports")


def drift(diff_path, address, port, before, after, quiet_port, container=None):
    """The diff has one `changed` record for ADDRESS:PORT whose image went
    from BEFORE to AFTER, and no image change for ADDRESS:QUIET_PORT (its
    service probe may have timed out on a loaded machine, which is drift
    of another column, not this test's)."""
    doc = json.load(open(diff_path))
    changes = doc.get("changes") or []
    fails = []
    mine = [c for c in changes if c.get("address") == address and c.get("port") == int(port)]
    if len(mine) != 1 or mine[0].get("action") != "changed":
        fails.append(f"want one 'changed' record for {address}:{port}, got "
                     f"{[(c.get('action'), c.get('identity')) for c in mine]}")
    for c in mine:
        img = (c.get("changes") or {}).get("image")
        if img != {"before": before, "after": after}:
            fails.append(f"{address}:{port}: image change is {img}, not {before} -> {after}")
    quiet = [c for c in changes if c.get("address") == address
             and c.get("port") == int(quiet_port)
             and (c.get("action") != "changed" or "image" in (c.get("changes") or {}))]
    if quiet:
        fails.append(f"{address}:{quiet_port} kept its container and image, yet: {quiet}")
    if container:
        # the container's own listener, in a namespace the runtime names anew
        # for every container (netns-<uuid>): keyed on the container's name,
        # it is one `changed` record too, never removed + added
        own = [c for c in changes if c.get("namespace") == container
               and not (c.get("address") == address and c.get("port") == int(port))]
        if len(own) != 1 or own[0].get("action") != "changed" or \
                (own[0].get("changes") or {}).get("image") != {"before": before, "after": after}:
            fails.append(f"container {container}'s own listener: want one 'changed' record "
                         f"with the image change, got "
                         f"{[(c.get('action'), c.get('identity'), c.get('changes')) for c in own]}")
    return verdict(fails, doc, f"# diff: {address}:{port} image {before} -> {after}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "wait":
        sys.exit(wait(sys.argv[2:]))
    if len(sys.argv) == 7 and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    if len(sys.argv) in (8, 9) and sys.argv[1] == "drift":
        sys.exit(drift(*sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
