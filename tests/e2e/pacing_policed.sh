#!/usr/bin/env bash
# pacing_policed.sh - a target whose RSTs are policed (issue 12).
#
# Lab: one target whose output of TCP RSTs is policed by nftables to 500
# per second (`limit rate over 500/second drop`). A default-settings scan
# of 3,000 ports (2 open) must report every closed port closed, never
# filtered: the pacer sees answers that needed a retry, cuts that path
# below the answers per second it delivered (and keeps it under 0.8x the
# best it ever delivered), and gives its silent probes more retries while
# retries still bring answers.
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_skip "needs python3"
command -v nft >/dev/null || lab_skip "needs nftables"

s=$(lab_ns scan)
t=$(lab_ns t)
lab_link "$s" 198.18.35.1/24 "$t" 198.18.35.2/24
for p in 22 80; do lab_listener "$t" tcp 198.18.35.2 "$p" >/dev/null; done
for p in 22 80; do lab_wait_listen "$t" tcp "$p"; done
ip netns exec "$t" nft -f - <<'NFT' || lab_fail "nft failed"
table inet lab_police {
	chain output {
		type filter hook output priority 0; policy accept;
		tcp flags & rst == rst limit rate over 500/second drop
	}
}
NFT

out=$(lab_exec "$s" "$PORTCENSUS" scan -q --format json --show closed,filtered -p 1-3000 198.18.35.2 |
	python3 -c '
import json, sys
doc = json.load(sys.stdin)
st = doc["snapshot"]["scan"]
by = {}
for e in doc["endpoints"]:
    by.setdefault(e["state"], []).append(e["port"])
print("open=%s closed=%d filtered=%d|%.2f|%d|%s|%s" % (" ".join(map(str, sorted(by.get("open", [])))),
      len(by.get("closed", [])), len(by.get("filtered", [])), st["duration_s"], st["retries"],
      st["limit"], st["rate_history"]["pps"]))
') || lab_fail "scan failed"
IFS='|' read -r states dur retries limit hist <<<"$out"
lab_log "policed RSTs: $states in ${dur}s, $retries retries, limit $limit, history $hist"
lab_assert_eq "states with policed RSTs" "open=22 80 closed=2998 filtered=0" "$states"
exit 0
