#!/usr/bin/env bash
# output_files.sh - -o FILE as root in a directory full of traps.
#
# Before each run we plant symlinks to a victim file at every name an
# attacker could predict: FILE.tmp.<pid> for every pid around the next ones
# (this runs in its own pid namespace, lab_isolate, where the next pids are
# known; the test fails against the old fopen("FILE.tmp.PID") code),
# FILE.tmp, FILE~, .FILE.tmp, and FILE itself. A real command then writes
# FILE with -o:
#   - `scan --list-targets` (a dry run: sends nothing);
#   - `verify` of a small masscan file, in this test's empty network
#     namespace (no route: every check fails locally, nothing leaves).
# Asserts: the victim's content, inode and mtime are unchanged; FILE is a
# regular file (the planted link at its name is replaced, not followed)
# with the right content; no temporary is left. A failing run (bad input)
# leaves no temporary and does not touch an existing FILE; a missing
# directory is a clean error.
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
P=$PORTCENSUS
# the traps are laid where an attacker can lay them: a directory anyone may
# write to, sticky like /tmp
D=$LAB_TMP/out
mkdir -p "$D"
chmod 1777 "$D"
victim=$LAB_TMP/victim
printf 'precious\n' >"$victim"
touch -d '2001-02-03 04:05:06' "$victim"
vstat() { stat -c '%i %Y %s' "$victim"; }
vbefore=$(vstat)

# plant links at every predictable name for FILE (and print how many):
# one python3 process makes them all, so that planting does not use up the
# pids it plants for; FILE.tmp.<pid> covers its own pid and the next 300
plant() {
	python3 - "$1" "$victim" <<'PY'
import os, sys
file, victim = sys.argv[1], sys.argv[2]
me = os.getpid()
names = [f"{file}.tmp.{p}" for p in range(max(2, me - 20), me + 300)]
names += [file + s for s in (".tmp", "~", ".new", ".part")]
names += [os.path.join(os.path.dirname(file), "." + os.path.basename(file) + ".tmp"), file]
for n in names:
    try:
        os.unlink(n)
    except FileNotFoundError:
        pass
    os.symlink(victim, n)
print(len(names))
PY
}
# the directory must hold only our outputs and the links we planted
links_only() {
	local other
	other=$(find "$D" -mindepth 1 ! -type l ! -name targets.txt ! -name verify.json -printf '%f\n')
	[ -z "$other" ] || lab_fail "left behind in $D: $other"
}
check_victim() {
	[ "$(cat "$victim")" = "precious" ] || lab_fail "$1: the victim's content changed"
	[ "$(vstat)" = "$vbefore" ] || lab_fail "$1: the victim's inode/mtime changed ($vbefore -> $(vstat))"
}

# 1. scan --list-targets -o FILE
F=$D/targets.txt
plant "$F" >"$LAB_TMP/n"
lab_log "planted $(cat "$LAB_TMP/n") links at $F.tmp.<pid> and friends"
"$P" scan --list-targets -p 22,80 198.18.0.1-2 -o "$F" || lab_fail "scan --list-targets -o failed"
check_victim "scan -o"
[ -f "$F" ] && [ ! -L "$F" ] || lab_fail "$F is not a regular file (the link was followed or kept)"
lab_assert_eq "scan -o content" "$(printf '198.18.0.1 tcp 22\n198.18.0.1 tcp 80\n198.18.0.2 tcp 22\n198.18.0.2 tcp 80\n' | sort)" \
	"$(sort "$F")"
links_only

# 2. verify FILE -o OUT (in this empty namespace nothing can be reached)
printf 'open tcp 22 198.18.0.1 1700000000\nopen tcp 80 198.18.0.2 1700000000\n' >"$LAB_TMP/claims.txt"
O=$D/verify.json
plant "$O" >/dev/null
rc=0
"$P" verify --format json --timeout 200 --no-probe "$LAB_TMP/claims.txt" -o "$O" || rc=$?
[ $rc -eq 1 ] || lab_fail "verify exit $rc (want 1: nothing reachable here)"
check_victim "verify -o"
[ -f "$O" ] && [ ! -L "$O" ] || lab_fail "$O is not a regular file"
python3 - "$O" <<'PY' || lab_fail "verify -o content"
import json, sys
d = json.load(open(sys.argv[1]))
got = sorted((e["address"], e["port"]) for e in d["endpoints"])
assert got == [("198.18.0.1", 22), ("198.18.0.2", 80)], got
PY
links_only

# 3. failing runs leave FILE as it was and no temporary
find "$D" -type l -delete
touch -d '2002-03-04 05:06:07' "$F" "$O"
before=$(stat -c '%i %Y %s' "$F" "$O"; md5sum "$F" "$O")
printf 'open tcp 22 198.18.0.1 1700000000\nopen tcp 99999 198.18.0.2 1\n' >"$LAB_TMP/bad.txt"
rc=0
"$P" verify "$LAB_TMP/bad.txt" -o "$O" 2>"$LAB_TMP/err" || rc=$?
[ $rc -eq 2 ] || lab_fail "verify of a bad file: exit $rc, want 2"
grep -q 'bad.txt:2:' "$LAB_TMP/err" || lab_fail "error does not name bad.txt:2: $(cat "$LAB_TMP/err")"
rc=0
"$P" scan --list-targets -p 70000 198.18.0.1 -o "$F" 2>/dev/null || rc=$?
[ $rc -eq 2 ] || lab_fail "scan with a bad port: exit $rc, want 2"
after=$(stat -c '%i %Y %s' "$F" "$O"; md5sum "$F" "$O")
lab_assert_eq "files untouched by failing runs" "$before" "$after"
lab_assert_eq "no temporary left" "$(printf 'targets.txt\nverify.json')" "$(ls -A "$D" | sort)"

# 4. a directory that does not exist: a clean error, exit 3
rc=0
"$P" scan --list-targets -p 22 198.18.0.1 -o "$D/missing/x.txt" 2>"$LAB_TMP/err" || rc=$?
[ $rc -eq 3 ] || lab_fail "missing directory: exit $rc, want 3"
grep -q 'cannot write .*missing/x.txt: No such file or directory' "$LAB_TMP/err" ||
	lab_fail "unclear error: $(cat "$LAB_TMP/err")"
check_victim "end"

# 5. targets that are not regular files, in directories only root can
# change: written in place, never replaced. -o /dev/null must leave
# /dev/null a device (a rename over it made it a plain file, as root), and
# a link an administrator made is followed.
"$P" scan --list-targets -p 22 198.18.0.1 -o /dev/null || lab_fail "-o /dev/null failed"
[ -c /dev/null ] || { mknod -m 666 /dev/null c 1 3 2>/dev/null; lab_fail "-o /dev/null replaced /dev/null"; }
T=$LAB_TMP/trusted
mkdir -m 0755 "$T"
printf 'old\n' >"$LAB_TMP/real.txt"
ln -s "$LAB_TMP/real.txt" "$T/report.txt"
"$P" scan --list-targets -p 22 198.18.0.1 -o "$T/report.txt" || lab_fail "-o through a trusted link failed"
[ -L "$T/report.txt" ] || lab_fail "the administrator's link was replaced"
lab_assert_eq "written through the trusted link" "198.18.0.1 tcp 22" "$(cat "$LAB_TMP/real.txt")"
out=$("$P" scan --list-targets -p 22 198.18.0.1 -o /dev/stdout) || lab_fail "-o /dev/stdout failed"
lab_assert_eq "-o /dev/stdout" "198.18.0.1 tcp 22" "$out"
[ -L /dev/stdout ] || lab_fail "/dev/stdout is no longer a link"
# a FIFO planted in a directory anyone may write to is refused
mkfifo "$D/fifo.txt"
rc=0
"$P" scan --list-targets -p 22 198.18.0.1 -o "$D/fifo.txt" 2>"$LAB_TMP/err" || rc=$?
[ $rc -ne 0 ] || lab_fail "a FIFO planted in a world-writable directory was written"
grep -q 'not a regular file' "$LAB_TMP/err" || lab_fail "unclear error: $(cat "$LAB_TMP/err")"
echo "PASS output files"
