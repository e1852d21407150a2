/*
 * test_import.c - the readers behind `verify` on good and bad files (each
 * format; truncated, wrong types, huge numbers, bad ports, deep nesting),
 * with the exact file:line:col of each refusal; the service-name aliasing
 * and the verdicts. Nothing here opens a socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "import/import.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
	struct pc_snapshot *snap;
	struct pc_import_stats st;
	struct pc_error err;
	int r;
};

static void import(struct run *x, const char *text, size_t len)
{
	memset(x, 0, sizeof(*x));
	x->snap = pc_snapshot_new("test");
	assert_non_null(x->snap);
	struct pc_import_opts o = {.name = "in"};
	x->r = pc_import_buffer(x->snap, text, len, &o, &x->st, &x->err);
}

static void done(struct run *x)
{
	pc_import_stats_free(&x->st);
	pc_snapshot_free(x->snap);
}

static void good(struct run *x, const char *text)
{
	import(x, text, strlen(text));
	if (x->r < 0)
		fail_msg("refused: %d:%d: %s", x->err.line, x->err.col, x->err.msg);
}

static void bad_n(const char *text, size_t len, int line, int col, const char *what)
{
	struct run x;
	import(&x, text, len);
	if (x.r >= 0)
		fail_msg("accepted: %s", text);
	assert_string_equal(x.err.file, "in");
	if (x.err.line != line || x.err.col != col || !strstr(x.err.msg, what))
		fail_msg("%s\ngot %d:%d: %s\nwant %d:%d: ...%s...", text, x.err.line, x.err.col,
			 x.err.msg, line, col, what);
	done(&x);
}

#define BAD(text, line, col, what) bad_n(text, sizeof(text) - 1, line, col, what)

/* endpoint i is PROTO ADDR:PORT, claim (or NULL) */
static void check_ep(const struct run *x, size_t i, enum pc_proto proto, const char *addr,
		     unsigned port, const char *claim)
{
	assert_true(i < x->snap->n_endpoints);
	const struct pc_endpoint *e = &x->snap->endpoints[i];
	char a[PC_ADDR_STRLEN];
	assert_int_equal(e->source, PC_SOURCE_IMPORT);
	assert_int_equal(e->state, PC_STATE_OPEN);
	assert_int_equal(e->proto, proto);
	assert_string_equal(pc_addr_format(&e->addr, a, sizeof(a)), addr);
	assert_int_equal(e->port, port);
	if (claim)
		assert_string_equal(e->claimed_service, claim);
	else
		assert_null(e->claimed_service);
}

static const char masscan_list[] = "#masscan\n"
				   "open tcp 80 198.18.0.2 1795744158\n"
				   "open tcp 6379 198.18.0.2 1795744158\r\n"
				   "closed tcp 81 198.18.0.2 1795744158\n"
				   "open udp 53 fd00:198:18::2 1795744158\n"
				   "open icmp 0 198.18.0.3 1795744158\n"
				   "banner tcp 80 198.18.0.2 1795744159 http HTTP/1.1 200 OK\n"
				   "banner tcp 80 198.18.0.2 1795744159 title lab\n"
				   "open tcp 80 198.18.0.2 1795744160\n"
				   "# end\n";

static void test_masscan_list(void **state)
{
	(void)state;
	struct run x;
	good(&x, masscan_list);
	assert_int_equal(x.st.format, PC_IMPORT_MASSCAN_LIST);
	assert_int_equal(x.snap->n_endpoints, 3);
	check_ep(&x, 0, PC_PROTO_TCP, "198.18.0.2", 80, "http");
	check_ep(&x, 1, PC_PROTO_TCP, "198.18.0.2", 6379, NULL);
	check_ep(&x, 2, PC_PROTO_UDP, "fd00:198:18::2", 53, NULL);
	assert_int_equal(x.st.records, 6);
	assert_int_equal(x.st.not_open, 1);
	assert_int_equal(x.st.other_proto, 1);
	assert_int_equal(x.st.duplicates, 3);
	assert_int_equal(x.st.claim_guessed[0], 0);
	done(&x);

	BAD("#masscan\nopen tcp 80 198.18.0.2\n", 2, 23, "truncated record");
	BAD("open tcp 0 198.18.0.2 1\n", 1, 10, "port must be a number 1-65535, not '0'");
	BAD("open tcp 65536 198.18.0.2 1\n", 1, 10, "not '65536'");
	BAD("open tcp 99999999999999999999 198.18.0.2 1\n", 1, 10, "port must be");
	BAD("open tcp -1 198.18.0.2 1\n", 1, 10, "not '-1'");
	BAD("open tcp 80 198.18.0.256 1\n", 1, 13, "not an IP address: '198.18.0.256'");
	BAD("open tcp 80 198.18.0.2 12ab\n", 1, 24, "timestamp");
	BAD("open tcp 80 198.18.0.2 1 extra\n", 1, 26, "unexpected text");
	BAD("open xyz 80 198.18.0.2 1\n", 1, 6, "unknown protocol 'xyz'");
	BAD("open tcp 80 198.18.0.2 1\nopened tcp 80 198.18.0.2 1\n", 2, 1, "masscan -oL record");
	BAD("open tcp 80 198.18.0.2 1\nopen tcp 8\0 198.18.0.2 1\n", 2, 0, "NUL byte");
}

static const char masscan_json[] =
	"[\n"
	"{   \"ip\": \"198.18.0.2\",   \"timestamp\": \"1795744155\", \"ports\": [ {\"port\": 80, "
	"\"proto\": \"tcp\", \"status\": \"open\", \"reason\": \"syn-ack\", \"ttl\": 64} ] }\n"
	",\n"
	"{   \"ip\": \"198.18.0.2\",   \"timestamp\": \"1795744155\", \"ports\": [ {\"port\": 6379, "
	"\"proto\": \"tcp\", \"status\": \"open\", \"reason\": \"syn-ack\", \"ttl\": 64} ] }\n"
	",\n"
	"{   \"ip\": \"198.18.0.2\",   \"timestamp\": \"1795744155\", \"ports\": [ {\"port\": 22, "
	"\"proto\": \"tcp\", \"service\": {\"name\": \"ssh\", \"banner\": \"SSH-2.0-x\"} } ] }\n"
	"]\n";

static void test_masscan_json(void **state)
{
	(void)state;
	struct run x;
	good(&x, masscan_json);
	assert_int_equal(x.st.format, PC_IMPORT_MASSCAN_JSON);
	assert_int_equal(x.snap->n_endpoints, 3);
	check_ep(&x, 0, PC_PROTO_TCP, "198.18.0.2", 80, NULL);
	check_ep(&x, 1, PC_PROTO_TCP, "198.18.0.2", 6379, NULL);
	check_ep(&x, 2, PC_PROTO_TCP, "198.18.0.2", 22, "ssh");
	done(&x);
	good(&x, "[\n]\n");
	assert_int_equal(x.snap->n_endpoints, 0);
	done(&x);

	/* truncated, like a masscan killed mid-run */
	BAD("[\n{ \"ip\": \"198.18.0.2\", \"ports\": [ {\"port\": 80, \"proto\": \"tcp\", "
	    "\"status\": \"open\"} ] }\n,\n",
	    4, 1, "unexpected end of input");
	BAD("[{\"ip\": \"198.18.0.2\", \"ports\": [{\"port\": \"80\", \"proto\": \"tcp\", "
	    "\"status\": \"open\"}]}]",
	    1, 42, "\"port\" must be a number, not a string");
	BAD("[{\"ip\": \"198.18.0.2\", \"ports\": [{\"port\": 80.5, \"proto\": \"tcp\", "
	    "\"status\": \"open\"}]}]",
	    1, 42, "port must be a number 1-65535, not 80.5");
	BAD("[{\"ip\": \"198.18.0.2\", \"ports\": [{\"port\": 1e99999, \"proto\": \"tcp\", "
	    "\"status\": \"open\"}]}]",
	    1, 42, "not 1e99999");
	BAD("[{\"ip\": \"198.18.0.2\", \"ports\": [{\"port\": 70000, \"proto\": \"tcp\", "
	    "\"status\": \"open\"}]}]",
	    1, 42, "not 70000");
	BAD("[{\"ip\": 3254779906, \"ports\": []}]", 1, 9, "\"ip\" must be a string");
	BAD("[{\"ports\": []}]", 1, 2, "masscan record has no \"ip\"");
	BAD("[{\"ip\": \"198.18.0.2\", \"ports\": [{\"port\": 80, \"proto\": \"tcp\"}]}]", 1, 33,
	    "no \"status\"");
	BAD("[{\"ip\": \"198.18.0.2\", \"ports\": {}}]", 1, 32, "\"ports\" must be a array");
	BAD("[1]", 1, 2, "must be an object");
	BAD("{\"ip\": \"x\"", 1, 11, "unexpected end of input");
}

static void test_masscan_ndjson(void **state)
{
	(void)state;
	struct run x;
	good(&x, "{\"ip\":\"198.18.0.2\",\"timestamp\":\"1795744160\",\"port\":80,\"proto\":\"tcp\","
		 "\"rec_type\":\"status\",\"data\":{\"status\":\"open\",\"reason\":\"syn-ack\","
		 "\"ttl\":64}}\n"
		 "{\"ip\":\"198.18.0.2\",\"timestamp\":\"1795744161\",\"port\":6379,\"proto\":"
		 "\"tcp\",\"rec_type\":\"status\",\"data\":{\"status\":\"open\"}}\n"
		 "{\"ip\":\"198.18.0.2\",\"timestamp\":\"1795744161\",\"port\":81,\"proto\":"
		 "\"tcp\",\"rec_type\":\"status\",\"data\":{\"status\":\"closed\"}}\n");
	assert_int_equal(x.st.format, PC_IMPORT_JSONL);
	assert_int_equal(x.snap->n_endpoints, 2);
	check_ep(&x, 1, PC_PROTO_TCP, "198.18.0.2", 6379, NULL);
	assert_int_equal(x.st.not_open, 1);
	done(&x);
}

static const char nmap_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<!DOCTYPE nmaprun>\n"
	"<nmaprun scanner=\"nmap\" args=\"nmap -sV\" version=\"7.93\" xmloutputversion=\"1.05\">\n"
	"<hosthint><status state=\"up\"/><address addr=\"198.18.0.9\" addrtype=\"ipv4\"/></hosthint>\n"
	"<host><status state=\"up\"/>\n"
	"<address addr=\"02:00:00:00:00:01\" addrtype=\"mac\"/>\n"
	"<address addr=\"198.18.0.2\" addrtype=\"ipv4\"/>\n"
	"<hostnames><hostname name=\"ptr.lab\" type=\"PTR\"/><hostname name=\"db.lab\" "
	"type=\"user\"/></hostnames>\n"
	"<ports><extraports state=\"closed\" count=\"997\"/>\n"
	"<port protocol=\"tcp\" portid=\"80\"><state state=\"open\"/><service name=\"http\" "
	"product=\"nginx\" method=\"probed\" conf=\"10\"/></port>\n"
	"<port protocol=\"tcp\" portid=\"443\"><state state=\"open\"/><service name=\"http\" "
	"tunnel=\"ssl\" method=\"probed\"/></port>\n"
	"<port protocol=\"tcp\" portid=\"9100\"><state state=\"open\"/><service name=\"jetdirect\" "
	"method=\"table\" conf=\"3\"/></port>\n"
	"<port protocol=\"tcp\" portid=\"81\"><state state=\"closed\"/></port>\n"
	"<port protocol=\"udp\" portid=\"53\"><state state=\"open|filtered\"/></port>\n"
	"<port protocol=\"sctp\" portid=\"9\"><state state=\"open\"/></port>\n"
	"<port protocol=\"tcp\" portid=\"22\"><state state=\"open\"/></port>\n"
	"</ports></host>\n"
	"<host><ports><port protocol=\"tcp\" portid=\"1\"><state state=\"closed\"/></port></ports>"
	"</host>\n"
	"<host><address addr=\"fd00:198:18::5\" addrtype=\"ipv6\"/><ports><port protocol=\"udp\" "
	"portid=\"161\"><state state=\"open\"/><service name=\"snmp\" method=\"probed\"/></port>"
	"</ports></host>\n"
	"<runstats><finished time=\"1\"/></runstats>\n"
	"</nmaprun>\n";

static void test_nmap_xml(void **state)
{
	(void)state;
	struct run x;
	good(&x, nmap_xml);
	assert_int_equal(x.st.format, PC_IMPORT_NMAP_XML);
	assert_int_equal(x.snap->n_endpoints, 5);
	check_ep(&x, 0, PC_PROTO_TCP, "198.18.0.2", 80, "http");
	check_ep(&x, 1, PC_PROTO_TCP, "198.18.0.2", 443, "ssl/http");
	check_ep(&x, 2, PC_PROTO_TCP, "198.18.0.2", 9100, "jetdirect");
	check_ep(&x, 3, PC_PROTO_TCP, "198.18.0.2", 22, NULL);
	check_ep(&x, 4, PC_PROTO_UDP, "fd00:198:18::5", 161, "snmp");
	assert_string_equal(x.snap->endpoints[0].hostname, "db.lab");
	assert_null(x.snap->endpoints[4].hostname);
	assert_int_equal(x.st.claim_guessed[0], 0);
	assert_int_equal(x.st.claim_guessed[2], 1);
	assert_int_equal(x.st.records, 9);
	assert_int_equal(x.st.not_open, 3);
	assert_int_equal(x.st.other_proto, 1);
	done(&x);

	BAD("<?xml version=\"1.0\"?>\n<nmaprun>\n<host>\n<ports>\n", 5, 1, "malformed XML");
	BAD("<?xml version=\"1.0\"?>\n<nmaprun><host></nmaprun>", 2, 18, "mismatched tag");
	BAD("<?xml version=\"1.0\"?>\n<scan/>", 2, 1, "not an nmap XML file");
	BAD("<nmaprun><host><address addr=\"198.18.0.2\" addrtype=\"ipv4\"/><ports>\n"
	    "<port protocol=\"tcp\" portid=\"0\"><state state=\"open\"/></port>",
	    2, 1, "portid must be a number 1-65535, not '0'");
	BAD("<nmaprun><host><ports><port protocol=\"tcp\" portid=\"80x\"/>", 1, 23, "not '80x'");
	BAD("<nmaprun><host><ports><port portid=\"80\"/>", 1, 23, "without protocol");
	BAD("<nmaprun><host><ports><port protocol=\"tcp\" portid=\"80\"><state state=\"open\"/>"
	    "</port></ports></host></nmaprun>",
	    1, 10, "has no IPv4 or IPv6 <address>");
	BAD("<nmaprun><host><address addr=\"198.18.0.300\" addrtype=\"ipv4\"/>", 1, 16,
	    "not an IP address");
	BAD("<?xml version=\"1.0\"?>\n<!DOCTYPE nmaprun [\n<!ENTITY a \"aaaa\">\n]>\n<nmaprun/>", 3,
	    12, "entity declarations are not allowed");
	BAD("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><nmaprun>&x;</nmaprun>", 1,
	    52, "entity declarations");
	BAD("<?xml version=\"1.0\"?>", 1, 22, "no element found");
	/* deep nesting */
	char deep[2000];
	size_t o = 0;
	o += (size_t)snprintf(deep, sizeof(deep), "<nmaprun>");
	for (int i = 0; i < 70; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "<a>");
	bad_n(deep, o, 1, 10 + 3 * 63, "nested deeper than 64");
}

static void test_our_json(void **state)
{
	(void)state;
	struct run x;
	good(&x, "{\"portcensus\": \"0.1.0\", \"snapshot\": {}, \"endpoints\": [\n"
		 " {\"source\": \"host\", \"proto\": \"tcp\", \"address\": \"0.0.0.0\", \"port\": 22,"
		 "  \"state\": \"listen\", \"netns\": null, \"service\": null},\n"
		 " {\"source\": \"scan\", \"proto\": \"tcp\", \"address\": \"198.18.0.2\", \"port\": "
		 "6379, \"state\": \"open\", \"hostname\": \"cache\", \"service\": {\"name\": "
		 "\"Redis\"}},\n"
		 " {\"source\": \"scan\", \"proto\": \"tcp\", \"address\": \"198.18.0.2\", \"port\": "
		 "81, \"state\": \"closed\"},\n"
		 " {\"source\": \"host\", \"proto\": \"tcp\", \"address\": \"198.18.0.2\", \"port\": "
		 "5000, \"state\": \"established\"}\n"
		 "], \"summary\": {}}\n");
	assert_int_equal(x.st.format, PC_IMPORT_JSON);
	assert_int_equal(x.snap->n_endpoints, 2);
	check_ep(&x, 0, PC_PROTO_TCP, "127.0.0.1", 22, NULL); /* any -> loopback */
	check_ep(&x, 1, PC_PROTO_TCP, "198.18.0.2", 6379, "redis");
	assert_string_equal(x.snap->endpoints[1].hostname, "cache");
	assert_int_equal(x.st.not_open, 2);
	done(&x);

	/* JSON Lines, and a verify result read back (claim from recheck) */
	good(&x, "{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"port\":80,\"state\":\"open\"}\n"
		 "\n"
		 "{\"proto\":\"udp\",\"address\":\"198.18.0.2\",\"port\":53,\"state\":\"open\","
		 "\"service\":null,\"recheck\":{\"claimed_service\":\"domain\"}}\n");
	assert_int_equal(x.st.format, PC_IMPORT_JSONL);
	assert_int_equal(x.snap->n_endpoints, 2);
	check_ep(&x, 1, PC_PROTO_UDP, "198.18.0.2", 53, "domain");
	done(&x);

	BAD("{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"port\":80,\"state\":\"open\"}\n"
	    "{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"port\":8O,\"state\":\"open\"}\n",
	    2, 47, "expected ',' or '}'");
	BAD("{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"port\":0,\"state\":\"open\"}\n", 1, 46,
	    "\"port\" must be an integer 1-65535");
	BAD("{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"port\":-80,\"state\":\"open\"}\n", 1,
	    46, "1-65535");
	BAD("{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"port\":18446744073709551697,"
	    "\"state\":\"open\"}\n",
	    1, 46, "1-65535");
	BAD("{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"state\":\"open\"}\n", 1, 1,
	    "endpoint has no \"port\"");
	BAD("{\"proto\":\"tcp\",\"address\":\"host.lab\",\"port\":80,\"state\":\"open\"}\n", 1,
	    26, "not an IP address");
	BAD("{\"proto\":\"gre\",\"address\":\"198.18.0.2\",\"port\":80,\"state\":\"open\"}\n", 1,
	    10, "\"proto\" must be");
	BAD("{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"port\":80,\"state\":true}\n", 1, 57,
	    "\"state\" must be a string, not a boolean");
	BAD("{\"proto\":\"tcp\",\"address\":\"198.18.0.2\",\"port\":80,\"state\":\"open\","
	    "\"service\":[\"http\"]}\n",
	    1, 74, "\"service\" must be a object");
	BAD("{\"endpoints\": {}}", 1, 15, "\"endpoints\" must be an array");
	BAD("{\"endpoints\": [1]}", 1, 16, "endpoint must be an object");
	BAD("{\"endpoints\": [", 1, 16, "unexpected end of input");
	BAD("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]", 1, 65,
	    "nesting deeper than 64");
	BAD("{\"a\":1,\"a\":2}", 1, 8, "duplicate key");
}

static void test_detect(void **state)
{
	(void)state;
	BAD("", 0, 0, "empty input");
	BAD("\n\n  \n", 0, 0, "empty input");
	BAD("\n  Host: 198.18.0.2 ()\tStatus: Up\n", 2, 3, "unrecognised format");
	struct run x;
	good(&x, "\xef\xbb\xbf\n  #masscan\nopen tcp 80 198.18.0.2 1\n");
	assert_int_equal(x.snap->n_endpoints, 1);
	done(&x);
}

static void test_endpoint_cap(void **state)
{
	(void)state;
	/* a /16 of masscan records: distinct endpoints up to the cap */
	size_t cap = 70000 * 40;
	char *t = malloc(cap);
	assert_non_null(t);
	size_t o = 0;
	for (int i = 0; i < 70000; i++)
		o += (size_t)snprintf(t + o, cap - o, "open tcp %d 198.18.%d.%d 1\n",
				      1 + i % 60000, (i / 256) % 256, i % 256);
	struct run x;
	import(&x, t, o);
	assert_int_equal(x.r, 0);
	assert_int_equal(x.snap->n_endpoints, 65536 + 4464);
	done(&x);
	memset(&x, 0, sizeof(x));
	x.snap = pc_snapshot_new("t");
	struct pc_import_opts opts = {.name = "in", .max_endpoints = 1000};
	x.r = pc_import_buffer(x.snap, t, o, &opts, &x.st, &x.err);
	assert_int_equal(x.r, PC_ETOOBIG);
	assert_int_equal(x.err.line, 1001);
	assert_true(strstr(x.err.msg, "more than 1000 open ports") != NULL);
	done(&x);
	free(t);
}

static void test_big_json(void **state)
{
	(void)state;
	/* 150,000 masscan -oJ records and an our-JSON document of 60,000
	 * endpoints: far more JSON values than may be held at once, so this
	 * passes only because the records are streamed */
	size_t n = 150000, cap = n * 140 + 64, o = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o, "[\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o,
				      "%s{ \"ip\": \"198.18.%zu.%zu\", \"timestamp\": \"1\", "
				      "\"ports\": [ {\"port\": %zu, \"proto\": \"tcp\", "
				      "\"status\": \"open\", \"reason\": \"syn-ack\", \"ttl\": 64} ] }\n",
				      i ? ",\n" : "", (i / 256) % 256, i % 256, 1 + i / 65536);
	o += (size_t)snprintf(t + o, cap - o, "]\n");
	struct run x;
	import(&x, t, o);
	assert_int_equal(x.r, 0);
	assert_int_equal(x.snap->n_endpoints, n);
	done(&x);

	n = 60000;
	o = 0;
	o += (size_t)snprintf(t + o, cap - o, "{\"portcensus\": \"0.1.0\", \"endpoints\": [\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o,
				      "%s{\"source\": \"scan\", \"proto\": \"tcp\", \"address\": "
				      "\"198.18.%zu.%zu\", \"port\": 80, \"state\": \"open\", "
				      "\"owners\": [], \"service\": {\"name\": \"http\"}}",
				      i ? ",\n" : "", (i / 256) % 256, i % 256);
	o += (size_t)snprintf(t + o, cap - o, "\n], \"summary\": {}}\n");
	import(&x, t, o);
	assert_int_equal(x.r, 0);
	assert_int_equal(x.snap->n_endpoints, n);
	check_ep(&x, n - 1, PC_PROTO_TCP, "198.18.234.95", 80, "http");
	done(&x);
	free(t);

	BAD("{\"endpoints\": []}\n{\"endpoints\": []}\n", 2, 1,
	    "unexpected text after the JSON document");
}

static struct pc_service svc(const char *name, const char *product, enum pc_tristate tls)
{
	return (struct pc_service){.name = name, .product = product, .tls = tls};
}

static void test_same_service(void **state)
{
	(void)state;
	struct pc_service s;
	s = svc("redis", "Redis", PC_TRI_FALSE);
	assert_true(pc_import_same_service("redis", &s));
	assert_true(pc_import_same_service("Redis", &s));
	assert_false(pc_import_same_service("http", &s));
	assert_false(pc_import_same_service(NULL, &s));
	s = svc("memcached", NULL, PC_TRI_FALSE);
	assert_true(pc_import_same_service("memcache", &s));
	s = svc("http", "nginx", PC_TRI_TRUE);
	assert_true(pc_import_same_service("ssl/http", &s));
	assert_true(pc_import_same_service("https", &s));
	assert_true(pc_import_same_service("http", &s));
	assert_true(pc_import_same_service("http-alt", &s));
	assert_true(pc_import_same_service("ssl", &s));
	s = svc("http", "nginx", PC_TRI_FALSE);
	assert_false(pc_import_same_service("https", &s)); /* TLS promised, none */
	assert_false(pc_import_same_service("ssl/http", &s));
	s = svc("etcd", "etcd", PC_TRI_FALSE);
	assert_true(pc_import_same_service("http", &s));
	assert_true(pc_import_same_service("etcd-client", &s));
	s = svc("http", "etcd", PC_TRI_FALSE);
	assert_true(pc_import_same_service("etcd", &s));
	s = svc("postgresql", "PostgreSQL", PC_TRI_FALSE);
	assert_true(pc_import_same_service("postgres", &s));
	assert_false(pc_import_same_service("mysql", &s));
	s = svc("mysql", "MariaDB", PC_TRI_FALSE);
	assert_true(pc_import_same_service("mysql", &s));
	assert_true(pc_import_same_service("mariadb", &s));
	s = svc("prometheus-metrics", "node_exporter", PC_TRI_FALSE);
	assert_true(pc_import_same_service("http", &s));
	assert_true(pc_import_same_service("prometheus", &s));
	assert_false(pc_import_same_service("jetdirect", &s));
	s = svc("ssh", "OpenSSH", PC_TRI_FALSE);
	assert_true(pc_import_same_service("ssh?", &s));
	assert_false(pc_import_same_service("http", &s));
}

static void test_judge(void **state)
{
	(void)state;
	struct pc_snapshot *snap = pc_snapshot_new("t");
	assert_non_null(snap);
	struct pc_endpoint *e = pc_snapshot_add_endpoint(snap);
	struct pc_service redis = svc("redis", "Redis", PC_TRI_FALSE);
	e->source = PC_SOURCE_IMPORT;
	e->proto = PC_PROTO_TCP;

	e->state = PC_STATE_OPEN;
	e->claimed_service = "http";
	e->service = &redis;
	pc_import_judge(snap, e, false);
	assert_int_equal(e->recheck, PC_RECHECK_DIFFERENT);
	assert_string_equal(e->recheck_reason, "file says http; it is redis (Redis)");

	pc_import_judge(snap, e, true); /* only a port-number guess */
	assert_int_equal(e->recheck, PC_RECHECK_CONFIRMED);
	assert_string_equal(e->recheck_reason,
			    "open; file guessed http from the port number; it is redis (Redis)");

	e->claimed_service = "redis";
	pc_import_judge(snap, e, false);
	assert_int_equal(e->recheck, PC_RECHECK_CONFIRMED);

	e->service = NULL;
	pc_import_judge(snap, e, false);
	assert_int_equal(e->recheck, PC_RECHECK_CONFIRMED);
	assert_non_null(strstr(e->recheck_reason, "unchecked"));

	e->state = PC_STATE_CLOSED;
	pc_import_judge(snap, e, false);
	assert_int_equal(e->recheck, PC_RECHECK_CLOSED);
	assert_string_equal(e->recheck_reason, "connection refused now");

	e->state = PC_STATE_FILTERED;
	e->verified.done = true;
	e->verified.error = "timeout";
	pc_import_judge(snap, e, false);
	assert_int_equal(e->recheck, PC_RECHECK_FILTERED);
	assert_string_equal(e->recheck_reason, "no connection now: timeout");

	e->proto = PC_PROTO_UDP;
	e->state = PC_STATE_OPEN_FILTERED;
	pc_import_judge(snap, e, false);
	assert_int_equal(e->recheck, PC_RECHECK_FILTERED);
	e->service = &redis; /* a UDP probe answered: open after all */
	e->claimed_service = NULL;
	pc_import_judge(snap, e, false);
	assert_int_equal(e->recheck, PC_RECHECK_CONFIRMED);
	assert_int_equal(e->state, PC_STATE_OPEN);
	pc_snapshot_free(snap);
}

/* The scope guard while reading (what verify relies on to send nothing):
 * the first entry out of scope is named by its file:line:col, in every
 * format, and nothing after it is read. */
static void test_scope_lines(void **state)
{
	(void)state;
	BAD("open tcp 22 198.18.0.2 1\n\n# c\nopen tcp 22 8.8.8.8 1\nopen tcp 22 9.9.9.9 1\n", 4,
	    1, "8.8.8.8 is not in an internal range");
	BAD("[\n{\"ip\": \"198.18.0.2\", \"ports\": [{\"port\": 80, \"proto\": \"tcp\", "
	    "\"status\": \"open\"}]}\n,\n{\"ip\": \"2002:808:808::1\", \"ports\": [{\"port\": "
	    "80, \"proto\": \"tcp\", \"status\": \"open\"}]}\n]\n",
	    4, 37, "2002:808:808::1 is not in an internal range");
	BAD("{\"ip\":\"198.18.0.2\",\"port\":80,\"proto\":\"tcp\",\"rec_type\":\"status\","
	    "\"data\":{\"status\":\"open\"}}\n"
	    "{\"ip\":\"64:ff9b::8.8.8.8\",\"port\":80,\"proto\":\"tcp\",\"rec_type\":"
	    "\"status\",\"data\":{\"status\":\"open\"}}\n",
	    2, 1, "64:ff9b::808:808 is not in an internal range");
	/* our pretty-printed document: the endpoint's own line */
	BAD("{\n  \"portcensus\": \"0.1.0\",\n  \"endpoints\": [\n    {\n      \"proto\": \"tcp\",\n"
	    "      \"address\": \"198.18.0.2\",\n      \"port\": 22,\n      \"state\": \"open\"\n"
	    "    },\n    {\n      \"proto\": \"tcp\",\n      \"address\": \"::ffff:8.8.8.8\",\n"
	    "      \"port\": 22,\n      \"state\": \"open\"\n    }\n  ]\n}\n",
	    10, 5, "::ffff:8.8.8.8 is not in an internal range");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masscan_list), cmocka_unit_test(test_masscan_json),
		cmocka_unit_test(test_scope_lines),
		cmocka_unit_test(test_masscan_ndjson), cmocka_unit_test(test_nmap_xml),
		cmocka_unit_test(test_our_json),     cmocka_unit_test(test_detect),
		cmocka_unit_test(test_endpoint_cap), cmocka_unit_test(test_same_service),
		cmocka_unit_test(test_judge),        cmocka_unit_test(test_big_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
