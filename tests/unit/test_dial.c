/*
 * test_dial.c - the dialler's bookkeeping that needs no packet: every job
 * next() yields ends in exactly one done(), in flight or not; a job that
 * cannot get a socket or an address says why; a callback's negative code
 * stops the run and comes back unchanged; no fd is left open. Nothing here
 * sends a packet: the socket factory below never makes a socket. The
 * connecting paths are tested in the lab (tests/e2e/audit.sh, verify.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe/dial.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

struct feed {
	size_t n_jobs, next; /* jobs to yield, and how many were */
	size_t n_done;
	size_t order_errors; /* done() for a job out of order */
	int next_ret;        /* != 0: next() returns this after n_jobs */
	size_t stop_after;   /* done() returns -7 on this call (1-based) */
	int factory_errno;
	size_t factory_calls;
	enum pc_dial_status last_status;
	int last_error;
	bool unspec; /* yield jobs without an address family */
};

static int feed_next(void *ctx, struct pc_dial_job *job)
{
	struct feed *f = ctx;
	if (f->next >= f->n_jobs)
		return f->next_ret;
	job->idx = f->next++;
	job->port = 80;
	job->proto = f->next % 2 ? PC_PROTO_TCP : PC_PROTO_UDP;
	if (!f->unspec)
		assert_int_equal(pc_addr_parse("198.18.0.1", &job->addr), 0);
	return 1;
}

static int feed_done(void *ctx, const struct pc_dial_job *job)
{
	struct feed *f = ctx;
	f->order_errors += job->idx != f->n_done;
	f->n_done++;
	f->last_status = job->status;
	f->last_error = job->error;
	assert_true(job->rtt_ms == -1);
	return f->n_done == f->stop_after ? -7 : 0;
}

static int no_socket(void *ctx, const struct pc_endpoint *ep, int domain, int type, int protocol)
{
	(void)ep;
	(void)protocol;
	struct feed *f = ctx;
	f->factory_calls++;
	assert_true(domain == AF_INET);
	assert_true(type & SOCK_NONBLOCK);
	assert_true(type & SOCK_CLOEXEC);
	return -f->factory_errno;
}

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	size_t n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int run(struct feed *f, unsigned parallel)
{
	struct pc_dial_opts o = {
		.timeout_ms = 100,
		.parallel = parallel,
		.make_socket = no_socket,
		.socket_ctx = f,
	};
	struct pc_error err = {0};
	return pc_dial_run(&o, feed_next, feed_done, f, &err);
}

/* Every job ends once, in order here (none is ever in flight), with the
 * factory's errno; parallel 0 is one at a time. */
static void test_no_socket(void **state)
{
	(void)state;
	size_t fds = open_fds();
	for (unsigned parallel = 0; parallel <= 8; parallel += 4) {
		struct feed f = {.n_jobs = 1000, .factory_errno = EMFILE};
		assert_int_equal(run(&f, parallel), 0);
		assert_int_equal(f.n_done, 1000);
		assert_int_equal(f.factory_calls, 1000);
		assert_int_equal(f.order_errors, 0);
		assert_int_equal(f.last_status, PC_DIAL_NO_SOCKET);
		assert_int_equal(f.last_error, EMFILE);
	}
	assert_int_equal(open_fds(), fds);
}

/* A job without an IPv4 or IPv6 address never reaches the factory. */
static void test_no_address(void **state)
{
	(void)state;
	struct feed f = {.n_jobs = 3, .unspec = true, .factory_errno = EMFILE};
	assert_int_equal(run(&f, 2), 0);
	assert_int_equal(f.n_done, 3);
	assert_int_equal(f.factory_calls, 0);
	assert_int_equal(f.last_status, PC_DIAL_FAILED);
	assert_int_equal(f.last_error, EAFNOSUPPORT);
}

/* A negative code from either callback ends the run with that code. */
static void test_callbacks_stop(void **state)
{
	(void)state;
	struct feed f = {.n_jobs = 5, .stop_after = 2, .factory_errno = EPERM};
	assert_int_equal(run(&f, 4), -7);
	assert_int_equal(f.n_done, 2);
	assert_int_equal(f.next, 2);

	struct feed g = {.n_jobs = 3, .next_ret = -5, .factory_errno = EPERM};
	assert_int_equal(run(&g, 4), -5);
	assert_int_equal(g.n_done, 3);

	struct feed h = {0};
	assert_int_equal(run(&h, 4), 0);
	assert_int_equal(h.n_done, 0);
}

/* Record when each dial started (the factory is called at the start). */
struct stamps {
	struct feed feed;
	double t[64];
	size_t n;
};

static int stamp_socket(void *ctx, const struct pc_endpoint *ep, int domain, int type,
			int protocol)
{
	struct stamps *s = ctx;
	if (s->n < sizeof(s->t) / sizeof(s->t[0]))
		s->t[s->n++] = pc_monotonic_ms();
	return no_socket(&s->feed, ep, domain, type, protocol);
}

static double paced_run(struct stamps *s, size_t jobs, unsigned parallel, double rate)
{
	memset(s, 0, sizeof(*s));
	s->feed = (struct feed){.n_jobs = jobs, .factory_errno = EMFILE};
	struct pc_dial_opts o = {
		.timeout_ms = 100,
		.parallel = parallel,
		.make_socket = stamp_socket,
		.socket_ctx = s,
		.rate = rate,
	};
	struct pc_error err = {0};
	double t0 = pc_monotonic_ms();
	assert_int_equal(pc_dial_run(&o, feed_next, feed_done, &s->feed, &err), 0);
	assert_int_equal(s->feed.n_done, jobs);
	return pc_monotonic_ms() - t0;
}

/* --rate: a bucket as deep as parallel starts at once, the rest follow at
 * the rate; a short list is not slowed down; 0 is no limit. */
static void test_rate(void **state)
{
	(void)state;
	struct stamps s;
	/* 40 starts at 200/s with a bucket of 10: 30 paced starts, ~150 ms */
	double ms = paced_run(&s, 40, 10, 200);
	assert_true(ms >= 140);
	assert_true(ms < 1500);
	assert_true(s.t[9] - s.t[0] < 30);   /* the first ten at once */
	assert_true(s.t[39] - s.t[9] >= 140); /* then 5 ms apart */
	for (size_t i = 11; i < 40; i++)
		assert_true(s.t[i] - s.t[i - 1] < 60); /* and never stalled */
	/* a few ports at the default verify rate: no wait at all */
	ms = paced_run(&s, 5, 64, 1000);
	assert_true(ms < 50);
	/* no limit */
	ms = paced_run(&s, 60, 4, 0);
	assert_true(ms < 50);
	/* a rate below one per second still starts the first job at once */
	ms = paced_run(&s, 1, 4, 0.5);
	assert_true(ms < 50);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(pc_dial_status_name(PC_DIAL_REFUSED), "refused");
	assert_string_equal(pc_dial_status_name(PC_DIAL_TIMEOUT), "timeout");
	assert_string_equal(pc_dial_status_name(PC_DIAL_UNREACHABLE), "unreachable");
	assert_string_equal(pc_dial_status_name(PC_DIAL_SELF), "self-connect");
	assert_null(pc_dial_status_name(PC_DIAL_OPEN));
	assert_null(pc_dial_status_name(PC_DIAL_FAILED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_socket),
		cmocka_unit_test(test_no_address),
		cmocka_unit_test(test_callbacks_stop),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
