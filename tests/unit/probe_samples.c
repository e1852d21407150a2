/*
 * probe_samples.c - the recorded answers of probe_samples.h.
 *
 * Byte strings with lengths inside them (HTTP bodies, BSON, BER, AMQP
 * frames, PostgreSQL messages) are assembled by small builders here, so
 * every length field is right by construction and each sample reads like
 * the protocol it stands for.
 */
#include "probe_samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 96
#define POOL (256 * 1024)

static struct probe_sample samples[MAX_SAMPLES];
static size_t n_samples;
static uint8_t pool[POOL];
static size_t pool_used;

/* ---- a growing byte string in the pool ------------------------------ */

struct bytes {
	uint8_t *p;
	size_t n;
};

static struct bytes b_begin(void)
{
	struct bytes b = { pool + pool_used, 0 };
	return b;
}

static void b_add(struct bytes *b, const void *d, size_t n)
{
	if (pool_used + b->n + n > POOL)
		abort();
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void b_str(struct bytes *b, const char *s)
{
	b_add(b, s, strlen(s));
}

static void b_u8(struct bytes *b, uint8_t v)
{
	b_add(b, &v, 1);
}

static void b_be16(struct bytes *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	b_add(b, x, 2);
}

static void b_be32(struct bytes *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	b_add(b, x, 4);
}

static void b_le32(struct bytes *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	b_add(b, x, 4);
}

static struct pc_probe_segment b_end(struct bytes *b)
{
	struct pc_probe_segment s = { b->p, b->n };
	pool_used += b->n;
	return s;
}

static struct pc_probe_segment seg_str(const char *s)
{
	struct bytes b = b_begin();
	b_str(&b, s);
	return b_end(&b);
}

static struct pc_probe_segment seg_mem(const void *d, size_t n)
{
	struct bytes b = b_begin();
	b_add(&b, d, n);
	return b_end(&b);
}

/* ---- sample registration -------------------------------------------- */

static struct probe_sample *add(const char *label, const char *probe, uint16_t port)
{
	if (n_samples >= MAX_SAMPLES)
		abort();
	struct probe_sample *s = &samples[n_samples++];
	s->label = label;
	s->probe = probe;
	s->port = port;
	s->match = true;
	return s;
}

static void seg(struct probe_sample *s, struct pc_probe_segment g)
{
	if (s->n_segs >= SAMPLE_MAX_SEGS)
		abort();
	s->segs[s->n_segs++] = g;
}

static void expect(struct probe_sample *s, const char *name, const char *product,
		   const char *version, enum pc_auth auth, const char *evidence)
{
	s->name = name;
	s->product = product;
	s->version = version;
	s->auth = auth;
	s->evidence = evidence;
}

static void nomatch(struct probe_sample *s)
{
	s->match = false;
}

/* ---- HTTP ------------------------------------------------------------ */

static struct pc_probe_segment http(int status, const char *headers, const char *body)
{
	static const char *const reasons[600] = {
		[200] = "OK", [301] = "Moved Permanently", [401] = "Unauthorized",
		[403] = "Forbidden", [404] = "Not Found",
	};
	char head[1024];
	snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n\r\n", status,
		 reasons[status] ? reasons[status] : "Status", headers, strlen(body));
	struct bytes b = b_begin();
	b_str(&b, head);
	b_str(&b, body);
	return b_end(&b);
}

static struct pc_probe_segment http_chunked(int status, const char *headers, const char *body,
					    size_t piece)
{
	char head[1024], sz[16];
	snprintf(head, sizeof(head), "HTTP/1.1 %d OK\r\n%sTransfer-Encoding: chunked\r\n\r\n",
		 status, headers);
	struct bytes b = b_begin();
	b_str(&b, head);
	size_t n = strlen(body);
	for (size_t i = 0; i < n; i += piece) {
		size_t k = n - i < piece ? n - i : piece;
		snprintf(sz, sizeof(sz), "%zx;ext=1\r\n", k);
		b_str(&b, sz);
		b_add(&b, body + i, k);
		b_str(&b, "\r\n");
	}
	b_str(&b, "0\r\nX-Trailer: 1\r\n\r\n");
	return b_end(&b);
}

static const char go404[] = "404 page not found\n";

static void http_samples(void)
{
	struct probe_sample *s;
	const char *nginx = "Server: nginx/1.22.1\r\nContent-Type: text/html\r\nConnection: close\r\n";

	s = add("http-nginx", "http", 80);
	seg(s, http(200, nginx,
		    "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>"
		    "<body><h1>Welcome to nginx!</h1></body></html>\n"));
	for (int i = 0; i < 5; i++)
		seg(s, http(404, nginx, "<html><head><title>404 Not Found</title></head></html>"));
	expect(s, "http", "nginx", "1.22.1", PC_AUTH_NONE, "GET / answered 200");

	s = add("http-chunked-admin", "http", 8080);
	seg(s, http_chunked(200, "Server: Jetty(9.4.51)\r\n",
			    "<html><head><TITLE> Admin Console </TITLE></head><body>queues</body></html>",
			    7));
	for (int i = 0; i < 5; i++)
		seg(s, http(404, "", ""));
	expect(s, "http-admin", "Jetty", NULL, PC_AUTH_NONE, "title \"Admin Console\"");

	s = add("http-login", "http", 8080);
	seg(s, http(200, "Server: Apache/2.4.57 (Debian)\r\n",
		    "<html><title>Sign in</title><form><input name=u><input type=\"password\" name=p>"
		    "</form></html>"));
	for (int i = 0; i < 5; i++)
		seg(s, http(404, "", ""));
	expect(s, "http", "Apache", "2.4.57", PC_AUTH_REQUIRED, "login form");

	s = add("http-basic-401", "http", 8080);
	seg(s, http(401, "WWW-Authenticate: Basic realm=\"private\"\r\n", "denied"));
	for (int i = 0; i < 5; i++)
		seg(s, http(401, "WWW-Authenticate: Basic realm=\"private\"\r\n", "denied"));
	expect(s, "http", NULL, NULL, PC_AUTH_REQUIRED, "GET / answered 401");

	s = add("docker-api", "http", 2375);
	seg(s, http(404, "Api-Version: 1.43\r\nContent-Type: application/json\r\n"
			 "Server: Docker/24.0.7 (linux)\r\n",
		    "{\"message\":\"page not found\"}\n"));
	seg(s, http(200, "Api-Version: 1.43\r\nContent-Type: application/json\r\n",
		    "{\"Platform\":{\"Name\":\"Docker Engine - Community\"},\"Version\":\"24.0.7\","
		    "\"ApiVersion\":\"1.43\",\"MinAPIVersion\":\"1.12\",\"GitCommit\":\"311b9ff\","
		    "\"GoVersion\":\"go1.20.10\",\"Os\":\"linux\",\"Arch\":\"amd64\"}\n"));
	expect(s, "docker", "Docker Engine", "24.0.7", PC_AUTH_NONE, "GET /version answered ApiVersion");

	static const char k8s403[] =
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"forbidden: User \\\"system:anonymous\\\" cannot get path \\\"/\\\"\","
		"\"reason\":\"Forbidden\",\"details\":{},\"code\":403}\n";
	static const char k8sver[] =
		"{\n  \"major\": \"1\",\n  \"minor\": \"28\",\n  \"gitVersion\": \"v1.28.4\",\n"
		"  \"gitCommit\": \"bae2c62\",\n  \"platform\": \"linux/amd64\"\n}";
	s = add("k8s-api-anonymous-forbidden", "http", 6443);
	s->tls = true;
	seg(s, http(403, "Content-Type: application/json\r\n", k8s403));
	seg(s, http(200, "Content-Type: application/json\r\n", k8sver));
	expect(s, "kubernetes", "Kubernetes", "v1.28.4", PC_AUTH_REQUIRED, "Kubernetes Status");

	s = add("k8s-api-open", "http", 6443);
	s->tls = true;
	seg(s, http(200, "Content-Type: application/json\r\n",
		    "{\"paths\":[\"/api\",\"/api/v1\",\"/apis\",\"/healthz\",\"/version\"]}"));
	seg(s, http(200, "Content-Type: application/json\r\n", k8sver));
	seg(s, http(200, "Content-Type: application/json\r\n",
		    "{\"kind\":\"NamespaceList\",\"apiVersion\":\"v1\",\"items\":[]}"));
	expect(s, "kubernetes", "Kubernetes", "v1.28.4", PC_AUTH_NONE, "/api/v1/namespaces");

	s = add("kubelet-401", "http", 10250);
	s->tls = true;
	seg(s, http(404, "Content-Type: text/plain; charset=utf-8\r\n", go404));
	seg(s, http(404, "Content-Type: text/plain; charset=utf-8\r\n", go404));
	seg(s, http(401, "Content-Type: text/plain; charset=utf-8\r\n", "Unauthorized"));
	expect(s, "kubelet", "kubelet", NULL, PC_AUTH_REQUIRED, "GET /pods answered 401");

	s = add("kubelet-open", "http", 10250);
	s->tls = true;
	seg(s, http(404, "Content-Type: text/plain; charset=utf-8\r\n", go404));
	seg(s, http(404, "Content-Type: text/plain; charset=utf-8\r\n", go404));
	seg(s, http(200, "Content-Type: application/json\r\n",
		    "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[]}"));
	expect(s, "kubelet", "kubelet", NULL, PC_AUTH_NONE, "listed pods");

	s = add("etcd", "http", 2379);
	seg(s, http(404, "Content-Type: text/plain; charset=utf-8\r\n", go404));
	seg(s, http(200, "Content-Type: application/json\r\n",
		    "{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}"));
	seg(s, http(200, "Content-Type: application/json\r\n",
		    "{\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":"
		    "\"10276657743932975437\",\"revision\":\"1\",\"raft_term\":\"2\"}}"));
	seg(s, http(200, "Content-Type: text/plain; version=0.0.4\r\n",
		    "# HELP etcd_server_has_leader Whether or not a leader exists.\n"
		    "# TYPE etcd_server_has_leader gauge\netcd_server_has_leader 1\n"));
	for (int i = 0; i < 3; i++)
		seg(s, http(404, "", go404));
	expect(s, "etcd", "etcd", "3.4.23", PC_AUTH_NONE, "also open: /metrics");

	s = add("etcd-auth", "http", 2379);
	seg(s, http(404, "", go404));
	seg(s, http(200, "", "{\"etcdserver\":\"3.5.9\",\"etcdcluster\":\"3.5.0\"}"));
	seg(s, http(400, "", "{\"error\":\"etcdserver: user name is empty\",\"code\":3,"
			     "\"message\":\"etcdserver: user name is empty\"}"));
	for (int i = 0; i < 4; i++)
		seg(s, http(404, "", go404));
	expect(s, "etcd", "etcd", "3.5.9", PC_AUTH_REQUIRED, "authentication is enabled");

	s = add("elasticsearch", "http", 9200);
	seg(s, http(200, "content-type: application/json\r\nX-elastic-product: Elasticsearch\r\n",
		    "{\n  \"name\" : \"node-1\",\n  \"cluster_name\" : \"docker-cluster\",\n"
		    "  \"cluster_uuid\" : \"q1w2e3\",\n  \"version\" : {\n    \"number\" : \"8.11.1\",\n"
		    "    \"build_flavor\" : \"default\"\n  },\n  \"tagline\" : \"You Know, for Search\"\n}\n"));
	seg(s, http(404, "", "{}"));
	expect(s, "elasticsearch", "Elasticsearch", "8.11.1", PC_AUTH_NONE, "cluster_name");

	s = add("elasticsearch-secured", "http", 9200);
	seg(s, http(401, "WWW-Authenticate: Basic realm=\"security\" charset=\"UTF-8\"\r\n",
		    "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":"
		    "\"missing authentication credentials for REST request [/]\"}]},\"status\":401}"));
	for (int i = 0; i < 1; i++)
		seg(s, http(401, "", "{\"error\":{}}"));
	expect(s, "elasticsearch", "Elasticsearch", NULL, PC_AUTH_REQUIRED, "security_exception");

	s = add("opensearch", "http", 9200);
	seg(s, http(200, "",
		    "{\"name\":\"os1\",\"cluster_name\":\"opensearch\",\"cluster_uuid\":\"x\","
		    "\"version\":{\"distribution\":\"opensearch\",\"number\":\"2.11.0\"},"
		    "\"tagline\":\"The OpenSearch Project: https://opensearch.org/\"}"));
	seg(s, http(404, "", "{}"));
	expect(s, "opensearch", "OpenSearch", "2.11.0", PC_AUTH_NONE, NULL);

	s = add("consul", "http", 8500);
	seg(s, http(301, "Location: /ui/\r\n", "<a href=\"/ui/\">Moved Permanently</a>.\n"));
	seg(s, http(404, "", go404));
	seg(s, http(404, "", go404));
	seg(s, http(200, "X-Consul-Default-Acl-Policy: allow\r\nContent-Type: application/json\r\n",
		    "{\"Config\":{\"Datacenter\":\"dc1\",\"PrimaryDatacenter\":\"dc1\",\"NodeName\":"
		    "\"n1\",\"Revision\":\"e0ab4d29\",\"Server\":true,\"Version\":\"1.16.1\"}}"));
	seg(s, http(404, "", go404));
	seg(s, http(404, "", go404));
	expect(s, "consul", "Consul", "1.16.1", PC_AUTH_NONE, "/v1/agent/self");

	s = add("consul-acl", "http", 8500);
	seg(s, http(301, "Location: /ui/\r\n", ""));
	seg(s, http(404, "", go404));
	seg(s, http(404, "", go404));
	seg(s, http(403, "X-Consul-Default-Acl-Policy: deny\r\n",
		    "Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' "
		    "lacks permission 'agent:read' on \"n1\""));
	seg(s, http(404, "", go404));
	seg(s, http(404, "", go404));
	expect(s, "consul", "Consul", NULL, PC_AUTH_REQUIRED, "ACLs are enforced");

	s = add("node-exporter", "http", 9100);
	seg(s, http(200, "Content-Type: text/html; charset=UTF-8\r\n",
		    "<html>\n<head><title>Node Exporter</title></head>\n<body>\n<h1>Node Exporter</h1>\n"
		    "<p><a href=\"/metrics\">Metrics</a></p>\n</body>\n</html>"));
	seg(s, http(404, "", go404));
	seg(s, http_chunked(200, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n",
			    "# HELP go_gc_duration_seconds A summary of the pause duration.\n"
			    "# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds{quantile=\"0\"} 0\n"
			    "# HELP node_boot_time_seconds Node boot time, in unixtime.\n"
			    "# TYPE node_boot_time_seconds gauge\nnode_boot_time_seconds 1.7e+09\n",
			    100));
	for (int i = 0; i < 3; i++)
		seg(s, http(404, "", go404));
	expect(s, "prometheus-metrics", "node_exporter", NULL, PC_AUTH_NONE, "GET /metrics");

	s = add("go-pprof", "http", 6060);
	for (int i = 0; i < 4; i++)
		seg(s, http(404, "Content-Type: text/plain; charset=utf-8\r\n", go404));
	seg(s, http(404, "", go404)); /* consul */
	seg(s, http(200, "Content-Type: text/html; charset=utf-8\r\n",
		    "<html><head><title>/debug/pprof/</title></head><body>/debug/pprof/<br><p>Set "
		    "debug=1 as a query parameter to export in legacy text format</p><br>Types of "
		    "profiles available:<table><tr><td>1</td><td><a href='goroutine?debug=1'>goroutine"
		    "</a></td></tr></table></body></html>"));
	seg(s, http(404, "", go404));
	expect(s, "go-pprof", NULL, NULL, PC_AUTH_NONE, "/debug/pprof/");

	static const char spring404[] =
		"{\"timestamp\":\"2026-11-27T01:02:03.456+00:00\",\"status\":404,\"error\":\"Not Found\","
		"\"path\":\"/\"}";
	s = add("spring-actuator", "http", 8080);
	for (int i = 0; i < 5; i++)
		seg(s, http(404, "Content-Type: application/json\r\n", spring404));
	seg(s, http(200, "Content-Type: application/vnd.spring-boot.actuator.v3+json\r\n",
		    "{\"_links\":{\"self\":{\"href\":\"http://198.18.0.2:8080/actuator\",\"templated\":"
		    "false},\"health\":{\"href\":\"http://198.18.0.2:8080/actuator/health\","
		    "\"templated\":false},\"env\":{\"href\":\"http://198.18.0.2:8080/actuator/env\","
		    "\"templated\":false}}}"));
	expect(s, "spring-actuator", "Spring Boot", NULL, PC_AUTH_NONE, "/actuator");

	s = add("influxdb-open", "http", 8086);
	seg(s, http(404, "X-Influxdb-Version: 1.8.10\r\nX-Influxdb-Build: OSS\r\n", "404 page not found\n"));
	seg(s, http(200, "X-Influxdb-Version: 1.8.10\r\nContent-Type: application/json\r\n",
		    "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"databases\","
		    "\"columns\":[\"name\"],\"values\":[[\"_internal\"]]}]}]}\n"));
	for (int i = 0; i < 5; i++)
		seg(s, http(404, "X-Influxdb-Version: 1.8.10\r\n", "404 page not found\n"));
	expect(s, "influxdb", "InfluxDB", "1.8.10", PC_AUTH_NONE, "SHOW DATABASES");

	s = add("jenkins-login", "http", 8080);
	seg(s, http(403, "X-Jenkins: 2.414.3\r\nX-Hudson: 1.395\r\nServer: Jetty(10.0.17)\r\n",
		    "<html><head><meta http-equiv='refresh' content='1;url=/login?from=%2F'/></head>"
		    "<body>Authentication required</body></html>"));
	for (int i = 0; i < 5; i++)
		seg(s, http(403, "X-Jenkins: 2.414.3\r\n", "Authentication required"));
	expect(s, "jenkins", "Jenkins", "2.414.3", PC_AUTH_REQUIRED, "Jenkins asks for a login");

	s = add("couchdb-admin-party", "http", 5984);
	seg(s, http(200, "Server: CouchDB/3.3.2 (Erlang OTP/24)\r\nContent-Type: application/json\r\n",
		    "{\"couchdb\":\"Welcome\",\"version\":\"3.3.2\",\"git_sha\":\"11a234070\","
		    "\"vendor\":{\"name\":\"The Apache Software Foundation\"}}\n"));
	seg(s, http(200, "", "[\"_replicator\",\"_users\",\"orders\"]\n"));
	for (int i = 0; i < 5; i++)
		seg(s, http(404, "", "{\"error\":\"not_found\"}"));
	expect(s, "couchdb", "CouchDB", "3.3.2", PC_AUTH_NONE, "/_all_dbs");

	s = add("rabbitmq-management", "http", 15672);
	seg(s, http(200, "Server: Cowboy\r\n",
		    "<!DOCTYPE html><html><head><title>RabbitMQ Management</title></head>"
		    "<body><div id=\"login\"></div></body></html>"));
	seg(s, http(401, "WWW-Authenticate: Basic realm=\"RabbitMQ Management\"\r\n",
		    "{\"error\":\"not_authorized\",\"reason\":\"Not_Authorized\"}"));
	for (int i = 0; i < 5; i++)
		seg(s, http(404, "", ""));
	expect(s, "rabbitmq-management", "RabbitMQ", NULL, PC_AUTH_REQUIRED, "/api/overview");

	s = add("http-plain-to-https-port", "http", 4433);
	seg(s, http(400, nginx,
		    "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title>"
		    "</head></html>"));
	nomatch(s);

	s = add("http-not-http", "http", 80);
	seg(s, seg_str("SSH-2.0-OpenSSH_9.2p1\r\n"));
	nomatch(s);
	s = add("http-redis-error", "http", 6379);
	seg(s, seg_str("-ERR wrong number of arguments for 'get' command\r\n"));
	nomatch(s);
}

/* ---- key-value and databases ------------------------------------------ */

static void db_samples(void)
{
	struct probe_sample *s;
	char info[512];
	snprintf(info, sizeof(info),
		 "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\n"
		 "os:Linux 6.1.0-18-amd64 x86_64\r\nprocess_id:42\r\ntcp_port:6379\r\n");
	char redis_ok[700];
	snprintf(redis_ok, sizeof(redis_ok), "+PONG\r\n$%zu\r\n%s\r\n", strlen(info), info);
	s = add("redis-open", "redis", 6379);
	seg(s, seg_str(redis_ok));
	expect(s, "redis", "Redis", "7.0.15", PC_AUTH_NONE, "INFO answered without AUTH");

	s = add("redis-noauth", "redis", 7777);
	seg(s, seg_str("-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n"));
	expect(s, "redis", "Redis", NULL, PC_AUTH_REQUIRED, "NOAUTH Authentication required");

	s = add("redis-protected", "redis", 6379);
	seg(s, seg_str("-DENIED Redis is running in protected mode because protected mode is "
		       "enabled and no password is set for the default user.\r\n"));
	expect(s, "redis", "Redis", NULL, PC_AUTH_REQUIRED, "DENIED");

	s = add("redis-not", "redis", 6379);
	seg(s, seg_str("HTTP/1.1 400 Bad Request\r\n\r\n"));
	nomatch(s);

	s = add("memcached", "memcached", 11211);
	seg(s, seg_str("VERSION 1.6.18\r\n"));
	expect(s, "memcached", "memcached", "1.6.18", PC_AUTH_NONE, "version answered");
	s = add("memcached-error", "memcached", 11211);
	seg(s, seg_str("ERROR\r\n"));
	nomatch(s);
	s = add("memcached-udp", "memcached-udp", 11211);
	seg(s, seg_mem("\x50\x43\x00\x00\x00\x01\x00\x00VERSION 1.6.21\r\n", 24));
	expect(s, "memcached", "memcached", "1.6.21", PC_AUTH_NONE, NULL);

	/* PostgreSQL: 'N' to SSLRequest, then messages */
	struct bytes b = b_begin();
	b_u8(&b, 'N');
	b_u8(&b, 'R');
	b_be32(&b, 8);
	b_be32(&b, 0);
	static const char ps1[] = "server_version\0" "15.5 (Debian 15.5-0+deb12u1)";
	b_u8(&b, 'S');
	b_be32(&b, 4 + sizeof(ps1));
	b_add(&b, ps1, sizeof(ps1));
	static const char ps2[] = "client_encoding\0UTF8";
	b_u8(&b, 'S');
	b_be32(&b, 4 + sizeof(ps2));
	b_add(&b, ps2, sizeof(ps2));
	b_u8(&b, 'K');
	b_be32(&b, 12);
	b_be32(&b, 4242);
	b_be32(&b, 0x12345678);
	b_u8(&b, 'Z');
	b_be32(&b, 5);
	b_u8(&b, 'I');
	s = add("postgres-trust", "postgres", 5432);
	seg(s, b_end(&b));
	expect(s, "postgresql", "PostgreSQL", "15.5 (Debian 15.5-0+deb12u1)", PC_AUTH_NONE,
	       "AuthenticationOk");

	b = b_begin();
	b_u8(&b, 'N');
	b_u8(&b, 'R');
	static const char mech[] = "SCRAM-SHA-256\0";
	b_be32(&b, 8 + sizeof(mech));
	b_be32(&b, 10);
	b_add(&b, mech, sizeof(mech));
	s = add("postgres-scram", "postgres", 6000);
	seg(s, b_end(&b));
	expect(s, "postgresql", "PostgreSQL", NULL, PC_AUTH_REQUIRED, "SASL (SCRAM-SHA-256)");

	/* 'S': TLS offered; the plaintext startup goes on a second connection */
	s = add("postgres-ssl-md5", "postgres", 5432);
	seg(s, seg_str("S"));
	b = b_begin();
	b_u8(&b, 'R');
	b_be32(&b, 12);
	b_be32(&b, 5);
	b_be32(&b, 0xdeadbeef);
	seg(s, b_end(&b));
	expect(s, "postgresql", "PostgreSQL", NULL, PC_AUTH_REQUIRED, "MD5 password for user postgres (inside TLS)");

	/* 'S', then the handshake fails (the peer closes): plaintext startup */
	s = add("postgres-ssl-fallback", "postgres", 5432);
	seg(s, seg_str("S"));
	seg(s, seg_mem("", 0));
	b = b_begin();
	b_u8(&b, 'R');
	b_be32(&b, 8);
	b_be32(&b, 3);
	seg(s, b_end(&b));
	expect(s, "postgresql", "PostgreSQL", NULL, PC_AUTH_REQUIRED, "cleartext password for user postgres");
	s->evidence_absent = "inside TLS";

	b = b_begin();
	b_u8(&b, 'N');
	static const char err[] = "SFATAL\0VFATAL\0C28000\0Mno pg_hba.conf entry for host "
				  "\"198.18.0.1\", user \"postgres\", database \"postgres\", no "
				  "encryption\0Fauth.c\0L543\0RClientAuthentication\0";
	b_u8(&b, 'E');
	b_be32(&b, 4 + sizeof(err));
	b_add(&b, err, sizeof(err));
	s = add("postgres-hba", "postgres", 5432);
	seg(s, b_end(&b));
	expect(s, "postgresql", "PostgreSQL", NULL, PC_AUTH_REQUIRED, "28000 no pg_hba.conf entry");

	s = add("postgres-not", "postgres", 5432);
	seg(s, seg_str("HTTP/1.0 400 Bad request\r\n"));
	nomatch(s);

	/* MySQL/MariaDB handshake v10 */
	b = b_begin();
	struct bytes pl = b_begin();
	(void)pl;
	uint8_t payload[128];
	size_t pn = 0;
	payload[pn++] = 10;
	static const char ver[] = "5.5.5-10.11.6-MariaDB-0+deb12u1";
	memcpy(payload + pn, ver, sizeof(ver));
	pn += sizeof(ver);
	memcpy(payload + pn, "\x2a\x00\x00\x00", 4); /* thread id */
	pn += 4;
	memcpy(payload + pn, "abcdefgh\0", 9); /* salt part 1, filler */
	pn += 9;
	memcpy(payload + pn, "\xfe\xf7\x2d\x02\x00\xff\x81\x15", 8); /* caps, charset, status, caps, salt len */
	pn += 8;
	memset(payload + pn, 0, 6);
	pn += 6;
	memcpy(payload + pn, "\x1d\x00\x00\x00", 4);
	pn += 4;
	memcpy(payload + pn, "ijklmnopqrst\0", 13);
	pn += 13;
	static const char plugin[] = "mysql_native_password";
	memcpy(payload + pn, plugin, sizeof(plugin));
	pn += sizeof(plugin);
	b_u8(&b, (uint8_t)pn);
	b_u8(&b, 0);
	b_u8(&b, 0);
	b_u8(&b, 0);
	b_add(&b, payload, pn);
	s = add("mariadb", "mysql", 3306);
	seg(s, b_end(&b));
	expect(s, "mysql", "MariaDB", "10.11.6", PC_AUTH_UNKNOWN, "mysql_native_password");

	b = b_begin();
	static const char deny[] = "Host '198.18.0.1' is not allowed to connect to this MySQL server";
	b_u8(&b, (uint8_t)(3 + sizeof(deny) - 1));
	b_u8(&b, 0);
	b_u8(&b, 0);
	b_u8(&b, 0);
	b_u8(&b, 0xff);
	b_u8(&b, 0x6a);
	b_u8(&b, 0x04);
	b_add(&b, deny, sizeof(deny) - 1);
	s = add("mysql-host-denied", "mysql", 3306);
	seg(s, b_end(&b));
	expect(s, "mysql", "MySQL", NULL, PC_AUTH_REQUIRED, "is not allowed to connect");

	s = add("mysql-not", "mysql", 3306);
	seg(s, seg_str("SSH-2.0-OpenSSH_9.2p1\r\n"));
	nomatch(s);
}

/* ---- MongoDB: OP_MSG replies with hand-built BSON ------------------- */

struct bson {
	uint8_t d[512];
	size_t n;
};

static void bs_begin(struct bson *b)
{
	b->n = 4;
}

static void bs_key(struct bson *b, uint8_t type, const char *k)
{
	b->d[b->n++] = type;
	size_t l = strlen(k) + 1;
	memcpy(b->d + b->n, k, l);
	b->n += l;
}

static void bs_double(struct bson *b, const char *k, double v)
{
	bs_key(b, 0x01, k);
	memcpy(b->d + b->n, &v, 8);
	b->n += 8;
}

static void bs_int(struct bson *b, const char *k, int32_t v)
{
	bs_key(b, 0x10, k);
	uint32_t u = (uint32_t)v;
	for (int i = 0; i < 4; i++)
		b->d[b->n++] = (uint8_t)(u >> (8 * i));
}

static void bs_bool(struct bson *b, const char *k, bool v)
{
	bs_key(b, 0x08, k);
	b->d[b->n++] = v;
}

static void bs_string(struct bson *b, const char *k, const char *v)
{
	bs_key(b, 0x02, k);
	uint32_t l = (uint32_t)strlen(v) + 1;
	for (int i = 0; i < 4; i++)
		b->d[b->n++] = (uint8_t)(l >> (8 * i));
	memcpy(b->d + b->n, v, l);
	b->n += l;
}

static void bs_doc(struct bson *b, uint8_t type, const char *k, const struct bson *sub)
{
	bs_key(b, type, k);
	memcpy(b->d + b->n, sub->d, sub->n);
	b->n += sub->n;
}

static void bs_end(struct bson *b)
{
	b->d[b->n++] = 0;
	uint32_t l = (uint32_t)b->n;
	for (int i = 0; i < 4; i++)
		b->d[i] = (uint8_t)(l >> (8 * i));
}

static void op_msg(struct bytes *out, uint32_t response_to, const struct bson *doc)
{
	b_le32(out, (uint32_t)(16 + 4 + 1 + doc->n));
	b_le32(out, 1000 + response_to);
	b_le32(out, response_to);
	b_le32(out, 2013);
	b_le32(out, 0);
	b_u8(out, 0);
	b_add(out, doc->d, doc->n);
}

static void mongo_samples(void)
{
	struct bson hello, build, list, dbs, db0, denied;
	bs_begin(&hello);
	bs_bool(&hello, "ismaster", true);
	bs_int(&hello, "maxBsonObjectSize", 16777216);
	bs_int(&hello, "maxWireVersion", 21);
	bs_bool(&hello, "readOnly", false);
	bs_double(&hello, "ok", 1.0);
	bs_end(&hello);
	bs_begin(&build);
	bs_string(&build, "version", "7.0.4");
	bs_string(&build, "gitVersion", "38f3e37057a43d2e9f41a39142681a76062d582e");
	bs_double(&build, "ok", 1.0);
	bs_end(&build);
	bs_begin(&db0);
	bs_string(&db0, "name", "admin");
	bs_end(&db0);
	bs_begin(&dbs);
	bs_doc(&dbs, 0x03, "0", &db0);
	bs_end(&dbs);
	bs_begin(&list);
	bs_doc(&list, 0x04, "databases", &dbs);
	bs_double(&list, "ok", 1.0);
	bs_end(&list);
	bs_begin(&denied);
	bs_double(&denied, "ok", 0.0);
	bs_string(&denied, "errmsg", "command listDatabases requires authentication");
	bs_int(&denied, "code", 13);
	bs_string(&denied, "codeName", "Unauthorized");
	bs_end(&denied);

	struct bytes b = b_begin();
	op_msg(&b, 0x50430001, &hello);
	op_msg(&b, 0x50430002, &build);
	op_msg(&b, 0x50430003, &list);
	struct probe_sample *s = add("mongodb-open", "mongodb", 27017);
	seg(s, b_end(&b));
	expect(s, "mongodb", "MongoDB", "7.0.4", PC_AUTH_NONE, "listDatabases answered");

	b = b_begin();
	op_msg(&b, 0x50430001, &hello);
	op_msg(&b, 0x50430002, &build);
	op_msg(&b, 0x50430003, &denied);
	s = add("mongodb-auth", "mongodb", 27017);
	seg(s, b_end(&b));
	expect(s, "mongodb", "MongoDB", "7.0.4", PC_AUTH_REQUIRED, "requires authentication");

	s = add("mongodb-not", "mongodb", 27017);
	seg(s, seg_str("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
	nomatch(s);
}

/* ---- messaging -------------------------------------------------------- */

static void amqp_table_str(struct bytes *b, const char *k, const char *v)
{
	b_u8(b, (uint8_t)strlen(k));
	b_str(b, k);
	b_u8(b, 'S');
	b_be32(b, (uint32_t)strlen(v));
	b_str(b, v);
}

static void msg_samples(void)
{
	struct probe_sample *s;
	s = add("mqtt-open", "mqtt", 1883);
	seg(s, seg_mem("\x20\x02\x00\x00", 4));
	expect(s, "mqtt", NULL, NULL, PC_AUTH_NONE, "CONNACK 0");
	s = add("mqtt-refused", "mqtt", 1883);
	seg(s, seg_mem("\x20\x02\x00\x05", 4));
	expect(s, "mqtt", NULL, NULL, PC_AUTH_REQUIRED, "not authorized");
	s = add("mqtt-badpass", "mqtt", 11883);
	seg(s, seg_mem("\x20\x02\x00\x04", 4));
	expect(s, "mqtt", NULL, NULL, PC_AUTH_REQUIRED, "bad user name");
	s = add("mqtt-not", "mqtt", 1883);
	seg(s, seg_str("HTTP/1.1 400 Bad Request\r\n"));
	nomatch(s);

	/* AMQP 0-9-1 Connection.Start */
	uint8_t tbl[512];
	struct bytes t = { tbl, 0 };
	/* build the table in a scratch area, then the frame in the pool */
	{
		struct bytes tmp = b_begin();
		amqp_table_str(&tmp, "product", "RabbitMQ");
		amqp_table_str(&tmp, "version", "3.12.1");
		b_u8(&tmp, 12);
		b_str(&tmp, "capabilities");
		b_u8(&tmp, 'F');
		b_be32(&tmp, 0);
		amqp_table_str(&tmp, "platform", "Erlang/OTP 25.3");
		memcpy(tbl, tmp.p, tmp.n);
		t.n = tmp.n;
	}
	static const char mechs[] = "AMQPLAIN PLAIN";
	static const char locales[] = "en_US";
	uint32_t size = 4 + 2 + 4 + (uint32_t)t.n + 4 + (uint32_t)strlen(mechs) + 4 +
			(uint32_t)strlen(locales);
	struct bytes b = b_begin();
	b_u8(&b, 1);
	b_be16(&b, 0);
	b_be32(&b, size);
	b_be16(&b, 10);
	b_be16(&b, 10);
	b_u8(&b, 0);
	b_u8(&b, 9);
	b_be32(&b, (uint32_t)t.n);
	b_add(&b, tbl, t.n);
	b_be32(&b, (uint32_t)strlen(mechs));
	b_str(&b, mechs);
	b_be32(&b, (uint32_t)strlen(locales));
	b_str(&b, locales);
	b_u8(&b, 0xce);
	s = add("amqp-rabbitmq", "amqp", 5672);
	seg(s, b_end(&b));
	expect(s, "amqp", "RabbitMQ", "3.12.1", PC_AUTH_REQUIRED, "AMQPLAIN PLAIN");

	s = add("amqp-1.0", "amqp", 5672);
	seg(s, seg_mem("AMQP\x03\x01\x00\x00", 8));
	expect(s, "amqp", NULL, "1.0.0", PC_AUTH_UNKNOWN, "AMQP 3-1-0-0");

	s = add("zookeeper", "zookeeper", 2181);
	seg(s, seg_str("Zookeeper version: 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on "
		       "2022-02-25 08:49 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\n"
		       "Connections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n"));
	expect(s, "zookeeper", "ZooKeeper", "3.8.0", PC_AUTH_NONE, "srvr answered");
	s = add("zookeeper-whitelist", "zookeeper", 2181);
	seg(s, seg_str("srvr is not executed because it is not in the whitelist.\n"));
	expect(s, "zookeeper", "ZooKeeper", NULL, PC_AUTH_UNKNOWN, "whitelist");

	s = add("smtp-postfix", "smtp", 25);
	seg(s, seg_str("220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n"
		       "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
		       "250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
		       "250-8BITMIME\r\n250 CHUNKING\r\n221 2.0.0 Bye\r\n"));
	expect(s, "smtp", "Postfix", NULL, PC_AUTH_UNKNOWN, "STARTTLS");
	s = add("smtp-starttls", "smtp", 587);
	seg(s, seg_str("220 mx.lab ESMTP Postfix\r\n250-mx.lab\r\n250-PIPELINING\r\n"
		       "250-STARTTLS\r\n250 8BITMIME\r\n220 2.0.0 Ready to start TLS\r\n"));
	seg(s, seg_str("250-mx.lab\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
		       "221 2.0.0 Bye\r\n"));
	expect(s, "smtp", "Postfix", NULL, PC_AUTH_UNKNOWN, "EHLO inside TLS; extensions: PIPELINING, AUTH PLAIN LOGIN");

	s = add("smtp-exim-multiline", "smtp", 2526);
	seg(s, seg_str("220-mx.example.net ESMTP Exim 4.96 Fri, 27 Nov 2026 01:02:03 +0000\r\n"
		       "220-We do not authorize the use of this system to transport unsolicited\r\n"
		       "220 and/or bulk e-mail.\r\n250-mx.example.net Hello\r\n250 HELP\r\n"));
	expect(s, "smtp", "Exim", "4.96", PC_AUTH_UNKNOWN, NULL);
	s = add("smtp-not-ftp", "smtp", 2121);
	seg(s, seg_str("220 (vsFTPd 3.0.3)\r\n"));
	nomatch(s);

	s = add("ftp-anonymous", "ftp", 21);
	seg(s, seg_str("220 (vsFTPd 3.0.3)\r\n331 Please specify the password.\r\n"
		       "230 Login successful.\r\n"));
	expect(s, "ftp", "vsftpd", "3.0.3", PC_AUTH_NONE, "anonymous login accepted");
	s = add("ftp-refused", "ftp", 2100);
	seg(s, seg_str("220-Welcome to the archive\r\n220 ProFTPD 1.3.8 Server (Debian)\r\n"
		       "331 Anonymous login ok, send your complete email address as your password\r\n"
		       "530 Login incorrect.\r\n"));
	expect(s, "ftp", "ProFTPD", "1.3.8", PC_AUTH_REQUIRED, "530 Login incorrect");
	s = add("ftp-not-smtp", "ftp", 25);
	seg(s, seg_str("220 mx ESMTP Postfix\r\n"));
	nomatch(s);

	s = add("pop3-dovecot", "pop3", 110);
	seg(s, seg_str("+OK Dovecot (Debian) ready.\r\n+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		       "PIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n"));
	expect(s, "pop3", "Dovecot", NULL, PC_AUTH_REQUIRED, "SASL PLAIN");

	s = add("imap-dovecot", "imap", 143);
	seg(s, seg_str("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
		       "STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n"
		       "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
		       "AUTH=PLAIN AUTH=LOGIN\r\na1 OK Pre-login capabilities listed.\r\n"));
	expect(s, "imap", "Dovecot", NULL, PC_AUTH_REQUIRED, "AUTH=PLAIN");
	s = add("imap-starttls", "imap", 143);
	seg(s, seg_str("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready.\r\n"
		       "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK done\r\n"
		       "a2 OK Begin TLS negotiation now.\r\n"));
	seg(s, seg_str("* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=SCRAM-SHA-256\r\na3 OK done\r\n"));
	expect(s, "imap", NULL, NULL, PC_AUTH_REQUIRED, "inside TLS: AUTH=PLAIN AUTH=SCRAM-SHA-256");

	s = add("pop3-stls", "pop3", 110);
	seg(s, seg_str("+OK POP3 ready\r\n+OK\r\nUSER\r\nSTLS\r\n.\r\n+OK Begin TLS\r\n"));
	seg(s, seg_str("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"));
	expect(s, "pop3", NULL, NULL, PC_AUTH_REQUIRED, "CAPA inside TLS: USER, SASL PLAIN");

	s = add("imap-preauth", "imap", 143);
	seg(s, seg_str("* PREAUTH [CAPABILITY IMAP4rev1] Logged in as lab\r\n"));
	expect(s, "imap", NULL, NULL, PC_AUTH_NONE, "PREAUTH");

	s = add("ssh-openssh", "ssh", 22);
	seg(s, seg_str("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"));
	expect(s, "ssh", "OpenSSH", "9.2p1", PC_AUTH_UNKNOWN, "protocol 2.0");
	s = add("ssh-dropbear", "ssh", 2222);
	seg(s, seg_str("SSH-2.0-dropbear_2022.83\r\n"));
	expect(s, "ssh", "Dropbear", "2022.83", PC_AUTH_UNKNOWN, NULL);
	s = add("ssh-not", "ssh", 22);
	seg(s, seg_str("220 (vsFTPd 3.0.3)\r\n"));
	nomatch(s);

	s = add("vnc-password", "vnc", 5900);
	seg(s, seg_mem("RFB 003.008\n\x01\x02", 14));
	expect(s, "vnc", NULL, "RFB 3.8", PC_AUTH_REQUIRED, "2 (VNC)");
	s = add("vnc-none", "vnc", 5901);
	seg(s, seg_mem("RFB 003.008\n\x02\x01\x02", 15));
	expect(s, "vnc", NULL, "RFB 3.8", PC_AUTH_NONE, "None offered");
	s = add("vnc-3.3-none", "vnc", 5900);
	seg(s, seg_mem("RFB 003.003\n\x00\x00\x00\x01", 16));
	expect(s, "vnc", NULL, "RFB 3.3", PC_AUTH_NONE, NULL);
}

/* ---- BER builders: LDAP and SNMP ------------------------------------ */

struct ber {
	uint8_t d[512];
	size_t n;
};

static void ber_raw(struct ber *b, const void *p, size_t n)
{
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void ber_tlv(struct ber *b, uint8_t tag, const void *p, size_t n)
{
	b->d[b->n++] = tag;
	if (n < 128) {
		b->d[b->n++] = (uint8_t)n;
	} else {
		b->d[b->n++] = 0x82;
		b->d[b->n++] = (uint8_t)(n >> 8);
		b->d[b->n++] = (uint8_t)n;
	}
	ber_raw(b, p, n);
}

static void ber_str(struct ber *b, uint8_t tag, const char *s)
{
	ber_tlv(b, tag, s, strlen(s));
}

static void ber_wrap(struct ber *out, uint8_t tag, const struct ber *in)
{
	ber_tlv(out, tag, in->d, in->n);
}

static void ldap_attr(struct ber *attrs, const char *type, const char *value)
{
	struct ber set = { .n = 0 }, a = { .n = 0 };
	ber_str(&set, 0x04, value);
	ber_str(&a, 0x04, type);
	ber_wrap(&a, 0x31, &set);
	ber_wrap(attrs, 0x30, &a);
}

static struct pc_probe_segment ldap_result(int id, uint8_t op, uint8_t code)
{
	struct ber body = { .n = 0 }, msg = { .n = 0 }, top = { .n = 0 };
	uint8_t c = code, i = (uint8_t)id;
	ber_tlv(&body, 0x0a, &c, 1);
	ber_str(&body, 0x04, "");
	ber_str(&body, 0x04, code ? "anonymous bind disallowed" : "");
	ber_tlv(&msg, 0x02, &i, 1);
	ber_wrap(&msg, op, &body);
	ber_wrap(&top, 0x30, &msg);
	return seg_mem(top.d, top.n);
}

static void net_samples(void)
{
	struct probe_sample *s;

	/* LDAP: bind OK, one rootDSE entry, search done */
	struct ber attrs = { .n = 0 }, entry = { .n = 0 }, msg = { .n = 0 }, top = { .n = 0 };
	ldap_attr(&attrs, "namingContexts", "dc=example,dc=org");
	ldap_attr(&attrs, "vendorName", "OpenLDAP Foundation");
	ldap_attr(&attrs, "vendorVersion", "2.5.13");
	ber_str(&entry, 0x04, "");
	ber_wrap(&entry, 0x30, &attrs);
	uint8_t two = 2;
	ber_tlv(&msg, 0x02, &two, 1);
	ber_wrap(&msg, 0x64, &entry);
	ber_wrap(&top, 0x30, &msg);
	struct pc_probe_segment bind_ok = ldap_result(1, 0x61, 0);
	struct pc_probe_segment done = ldap_result(2, 0x65, 0);
	struct bytes b = b_begin();
	b_add(&b, bind_ok.data, bind_ok.len);
	b_add(&b, top.d, top.n);
	b_add(&b, done.data, done.len);
	s = add("ldap-anonymous", "ldap", 389);
	seg(s, b_end(&b));
	expect(s, "ldap", "OpenLDAP Foundation", "2.5.13", PC_AUTH_NONE, "dc=example,dc=org");

	s = add("ldap-refused", "ldap", 389);
	seg(s, ldap_result(1, 0x61, 48));
	expect(s, "ldap", NULL, NULL, PC_AUTH_REQUIRED, "resultCode 48");

	/* DNS version.bind CH TXT */
	static const uint8_t q[] = { 7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 4, 'b', 'i', 'n', 'd', 0,
				     0, 16, 0, 3 };
	static const char txt[] = "9.18.28-1~deb12u2-Debian";
	struct bytes d = b_begin();
	b_be16(&d, 0x5043);
	b_be16(&d, 0x8400);
	b_be16(&d, 1);
	b_be16(&d, 1);
	b_be16(&d, 0);
	b_be16(&d, 0);
	b_add(&d, q, sizeof(q));
	b_be16(&d, 0xc00c);
	b_be16(&d, 16);
	b_be16(&d, 3);
	b_be32(&d, 0);
	b_be16(&d, (uint16_t)(1 + strlen(txt)));
	b_u8(&d, (uint8_t)strlen(txt));
	b_str(&d, txt);
	struct pc_probe_segment dns = b_end(&d);
	s = add("dns-udp-bind", "dns-udp", 53);
	seg(s, dns);
	expect(s, "dns", "BIND", "9.18.28", PC_AUTH_UNKNOWN, "version.bind answered");
	b = b_begin();
	b_be16(&b, (uint16_t)dns.len);
	b_add(&b, dns.data, dns.len);
	s = add("dns-tcp-bind", "dns-tcp", 53);
	seg(s, b_end(&b));
	expect(s, "dns", "BIND", "9.18.28", PC_AUTH_UNKNOWN, NULL);
	d = b_begin();
	b_be16(&d, 0x5043);
	b_be16(&d, 0x8005);
	b_be16(&d, 1);
	b_be16(&d, 0);
	b_be16(&d, 0);
	b_be16(&d, 0);
	b_add(&d, q, sizeof(q));
	s = add("dns-udp-refused", "dns-udp", 5353);
	seg(s, b_end(&d));
	expect(s, "dns", NULL, NULL, PC_AUTH_UNKNOWN, "REFUSED");

	/* SNMP v2c GetResponse sysDescr.0 */
	struct ber vb = { .n = 0 }, vbl = { .n = 0 }, pdu = { .n = 0 }, m = { .n = 0 },
		   out = { .n = 0 };
	static const uint8_t oid[] = { 0x2b, 6, 1, 2, 1, 1, 1, 0 };
	ber_tlv(&vb, 0x06, oid, sizeof(oid));
	ber_str(&vb, 0x04, "Linux lab 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC x86_64");
	ber_wrap(&vbl, 0x30, &vb);
	ber_tlv(&pdu, 0x02, "PCPC", 4);
	ber_tlv(&pdu, 0x02, "\0", 1);
	ber_tlv(&pdu, 0x02, "\0", 1);
	ber_wrap(&pdu, 0x30, &vbl);
	ber_tlv(&m, 0x02, "\x01", 1);
	ber_str(&m, 0x04, "public");
	ber_wrap(&m, 0xa2, &pdu);
	ber_wrap(&out, 0x30, &m);
	s = add("snmp-public", "snmp", 161);
	seg(s, seg_mem(out.d, out.n));
	expect(s, "snmp", NULL, NULL, PC_AUTH_NONE, "Linux lab 6.1.0");

	/* rpcbind DUMP reply */
	b = b_begin();
	static const uint32_t maps[][4] = {
		{ 100000, 4, 6, 111 }, { 100000, 2, 17, 111 }, { 100003, 3, 6, 2049 },
		{ 100005, 3, 6, 20048 }, { 100024, 1, 17, 44001 },
	};
	uint32_t len = 24 + 4 + 20 * 5;
	b_be32(&b, 0x80000000u | len);
	b_be32(&b, 0x50435043);
	b_be32(&b, 1); /* REPLY */
	b_be32(&b, 0); /* MSG_ACCEPTED */
	b_be32(&b, 0); /* verifier AUTH_NULL */
	b_be32(&b, 0);
	b_be32(&b, 0); /* SUCCESS */
	for (size_t i = 0; i < 5; i++) {
		b_be32(&b, 1);
		for (int k = 0; k < 4; k++)
			b_be32(&b, maps[i][k]);
	}
	b_be32(&b, 0);
	s = add("rpcbind-nfs", "rpcbind", 111);
	seg(s, b_end(&b));
	expect(s, "rpcbind", NULL, NULL, PC_AUTH_NONE, "portmapper, nfs, mountd, status");

	/* SMB2 NEGOTIATE response (Samba-like: 3.0.2, signing required) */
	uint8_t smb[4 + 64 + 65 + 7];
	memset(smb, 0, sizeof(smb));
	size_t sl = sizeof(smb) - 4;
	smb[2] = (uint8_t)(sl >> 8);
	smb[3] = (uint8_t)sl;
	uint8_t *h = smb + 4;
	memcpy(h, "\xfeSMB", 4);
	h[4] = 64;
	h[14] = 1;
	h[16] = 1; /* SERVER_TO_REDIR */
	uint8_t *n = h + 64;
	n[0] = 65;
	n[2] = 0x03;
	n[4] = 0x02;
	n[5] = 0x03;
	s = add("smb2-signing", "smb", 445);
	seg(s, seg_mem(smb, sizeof(smb)));
	expect(s, "smb", NULL, "SMB 3.0.2", PC_AUTH_UNKNOWN, "signing required");

	s = add("rdp-nla", "rdp", 3389);
	seg(s, seg_mem("\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00",
		       19));
	expect(s, "rdp", NULL, NULL, PC_AUTH_REQUIRED, "CredSSP");
	s = add("rdp-tls", "rdp", 3389);
	seg(s, seg_mem("\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x01\x00\x00\x00",
		       19));
	expect(s, "rdp", NULL, NULL, PC_AUTH_UNKNOWN, "NLA not enforced");
}

static void more_samples(void)
{
	struct probe_sample *s;
	static const char reason[] = "No protocol specified\n";
	struct bytes b = b_begin();
	b_u8(&b, 0);
	b_u8(&b, (uint8_t)(sizeof(reason) - 1));
	b_add(&b, "\x0b\x00\x00\x00\x06\x00", 6); /* 11.0, 6 words of data */
	b_add(&b, reason, sizeof(reason) - 1);
	b_add(&b, "\0\0", 2); /* pad to 24 bytes */
	s = add("x11-refused", "x11", 6000);
	seg(s, b_end(&b));
	expect(s, "x11", NULL, "11.0", PC_AUTH_REQUIRED, "No protocol specified");

	uint8_t ok[8 + 40];
	memset(ok, 0, sizeof(ok));
	ok[0] = 1;
	ok[2] = 11;
	ok[6] = 10; /* 40 bytes follow */
	memcpy(ok + 8, "\x00\xc3\x5a\x01", 4); /* release number */
	s = add("x11-open", "x11", 6001);
	seg(s, seg_mem(ok, sizeof(ok)));
	expect(s, "x11", NULL, "11.0", PC_AUTH_NONE, "without authorisation succeeded");

	/* Kafka ApiVersions v0: three APIs */
	b = b_begin();
	b_be32(&b, 4 + 2 + 4 + 3 * 6);
	b_add(&b, "\x50\x43\x4b\x41", 4);
	b_be16(&b, 0);
	b_be32(&b, 3);
	b_be16(&b, 0);  b_be16(&b, 0); b_be16(&b, 9);  /* Produce */
	b_be16(&b, 1);  b_be16(&b, 0); b_be16(&b, 13); /* Fetch */
	b_be16(&b, 18); b_be16(&b, 0); b_be16(&b, 3);  /* ApiVersions */
	s = add("kafka", "kafka", 9092);
	seg(s, b_end(&b));
	expect(s, "kafka", "Apache Kafka", NULL, PC_AUTH_UNKNOWN, "3 APIs");

	/* CQL v4: SUPPORTED, then AUTHENTICATE */
	b = b_begin();
	struct bytes mm = b_begin();
	(void)mm;
	uint8_t body[128];
	size_t bn = 0;
	static const uint8_t sup[] = { 0, 2, 0, 11, 'C', 'Q', 'L', '_', 'V', 'E', 'R', 'S', 'I', 'O',
				       'N', 0, 1, 0, 5, '3', '.', '4', '.', '5', 0, 11, 'C', 'O',
				       'M', 'P', 'R', 'E', 'S', 'S', 'I', 'O', 'N', 0, 2, 0, 6, 's',
				       'n', 'a', 'p', 'p', 'y', 0, 3, 'l', 'z', '4' };
	memcpy(body, sup, sizeof(sup));
	bn = sizeof(sup);
	b_add(&b, "\x84\x00\x00\x50\x06", 5);
	b_be32(&b, (uint32_t)bn);
	b_add(&b, body, bn);
	static const char cls[] = "org.apache.cassandra.auth.PasswordAuthenticator";
	b_add(&b, "\x84\x00\x00\x51\x03", 5);
	b_be32(&b, (uint32_t)(2 + sizeof(cls) - 1));
	b_be16(&b, (uint16_t)(sizeof(cls) - 1));
	b_add(&b, cls, sizeof(cls) - 1);
	s = add("cassandra-auth", "cassandra", 9042);
	seg(s, b_end(&b));
	expect(s, "cassandra", NULL, "3.4.5", PC_AUTH_REQUIRED, "PasswordAuthenticator");

	b = b_begin();
	b_add(&b, "\x84\x00\x00\x50\x06", 5);
	b_be32(&b, (uint32_t)bn);
	b_add(&b, body, bn);
	b_add(&b, "\x84\x00\x00\x51\x02\x00\x00\x00\x00", 9);
	s = add("cassandra-open", "cassandra", 9042);
	seg(s, b_end(&b));
	expect(s, "cassandra", NULL, "3.4.5", PC_AUTH_NONE, "READY");
}

const struct probe_sample *probe_samples(size_t *ret_n)
{
	if (n_samples == 0) {
		http_samples();
		db_samples();
		mongo_samples();
		msg_samples();
		net_samples();
		more_samples();
	}
	*ret_n = n_samples;
	return samples;
}
