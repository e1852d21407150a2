#!/usr/bin/env bash
# html_chromium.sh - the html format in a real browser: Debian's chromium,
# headless, inside this test's own network namespace (lab_isolate: no
# network at all), reads each page back through the DOM after its script
# ran (--dump-dom).
#
# 1. The hand-built sample (tests/unit/report_sample.c, via report_driver)
#    opened with #sort=port&dir=desc&sev=critical: the severity cards, the
#    violations and findings, the SVG map's nodes and edges, and proof the
#    inline script ran under the page's CSP (data-pc-script, the rows the
#    severity filter hid, the order the sort made).
# 2. The hostile sample: every name, banner and hostname carries markup,
#    quotes, controls and bidi characters. The DOM must hold exactly our one
#    script, no event-handler attribute, no element the page does not
#    write, and the hostile text as text.
# 3. A real `portcensus audit --established --format html` of a lab: two
#    namespaces, listeners, one connection between them; every listener is
#    in its namespace's table and the connection is on the map.
#
# Screenshots (1440x900, a laptop screen) and the audit's page go to
# $PC_SCREENSHOT_DIR (meson: build/tests/e2e/html_chromium; default
# /tmp/portcensus-html-chromium), outside the repository, for a person to
# look at.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
: "${REPORT_DRIVER:?REPORT_DRIVER must point to the test-only report_driver}"
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || lab_skip "needs chromium (apt-get install chromium)"
command -v python3 >/dev/null || lab_skip "needs python3"
shots=${PC_SCREENSHOT_DIR:-/tmp/portcensus-html-chromium}
mkdir -p "$shots"

# chromium URL [extra flags...] > DOM; a fresh profile each time, nothing
# in $HOME, no background traffic (there is no network here anyway)
browse() {
	local url=$1
	shift
	local profile
	profile=$(mktemp -d "$LAB_TMP/profile.XXXXXX")
	HOME="$profile" timeout 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --disable-extensions \
		--user-data-dir="$profile" "$@" "$url" 2>>"$LAB_TMP/chromium.log"
}

dump() { browse "$1" --dump-dom; }

shot() {
	browse "$1" --screenshot="$2" --window-size=1440,900 >/dev/null ||
		lab_fail "chromium screenshot of $1 failed: $(tail -5 "$LAB_TMP/chromium.log")"
	[ -s "$2" ] || lab_fail "no screenshot written to $2"
	lab_log "screenshot: $2"
}

# --- 1. the sample, sorted and filtered from the URL fragment -------------
"$REPORT_DRIVER" html >"$LAB_TMP/sample.html" || lab_fail "report_driver html failed"
dump "file://$LAB_TMP/sample.html#sort=port&dir=desc&sev=critical" >"$LAB_TMP/sample.dom" ||
	lab_fail "chromium --dump-dom failed: $(tail -5 "$LAB_TMP/chromium.log")"
shot "file://$LAB_TMP/sample.html" "$shots/sample.png"

python3 - "$LAB_TMP/sample.dom" <<'PY' || exit 1
import re, sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    """Elements as (tag, attrs, text-inside) with a stack, enough to read
    back what the page shows."""
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.done = [], []
    def handle_starttag(self, tag, attrs):
        for e in self.stack:  # a new box or line: words do not run together
            e["text"] += " "
        el = {"tag": tag, "attrs": dict(attrs), "text": ""}
        if tag in ("meta", "input", "br"):
            self.done.append(el)
            return
        self.stack.append(el)
    def handle_endtag(self, tag):
        while self.stack:
            el = self.stack.pop()
            self.done.append(el)
            if el["tag"] == tag:
                break
    def handle_data(self, data):
        for el in self.stack:
            el["text"] += data

dom = Dom()
dom.feed(open(sys.argv[1], encoding="utf-8").read())
els = dom.done
fails = []
def find(tag, **attrs):
    return [e for e in els if e["tag"] == tag and all(e["attrs"].get(k) == v for k, v in attrs.items())]

html = find("html")[0]
if html["attrs"].get("data-pc-script") != "ready":
    fails.append(f"the inline script did not run (html attrs {html['attrs']})")
if html["attrs"].get("data-pc-sort") != "port":
    fails.append("the sort asked in the URL fragment was not applied")
csp = [m for m in find("meta") if m["attrs"].get("http-equiv") == "Content-Security-Policy"]
if not csp or "default-src 'none'" not in csp[0]["attrs"]["content"]:
    fails.append("no Content-Security-Policy forbidding loads")

# severity cards: "2 critical", ...
cards = {}
for c in find("div"):
    cls = c["attrs"].get("class") or ""
    if cls.startswith("card "):
        m = re.match(r"\s*(\d+)\s*(.*?)\s*$", c["text"])
        cards[m.group(2)] = int(m.group(1))
want = {"critical": 2, "high": 1, "medium": 1, "low": 1, "info": 0, "not classified": 1,
        "violations": 2, "undocumented": 1, "allowed": 2, "not judged": 1}
for k, v in want.items():
    if cards.get(k) != v:
        fails.append(f"card {k!r}: {cards.get(k)}, want {v}")

text = " ".join(e["text"] for e in find("main"))
for needle in ["bound to any, policy says loopback", "no authentication, policy requires it",
               "reachable from segment ops, policy allows app only",
               "rule legacy-ftp matched no listener", "last reviewed 2025-01-10",
               "no rule of the policy matches this listener"]:
    if needle not in text:
        fails.append(f"the page does not show {needle!r}")
viol = find("table", id="violations")
if not viol or "tcp 0.0.0.0:6379" not in viol[0]["text"]:
    fails.append("the violations table does not list tcp 0.0.0.0:6379")

# the map: two clients, three servers, four connections on three edges
# (counts 1, 1 and 2), one of them through NAT with its front on the arrow
# and a tooltip saying where it was translated
nodes = {"client": [], "server": []}
for g in find("g"):
    cls = g["attrs"].get("class") or ""
    for side in nodes:
        if cls == "node " + side:
            nodes[side].append(" ".join(g["text"].split()))
if sorted(nodes["client"]) != ["198.18.0.50 remote client", "php-fpm (pid 1300) netns app"]:
    fails.append(f"map clients: {nodes['client']}")
if sorted(nodes["server"]) != ["httpd (pid 1400) 198.18.61.2:80, netns web",
                               "redis-server (pid 812) 127.0.0.1:6379, netns app",
                               "sshd (pid 555) 198.18.0.10:22, netns edge"]:
    fails.append(f"map servers: {nodes['server']}")
edges = [p for p in find("path") if (p["attrs"].get("class") or "").split()[:1] == ["edge"]]
counts = sorted(t["text"] for t in find("text") if t["attrs"].get("class") == "count")
if len(edges) != 3 or counts != ["1", "1", "2"]:
    fails.append(f"map edges: {len(edges)} paths, counts {counts}")
nat = [p for p in edges if p["attrs"].get("class") == "edge nat"]
via = [t["text"] for t in find("text") if t["attrs"].get("class") == "via"]
if len(nat) != 1 or via != ["via 198.18.60.1:8080 (dnat)"]:
    fails.append(f"map edge through NAT: {len(nat)} paths, via labels {via}")
elif "translated in netns gw; the server saw the client as 198.18.61.1" not in nat[0]["text"]:
    fails.append(f"the NAT edge's tooltip: {nat[0]['text']!r}")

# filter (sev=critical) and sort (port, descending), done by the script
rows = [r for r in find("tr") if "data-sev" in r["attrs"]]
shown = [r for r in rows if "hidden" not in r["attrs"]]
if len(rows) != 6 or sorted(r["attrs"]["data-sev"] for r in shown) != ["critical", "critical"]:
    fails.append(f"severity filter: {len(rows)} rows, shown {[r['attrs']['data-sev'] for r in shown]}")
count = find("span", id="count")
if not count or count[0]["text"] != "2 of 6 shown":
    fails.append(f"count line: {count and count[0]['text']!r}")
# rows are in DOM order: within the app group the ports must now descend
order = []
for r in rows:
    cells = r["text"].split()
    for tok in cells:
        if tok.isdigit() and int(tok) in (5353, 5432, 6379, 8080):
            order.append(int(tok))
            break
if order != sorted(order, reverse=True):
    fails.append(f"rows of the app table not sorted by port, descending: {order}")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print("ok: sample page: cards, violations, findings, map, filter and sort")
PY

# --- 2. hostile strings ------------------------------------------------------
"$REPORT_DRIVER" html hostile >"$LAB_TMP/hostile.html" || lab_fail "report_driver html hostile failed"
dump "file://$LAB_TMP/hostile.html" >"$LAB_TMP/hostile.dom" || lab_fail "chromium --dump-dom failed"
shot "file://$LAB_TMP/hostile.html" "$shots/hostile.png"
python3 - "$LAB_TMP/hostile.dom" <<'PY' || exit 1
import sys
from html.parser import HTMLParser

allowed = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p",
           "main", "section", "div", "span", "table", "thead", "tbody", "tr", "th", "td", "ul",
           "li", "b", "br", "code", "label", "input", "select", "option", "svg", "defs",
           "marker", "path", "text", "g", "rect", "footer", "script"}
class Check(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.bad, self.text, self.scripts = [], [], [], 0
    def handle_starttag(self, tag, attrs):
        if tag not in allowed:
            self.bad.append(f"element <{tag}> the page never writes")
        if tag == "script":
            self.scripts += 1
        for k, v in attrs:
            if k.startswith("on"):
                self.bad.append(f"event handler {k}={v!r} on <{tag}>")
            if k in ("src", "href", "action", "formaction", "srcset", "xlink:href"):
                self.bad.append(f"a load or link {k}={v!r} on <{tag}>")
    def handle_data(self, data):
        self.text.append(data)

c = Check()
c.feed(open(sys.argv[1], encoding="utf-8").read())
text = "".join(c.text)
hostile = "<script>alert(1)</script>\"' onerror=x |`x`*_[a](b)&amp;"
fails = list(c.bad)
if c.scripts != 1:
    fails.append(f"{c.scripts} script elements, want our one")
if text.count(hostile) < 10:
    fails.append(f"the hostile text appears {text.count(hostile)} times as text, want >= 10")
for ch in ["\x1b", "\u009b", "\u202e", "\u2066", "\u2028"]:
    if ch in text:
        fails.append(f"U+{ord(ch):04X} reached the page")
if 'data-pc-script="ready"' not in open(sys.argv[1], encoding="utf-8").read():
    fails.append("the script did not run on the hostile page")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print("ok: hostile page: one script, no handler, no foreign element, text stays text")
PY

# --- 3. a real audit ---------------------------------------------------------
a=$(lab_ns a)
b=$(lab_ns b)
lab_link "$a" 198.18.7.1/24 "$b" 198.18.7.2/24
lab_listener "$a" tcp 0.0.0.0 6379 >/dev/null
lab_listener "$a" tcp 127.0.0.1 5432 >/dev/null
lab_listener "$b" tcp 198.18.7.2 8080 >/dev/null
for p in 6379 5432; do lab_wait_listen "$a" tcp $p; done
lab_wait_listen "$b" tcp 8080
# one client in b holds a connection to a's 6379
lab_spawn "$b" python3 -c '
import socket, time
s = socket.create_connection(("198.18.7.1", 6379))
time.sleep(600)' >/dev/null
for _ in $(seq 100); do
	ip netns exec "$b" ss -Htn state established '( dport = :6379 )' | grep -q . && break
	sleep 0.05
done
"$PORTCENSUS" audit --established --no-probe --timeout 500 --format html \
	-o "$LAB_TMP/audit.html" 2>"$LAB_TMP/audit.err" ||
	lab_fail "audit --format html exited $?: $(cat "$LAB_TMP/audit.err")"
dump "file://$LAB_TMP/audit.html" >"$LAB_TMP/audit.dom" || lab_fail "chromium --dump-dom failed"
shot "file://$LAB_TMP/audit.html" "$shots/audit.png"
cp "$LAB_TMP/audit.html" "$shots/audit.html"
python3 - "$LAB_TMP/audit.dom" "$a" "$b" <<'PY' || exit 1
import re, sys
from html.parser import HTMLParser

class Rows(HTMLParser):
    """Listener rows per group heading, and the map's node texts."""
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.group, self.in_h3, self.row, self.cell = None, False, None, None
        self.rows, self.nodes, self.node, self.edges, self.html = [], [], None, 0, {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html = a
        if tag == "h3":
            self.in_h3, self.group = True, ""
        if tag == "tr" and "data-sev" in a:
            self.row = {"group": self.group, "cells": [], "sev": a["data-sev"]}
        if tag == "td" and self.row is not None:
            self.cell = ""
        if tag == "g" and (a.get("class") or "").startswith("node "):
            self.node = [a["class"], ""]
        if tag == "path" and a.get("class") == "edge":
            self.edges += 1
    def handle_endtag(self, tag):
        if tag == "h3":
            self.in_h3 = False
        if tag == "td" and self.row is not None and self.cell is not None:
            self.row["cells"].append(self.cell.strip())
            self.cell = None
        if tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        if tag == "g" and self.node:
            self.nodes.append((self.node[0], " ".join(self.node[1].split())))
            self.node = None
    def handle_data(self, d):
        if self.in_h3:
            self.group += d
        if self.cell is not None:
            self.cell += d
        if self.node:
            self.node[1] += d + " "

p = Rows()
p.feed(open(sys.argv[1], encoding="utf-8").read())
ns_a, ns_b = sys.argv[2], sys.argv[3]
fails = []
if p.html.get("data-pc-script") != "ready":
    fails.append("the inline script did not run")
got = sorted((r["group"].split("/")[1].split("(")[0].strip(), r["cells"][1], r["cells"][2], r["cells"][3])
             for r in p.rows)
want = sorted([(ns_a, "tcp", "0.0.0.0", "6379"), (ns_a, "tcp", "127.0.0.1", "5432"),
               (ns_b, "tcp", "198.18.7.2", "8080")])
if got != want:
    fails.append(f"listener rows {got}, want {want}")
for r in p.rows:
    if "python3" not in r["cells"][4]:
        fails.append(f"row {r['cells'][:4]}: owner {r['cells'][4]!r}, want the python3 listener")
servers = [t for c, t in p.nodes if c == "node server"]
clients = [t for c, t in p.nodes if c == "node client"]
if not any("198.18.7.1:6379" in s and ns_a in s for s in servers):
    fails.append(f"the map has no server 198.18.7.1:6379 in {ns_a}: {servers}")
if not any("python3" in c and ns_b in c for c in clients):
    fails.append(f"the map has no python3 client in {ns_b}: {clients}")
if p.edges != 1:
    fails.append(f"{p.edges} edges on the map, want 1")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print("ok: real audit: 3 listeners in their namespaces, the connection on the map")
PY
# self-contained: nothing in the file names an address to load from
if grep -Eiq '(src|href|action)=|https?://|@import|url\([^#]' "$LAB_TMP/audit.html"; then
	lab_fail "the audit page refers to something outside itself"
fi
echo "PASS: html in chromium (screenshots in $shots)"
