/*
 * test_procnet.c - the /proc/net/{tcp,tcp6,udp,udp6} fallback parser, on
 * text copied from a real kernel (6.x, x86-64, a namespace holding a known
 * set of sockets) and on broken lines; and the chunked reader, on files
 * larger than its buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/addr.h"
#include "core/error.h"
#include "inventory/procnet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Real files: 127.0.0.1:8080 listening with one connection to it; [::1]:8443
 * listening; udp 0.0.0.0:5353; udp6 [::]:5354. Trailing spaces as the
 * kernel pads them. */
static const char tcp4[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode                                                     \n"
	"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0    "
	"    0 947225 1 00000000a7881df0 100 0 0 10 0                    \n"
	"   1: 0100007F:1F90 0100007F:C774 01 00000000:00000000 00:00000000 00000000     0    "
	"    0 947227 1 000000009259ce0a 20 0 0 10 -1                    \n"
	"   2: 0100007F:C774 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000    "
	"    0 947226 2 000000008b495aa7 20 0 0 10 -1                    \n";
static const char tcp6[] =
	"  sl  local_address                         remote_address                        st "
	"tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000001000000:20FB 00000000000000000000000000000000:0000 0A "
	"00000000:00000000 00:00000000 00000000     0        0 947228 1 0000000090083e87 100 0 0 "
	"10 0\n";
static const char udp4[] =
	"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode ref pointer drops            \n"
	"14402: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0    "
	"    0 947229 2 00000000c4bc2581 0        \n";
static const char udp6[] =
	"  sl  local_address                         remote_address                        st "
	"tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	"14403: 00000000000000000000000000000000:14EA 00000000000000000000000000000000:0000 07 "
	"00000000:00000000 00:00000000 00000000     0        0 947230 2 00000000c9f96a9f 0\n";

#define MAX_RECS 8

struct got {
	struct pc_sock_rec rec[MAX_RECS];
	size_t n;
};

static int collect(void *ctx, const struct pc_sock_rec *rec)
{
	struct got *g = ctx;
	if (g->n < MAX_RECS)
		g->rec[g->n] = *rec;
	g->n++;
	return 0;
}

static const char *fmt(const struct pc_addr *a, char *buf)
{
	return inet_ntop(a->family, a->bytes, buf, 64);
}

static void test_real_files(void **state)
{
	(void)state;
	struct got g = {0};
	char buf[64];
	size_t line = 0;
	assert_int_equal(pc_procnet_parse(tcp4, strlen(tcp4), AF_INET, IPPROTO_TCP, collect, &g,
					  &line),
			 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.rec[0].state, TCP_LISTEN);
	assert_string_equal(fmt(&g.rec[0].local, buf), "127.0.0.1");
	assert_int_equal(g.rec[0].local_port, 8080);
	assert_int_equal(g.rec[0].remote_port, 0);
	assert_int_equal(g.rec[0].inode, 947225);
	assert_int_equal(g.rec[0].protocol, IPPROTO_TCP);
	assert_int_equal(g.rec[1].state, TCP_ESTABLISHED);
	assert_int_equal(g.rec[1].remote_port, 0xC774);
	assert_string_equal(fmt(&g.rec[1].remote, buf), "127.0.0.1");
	assert_int_equal(g.rec[2].uid, 1000);
	assert_int_equal(g.rec[2].local_port, 0xC774);

	memset(&g, 0, sizeof(g));
	assert_int_equal(pc_procnet_parse(tcp6, strlen(tcp6), AF_INET6, IPPROTO_TCP, collect, &g,
					  &line),
			 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rec[0].family, AF_INET6);
	assert_string_equal(fmt(&g.rec[0].local, buf), "::1");
	assert_int_equal(g.rec[0].local_port, 8443);
	assert_int_equal(g.rec[0].inode, 947228);

	memset(&g, 0, sizeof(g));
	assert_int_equal(pc_procnet_parse(udp4, strlen(udp4), AF_INET, IPPROTO_UDP, collect, &g,
					  &line),
			 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rec[0].state, TCP_CLOSE);
	assert_int_equal(g.rec[0].local_port, 5353);
	assert_string_equal(fmt(&g.rec[0].local, buf), "0.0.0.0");
	assert_int_equal(g.rec[0].protocol, IPPROTO_UDP);

	memset(&g, 0, sizeof(g));
	assert_int_equal(pc_procnet_parse(udp6, strlen(udp6), AF_INET6, IPPROTO_UDP, collect, &g,
					  &line),
			 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(fmt(&g.rec[0].local, buf), "::");
	assert_int_equal(g.rec[0].local_port, 5354);
}

/* The kernel prints each 32-bit word as the CPU holds it: on a
 * little-endian host fd00:198:18::1 is 980100FD 00001800 00000000 01000000. */
static void test_v6_word_order(void **state)
{
	(void)state;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	static const char line[] =
		"   5: 980100FD000018000000000001000000:0050 "
		"980100FD000018000000000002000000:D431 01 00000000:00000000 00:00000000 "
		"00000000   33        0 123 1 0000000000000000 20 4 30 10 -1";
	struct pc_sock_rec r;
	char buf[64];
	assert_int_equal(pc_procnet_parse_line(line, strlen(line), AF_INET6, IPPROTO_TCP, &r), 1);
	assert_string_equal(fmt(&r.local, buf), "fd00:198:18::1");
	assert_string_equal(fmt(&r.remote, buf), "fd00:198:18::2");
	assert_int_equal(r.local_port, 80);
	assert_int_equal(r.remote_port, 0xD431);
	assert_int_equal(r.uid, 33);
	/* and 198.18.0.1 in a v4 file */
	static const char v4[] = "0: 010012C6:0050 00000000:0000 0A 00000000:00000000 "
				 "00:00000000 00000000 0 0 7 1";
	assert_int_equal(pc_procnet_parse_line(v4, strlen(v4), AF_INET, IPPROTO_TCP, &r), 1);
	assert_string_equal(fmt(&r.local, buf), "198.18.0.1");
#else
	skip();
#endif
}

static void bad(const char *line, uint8_t family)
{
	struct pc_sock_rec r;
	assert_int_equal(pc_procnet_parse_line(line, strlen(line), family, IPPROTO_TCP, &r),
			 PC_EPARSE);
}

static void test_malformed(void **state)
{
	(void)state;
	/* a good line to mutate */
	static const char good[] = "0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 "
				   "00:00000000 00000000 0 0 947225 1";
	struct pc_sock_rec r;
	assert_int_equal(pc_procnet_parse_line(good, strlen(good), AF_INET, IPPROTO_TCP, &r), 1);
	/* header and blank lines are not sockets, not errors */
	assert_int_equal(pc_procnet_parse_line("", 0, AF_INET, IPPROTO_TCP, &r), 0);
	assert_int_equal(pc_procnet_parse_line("   ", 3, AF_INET, IPPROTO_TCP, &r), 0);
	assert_int_equal(pc_procnet_parse_line("  sl  local", 11, AF_INET, IPPROTO_TCP, &r), 0);

	bad("0: 0100007F:1F90", AF_INET);                     /* too few fields */
	bad("0 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET); /* no colon */
	bad("x: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET);
	bad("0: 0100007G:1F90 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET); /* hex */
	bad("0: 0100007F1F90 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET);
	bad("0: 100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET); /* width */
	bad("0: 0100007F:1F9 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET);
	bad("0: 0100007F:1F90 00000000:0000 A 0:0 0:0 0 0 0 1", AF_INET); /* state */
	bad("0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 -1 0 1", AF_INET); /* uid */
	bad("0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 4294967296 0 1", AF_INET);
	bad("0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 99999999999999999999", AF_INET);
	bad("0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 12a", AF_INET); /* inode */
	/* a v4 line in a v6 file and the other way round */
	bad(good, AF_INET6);
	bad("0: 00000000000000000000000001000000:20FB 00000000000000000000000000000000:0000 0A "
	    "0:0 0:0 0 0 0 1",
	    AF_INET);

	/* the buffer parser names the bad line */
	char buf[512];
	snprintf(buf, sizeof(buf), "  sl  local_address\n%s\n0: junk\n%s\n", good, good);
	struct got g = {0};
	size_t line = 0;
	assert_int_equal(pc_procnet_parse(buf, strlen(buf), AF_INET, IPPROTO_TCP, collect, &g,
					  &line),
			 PC_EPARSE);
	assert_int_equal(line, 3);
	assert_int_equal(g.n, 1);
	/* a last line without its newline still counts */
	snprintf(buf, sizeof(buf), "%s\n%s", good, good);
	memset(&g, 0, sizeof(g));
	assert_int_equal(pc_procnet_parse(buf, strlen(buf), AF_INET, IPPROTO_TCP, collect, &g,
					  &line),
			 0);
	assert_int_equal(g.n, 2);
	/* NUL bytes inside a line are junk, not an end of string */
	static const char nul[] = "0: 0100007F:1F90\0000000000:0000 0A 0:0 0:0 0 0 0 1";
	assert_int_equal(pc_procnet_parse(nul, sizeof(nul) - 1, AF_INET, IPPROTO_TCP, collect,
					  &g, &line),
			 PC_EPARSE);
}

/* The reader streams through a 64 KiB buffer: a file of many lines must
 * give every record once, whatever falls on a chunk boundary. */
static void test_reader_chunks(void **state)
{
	(void)state;
	char path[] = "/tmp/pc-test-procnet-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	FILE *f = fdopen(fd, "w+");
	assert_non_null(f);
	fputs("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	      "timeout inode\n",
	      f);
	const size_t n = 5000; /* ~750 KB, a dozen chunks */
	for (size_t i = 0; i < n; i++)
		fprintf(f,
			"%4zu: 0100007F:%04zX 00000000:0000 0A 00000000:00000000 00:00000000 "
			"00000000     0        0 %zu 1 0000000000000000 100 0 0 10 0\n",
			i, 1024 + i, 100000 + i);
	fflush(f);
	lseek(fd, 0, SEEK_SET);
	size_t line = 0;
	struct got g = {0};
	assert_int_equal(pc_procnet_read_fd(fd, AF_INET, IPPROTO_TCP, collect, &g, &line), 0);
	assert_int_equal(g.n, n);
	assert_int_equal(g.rec[7].local_port, 1024 + 7);
	assert_int_equal(g.rec[7].inode, 100007);

	/* an over-long line is an error with its number, not a hang */
	assert_int_equal(ftruncate(fd, 0), 0);
	rewind(f);
	fprintf(f, "  sl  local_address\n");
	for (size_t i = 0; i < 2 * PC_PROCNET_LINE_MAX; i++)
		fputc('A', f);
	fputc('\n', f);
	fflush(f);
	lseek(fd, 0, SEEK_SET);
	memset(&g, 0, sizeof(g));
	assert_int_equal(pc_procnet_read_fd(fd, AF_INET, IPPROTO_TCP, collect, &g, &line),
			 PC_EPARSE);
	assert_int_equal(line, 2);
	fclose(f);
}

/* pc_addr_format formats IPv4 by hand (the JSON writer formats 100,000
 * addresses for 50,000 endpoints): it must agree with inet_ntop on every
 * digit count, in every position. */
static void test_addr_format_v4(void **state)
{
	(void)state;
	static const uint8_t octets[] = {0, 1, 9, 10, 42, 99, 100, 127, 199, 200, 249, 255};
	const size_t n = sizeof(octets);
	char want[64], got[PC_ADDR_STRLEN];
	for (size_t a = 0; a < n; a++)
		for (size_t b = 0; b < n; b++)
			for (size_t c = 0; c < n; c++)
				for (size_t d = 0; d < n; d++) {
					struct pc_addr x = {.family = AF_INET,
							    .bytes = {octets[a], octets[b],
								      octets[c], octets[d]}};
					inet_ntop(AF_INET, x.bytes, want, sizeof(want));
					assert_string_equal(pc_addr_format(&x, got, sizeof(got)),
							    want);
				}
	/* a buffer too short for the longest form gets nothing rather than
	 * half an address */
	struct pc_addr y = {.family = AF_INET, .bytes = {255, 255, 255, 255}};
	char small[8];
	pc_addr_format(&y, small, sizeof(small));
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_format_v4),
		cmocka_unit_test(test_real_files),
		cmocka_unit_test(test_v6_word_order),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_reader_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
