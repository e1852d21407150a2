/*
 * test_pace.c - the adaptive pacer (scan/pace.h) on simulated time: slow
 * start, the cuts by loss, RTT, ICMP limits and our own overflow, the
 * once-per-round rule, paths kept apart, the ceiling, and a simulated
 * bottleneck link (a FIFO queue that drains at a fixed rate and drops when
 * full) whose capacity the pacer must find without flooding it; the
 * per-path timeout, the policed-path rules (a floor and a cap from the
 * best delivery rate, retries while they bring answers), and the
 * --source-ip list (sources.h) with the progress text of the ICMP limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/addr.h"
#include "core/error.h"
#include "scan/pace.h"
#include "scan/scan.h"
#include "scan/sources.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct pc_addr v4(uint32_t host_order)
{
	struct pc_addr a;
	pc_addr_from_v4(&a, host_order);
	return a;
}

static struct pc_pace *make(double max_pps, uint64_t n_targets)
{
	struct pc_pace_config cfg = {.max_pps = max_pps, .n_targets = n_targets};
	struct pc_pace *p;
	assert_int_equal(pc_pace_new(&cfg, &p), 0);
	return p;
}

/* Take every token path a has from t to t + len (steps of 100 us),
 * answering each at once with rtt_us; returns how many were taken. */
static uint64_t run_clean(struct pc_pace *p, const struct pc_addr *a, uint64_t t, uint64_t len,
			  uint64_t rtt_us)
{
	uint64_t n = 0;
	for (uint64_t now = t; now < t + len; now += 100)
		for (int k = 0; k < 100000 && pc_pace_take(p, a, now); k++, n++)
			pc_pace_answer(p, a, rtt_us, now, false, now);
	return n;
}

static void test_pace_config(void **state)
{
	(void)state;
	struct pc_pace *p;
	struct pc_pace_config bad = {.max_pps = -1};
	assert_int_equal(pc_pace_new(&bad, &p), PC_EINVAL);
	assert_null(p);
	p = make(0, 1);
	struct pc_addr a = v4(0xc6120002);
	assert_true(pc_pace_path_rate(p, &a) == PC_PACE_DEFAULT_START);
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_GROWING);
	assert_string_equal(pc_pace_limit_name(PC_PACE_LOSS), "loss");
	assert_string_equal(pc_pace_limit_name(PC_PACE_RTT), "rtt");
	pc_pace_free(p);
	pc_pace_free(NULL);
}

/* a clean path doubles per epoch: far beyond the start within 100 ms */
static void test_pace_slow_start(void **state)
{
	(void)state;
	struct pc_pace *p = make(0, 1);
	struct pc_addr a = v4(0xc6120002);
	uint64_t n = run_clean(p, &a, 1000000, 100000, 100);
	double r = pc_pace_path_rate(p, &a);
	assert_true(r >= PC_PACE_DEFAULT_START * 64);
	assert_true(n > 1000);
	assert_true(pc_pace_total(p) >= 10000 * 64.0);
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_GROWING);
	pc_pace_free(p);
}

/* an idle path does not grow: its rate proves nothing */
static void test_pace_idle_no_growth(void **state)
{
	(void)state;
	struct pc_pace *p = make(0, 1);
	struct pc_addr a = v4(0xc6120002);
	for (uint64_t now = 1000000; now < 2000000; now += 20000) {
		assert_true(pc_pace_take(p, &a, now));
		pc_pace_answer(p, &a, 100, now, false, now);
	}
	assert_true(pc_pace_path_rate(p, &a) == PC_PACE_DEFAULT_START);
	pc_pace_free(p);
}

/* a rising RTT cuts, names the path, and old probes do not cut again */
static void test_pace_rtt_cut(void **state)
{
	(void)state;
	struct pc_pace *p = make(0, 1);
	struct pc_addr a = v4(0xc6120002);
	run_clean(p, &a, 1000000, 30000, 100);
	double before = pc_pace_path_rate(p, &a);
	/* 60 ms round trips, every one of them: a queue */
	for (int i = 0; i < 20; i++)
		pc_pace_answer(p, &a, 60000, 1030000, false, 1030000 + (uint64_t)i * 100);
	pc_pace_answer(p, &a, 60000, 1030000, false, 1045000);
	double after = pc_pace_path_rate(p, &a);
	/* x 0.7 at most, and no more than the epoch delivered */
	assert_true(after <= before * 0.7);
	assert_true(after >= PC_PACE_DEFAULT_MIN);
	struct pc_addr net;
	unsigned prefix;
	assert_int_equal(pc_pace_limit(p, &net, &prefix), PC_PACE_RTT);
	assert_true(pc_addr_equal(&net, &a));
	assert_int_equal(prefix, 32);
	/* answers to probes sent before that cut: no second cut */
	for (int i = 0; i < 50; i++)
		pc_pace_answer(p, &a, 60000, 1029000, true, 1046000 + (uint64_t)i * 1000);
	assert_true(pc_pace_path_rate(p, &a) == after);
	pc_pace_free(p);
}

/* late answers among prompt ones (our own scheduling on a loaded
 * machine): no cut */
static void test_pace_rtt_spikes(void **state)
{
	(void)state;
	struct pc_pace *p = make(0, 1);
	struct pc_addr a = v4(0xc6120002);
	uint64_t k = 0;
	for (uint64_t now = 1000000; now < 1300000; now += 100)
		for (int i = 0; i < 1000 && pc_pace_take(p, &a, now); i++)
			pc_pace_answer(p, &a, ++k % 3 ? 80000 : 200, now, false, now);
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_GROWING);
	assert_true(pc_pace_path_rate(p, &a) > PC_PACE_DEFAULT_START * 100);
	pc_pace_free(p);
}

/* loss: retried answers above 15 % (over 200 or more) cut; 4 % random
 * loss (2 % each way) does not */
static void test_pace_loss(void **state)
{
	(void)state;
	struct pc_pace *p = make(0, 1);
	struct pc_addr a = v4(0xc6120002);
	uint64_t now = 1000000;
	for (int i = 0; i < 2000; i++, now += 50)
		pc_pace_answer(p, &a, 100, now, i % 25 == 0, now);
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_GROWING);
	assert_true(pc_pace_lossy(p, &a));
	double before = pc_pace_path_rate(p, &a);
	for (int i = 0; i < 400; i++, now += 50)
		pc_pace_answer(p, &a, 100, now, i % 4 == 0, now);
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_LOSS);
	assert_true(pc_pace_path_rate(p, &a) <= before * 0.7);
	struct pc_addr b = v4(0xc6120003);
	assert_false(pc_pace_lossy(p, &b));
	pc_pace_free(p);
}

/* one slow host does not slow the other; /24 paths for larger scans */
static void test_pace_paths_apart(void **state)
{
	(void)state;
	struct pc_pace *p = make(0, 2);
	struct pc_addr slow = v4(0xc6120002), fast = v4(0xc6130002);
	for (uint64_t now = 1000000; now < 1200000; now += 100) {
		for (int k = 0; k < 1000 && pc_pace_take(p, &fast, now); k++)
			pc_pace_answer(p, &fast, 100, now, false, now);
		/* the slow host answers 50 ms after each send (a queue) */
		if (pc_pace_take(p, &slow, now) && now >= 1050000)
			pc_pace_answer(p, &slow, 50000, now - 50000, false, now);
		if (now < 1010000) /* a small RTT first, then the queue */
			pc_pace_answer(p, &slow, 1000, now, false, now);
	}
	assert_true(pc_pace_path_rate(p, &slow) < PC_PACE_DEFAULT_START);
	assert_true(pc_pace_path_rate(p, &fast) > PC_PACE_DEFAULT_START * 100);
	pc_pace_free(p);

	p = make(0, 65536);
	struct pc_addr a1 = v4(0xc6120002), a2 = v4(0xc61200fe), b = v4(0xc6120102);
	pc_pace_signal(p, &a1, PC_PACE_SIG_ICMP, 1000000);
	/* straight down to the ICMP budget: 0.8/s for one source address */
	assert_true(pc_pace_path_rate(p, &a2) == 0.8);
	assert_true(pc_pace_icmp_since(p, &a2) == 1000000);
	assert_true(pc_pace_icmp_since(p, &b) == 0);
	assert_true(pc_pace_path_rate(p, &b) == PC_PACE_DEFAULT_START);
	struct pc_addr net;
	unsigned prefix;
	assert_int_equal(pc_pace_limit(p, &net, &prefix), PC_PACE_ICMP);
	assert_int_equal(prefix, 24);
	assert_true(pc_addr_v4(&net) == 0xc6120000);
	/* later silences (tries sent before) do not cut again, and answers
	 * do not grow it past the budget */
	for (uint64_t t = 1400000; t < 100000000; t += 200000) {
		pc_pace_signal(p, &a1, PC_PACE_SIG_ICMP, t);
		if (pc_pace_take(p, &a1, t))
			pc_pace_answer(p, &a1, 100, t, false, t + 100);
	}
	assert_true(pc_pace_path_rate(p, &a1) == 0.8);
	assert_true(pc_pace_take(p, &a1, 200000000));
	pc_pace_free(p);

	/* with 64 source addresses, 64 budgets */
	struct pc_pace_config cfg = {.n_targets = 1, .n_sources = 64};
	assert_int_equal(pc_pace_new(&cfg, &p), 0);
	pc_pace_signal(p, &a1, PC_PACE_SIG_ICMP, 1000000);
	assert_true(pc_pace_path_rate(p, &a1) > 51.1 && pc_pace_path_rate(p, &a1) < 51.3);
	pc_pace_free(p);
}

/* the ceiling holds the total; our own overflow halves it */
static void test_pace_ceiling_and_overflow(void **state)
{
	(void)state;
	struct pc_pace *p = make(50000, 1);
	struct pc_addr a = v4(0xc6120002);
	uint64_t n = run_clean(p, &a, 1000000, 1000000, 100);
	(void)n;
	assert_true(pc_pace_total(p) <= 50000);
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_CEILING);
	pc_pace_signal(p, NULL, PC_PACE_SIG_SENDBUF, 3000000);
	assert_true(pc_pace_total(p) == 25000);
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_SENDBUF);
	pc_pace_signal(p, NULL, PC_PACE_SIG_CAPTURE, 3000100); /* same round */
	assert_true(pc_pace_total(p) == 25000);
	pc_pace_signal(p, NULL, PC_PACE_SIG_CAPTURE, 3100000);
	assert_true(pc_pace_total(p) == 12500);
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_CAPTURE);
	pc_pace_free(p);
	p = make(500, 1);
	assert_true(pc_pace_total(p) == 500);
	pc_pace_free(p);
}

/* A bottleneck: capacity C probes/s, a FIFO of Q probes, base RTT 200 us.
 * Probes that find the queue full are lost; their retry is answered one
 * timeout later (retried). The pacer must deliver at least half of C and
 * keep the loss low. */
#define SIM_Q 400
#define SIM_LOST 65536
static void test_pace_bottleneck(void **state)
{
	(void)state;
	const double C = 8000;
	const uint64_t base = 200, timeout = 1000000, end = 6000000;
	struct pc_pace *p = make(0, 1);
	struct pc_addr a = v4(0xc6120002);
	uint64_t *q = calloc(SIM_Q, sizeof(*q));
	uint64_t *lost = calloc(SIM_LOST, sizeof(*lost));
	assert_non_null(q);
	assert_non_null(lost);
	size_t qh = 0, qn = 0, lh = 0, ln = 0;
	double credit = 0;
	uint64_t sent = 0, dropped = 0, delivered_late = 0;
	for (uint64_t now = 1000; now < end; now += 100) {
		/* the link drains */
		credit += C * 100 / 1e6;
		while (credit >= 1 && qn) {
			uint64_t t = q[qh];
			qh = (qh + 1) % SIM_Q;
			qn--;
			credit -= 1;
			pc_pace_answer(p, &a, now - t + base, t, false, now + base);
			if (now > end / 2)
				delivered_late++;
		}
		if (!qn && credit > 1)
			credit = 1;
		/* retries of lost probes are answered a timeout later */
		while (ln && lost[lh] + timeout <= now) {
			pc_pace_answer(p, &a, base, lost[lh], true, now);
			lh = (lh + 1) % SIM_LOST;
			ln--;
		}
		/* the sender sends all it may */
		for (int k = 0; k < 10000 && pc_pace_take(p, &a, now); k++) {
			sent++;
			if (qn < SIM_Q) {
				q[(qh + qn) % SIM_Q] = now;
				qn++;
			} else {
				dropped++;
				if (ln < SIM_LOST) {
					lost[(lh + ln) % SIM_LOST] = now;
					ln++;
				}
			}
		}
	}
	double secs = (double)(end - end / 2) / 1e6;
	print_message("bottleneck: sent %llu, dropped %llu, delivered %.0f/s in the second half, "
		      "rate %.0f\n",
		      (unsigned long long)sent, (unsigned long long)dropped,
		      (double)delivered_late / secs, pc_pace_path_rate(p, &a));
	assert_true((double)delivered_late >= 0.5 * C * secs);
	assert_true((double)dropped <= 0.1 * (double)sent);
	enum pc_pace_limit why = pc_pace_limit(p, NULL, NULL);
	assert_true(why == PC_PACE_RTT || why == PC_PACE_LOSS);
	free(q);
	free(lost);
	pc_pace_free(p);
}

/* the try timeout follows the path's round trips (RFC 6298), within
 * 200 ms and --timeout, and only once 16 unretried answers were seen */
static void test_pace_timeout(void **state)
{
	(void)state;
	struct pc_pace *p = make(0, 1);
	struct pc_addr a = v4(0xc6120002), b = v4(0xc6120003);
	assert_true(pc_pace_timeout_us(p, &a, 1000000) == 1000000);
	uint64_t now = 1000000;
	for (int i = 0; i < 15; i++, now += 1000)
		pc_pace_answer(p, &a, 500, now - 500, false, now);
	assert_true(pc_pace_timeout_us(p, &a, 1000000) == 1000000);
	pc_pace_answer(p, &a, 500, now - 500, false, now);
	assert_true(pc_pace_timeout_us(p, &a, 1000000) == 200000); /* a LAN: the floor */
	/* answers to re-sent probes are ambiguous: they do not count */
	for (int i = 0; i < 100; i++, now += 1000)
		pc_pace_answer(p, &a, 900000, now - 900000, true, now);
	assert_true(pc_pace_timeout_us(p, &a, 1000000) == 200000);
	/* a slow path: 2 x 300 ms plus its deviation, within --timeout */
	for (int i = 0; i < 200; i++, now += 1000)
		pc_pace_answer(p, &a, 300000, now - 300000, false, now);
	uint64_t t = pc_pace_timeout_us(p, &a, 1000000);
	assert_true(t >= 600000 && t <= 700000);
	assert_true(pc_pace_timeout_us(p, &a, 400000) == 400000);
	assert_true(pc_pace_timeout_us(p, &b, 1000000) == 1000000); /* its own */
	pc_pace_free(p);
}

/* a policer: loss cuts land under what the path delivered but never under
 * half its best, and the path then stays under 0.8x its best; retries that
 * keep being answered earn more retries */
static void test_pace_policed(void **state)
{
	(void)state;
	struct pc_pace *p = make(0, 1);
	struct pc_addr a = v4(0xc6120002);
	uint64_t now = 1000000;
	/* 500 answers a second get through, whatever is sent */
	double allowance = 0;
	uint64_t last = now;
	for (; now < 4000000; now += 100) {
		allowance += (double)(now - last) * 500 / 1e6;
		if (allowance > 5)
			allowance = 5;
		last = now;
		for (int k = 0; k < 1000 && pc_pace_take(p, &a, now); k++) {
			if (allowance >= 1) {
				allowance -= 1;
				/* one in five answers needed a retry (the policer
				 * dropped the first) */
				pc_pace_answer(p, &a, 100, now, k % 5 == 0, now + 100);
			}
		}
	}
	assert_int_equal(pc_pace_limit(p, NULL, NULL), PC_PACE_LOSS);
	double r = pc_pace_path_rate(p, &a);
	assert_true(r >= 200 && r <= 0.8 * 600);
	assert_int_equal(pc_pace_loss(p, &a), PC_PACE_LOSS_RETRIES_ANSWER);
	/* retries that bring nothing (a filter, not a policer) */
	for (int i = 0; i < 1000; i++)
		pc_pace_resent(p, &a, now);
	assert_int_equal(pc_pace_loss(p, &a), PC_PACE_LOSS_SEEN);
	struct pc_addr b = v4(0xc6120003);
	assert_int_equal(pc_pace_loss(p, &b), PC_PACE_LOSS_NONE);
	pc_pace_free(p);
}

static void test_pace_sources(void **state)
{
	(void)state;
	struct pc_addr *l = NULL;
	size_t n = 0;
	struct pc_error err = {0};
	assert_int_equal(pc_scan_sources_parse("fd00:198:18::5", &l, &n, &err), 0);
	assert_int_equal(pc_scan_sources_parse("198.18.36.64/30", &l, &n, &err), 0);
	assert_int_equal(pc_scan_sources_parse("198.18.36.10-198.18.36.11", &l, &n, &err), 0);
	assert_int_equal(n, 7);
	char a[PC_ADDR_STRLEN];
	/* IPv4 first, in the order given; then IPv6 */
	assert_string_equal(pc_addr_format(&l[0], a, sizeof(a)), "198.18.36.64");
	assert_string_equal(pc_addr_format(&l[3], a, sizeof(a)), "198.18.36.67");
	assert_string_equal(pc_addr_format(&l[5], a, sizeof(a)), "198.18.36.11");
	assert_string_equal(pc_addr_format(&l[6], a, sizeof(a)), "fd00:198:18::5");
	/* rotation within a family */
	assert_true(pc_scan_sources_pick(l, n, AF_INET, 0) == &l[0]);
	assert_true(pc_scan_sources_pick(l, n, AF_INET, 7) == &l[1]);
	assert_true(pc_scan_sources_pick(l, n, AF_INET6, 12345) == &l[6]);
	assert_null(pc_scan_sources_pick(l, 6, AF_INET6, 0));
	assert_null(pc_scan_sources_pick(NULL, 0, AF_INET, 0));
	/* bad specs */
	const char *bad[] = {"", "198.18.36.1-fd00::1", "198.18.36.9-198.18.36.1", "198.18.0.0/33",
			     "198.18.0.0/", "198.18.0.0/8x", "nonsense", "1.2.3.4/8-9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		size_t before = n;
		assert_int_equal(pc_scan_sources_parse(bad[i], &l, &n, &err), PC_EINVAL);
		assert_int_equal(n, before);
	}
	/* at most PC_SCAN_SOURCES_MAX in all */
	assert_int_equal(pc_scan_sources_parse("10.0.0.0/16", &l, &n, &err), PC_ETOOBIG);
	free(l);
}

static void test_pace_limit_text(void **state)
{
	(void)state;
	struct pc_scan_stats st;
	memset(&st, 0, sizeof(st));
	char buf[128];
	st.limit = PC_PACE_ICMP;
	st.limit_prefix = 32;
	pc_addr_parse("198.18.36.2", &st.limit_net);
	pc_scan_limit_text(&st, buf, sizeof(buf));
	assert_string_equal(buf, "limited by icmp rate on 198.18.36.2");
	st.limit = PC_PACE_LOSS;
	st.limit_prefix = 24;
	pc_addr_parse("198.18.36.0", &st.limit_net);
	pc_scan_limit_text(&st, buf, sizeof(buf));
	assert_string_equal(buf, "limited by loss on 198.18.36.0/24");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pace_config),
		cmocka_unit_test(test_pace_slow_start),
		cmocka_unit_test(test_pace_idle_no_growth),
		cmocka_unit_test(test_pace_rtt_cut),
		cmocka_unit_test(test_pace_rtt_spikes),
		cmocka_unit_test(test_pace_loss),
		cmocka_unit_test(test_pace_paths_apart),
		cmocka_unit_test(test_pace_ceiling_and_overflow),
		cmocka_unit_test(test_pace_bottleneck),
		cmocka_unit_test(test_pace_timeout),
		cmocka_unit_test(test_pace_policed),
		cmocka_unit_test(test_pace_sources),
		cmocka_unit_test(test_pace_limit_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
