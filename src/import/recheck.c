/*
 * recheck.c - the live half of `verify`: is each port a file claims is open
 * still open, and is it still the service the file said?
 *
 * Step 1, reachability, from the namespace verify runs in: a non-blocking
 * TCP connect per endpoint with its own deadline and at most `parallel` in
 * flight (epoll); a refusal is "closed now", silence or an ICMP unreachable
 * is "filtered now". UDP gets one empty datagram on a connected socket: a
 * reply is open, an ICMP port-unreachable (ECONNREFUSED) is closed, silence
 * is "open|filtered" until a UDP probe gets an answer. Connections are
 * closed with RST (SO_LINGER 0) so a big file leaves no TIME_WAIT behind.
 * audit's reach.c does the same for host listeners inside their own
 * namespaces; this one dials the file's addresses from here and also knows
 * UDP, so the two loops stay separate.
 *
 * Step 2, identification: pc_probe_run over what answered.
 *
 * Step 3, the verdict (pc_import_judge), with the aliasing rules of
 * pc_import_same_service: different tools name the same service differently
 * ("memcache", "ssl/http", "etcd-client"), and a verdict of "different
 * service" must mean the protocol really differs.
 */
#include "import/import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

void pc_recheck_opts_default(struct pc_recheck_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = 1500;
	o->parallel = 64;
	o->probe = true;
	o->probe_opts.timeout_ms = 2000;
	o->probe_opts.parallel = 32;
	o->probe_opts.host_inflight = 4;
}

struct check {
	int fd;
	size_t idx;
	double started;
};

enum outcome { OUT_OPEN, OUT_CLOSED, OUT_FILTERED, OUT_SILENT };

static void close_reset(int fd)
{
	struct linger l = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static const char *errno_text(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timeout";
	case EHOSTUNREACH:
		return "host unreachable";
	case ENETUNREACH:
		return "network unreachable";
	case EACCES:
	case EPERM:
		return "prohibited by a firewall";
	case ECONNRESET:
		return "reset";
	}
	return NULL;
}

static void finish(struct pc_snapshot *snap, struct check *c, enum outcome out, int error)
{
	struct pc_endpoint *ep = &snap->endpoints[c->idx];
	double rtt = pc_monotonic_ms() - c->started;
	ep->verified.done = true;
	ep->verified.reachable = out == OUT_OPEN;
	ep->verified.rtt_ms = out == OUT_OPEN ? rtt : -1;
	switch (out) {
	case OUT_OPEN:
		ep->state = PC_STATE_OPEN;
		ep->rtt_ms = rtt;
		ep->verified.error = NULL;
		break;
	case OUT_CLOSED:
		ep->state = PC_STATE_CLOSED;
		ep->verified.error = ep->proto == PC_PROTO_UDP ? "port unreachable" : "refused";
		break;
	case OUT_SILENT:
		ep->state = PC_STATE_OPEN_FILTERED;
		ep->verified.reachable = false;
		ep->verified.error = "no reply";
		break;
	case OUT_FILTERED: {
		ep->state = PC_STATE_FILTERED;
		const char *t = errno_text(error);
		if (!t) {
			char *s = pc_arena_printf(&snap->arena, "%s", strerror(error));
			t = s ? s : "error";
		}
		ep->verified.error = t;
		break;
	}
	}
	if (c->fd >= 0)
		close_reset(c->fd);
	c->fd = -1;
}

/* A connect to a local address whose port lies in the ephemeral range can
 * connect to itself and look open: that is not a service. */
static bool self_connected(int fd, const struct sockaddr_storage *to)
{
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0)
		return false;
	struct pc_addr a, b;
	uint16_t pa, pb;
	if (pc_addr_from_sockaddr(&me, &a, &pa) < 0 || pc_addr_from_sockaddr(to, &b, &pb) < 0)
		return false;
	return pa == pb && pc_addr_equal(&a, &b);
}

static bool wants_check(const struct pc_endpoint *ep)
{
	return ep->source == PC_SOURCE_IMPORT && ep->state == PC_STATE_OPEN;
}

static int start(struct pc_snapshot *snap, int ep_fd, struct check *c, size_t idx,
		 struct pc_error *err)
{
	struct pc_endpoint *ep = &snap->endpoints[idx];
	struct sockaddr_storage ss;
	size_t sl = pc_addr_to_sockaddr(&ep->addr, ep->port, &ss);
	c->idx = idx;
	c->fd = -1;
	c->started = pc_monotonic_ms();
	if (!sl) {
		finish(snap, c, OUT_FILTERED, EAFNOSUPPORT);
		return 0;
	}
	bool udp = ep->proto == PC_PROTO_UDP;
	int fd = socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
			return pc_error_set(err, -errno, "socket: %s", strerror(errno));
		finish(snap, c, OUT_FILTERED, errno);
		return 0;
	}
	c->fd = fd;
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0 && errno != EINPROGRESS) {
		int e = errno;
		finish(snap, c, e == ECONNREFUSED ? OUT_CLOSED : OUT_FILTERED, e);
		return 0;
	}
	uint32_t events = EPOLLOUT;
	if (udp) {
		/* an empty datagram: harmless to any UDP service, and enough to
		 * draw an ICMP port-unreachable from a closed port */
		if (send(fd, "", 0, 0) < 0) {
			int e = errno;
			finish(snap, c, e == ECONNREFUSED ? OUT_CLOSED : OUT_FILTERED, e);
			return 0;
		}
		events = EPOLLIN;
	}
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(ep_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return pc_error_set(err, -errno, "epoll_ctl: %s", strerror(errno));
	return 0;
}

static void on_ready(struct pc_snapshot *snap, struct check *c, const struct pc_endpoint *ep)
{
	int e = 0;
	socklen_t el = sizeof(e);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
		e = errno;
	if (ep->proto == PC_PROTO_UDP && e == 0) {
		char b[512];
		ssize_t n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
		if (n >= 0)
			finish(snap, c, OUT_OPEN, 0);
		else if (errno == ECONNREFUSED)
			finish(snap, c, OUT_CLOSED, ECONNREFUSED);
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			finish(snap, c, OUT_FILTERED, errno);
		/* else spurious wake-up: keep waiting */
		return;
	}
	if (e == 0) {
		struct sockaddr_storage ss;
		pc_addr_to_sockaddr(&ep->addr, ep->port, &ss);
		if (self_connected(c->fd, &ss))
			finish(snap, c, OUT_CLOSED, ECONNREFUSED);
		else
			finish(snap, c, OUT_OPEN, 0);
		return;
	}
	finish(snap, c, e == ECONNREFUSED ? OUT_CLOSED : OUT_FILTERED, e);
}

static int reach_all(struct pc_snapshot *snap, const struct pc_recheck_opts *o,
		     struct pc_error *err)
{
	unsigned par = o->parallel ? o->parallel : 64;
	double tmo = o->timeout_ms > 0 ? o->timeout_ms : 1500;
	struct check *slots = calloc(par, sizeof(*slots));
	if (!slots)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	for (unsigned i = 0; i < par; i++)
		slots[i].fd = -1;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		free(slots);
		return pc_error_set(err, -errno, "epoll_create1: %s", strerror(errno));
	}
	int r = 0;
	size_t next = 0, n = snap->n_endpoints;
	unsigned inflight = 0;
	for (;;) {
		/* fill free slots */
		for (unsigned i = 0; i < par && next < n && r >= 0; i++) {
			if (slots[i].fd >= 0)
				continue;
			while (next < n && !wants_check(&snap->endpoints[next]))
				next++;
			if (next >= n)
				break;
			r = start(snap, epfd, &slots[i], next++, err);
		}
		if (r < 0)
			break;
		inflight = 0;
		double now = pc_monotonic_ms(), soonest = -1;
		for (unsigned i = 0; i < par; i++) {
			if (slots[i].fd < 0)
				continue;
			double left = slots[i].started + tmo - now;
			if (left <= 0) {
				const struct pc_endpoint *ep = &snap->endpoints[slots[i].idx];
				finish(snap, &slots[i],
				       ep->proto == PC_PROTO_UDP ? OUT_SILENT : OUT_FILTERED,
				       ETIMEDOUT);
				continue;
			}
			inflight++;
			if (soonest < 0 || left < soonest)
				soonest = left;
		}
		if (!inflight) {
			while (next < n && !wants_check(&snap->endpoints[next]))
				next++;
			if (next >= n)
				break;
			continue;
		}
		struct epoll_event evs[64];
		int k = epoll_wait(epfd, evs, 64, (int)soonest + 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = pc_error_set(err, -errno, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < k; i++) {
			struct check *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			on_ready(snap, c, &snap->endpoints[c->idx]);
		}
	}
	for (unsigned i = 0; i < par; i++)
		if (slots[i].fd >= 0)
			close_reset(slots[i].fd);
	close(epfd);
	free(slots);
	return r;
}

/* ---- service names ---- */

struct alias {
	const char *name, *canon;
};

/* Names other tools use, folded to one name per protocol. */
static const struct alias aliases[] = {
	{"www", "http"},          {"www-http", "http"},      {"http-alt", "http"},
	{"http-proxy", "http"},   {"https", "http"},         {"https-alt", "http"},
	{"http-mgmt", "http"},    {"webcache", "http"},      {"memcache", "memcached"},
	{"postgres", "postgresql"}, {"pgsql", "postgresql"}, {"mariadb", "mysql"},
	{"openssh", "ssh"},       {"mosquitto", "mqtt"},     {"secure-mqtt", "mqtt"},
	{"etcd-client", "etcd"},  {"etcd-server", "etcd"},   {"domain", "dns"},
	{"microsoft-ds", "smb"},  {"netbios-ssn", "smb"},    {"cifs", "smb"},
	{"imaps", "imap"},        {"imap4", "imap"},         {"pop3s", "pop3"},
	{"smtps", "smtp"},        {"submission", "smtp"},    {"ftps", "ftp"},
	{"ldaps", "ldap"},        {"amqps", "amqp"},         {"mongod", "mongodb"},
	{"sunrpc", "rpcbind"},    {"ms-wbt-server", "rdp"},  {"ssl", "tls"},
	{"node_exporter", "prometheus"}, {"node-exporter", "prometheus"},
	{"prometheus-node-exporter", "prometheus"}, {"prometheus-metrics", "prometheus"},
	{"metrics", "prometheus"},
	{"redis-server", "redis"}, {"zookeeper", "zookeeper"},
};

/* Services whose wire protocol is HTTP: a file that says "http" is right
 * about them. */
static const char *const over_http[] = {
	"etcd", "docker", "kubernetes", "kubelet", "consul", "elasticsearch", "opensearch",
	"prometheus", "pprof", "spring-boot", "actuator", "admin", "couchdb", "influxdb",
	"grafana", "kibana", "jenkins", "vault", "minio", "rabbitmq-management",
};

/* Names that say "TLS" about the transport (nmap's https, ssl/..., *s). */
static bool claims_tls(const char *s)
{
	if (strncasecmp(s, "ssl/", 4) == 0 || strcasecmp(s, "https") == 0 ||
	    strcasecmp(s, "ssl") == 0 || strcasecmp(s, "tls") == 0)
		return true;
	static const char *const tls_names[] = {"imaps", "pop3s", "smtps", "ftps", "ldaps",
						"amqps", "secure-mqtt", "https-alt"};
	for (size_t i = 0; i < sizeof(tls_names) / sizeof(tls_names[0]); i++)
		if (strcasecmp(s, tls_names[i]) == 0)
			return true;
	return false;
}

static void canon(const char *in, char *out, size_t outlen)
{
	if (strncasecmp(in, "ssl/", 4) == 0)
		in += 4;
	size_t n = 0;
	for (; in[n] && n + 1 < outlen; n++) {
		char ch = in[n];
		out[n] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[n] = '\0';
	/* nmap marks uncertain names with a trailing '?' */
	if (n && out[n - 1] == '?')
		out[--n] = '\0';
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(out, aliases[i].name) == 0) {
			snprintf(out, outlen, "%s", aliases[i].canon);
			return;
		}
	}
}

static bool is_over_http(const char *c)
{
	for (size_t i = 0; i < sizeof(over_http) / sizeof(over_http[0]); i++)
		if (strncmp(c, over_http[i], strlen(over_http[i])) == 0)
			return true;
	return false;
}

bool pc_import_same_service(const char *claimed, const struct pc_service *found)
{
	if (!claimed || !found || !found->name)
		return false;
	if (claims_tls(claimed) && found->tls == PC_TRI_FALSE)
		return false; /* the file promised TLS; there is none now */
	char cl[80], fn[80], fp[80] = "";
	canon(claimed, cl, sizeof(cl));
	canon(found->name, fn, sizeof(fn));
	if (found->product)
		canon(found->product, fp, sizeof(fp));
	if (strcmp(cl, "tls") == 0)
		return found->tls == PC_TRI_TRUE || strcmp(fn, "tls") == 0;
	if (strcmp(cl, fn) == 0 || (fp[0] && strcmp(cl, fp) == 0))
		return true;
	bool cl_http = strcmp(cl, "http") == 0 || is_over_http(cl);
	bool fn_http = strcmp(fn, "http") == 0 || is_over_http(fn);
	/* "http" and an API spoken over HTTP are the same wire protocol, in
	 * either direction (a file may name the API, the probe only HTTP) */
	if (cl_http && fn_http && (strcmp(cl, "http") == 0 || strcmp(fn, "http") == 0))
		return true;
	return false;
}

static const char *describe(struct pc_snapshot *snap, const struct pc_service *s)
{
	const char *d = pc_arena_printf(&snap->arena, "%s%s%s%s%s%s", s->name,
					s->product ? " (" : "", s->product ? s->product : "",
					s->product && s->version ? " " : "",
					s->product && s->version ? s->version : "",
					s->product ? ")" : "");
	return d ? d : s->name;
}

void pc_import_judge(struct pc_snapshot *snap, struct pc_endpoint *ep, bool claim_guessed)
{
	/* a probe engine may name what it could not identify "unknown" */
	const struct pc_service *s = ep->service && ep->service->name &&
						     strcmp(ep->service->name, "unknown") != 0
					     ? ep->service
					     : NULL;
	const char *claim = ep->claimed_service;
	struct pc_arena *a = &snap->arena;
	if (s && ep->state != PC_STATE_OPEN)
		ep->state = PC_STATE_OPEN; /* a UDP probe got an answer */
	switch (ep->state) {
	case PC_STATE_CLOSED:
		ep->recheck = PC_RECHECK_CLOSED;
		ep->recheck_reason = ep->proto == PC_PROTO_UDP ? "port unreachable now"
							      : "connection refused now";
		return;
	case PC_STATE_FILTERED:
		ep->recheck = PC_RECHECK_FILTERED;
		ep->recheck_reason = pc_arena_printf(a, "no connection now: %s",
						     ep->verified.error ? ep->verified.error
									: "no answer");
		return;
	case PC_STATE_OPEN_FILTERED:
		ep->recheck = PC_RECHECK_FILTERED;
		ep->recheck_reason = "no reply to udp probes now (open or filtered)";
		return;
	default:
		break;
	}
	ep->recheck = PC_RECHECK_CONFIRMED;
	if (!claim) {
		ep->recheck_reason = s ? pc_arena_printf(a, "open; it is %s", describe(snap, s))
				       : "open";
		return;
	}
	if (!s) {
		ep->recheck_reason = pc_arena_printf(a, "open; the service did not identify "
							"itself, so \"%s\" is unchecked",
						     claim);
		return;
	}
	if (pc_import_same_service(claim, s)) {
		ep->recheck_reason = pc_arena_printf(a, "open; it is %s", describe(snap, s));
		return;
	}
	if (claim_guessed) {
		ep->recheck_reason = pc_arena_printf(a, "open; file guessed %s from the port "
							"number; it is %s",
						     claim, describe(snap, s));
		return;
	}
	ep->recheck = PC_RECHECK_DIFFERENT;
	bool tls_lost = claims_tls(claim) && s->tls == PC_TRI_FALSE;
	ep->recheck_reason = pc_arena_printf(a, "file says %s; it is %s%s", claim, describe(snap, s),
					     tls_lost ? " without TLS" : "");
}

int pc_import_recheck(struct pc_snapshot *snap, const unsigned char *guessed, size_t n_guessed,
		      const struct pc_recheck_opts *opts, struct pc_error *err)
{
	struct pc_recheck_opts def;
	if (!opts) {
		pc_recheck_opts_default(&def);
		opts = &def;
	}
	/* which endpoints this call judges (the snapshot may hold others) */
	size_t n = snap->n_endpoints;
	unsigned char *mine = calloc(n ? n : 1, 1);
	if (!mine)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		mine[i] = wants_check(&snap->endpoints[i]);
	int r = reach_all(snap, opts, err);
	if (r >= 0 && opts->probe) {
		bool any = false;
		for (size_t i = 0; i < n && !any; i++)
			any = mine[i] && (snap->endpoints[i].state == PC_STATE_OPEN ||
					  snap->endpoints[i].proto == PC_PROTO_UDP);
		if (any)
			r = pc_probe_run(snap, &opts->probe_opts, err);
	}
	if (r >= 0) {
		for (size_t i = 0; i < n; i++) {
			if (!mine[i])
				continue;
			struct pc_endpoint *ep = &snap->endpoints[i];
			pc_import_judge(snap, ep, guessed && i < n_guessed && guessed[i]);
			/* without probes a claim is unchecked because we did not
			 * ask, not because the service kept quiet */
			if (!opts->probe && ep->recheck == PC_RECHECK_CONFIRMED &&
			    ep->claimed_service)
				ep->recheck_reason = pc_arena_printf(
					&snap->arena, "open; not probed, so \"%s\" is unchecked",
					ep->claimed_service);
		}
	}
	free(mine);
	return r;
}
