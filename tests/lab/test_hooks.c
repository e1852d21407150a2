/*
 * test_hooks.c - the test-only override of pc_privsep_test_hook(), linked
 * into portcensus-testhooks (src/main.c + the CLI + this file + the
 * library) and never into the product binary, whose library copy is a
 * weak no-op.
 *
 * With PORTCENSUS_TEST_FORBIDDEN_SYSCALL=1 in the environment, the probe
 * worker makes a system call its seccomp filter forbids (ptrace), right
 * after the filter is loaded: the worker must die of SIGSYS and the run
 * must end with exit 3 and one clear line (tests/e2e/privsep_seccomp.sh).
 * getenv reads memory only, so the hook itself needs no system call.
 */
#include "privsep/privsep.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

void pc_privsep_test_hook(void)
{
	const char *v = getenv("PORTCENSUS_TEST_FORBIDDEN_SYSCALL");
	if (v && strcmp(v, "1") == 0)
		syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
}
