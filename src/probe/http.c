/*
 * http.c - HTTP/1.x, and the services that live behind it: the Docker
 * Engine API, the Kubernetes API server and the kubelet, etcd, Consul,
 * Elasticsearch/OpenSearch, Prometheus metrics, Go pprof, the Spring Boot
 * actuator and admin or debug pages served without a login.
 *
 * One GET per connection ("Connection: close"), a short fixed walk of
 * paths: "/" and "/version" always, then what the answers point to
 * (/api/v1/namespaces for a Kubernetes API server, /pods for a kubelet, a
 * count-only range read for etcd) and, unless something specific answered
 * already, /metrics, /v1/agent/self, /debug/pprof/, /actuator. Every request
 * is a read. Each response is parsed by a byte-at-a-time state machine
 * (status line, headers, then a body delimited by Content-Length, chunked
 * encoding or the end of the stream), keeping at most BODY_MAX bytes of
 * body: enough for a title, a JSON version document or the first metric
 * lines, and it keeps the endpoint within its 64 KiB read cap.
 *
 * Authentication: the path that identified the service decides. 401 or
 * 403 there means credentials are required; 200 with the service's own
 * content means none were needed, and the evidence names that path.
 */
#include "probe/probe_ops.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX 6144
#define HDR_LINE 384

enum rstate { R_STATUS, R_HEADERS, R_BODY_LEN, R_CHUNK_SIZE, R_CHUNK_DATA, R_CHUNK_CRLF,
	      R_TRAILER, R_BODY_EOF, R_DONE };

enum path_id {
	P_ROOT,
	P_VERSION,
	P_K8S_NAMESPACES,
	P_KUBELET_PODS,
	P_ETCD_RANGE,
	P_METRICS,
	P_CONSUL,
	P_PPROF,
	P_ACTUATOR,
	P_INFLUX_QUERY,
	P_COUCH_DBS,
	P_RABBIT_OVERVIEW,
	P_COUNT
};

static const char *const paths[P_COUNT] = {
	"/", "/version", "/api/v1/namespaces", "/pods", "/v3/kv/range",
	"/metrics", "/v1/agent/self", "/debug/pprof/", "/actuator",
	"/query?q=SHOW%20DATABASES", "/_all_dbs", "/api/overview",
};

/* What one response said. */
struct resp {
	int status;
	char server[96];
	char content_type[64];
	char www_auth[64];
	char api_version[32]; /* Docker's Api-Version header */
	char influx_version[32]; /* X-Influxdb-Version */
	char jenkins_version[32]; /* X-Jenkins */
	char kibana_version[32]; /* kbn-version */
	bool consul_header;
	long long content_length; /* -1: none */
	bool chunked;
	uint8_t body[BODY_MAX];
	size_t body_len;
	bool truncated;
};

/* What the walk found so far. */
enum app {
	APP_NONE = 0,
	APP_HTTP,
	APP_ADMIN,
	APP_ACTUATOR,
	APP_PPROF,
	APP_METRICS,
	APP_MINIO,
	APP_KIBANA,
	APP_JENKINS,
	APP_RABBITMQ,
	APP_COUCHDB,
	APP_INFLUXDB,
	APP_ELASTIC,
	APP_CONSUL,
	APP_ETCD,
	APP_KUBELET,
	APP_K8S,
	APP_DOCKER,
};

struct http_state {
	enum rstate rs;
	char line[HDR_LINE];
	size_t line_len;
	bool line_long;
	unsigned lines;
	unsigned long long remaining; /* body or chunk bytes left */
	struct resp r;

	enum path_id cur;
	bool asked[P_COUNT];
	bool got_any; /* at least one HTTP response */

	enum app app;
	enum pc_auth auth;
	char evidence[160];
	char also[96]; /* other open debug paths */
	char product[64];
	char version[64];
	char title[96];
	int root_status;
	char root_server[96];
	bool go_404; /* "404 page not found": Go's net/http default */
	uint16_t port;
};

static const uint16_t http_ports[] = {
	80,   443,  8080, 8000, 8008, 8081, 8088, 8443, 8888, 9000, 9090, 9100, 9200, 9300,
	2375, 2376, 2379, 2380, 4001, 6443, 8500, 8501, 10250, 10255, 10249, 10256, 5601,
	3000, 8086, 15672, 9093, 9091, 9115, 9187, 9121, 9104, 9113, 9150, 9256, 7070, 0,
};

static void set_app(struct http_state *s, enum app a, enum pc_auth auth, const char *evidence)
{
	if (a < s->app)
		return;
	if (a == s->app && s->auth != PC_AUTH_UNKNOWN && auth == PC_AUTH_UNKNOWN)
		return;
	s->app = a;
	s->auth = auth;
	snprintf(s->evidence, sizeof(s->evidence), "%s", evidence);
}

static void note_also(struct http_state *s, const char *path)
{
	size_t n = strlen(s->also);
	if (n + strlen(path) + 3 >= sizeof(s->also))
		return;
	snprintf(s->also + n, sizeof(s->also) - n, "%s%s", n ? ", " : "", path);
}

static int send_request(struct http_state *s, struct pc_probe_ctx *ctx, enum path_id p)
{
	char req[640];
	int n;
	const char *host = ctx->host[0] ? ctx->host : "localhost";
	s->cur = p;
	s->asked[p] = true;
	memset(&s->r, 0, sizeof(s->r));
	s->r.content_length = -1;
	s->rs = R_STATUS;
	s->line_len = 0;
	s->line_long = false;
	s->lines = 0;
	if (p == P_ETCD_RANGE) {
		/* count_only: the answer holds a number, never a key or value */
		static const char body[] = "{\"key\":\"AA==\",\"count_only\":true}";
		n = snprintf(req, sizeof(req),
			     "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: portcensus/" PC_VERSION
			     "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%s",
			     paths[p], host, sizeof(body) - 1, body);
	} else {
		n = snprintf(req, sizeof(req),
			     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: portcensus/" PC_VERSION
			     "\r\nAccept: */*\r\nConnection: close\r\n\r\n",
			     paths[p], host);
	}
	if (n < 0 || (size_t)n >= sizeof(req))
		return -1;
	return pc_probe_send(ctx, req, (size_t)n);
}

static int http_start(void *state, struct pc_probe_ctx *ctx)
{
	struct http_state *s = state;
	s->port = ctx->port;
	return send_request(s, ctx, P_ROOT);
}

/* ---- small text helpers ------------------------------------------ */

static const uint8_t *body_find(const struct resp *r, const char *needle)
{
	return pc_probe_memcasemem(r->body, r->body_len, needle);
}

/* The string value of "key" in a JSON body (first occurrence, no nesting
 * awareness: enough for version documents). */
static bool json_str(const struct resp *r, const char *key, char *out, size_t outlen)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const uint8_t *p = pc_probe_memcasemem(r->body, r->body_len, pat);
	if (!p)
		return false;
	const uint8_t *end = r->body + r->body_len;
	p += strlen(pat);
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p >= end || *p != ':')
		return false;
	p++;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p >= end || *p != '"')
		return false;
	p++;
	const uint8_t *q = p;
	while (q < end && *q != '"' && *q != '\\')
		q++;
	if (q >= end)
		return false;
	pc_probe_setn(out, outlen, (const char *)p, (size_t)(q - p));
	return true;
}

static void extract_title(struct http_state *s, const struct resp *r)
{
	const uint8_t *p = body_find(r, "<title");
	if (!p)
		return;
	const uint8_t *end = r->body + r->body_len;
	while (p < end && *p != '>')
		p++;
	if (p >= end)
		return;
	p++;
	const uint8_t *q = pc_probe_memcasemem(p, (size_t)(end - p), "</title");
	if (!q)
		q = end;
	while (p < q && isspace(*p))
		p++;
	while (q > p && isspace(q[-1]))
		q--;
	size_t n = (size_t)(q - p);
	if (n >= sizeof(s->title))
		n = sizeof(s->title) - 1;
	for (size_t i = 0; i < n; i++)
		s->title[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : ' ';
	s->title[n] = '\0';
}

static void split_server(const char *server, char *product, size_t plen, char *version,
			 size_t vlen)
{
	size_t n = strcspn(server, "/ (");
	pc_probe_setn(product, plen, server, n);
	if (server[n] == '/') {
		const char *v = server + n + 1;
		pc_probe_setn(version, vlen, v, strcspn(v, " ("));
	}
}

static bool is_denied(int status)
{
	return status == 401 || status == 403;
}

/* ---- what each response means ------------------------------------ */

static void analyse_root(struct http_state *s, const struct resp *r)
{
	char buf[64];
	s->root_status = r->status;
	snprintf(s->root_server, sizeof(s->root_server), "%s", r->server);
	extract_title(s, r);
	if (r->status == 404 && r->body_len >= 18 && memcmp(r->body, "404 page not found", 18) == 0)
		s->go_404 = true;
	if (r->api_version[0] || strncmp(r->server, "Docker/", 7) == 0)
		set_app(s, APP_DOCKER, PC_AUTH_UNKNOWN, "Docker API headers on GET /");
	if (r->consul_header)
		set_app(s, APP_CONSUL, PC_AUTH_UNKNOWN, "Consul headers on GET /");
	if (json_str(r, "cluster_name", buf, sizeof(buf)) &&
	    (body_find(r, "\"tagline\"") || body_find(r, "\"cluster_uuid\""))) {
		bool os = body_find(r, "opensearch") != NULL;
		set_app(s, APP_ELASTIC, PC_AUTH_NONE,
			"GET / answered cluster_name without credentials");
		PC_PROBE_SET(s->product, os ? "OpenSearch" : "Elasticsearch");
		if (json_str(r, "number", buf, sizeof(buf)))
			PC_PROBE_SET(s->version, buf);
		return;
	}
	if (is_denied(r->status) &&
	    (body_find(r, "security_exception") || pc_probe_memcasemem((const uint8_t *)r->www_auth,
								      strlen(r->www_auth),
								      "realm=\"security\""))) {
		set_app(s, APP_ELASTIC, PC_AUTH_REQUIRED,
			"GET / answered security_exception: credentials required");
		PC_PROBE_SET(s->product, "Elasticsearch");
		return;
	}
	if (is_denied(r->status) && body_find(r, "\"kind\"") && body_find(r, "\"Status\"")) {
		set_app(s, APP_K8S, PC_AUTH_REQUIRED, "GET / answered a Kubernetes Status 401/403");
		PC_PROBE_SET(s->product, "Kubernetes");
	}
	if (r->status == 200 && json_str(r, "couchdb", buf, sizeof(buf)) &&
	    strcmp(buf, "Welcome") == 0) {
		set_app(s, APP_COUCHDB, PC_AUTH_UNKNOWN, "GET / answered the CouchDB welcome");
		PC_PROBE_SET(s->product, "CouchDB");
		if (json_str(r, "version", buf, sizeof(buf)))
			PC_PROBE_SET(s->version, buf);
		return;
	}
	if (r->status == 200 && pc_probe_memcasemem((const uint8_t *)s->title, strlen(s->title),
						    "RabbitMQ Management")) {
		set_app(s, APP_RABBITMQ, PC_AUTH_UNKNOWN,
			"GET / served the RabbitMQ management UI");
		PC_PROBE_SET(s->product, "RabbitMQ");
		return;
	}
	if (s->app > APP_HTTP)
		return; /* a product named itself in its headers */
	/* generic page */
	if (r->status == 200 && r->body_len > 0) {
		bool login = body_find(r, "type=\"password\"") || body_find(r, "type='password'") ||
			     body_find(r, "type=password");
		static const char *const admin_words[] = {
			"admin", "dashboard", "console", "debug", "phpinfo", "index of /",
			"manager", "jenkins", "control panel", "status page", "server status",
			"phpmyadmin", "adminer", "management", NULL,
		};
		bool admin = false;
		for (size_t i = 0; admin_words[i]; i++)
			if (pc_probe_memcasemem((const uint8_t *)s->title, strlen(s->title),
						admin_words[i]))
				admin = true;
		if (login)
			set_app(s, APP_HTTP, PC_AUTH_REQUIRED,
				"GET / served a login form (password field)");
		else if (admin) {
			char ev[160];
			snprintf(ev, sizeof(ev),
				 "GET / served an admin or debug page without login "
				 "(title \"%.60s\")",
				 s->title);
			set_app(s, APP_ADMIN, PC_AUTH_NONE, ev);
		} else
			set_app(s, APP_HTTP, PC_AUTH_NONE,
				"GET / answered 200 without credentials");
	} else if (is_denied(r->status)) {
		char ev[160];
		snprintf(ev, sizeof(ev), "GET / answered %d%s%.40s", r->status,
			 r->www_auth[0] ? ": WWW-Authenticate " : "", r->www_auth);
		set_app(s, APP_HTTP, PC_AUTH_REQUIRED, ev);
	} else {
		set_app(s, APP_HTTP, PC_AUTH_UNKNOWN, "");
	}
}

static void analyse_version(struct http_state *s, const struct resp *r)
{
	char buf[64];
	if (r->status == 200 && json_str(r, "ApiVersion", buf, sizeof(buf))) {
		set_app(s, APP_DOCKER, PC_AUTH_NONE,
			"GET /version answered ApiVersion without credentials");
		PC_PROBE_SET(s->product, "Docker Engine");
		if (json_str(r, "Version", buf, sizeof(buf)))
			PC_PROBE_SET(s->version, buf);
		return;
	}
	if (r->status == 200 && json_str(r, "etcdserver", buf, sizeof(buf))) {
		set_app(s, APP_ETCD, PC_AUTH_UNKNOWN, "GET /version answered etcdserver");
		PC_PROBE_SET(s->product, "etcd");
		PC_PROBE_SET(s->version, buf);
		return;
	}
	if (r->status == 200 && json_str(r, "gitVersion", buf, sizeof(buf)) &&
	    body_find(r, "\"major\"")) {
		set_app(s, APP_K8S, PC_AUTH_UNKNOWN, "GET /version answered gitVersion");
		PC_PROBE_SET(s->product, "Kubernetes");
		PC_PROBE_SET(s->version, buf);
		return;
	}
	if (is_denied(r->status) && body_find(r, "\"kind\"") && body_find(r, "\"Status\"")) {
		set_app(s, APP_K8S, PC_AUTH_REQUIRED,
			"GET /version answered a Kubernetes Status 401/403");
		PC_PROBE_SET(s->product, "Kubernetes");
	}
}

/* Products that announce themselves in headers on any response. */
static void analyse_headers(struct http_state *s, const struct resp *r)
{
	char ev[160];
	if (r->influx_version[0] && s->app < APP_INFLUXDB) {
		set_app(s, APP_INFLUXDB, PC_AUTH_UNKNOWN, "X-Influxdb-Version header");
		PC_PROBE_SET(s->product, "InfluxDB");
		PC_PROBE_SET(s->version, r->influx_version);
	}
	if (r->jenkins_version[0] && s->app < APP_JENKINS) {
		if (s->cur == P_ROOT && r->status == 200)
			set_app(s, APP_JENKINS, PC_AUTH_NONE,
				"GET / served the Jenkins dashboard without credentials");
		else if (s->cur == P_ROOT && is_denied(r->status)) {
			snprintf(ev, sizeof(ev), "GET / answered %d: Jenkins asks for a login",
				 r->status);
			set_app(s, APP_JENKINS, PC_AUTH_REQUIRED, ev);
		} else
			set_app(s, APP_JENKINS, PC_AUTH_UNKNOWN, "X-Jenkins header");
		PC_PROBE_SET(s->product, "Jenkins");
		PC_PROBE_SET(s->version, r->jenkins_version);
	}
	if (r->kibana_version[0] && s->app < APP_KIBANA) {
		set_app(s, APP_KIBANA, PC_AUTH_UNKNOWN, "kbn-version header");
		PC_PROBE_SET(s->product, "Kibana");
		PC_PROBE_SET(s->version, r->kibana_version);
	}
	if (strncmp(r->server, "MinIO", 5) == 0 && s->app < APP_MINIO) {
		if (s->cur == P_ROOT && is_denied(r->status))
			set_app(s, APP_MINIO, PC_AUTH_REQUIRED, "GET / answered AccessDenied");
		else
			set_app(s, APP_MINIO, PC_AUTH_UNKNOWN, "Server: MinIO");
		PC_PROBE_SET(s->product, "MinIO");
	}
}

static void analyse(struct http_state *s, const struct resp *r)
{
	char buf[96];
	analyse_headers(s, r);
	switch (s->cur) {
	case P_ROOT:
		analyse_root(s, r);
		break;
	case P_VERSION:
		analyse_version(s, r);
		break;
	case P_K8S_NAMESPACES:
		if (r->status == 200 && body_find(r, "NamespaceList"))
			set_app(s, APP_K8S, PC_AUTH_NONE,
				"GET /api/v1/namespaces listed namespaces without credentials");
		else if (is_denied(r->status)) {
			snprintf(buf, sizeof(buf), "GET /api/v1/namespaces answered %d", r->status);
			s->app = APP_NONE;
			set_app(s, APP_K8S, PC_AUTH_REQUIRED, buf);
		}
		break;
	case P_KUBELET_PODS:
		if (r->status == 200 && body_find(r, "PodList")) {
			set_app(s, APP_KUBELET, PC_AUTH_NONE,
				"GET /pods listed pods without credentials");
			PC_PROBE_SET(s->product, "kubelet");
		} else if (is_denied(r->status) &&
			   (body_find(r, "Unauthorized") || body_find(r, "resource=nodes"))) {
			snprintf(buf, sizeof(buf), "GET /pods answered %d %s", r->status,
				 r->status == 401 ? "Unauthorized" : "Forbidden");
			set_app(s, APP_KUBELET, PC_AUTH_REQUIRED, buf);
			PC_PROBE_SET(s->product, "kubelet");
		}
		break;
	case P_ETCD_RANGE:
		if (r->status == 200 && body_find(r, "\"header\"")) {
			s->app = APP_NONE;
			set_app(s, APP_ETCD, PC_AUTH_NONE,
				"POST /v3/kv/range (count only) answered without credentials");
		} else if (body_find(r, "user name is empty") ||
			   body_find(r, "invalid auth token") || is_denied(r->status)) {
			s->app = APP_NONE;
			set_app(s, APP_ETCD, PC_AUTH_REQUIRED,
				"POST /v3/kv/range refused: etcd authentication is enabled");
		}
		break;
	case P_METRICS:
		if (r->status == 200 && (body_find(r, "# HELP ") || body_find(r, "# TYPE "))) {
			if (s->app >= APP_METRICS) {
				note_also(s, "/metrics");
				break;
			}
			set_app(s, APP_METRICS, PC_AUTH_NONE,
				"GET /metrics answered Prometheus metrics without credentials");
			if (body_find(r, "prometheus_build_info"))
				PC_PROBE_SET(s->product, "Prometheus");
			else if (body_find(r, "node_exporter_build_info") ||
				 body_find(r, "\nnode_"))
				PC_PROBE_SET(s->product, "node_exporter");
		} else if (is_denied(r->status) && s->app < APP_METRICS && s->app != APP_ADMIN) {
			snprintf(buf, sizeof(buf), "GET /metrics answered %d", r->status);
			(void)buf;
		}
		break;
	case P_CONSUL:
		if (r->status == 200 &&
		    (body_find(r, "\"Datacenter\"") || body_find(r, "\"NodeName\""))) {
			set_app(s, APP_CONSUL, PC_AUTH_NONE,
				"GET /v1/agent/self answered without an ACL token");
			PC_PROBE_SET(s->product, "Consul");
			if (json_str(r, "Version", buf, sizeof(buf)))
				PC_PROBE_SET(s->version, buf);
		} else if (is_denied(r->status) &&
			   (s->app == APP_CONSUL || r->consul_header ||
			    body_find(r, "ACL not found") || body_find(r, "Permission denied"))) {
			s->app = APP_NONE;
			set_app(s, APP_CONSUL, PC_AUTH_REQUIRED,
				"GET /v1/agent/self refused: Consul ACLs are enforced");
			PC_PROBE_SET(s->product, "Consul");
		}
		break;
	case P_PPROF:
		if (r->status == 200 && (body_find(r, "Types of profiles available") ||
					 body_find(r, "/debug/pprof/goroutine") ||
					 body_find(r, "goroutine?debug="))) {
			if (s->app > APP_PPROF)
				note_also(s, "/debug/pprof/");
			else
				set_app(s, APP_PPROF, PC_AUTH_NONE,
					"GET /debug/pprof/ answered Go profiles "
					"without credentials");
		}
		break;
	case P_ACTUATOR:
		if (r->status == 200 && body_find(r, "\"_links\"")) {
			if (s->app > APP_ACTUATOR)
				note_also(s, "/actuator");
			else {
				set_app(s, APP_ACTUATOR, PC_AUTH_NONE,
					"GET /actuator listed endpoints without credentials");
				PC_PROBE_SET(s->product, "Spring Boot");
			}
		} else if (is_denied(r->status) && s->app <= APP_HTTP &&
			   (body_find(r, "\"timestamp\"") && body_find(r, "\"path\""))) {
			set_app(s, APP_ACTUATOR, PC_AUTH_REQUIRED,
				"GET /actuator answered 401/403");
			PC_PROBE_SET(s->product, "Spring Boot");
		}
		break;
	case P_INFLUX_QUERY:
		if (r->status == 200 && body_find(r, "\"results\""))
			set_app(s, APP_INFLUXDB, PC_AUTH_NONE,
				"GET /query SHOW DATABASES answered without credentials");
		else if (is_denied(r->status)) {
			s->app = APP_NONE;
			set_app(s, APP_INFLUXDB, PC_AUTH_REQUIRED,
				"GET /query answered 401: authentication is enabled");
		}
		break;
	case P_COUCH_DBS:
		if (r->status == 200 && r->body_len > 0 && r->body[0] == '[')
			set_app(s, APP_COUCHDB, PC_AUTH_NONE,
				"GET /_all_dbs listed databases without credentials");
		else if (is_denied(r->status)) {
			s->app = APP_NONE;
			set_app(s, APP_COUCHDB, PC_AUTH_REQUIRED, "GET /_all_dbs answered 401/403");
		}
		break;
	case P_RABBIT_OVERVIEW:
		if (r->status == 200 && body_find(r, "\"rabbitmq_version\"")) {
			set_app(s, APP_RABBITMQ, PC_AUTH_NONE,
				"GET /api/overview answered without credentials");
			if (json_str(r, "rabbitmq_version", buf, sizeof(buf)))
				PC_PROBE_SET(s->version, buf);
		} else if (is_denied(r->status)) {
			s->app = APP_NONE;
			set_app(s, APP_RABBITMQ, PC_AUTH_REQUIRED,
				"GET /api/overview answered 401");
		}
		break;
	case P_COUNT:
		break;
	}
}

/* The next path to ask, or P_COUNT when the walk is over. */
static enum path_id next_path(struct http_state *s)
{
	static const enum path_id order[] = { P_VERSION, P_METRICS, P_CONSUL, P_PPROF, P_ACTUATOR };
	if (s->app == APP_K8S && !s->asked[P_K8S_NAMESPACES] && s->auth != PC_AUTH_REQUIRED)
		return P_K8S_NAMESPACES;
	if (s->app == APP_INFLUXDB && !s->asked[P_INFLUX_QUERY])
		return P_INFLUX_QUERY;
	if (s->app == APP_COUCHDB && !s->asked[P_COUCH_DBS])
		return P_COUCH_DBS;
	if (s->app == APP_RABBITMQ && !s->asked[P_RABBIT_OVERVIEW])
		return P_RABBIT_OVERVIEW;
	if (s->app == APP_ETCD && !s->asked[P_ETCD_RANGE])
		return P_ETCD_RANGE;
	if (!s->asked[P_KUBELET_PODS] && s->asked[P_VERSION] && s->app <= APP_HTTP &&
	    (s->go_404 || s->port == 10250 || s->port == 10255))
		return P_KUBELET_PODS;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum path_id p = order[i];
		if (s->asked[p])
			continue;
		/* a specific service is known: only the debug exposures matter */
		if (p != P_VERSION && s->app >= APP_ELASTIC && p == P_CONSUL)
			continue;
		if (p != P_VERSION && s->app == APP_ELASTIC)
			continue;
		if (p != P_VERSION &&
		    (s->app == APP_DOCKER || s->app == APP_K8S || s->app == APP_KUBELET))
			continue;
		return p;
	}
	return P_COUNT;
}

static void conclude(struct http_state *s, struct pc_probe_ctx *ctx)
{
	static const char *const names[] = {
		[APP_NONE] = "http",	     [APP_HTTP] = "http",
		[APP_ADMIN] = "http-admin",  [APP_ACTUATOR] = "spring-actuator",
		[APP_PPROF] = "go-pprof",    [APP_METRICS] = "prometheus-metrics",
		[APP_ELASTIC] = "elasticsearch", [APP_CONSUL] = "consul",
		[APP_MINIO] = "minio",	     [APP_KIBANA] = "kibana",
		[APP_JENKINS] = "jenkins",   [APP_RABBITMQ] = "rabbitmq-management",
		[APP_COUCHDB] = "couchdb",   [APP_INFLUXDB] = "influxdb",
		[APP_ETCD] = "etcd",	     [APP_KUBELET] = "kubelet",
		[APP_K8S] = "kubernetes",    [APP_DOCKER] = "docker",
	};
	struct pc_probe_result *r = ctx->res;
	PC_PROBE_SET(r->name, names[s->app]);
	if (s->app == APP_ELASTIC && strcmp(s->product, "OpenSearch") == 0)
		PC_PROBE_SET(r->name, "opensearch");
	if (s->app == APP_METRICS && strcmp(s->product, "Prometheus") == 0)
		PC_PROBE_SET(r->name, "prometheus");
	if (s->product[0]) {
		PC_PROBE_SET(r->product, s->product);
		PC_PROBE_SET(r->version, s->version);
	} else if (s->root_server[0]) {
		split_server(s->root_server, r->product, sizeof(r->product), r->version,
			     sizeof(r->version));
	}
	r->auth = s->auth;
	if (s->evidence[0] && s->also[0])
		pc_probe_setf(r->evidence, sizeof(r->evidence), "%s; also open: %s", s->evidence,
			      s->also);
	else if (s->evidence[0])
		PC_PROBE_SET(r->evidence, s->evidence);
	else
		pc_probe_setf(r->evidence, sizeof(r->evidence), "GET / answered HTTP %d",
			      s->root_status);
	char banner[PC_PROBE_BANNER_MAX + 256];
	snprintf(banner, sizeof(banner), "HTTP %d%s%s%s%s", s->root_status,
		 s->root_server[0] ? " Server: " : "", s->root_server,
		 s->title[0] ? " title: " : "", s->title);
	pc_probe_banner(ctx, (const uint8_t *)banner, strlen(banner));
}

/* The current response is complete: analyse, then ask the next path on a
 * new connection, or conclude. */
static enum pc_probe_verdict response_end(struct http_state *s, struct pc_probe_ctx *ctx)
{
	s->rs = R_DONE;
	if (!s->got_any && !ctx->tls && s->r.status == 400 &&
	    (body_find(&s->r, "plain HTTP request was sent to HTTPS") ||
	     body_find(&s->r, "speaking plain HTTP to an SSL-enabled") ||
	     body_find(&s->r, "HTTP request to an HTTPS server"))) {
		/* the real service is behind TLS: let the engine handshake */
		ctx->hint_tls = true;
		return PC_PROBE_NOMATCH;
	}
	s->got_any = true;
	analyse(s, &s->r);
	PC_PROBE_SET(ctx->res->name, "http"); /* identified: HTTP spoke */
	enum path_id p = next_path(s);
	if (p == P_COUNT) {
		conclude(s, ctx);
		return PC_PROBE_MATCH;
	}
	if (send_request(s, ctx, p) < 0) {
		conclude(s, ctx);
		return PC_PROBE_MATCH;
	}
	return PC_PROBE_RECONNECT;
}

/* ---- the response state machine --------------------------------- */

static void header_line(struct http_state *s, char *line)
{
	char *colon = strchr(line, ':');
	if (!colon)
		return;
	*colon = '\0';
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	struct resp *r = &s->r;
	if (strcasecmp(line, "Server") == 0)
		pc_probe_setn(r->server, sizeof(r->server), v, vl);
	else if (strcasecmp(line, "Content-Type") == 0)
		pc_probe_setn(r->content_type, sizeof(r->content_type), v, vl);
	else if (strcasecmp(line, "WWW-Authenticate") == 0 && !r->www_auth[0])
		pc_probe_setn(r->www_auth, sizeof(r->www_auth), v, vl);
	else if (strcasecmp(line, "X-Influxdb-Version") == 0)
		pc_probe_setn(r->influx_version, sizeof(r->influx_version), v, vl);
	else if (strcasecmp(line, "X-Jenkins") == 0)
		pc_probe_setn(r->jenkins_version, sizeof(r->jenkins_version), v, vl);
	else if (strcasecmp(line, "kbn-version") == 0)
		pc_probe_setn(r->kibana_version, sizeof(r->kibana_version), v, vl);
	else if (strcasecmp(line, "Api-Version") == 0)
		pc_probe_setn(r->api_version, sizeof(r->api_version), v, vl);
	else if (strncasecmp(line, "X-Consul-", 9) == 0)
		r->consul_header = true;
	else if (strcasecmp(line, "Content-Length") == 0) {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (end != v && *end == '\0' && n >= 0)
			r->content_length = n;
	} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
		if (pc_probe_memcasemem((const uint8_t *)v, vl, "chunked"))
			r->chunked = true;
	}
}

static void body_add(struct http_state *s, const uint8_t *p, size_t n)
{
	size_t room = BODY_MAX - s->r.body_len;
	if (n > room) {
		n = room;
		s->r.truncated = true;
	}
	memcpy(s->r.body + s->r.body_len, p, n);
	s->r.body_len += n;
}

/* A complete line of the status/header/chunk-size part. */
static enum pc_probe_verdict on_line(struct http_state *s, struct pc_probe_ctx *ctx, char *line)
{
	s->lines++;
	switch (s->rs) {
	case R_STATUS: {
		/* HTTP/1.x NNN reason */
		if (strncmp(line, "HTTP/", 5) != 0)
			return PC_PROBE_NOMATCH;
		const char *sp = strchr(line, ' ');
		if (!sp || !isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]) ||
		    !isdigit((unsigned char)sp[3]))
			return PC_PROBE_NOMATCH;
		s->r.status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
		if (s->r.status < 100)
			return PC_PROBE_NOMATCH;
		s->rs = R_HEADERS;
		return PC_PROBE_MORE;
	}
	case R_HEADERS:
		if (line[0] != '\0') {
			if (s->lines > 200)
				return response_end(s, ctx);
			header_line(s, line);
			return PC_PROBE_MORE;
		}
		if (s->r.status / 100 == 1) { /* 100 Continue and friends */
			s->rs = R_STATUS;
			return PC_PROBE_MORE;
		}
		if (s->r.status == 204 || s->r.status == 304)
			return response_end(s, ctx);
		if (s->r.chunked) {
			s->rs = R_CHUNK_SIZE;
		} else if (s->r.content_length >= 0) {
			s->remaining = (unsigned long long)s->r.content_length;
			s->rs = R_BODY_LEN;
			if (s->remaining == 0)
				return response_end(s, ctx);
		} else {
			s->rs = R_BODY_EOF;
		}
		return PC_PROBE_MORE;
	case R_CHUNK_SIZE: {
		char *end;
		unsigned long long n = strtoull(line, &end, 16);
		if (end == line)
			return response_end(s, ctx); /* malformed: keep what we have */
		if (n == 0) {
			s->rs = R_TRAILER;
			return PC_PROBE_MORE;
		}
		s->remaining = n;
		s->rs = R_CHUNK_DATA;
		return PC_PROBE_MORE;
	}
	case R_CHUNK_CRLF:
		s->rs = R_CHUNK_SIZE;
		return PC_PROBE_MORE;
	case R_TRAILER:
		if (line[0] == '\0')
			return response_end(s, ctx);
		return PC_PROBE_MORE;
	default:
		return PC_PROBE_MORE;
	}
}

static enum pc_probe_verdict http_feed(void *state, struct pc_probe_ctx *ctx, const uint8_t *data,
				       size_t len)
{
	struct http_state *s = state;
	static const char magic[] = "HTTP/";
	size_t i = 0;
	while (i < len) {
		if (s->rs == R_DONE)
			return PC_PROBE_MORE; /* bytes after the response: ignore */
		if (s->rs == R_BODY_LEN || s->rs == R_CHUNK_DATA || s->rs == R_BODY_EOF) {
			size_t n = len - i;
			if (s->rs != R_BODY_EOF && n > s->remaining)
				n = (size_t)s->remaining;
			body_add(s, data + i, n);
			i += n;
			if (s->rs != R_BODY_EOF)
				s->remaining -= n;
			if (s->r.truncated)
				return response_end(s, ctx); /* enough of this body */
			if (s->rs == R_BODY_LEN && s->remaining == 0)
				return response_end(s, ctx);
			if (s->rs == R_CHUNK_DATA && s->remaining == 0)
				s->rs = R_CHUNK_CRLF;
			continue;
		}
		uint8_t c = data[i++];
		/* the status line must start with "HTTP/": fail at the first byte
		 * that says otherwise */
		if (s->rs == R_STATUS && s->line_len < 5 && c != (uint8_t)magic[s->line_len])
			return s->got_any ? response_end(s, ctx) : PC_PROBE_NOMATCH;
		if (c == '\n') {
			if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
				s->line_len--;
			s->line[s->line_len] = '\0';
			s->line_len = 0;
			s->line_long = false;
			enum pc_probe_verdict v = on_line(s, ctx, s->line);
			if (v != PC_PROBE_MORE)
				return v;
			continue;
		}
		if (s->line_len + 1 < sizeof(s->line))
			s->line[s->line_len++] = (char)(c ? c : ' ');
		else if (s->rs == R_STATUS)
			return PC_PROBE_NOMATCH;
		else
			s->line_long = true; /* keep the head, drop the rest */
	}
	return PC_PROBE_MORE;
}

static enum pc_probe_verdict http_done(void *state, struct pc_probe_ctx *ctx, bool eof)
{
	struct http_state *s = state;
	if (s->rs == R_BODY_EOF || ((s->rs == R_BODY_LEN || s->rs == R_CHUNK_DATA ||
				      s->rs == R_CHUNK_SIZE || s->rs == R_CHUNK_CRLF ||
				      s->rs == R_TRAILER || s->rs == R_HEADERS) &&
				     s->r.status > 0))
		return response_end(s, ctx);
	(void)eof;
	if (s->got_any) {
		/* a later path timed out or was cut: conclude with what we have */
		conclude(s, ctx);
		return PC_PROBE_MATCH;
	}
	return PC_PROBE_NOMATCH;
}

const struct pc_probe_ops pc_probe_http = {
	.name = "http",
	.flags = PC_PROBE_F_TLS,
	.ports = http_ports,
	.state_size = sizeof(struct http_state),
	.start = http_start,
	.feed = http_feed,
	.done = http_done,
};
