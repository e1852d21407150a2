#!/usr/bin/env bash
# scan_list_targets.sh - the dry run. Runs inside its own empty network
# namespace (lab_isolate), so even a bug could not send a packet.
#   - every (address, proto, port) exactly once, equal to the expected set
#     (CIDR, range, IPv6, a name, -iL with comments, --exclude,
#     --exclude-file, TCP and UDP);
#   - the same seed gives the same order, another seed another order;
#   - shards 1/3, 2/3, 3/3 are disjoint and their union is the whole;
#   - 10.0.0.0/8 on one port: 16,777,216 lines with peak RSS < 16 MiB;
#   - bad input: a one-line error and exit 2 (bad CIDR, bad port, public
#     address, file:line:col from -iL).
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
P=$PORTCENSUS

cat >"$LAB_TMP/targets" <<'T'
# lab targets
198.18.0.0/29   # eight
198.18.0.20-198.18.0.22 fd00:198:18::1-fd00:198:18::2
db1.lab
T
printf '198.18.0.3\n# comment only\n198.18.0.21 # dash range member\n' >"$LAB_TMP/exclude"
printf '198.18.9.9 db1.lab\n' >"$LAB_TMP/hosts"
list() {
	unshare --mount bash -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' _ \
		"$LAB_TMP/hosts" "$P" scan --list-targets -iL "$LAB_TMP/targets" \
		--exclude 198.18.0.7,fd00:198:18::2 --exclude-file "$LAB_TMP/exclude" \
		-p 22,80,U:53 "$@"
}
expected=$(
	for a in 198.18.0.0 198.18.0.1 198.18.0.2 198.18.0.4 198.18.0.5 198.18.0.6 \
		198.18.0.20 198.18.0.22 fd00:198:18::1 198.18.9.9; do
		printf '%s tcp 22\n%s tcp 80\n%s udp 53\n' "$a" "$a" "$a"
	done | sort
)
out=$(list --seed 1) || lab_fail "list-targets failed"
lab_assert_eq "expected probes, each once" "$expected" "$(sort <<<"$out")"
lab_assert_eq "no duplicates" "$(wc -l <<<"$expected")" "$(wc -l <<<"$out")"
# scan order: TCP pass, then UDP pass
lab_assert_eq "TCP before UDP" "tcp" "$(head -n 20 <<<"$out" | awk '{print $2}' | sort -u)"

again=$(list --seed 1)
lab_assert_eq "same seed, same order" "$out" "$again"
other=$(list --seed 2)
[ "$out" != "$other" ] || lab_fail "another seed gave the same order"
lab_assert_eq "another seed, same set" "$expected" "$(sort <<<"$other")"

# shards: disjoint, complete
: >"$LAB_TMP/shards"
for i in 1 2 3; do
	list --seed 9 --shard "$i/3" >>"$LAB_TMP/shards" || lab_fail "shard $i failed"
done
lab_assert_eq "shards disjoint" "" "$(sort "$LAB_TMP/shards" | uniq -d)"
lab_assert_eq "shards complete" "$expected" "$(sort "$LAB_TMP/shards")"

# a /8 on one port: 16.8 million lines in constant memory
/usr/bin/time -f '%M' -o "$LAB_TMP/rss" "$P" scan --list-targets -p 80 10.0.0.0/8 |
	wc -l >"$LAB_TMP/count"
lab_assert_eq "10.0.0.0/8 line count" 16777216 "$(cat "$LAB_TMP/count")"
rss=$(tail -n 1 "$LAB_TMP/rss")
if ldd "$P" 2>/dev/null | grep -q -E 'libasan|libubsan'; then
	lab_log "sanitizer build: its shadow memory makes RSS meaningless, not checked"
else
	[ "$rss" -lt 16384 ] || lab_fail "peak RSS ${rss} KiB >= 16 MiB"
fi
lab_log "10.0.0.0/8 x 1 port: peak RSS ${rss} KiB"

# bad input: exit 2 and a message naming the problem
expect_error() { # expect_error NEEDLE ARGS...
	local needle=$1
	shift
	local err rc
	err=$("$P" scan --list-targets "$@" 2>&1 >/dev/null)
	rc=$?
	lab_assert_eq "exit code for: $*" 2 "$rc"
	grep -qF -- "$needle" <<<"$err" || lab_fail "message for '$*' lacks '$needle': $err"
	lab_assert_eq "one line for: $*" 1 "$(wc -l <<<"$err")"
}
expect_error "prefix length must be 0-32" -p 80 198.18.0.0/33
expect_error "bad port item '70000'" -p 70000 198.18.0.1
expect_error "port 0 cannot be scanned" -p 0 198.18.0.1
expect_error "8.8.8.0 is not in an internal range" -p 80 8.8.8.0/24
expect_error "range runs backwards" -p 80 198.18.0.9-198.18.0.1
expect_error "no targets" -p 80
printf '198.18.0.1\n\n   198.18.0.0/99\n' >"$LAB_TMP/bad"
expect_error "$LAB_TMP/bad:3:4: bad target '198.18.0.0/99'" -p 80 -iL "$LAB_TMP/bad"
expect_error "no target left after exclusions" -p 80 198.18.0.1 --exclude 198.18.0.0/24
# --allow-public lifts the guard (still a dry run in an empty namespace)
n=$("$P" scan --list-targets --allow-public -p 80 8.8.8.0/30 | wc -l)
lab_assert_eq "--allow-public" 4 "$n"
echo "ok: list-targets exact, seeded, sharded, constant memory, errors exit 2"
