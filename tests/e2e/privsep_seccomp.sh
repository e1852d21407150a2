#!/usr/bin/env bash
# privsep_seccomp.sh - a forbidden system call kills the probe worker, and
# the run says so and exits 3 instead of hanging.
#
# portcensus-testhooks is the CLI linked with tests/lab/test_hooks.c, whose
# strong pc_privsep_test_hook() overrides the library's weak no-op: with
# PORTCENSUS_TEST_FORBIDDEN_SYSCALL=1 the worker calls ptrace right after
# its seccomp filter is loaded. First nm proves the override: the product
# binary has only the weak symbol, the test binary a strong one. Then, for
# verify, scan and audit (in an isolated lab): the test binary must exit 3
# with exactly one line on stderr; without the variable it must work; and
# the product binary must ignore the variable.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_isolate "$@"
lab_init
: "${PORTCENSUS_TESTHOOKS:?set by meson: the portcensus-testhooks binary}"
command -v nm >/dev/null || lab_skip "needs nm (binutils)"

lab_assert_eq "product binary: pc_privsep_test_hook is weak" "W" \
	"$(nm "$PORTCENSUS" | awk '$3 == "pc_privsep_test_hook" {print $2}')"
lab_assert_eq "test binary: pc_privsep_test_hook is strong" "T" \
	"$(nm "$PORTCENSUS_TESTHOOKS" | awk '$3 == "pc_privsep_test_hook" {print $2}')"

c=$(lab_ns c)
s=$(lab_ns s)
lab_link "$c" 198.18.33.1/24 "$s" 198.18.33.2/24
lab_listener "$s" tcp 198.18.33.2 8080 >/dev/null
lab_wait_listen "$s" tcp 8080
printf '#masscan\nopen tcp 8080 198.18.33.2 1700000000\n# end\n' >"$LAB_TMP/claims.txt"

expected="portcensus: error: probe worker killed by signal SIGSYS (seccomp: a forbidden system call)"
# run WHAT BINARY EXPECTED_RC ENV_VALUE NS ARGS...
run() {
	local what=$1 bin=$2 want=$3 val=$4 ns=$5
	shift 5
	local t0 t1 rc
	t0=$(date +%s)
	PORTCENSUS_TEST_FORBIDDEN_SYSCALL=$val timeout 60 ip netns exec "$ns" "$bin" "$@" \
		>"$LAB_TMP/out" 2>"$LAB_TMP/err"
	rc=$?
	t1=$(date +%s)
	[ "$rc" != 124 ] || lab_fail "$what: hung (killed after 60 s)"
	lab_assert_eq "$what: exit" "$want" "$rc"
	if [ "$want" = 3 ]; then
		lab_assert_eq "$what: stderr" "$expected" "$(cat "$LAB_TMP/err")"
		[ $((t1 - t0)) -le 10 ] || lab_fail "$what: took $((t1 - t0)) s to report"
	fi
}
run "verify, forbidden call" "$PORTCENSUS_TESTHOOKS" 3 1 "$c" verify "$LAB_TMP/claims.txt"
run "verify, no hook" "$PORTCENSUS_TESTHOOKS" 0 0 "$c" verify "$LAB_TMP/claims.txt"
run "verify, product binary ignores the hook" "$PORTCENSUS" 0 1 "$c" verify "$LAB_TMP/claims.txt"
run "scan --connect, forbidden call" "$PORTCENSUS_TESTHOOKS" 3 1 "$c" scan --connect -p 8080 198.18.33.2
run "scan --syn, forbidden call" "$PORTCENSUS_TESTHOOKS" 3 1 "$c" scan --syn -p 8080 198.18.33.2
run "scan --connect, no hook" "$PORTCENSUS_TESTHOOKS" 0 0 "$c" scan --connect -p 8080 198.18.33.2
grep -q "198.18.33.2" "$LAB_TMP/out" || lab_fail "scan --connect, no hook: the open port is missing"
# audit walks every namespace: this script runs isolated (lab_isolate)
run "audit, forbidden call" "$PORTCENSUS_TESTHOOKS" 3 1 "$s" audit
run "audit, no hook" "$PORTCENSUS_TESTHOOKS" 0 0 "$s" audit
echo "ok: a forbidden system call in the worker ends the run with exit 3 and one line, for verify, scan and audit"
