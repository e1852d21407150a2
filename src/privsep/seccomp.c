/*
 * seccomp.c - the probe worker's system-call allow-list (libseccomp).
 *
 * The default action kills the whole process (SCMP_ACT_KILL_PROCESS): a
 * worker that tries anything else is compromised or broken, and either way
 * its parent sees SIGSYS and fails the run with one clear line.
 *
 * What the worker does after the filter is loaded, and so what is allowed:
 * - talk on sockets it already has or makes itself: read/write, the
 *   recv and send families (incl. the mmsg batches of the scan engines),
 *   connect, setsockopt/getsockopt, getsockname/getpeername, shutdown,
 *   close, fcntl; socket() only for AF_INET/AF_INET6 (the dialler, the
 *   probes, the connect scan; nothing else: no AF_UNIX, no netlink, no
 *   packet sockets: the SYN engine's raw and packet sockets were opened
 *   by the parent before the fork); bind, for the engines' own source
 *   ports;
 * - wait: epoll_*, poll/ppoll, nanosleep/clock_nanosleep, futex;
 * - memory: mmap/munmap/mprotect/madvise/brk/mremap;
 * - threads (the scan engines start theirs after the fork): clone/clone3,
 *   set_robust_list, rseq, and the signal-mask calls glibc makes around
 *   them;
 * - time and randomness: clock_gettime (vDSO fallback), gettimeofday,
 *   getrandom (OpenSSL's DRBG reseeds);
 * - end: exit/exit_group, and getpid/gettid/tgkill for abort();
 * - ioctl only for SIOCGIFNAME and SIOCGIFHWADDR (the SYN engine reads
 *   the MAC of the interface a route leaves by: if_indextoname() and one
 *   ioctl) and FIONREAD;
 * - getuid/geteuid/getgid/getegid: they reveal nothing a worker does not
 *   know.
 * - sched_getaffinity: glibc counts the CPUs with it (the engines size
 *   their thread pools) once /sys/devices/system/cpu/online cannot be read.
 * - the SSH check (probe/ssh_auth.c: libssh, blocking on a socket of
 *   ours) needs nothing more: poll, sendto/recvfrom, fcntl (libssh clears
 *   O_NONBLOCK), getpid (its fork check on every packet), getrandom and
 *   close, all above (strace of tests/e2e/ssh_auth.sh in the worker).
 *   ssh_init opens nothing in the worker (OpenSSL's config is loaded
 *   before the filter), so it needs no call before the filter.
 *   It tries to open known_hosts twice per check; the EACCES below makes
 *   it offer its default host key algorithms, which is what we want.
 * open/openat fail with EACCES instead of killing: glibc tries such files
 * on its own (sysconf(_SC_NPROCESSORS_ONLN)) and has a fallback; no file
 * is ever opened. Everything else — execve, ptrace, mount/unshare/setns,
 * the setuid family, kill of another process, ... — kills the worker.
 *
 * The sanitizer runtimes need a few more (sigaltstack, prctl, getrlimit,
 * sched_yield, ...): they are allowed only in sanitizer builds.
 */
#include "privsep/privsep.h"

#include <seccomp.h>

#include <errno.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define PC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define PC_SANITIZED 1
#endif
#endif

static const int allowed[] = {
	/* I/O on what we hold */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
	SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown),
	SCMP_SYS(close), SCMP_SYS(fcntl),
	/* waiting */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(futex),
	SCMP_SYS(sched_yield),
	/* memory */
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
	SCMP_SYS(brk), SCMP_SYS(mremap),
	/* threads */
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
	/* time, randomness */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	/* the end */
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(tgkill), SCMP_SYS(restart_syscall),
#ifdef PC_SANITIZED
	SCMP_SYS(sigaltstack), SCMP_SYS(prctl), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(readlink), SCMP_SYS(newfstatat),
	SCMP_SYS(fstat), SCMP_SYS(lseek), SCMP_SYS(getppid), SCMP_SYS(mincore),
	SCMP_SYS(pipe2), SCMP_SYS(wait4), SCMP_SYS(uname),
#endif
};

int pc_privsep_seccomp_load(struct pc_error *err)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!f)
		return pc_error_set(err, PC_EPERM, "privsep: seccomp_init failed");
	int r = 0;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && r == 0; i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, allowed[i], 0);
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	/* sockets of the inet families only; any other family fails with
	 * EAFNOSUPPORT, because glibc's if_indextoname() tries an AF_UNIX
	 * socket first and falls back to AF_INET (AF_INET is 2, AF_INET6 10) */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_LT, AF_INET));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_GT, AF_INET6));
	for (int d = AF_INET + 1; d < AF_INET6 && r == 0; d++)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)d));
	static const unsigned long requests[] = {SIOCGIFHWADDR, SIOCGIFNAME, FIONREAD};
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]) && r == 0; i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, requests[i]));
	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	if (r < 0)
		return pc_error_set(err, PC_EPERM, "privsep: cannot load the seccomp filter: %s",
				    strerror(-r));
	return 0;
}
