/*
 * ssh_auth.c - SSH authentication evidence with libssh.
 *
 * The passive banner probe (ssh.c) knows an endpoint speaks SSH, but
 * whether it lets anyone in takes a key exchange. After the engine's main
 * loop, this step opens one new connection to every endpoint named "ssh",
 * lets libssh complete the key exchange, sends one "none" authentication
 * request as PC_SSH_AUTH_USER and records:
 *   - auth "none" when the request succeeds, "required" otherwise;
 *   - the methods the server offers (its USERAUTH_FAILURE list, as libssh
 *     parsed it: publickey, password, keyboard-interactive, hostbased,
 *     gssapi-with-mic; names libssh does not know are dropped);
 *   - the host key's type and SHA256 fingerprint (ssh-keygen's form).
 * Then it disconnects. It never sends a password nor offers a key.
 *
 * Why after the loop, and one endpoint at a time: the engine is a
 * non-blocking epoll state machine, libssh is simplest used blocking on its
 * own socket with a timeout. Few endpoints of a real network are SSH, and a
 * real sshd answers in milliseconds; what must be bounded is a hostile one.
 * So each exchange (connect, key exchange, the none request) has the probe
 * timeout, and at most PC_SSH_AUTH_MAX_PER_HOST endpoints per host and
 * PC_SSH_AUTH_MAX_PER_RUN per run are checked: a run spends at most
 * 64 x 3 x timeout here, and a tarpit answering SSH on every port costs four
 * endpoints' worth (a real host rarely runs more than two sshd). Those
 * beyond a cap keep auth unknown, with one warning.
 *
 * libssh parses the server's bytes (version line, KEXINIT, key exchange,
 * host key blob, auth replies): that is why this step runs where the probes
 * run, in the confined worker when there is one. The socket comes from the
 * engine's socket seam (opts->make_socket), so host records are dialled
 * from inside their network namespace. libssh is told not to read any
 * configuration file (no ~/.ssh/config, no known_hosts: we record the key,
 * we do not judge it) and is given a user name, so that it has no reason to
 * look up the local user either.
 */
#include "probe/ssh_auth.h"

#include "core/text.h"
#include "probe/engine.h" /* pc_probe_sched_addr, _ns: the host of an endpoint */

#include <libssh/libssh.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct {
	unsigned bit;
	const char *name;
} method_names[PC_SSH_AUTH_MAX_METHODS] = {
    {SSH_AUTH_METHOD_PUBLICKEY, "publickey"},
    {SSH_AUTH_METHOD_PASSWORD, "password"},
    {SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive"},
    {SSH_AUTH_METHOD_HOSTBASED, "hostbased"},
    {SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic"},
    {SSH_AUTH_METHOD_NONE, "none"},
};

size_t pc_probe_ssh_auth_names(unsigned methods, const char **ret_names, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < PC_SSH_AUTH_MAX_METHODS && n < max; i++)
		if (methods & method_names[i].bit)
			ret_names[n++] = method_names[i].name;
	return n;
}

int pc_probe_ssh_auth_apply(struct pc_snapshot *snap, struct pc_service *s,
			    const struct pc_ssh_auth_outcome *o)
{
	const char *names[PC_SSH_AUTH_MAX_METHODS];
	/* a success has no list of methods that can continue */
	size_t n =
	    o->none_ok ? 0 : pc_probe_ssh_auth_names(o->methods, names, PC_SSH_AUTH_MAX_METHODS);
	const char **methods = NULL;
	struct pc_ssh_info *info = NULL;
	char list[128] = "", line[320];

	if (n) {
		methods = pc_arena_alloc(&snap->arena, n * sizeof(*methods));
		if (!methods)
			return PC_ENOMEM;
		size_t off = 0;
		for (size_t i = 0; i < n; i++) {
			methods[i] = names[i]; /* static strings */
			int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? "," : "",
					 names[i]);
			if (w > 0 && (size_t)w < sizeof(list) - off)
				off += (size_t)w;
		}
	}
	if (o->hostkey_type[0] || o->fingerprint[0]) {
		info = pc_arena_alloc(&snap->arena, sizeof(*info));
		if (!info)
			return PC_ENOMEM;
		info->hostkey_type = pc_snapshot_strdup(snap, o->hostkey_type);
		info->hostkey_fingerprint = pc_snapshot_strdup(snap, o->fingerprint);
		if (!info->hostkey_type || !info->hostkey_fingerprint)
			return PC_ENOMEM;
	}
	if (o->none_ok)
		snprintf(line, sizeof(line),
			 "ssh: server accepts the none method (no password, no key)");
	else if (n)
		snprintf(line, sizeof(line), "ssh: server offers %s", list);
	else
		snprintf(line, sizeof(line),
			 "ssh: server refuses none and offers no method we know");
	if (info) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof(line) - l, "; host key %s %s", o->hostkey_type,
			 o->fingerprint);
	}
	const char *evidence = pc_snapshot_strdup(snap, line);
	if (!evidence)
		return PC_ENOMEM;
	s->auth = o->none_ok ? PC_AUTH_NONE : PC_AUTH_REQUIRED;
	s->auth_methods = methods;
	s->n_auth_methods = n;
	s->ssh_info = info;
	s->evidence = evidence;
	return 0;
}

/* libssh's global init (its crypto backend), once. It opens no file (the
 * strace of the confined worker shows none), so it may come after the
 * worker's seccomp filter. */
static int ssh_auth_init(void)
{
	static bool done;
	if (done)
		return 0;
	if (ssh_init() != SSH_OK)
		return PC_EIO;
	done = true;
	return 0;
}

/* ---- one endpoint ---------------------------------------------------- */

/* A connected socket to addr:port (the engine's seam for host records), or
 * a negative errno / PC_ETIMEOUT. */
static int dial(const struct pc_probe_run_opts *o, const struct pc_endpoint *ep,
		const struct pc_addr *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	size_t sl = pc_addr_to_sockaddr(addr, port, &ss);
	if (sl == 0)
		return PC_EINVAL;
	int domain = ss.ss_family, fd;
	if (o->make_socket)
		fd = o->make_socket(o->socket_ctx, ep, domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
	else
		fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd < -1 ? fd : -errno;
	int fl = fcntl(fd, F_GETFL), r = 0;
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
		if (errno != EINPROGRESS) {
			r = -errno;
			goto fail;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int n;
		do
			n = poll(&p, 1, (int)o->timeout_ms);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			r = n == 0 ? PC_ETIMEOUT : -errno;
			goto fail;
		}
		int soerr = 0;
		socklen_t el = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr) {
			r = soerr ? -soerr : -errno;
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return r;
}

/* libssh's last error, printable and short (it may quote the server's
 * disconnect message). */
static void session_error(ssh_session ss, char *buf, size_t size)
{
	const char *m = ssh_get_error(ss);
	pc_text_sanitize(m && *m ? m : "libssh error", buf, size);
}

static int host_key(ssh_session ss, struct pc_ssh_auth_outcome *out)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;
	int r = -1;
	if (ssh_get_server_publickey(ss, &key) != SSH_OK)
		return -1;
	const char *type = ssh_key_type_to_char(ssh_key_type(key));
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) != 0)
		goto out;
	fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	if (!fp)
		goto out;
	snprintf(out->hostkey_type, sizeof(out->hostkey_type), "%s", type ? type : "unknown");
	snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", fp);
	r = 0;
out:
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(key);
	return r;
}

static void set_timeout(ssh_session ss, double ms)
{
	long sec = (long)(ms / 1000), usec = (long)((ms - (double)sec * 1000) * 1000);
	if (sec == 0 && usec == 0)
		usec = 1000;
	ssh_options_set(ss, SSH_OPTIONS_TIMEOUT, &sec);
	ssh_options_set(ss, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

/* Check one endpoint: 0 with *out filled, or -1 with why[] filled. */
static int check_one(const struct pc_probe_run_opts *o, const struct pc_endpoint *ep,
		     struct pc_ssh_auth_outcome *out, char *why, size_t whysize)
{
	struct pc_addr addr;
	char host[64];
	int fd, r = -1;
	bool no = false;
	memset(out, 0, sizeof(*out));
	pc_probe_sched_addr(ep, &addr);
	pc_addr_format(&addr, host, sizeof(host));
	fd = dial(o, ep, &addr, ep->port);
	if (fd < 0) {
		snprintf(why, whysize, "connect: %s",
			 fd == PC_ETIMEOUT ? "timeout"
			 : fd > -1000      ? strerror(-fd)
					   : "failed");
		return -1;
	}
	ssh_session ss = ssh_new();
	if (!ss) {
		close(fd);
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	int log = SSH_LOG_NOLOG;
	if (ssh_options_set(ss, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(ss, SSH_OPTIONS_LOG_VERBOSITY, &log) < 0 ||
	    ssh_options_set(ss, SSH_OPTIONS_HOST, host) < 0 ||
	    ssh_options_set(ss, SSH_OPTIONS_USER, PC_SSH_AUTH_USER) < 0 ||
	    /* a directory that does not exist: nothing of ours is read */
	    ssh_options_set(ss, SSH_OPTIONS_SSH_DIR, "/nonexistent") < 0 ||
	    ssh_options_set(ss, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") < 0 ||
	    ssh_options_set(ss, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") < 0 ||
	    ssh_options_set(ss, SSH_OPTIONS_FD, &fd) < 0) {
		session_error(ss, why, whysize);
		ssh_free(ss);
		close(fd);
		return -1;
	}
	/* libssh 0.10 does not close a socket it was handed (SSH_OPTIONS_FD):
	 * we do, after ssh_free (below) */
	set_timeout(ss, o->timeout_ms);
	if (ssh_connect(ss) != SSH_OK) {
		char m[96];
		session_error(ss, m, sizeof(m));
		snprintf(why, whysize, "key exchange: %s", m);
		goto out;
	}
	if (host_key(ss, out) < 0) {
		snprintf(why, whysize, "no host key after the key exchange");
		goto out;
	}
	set_timeout(ss, o->timeout_ms);
	int rc = ssh_userauth_none(ss, NULL);
	if (rc == SSH_AUTH_SUCCESS) {
		out->none_ok = true;
	} else if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) {
		out->methods = (unsigned)ssh_userauth_list(ss, NULL);
	} else {
		char m[96];
		session_error(ss, m, sizeof(m));
		snprintf(why, whysize, "none request: %s", m);
		goto out;
	}
	r = 0;
out:
	ssh_disconnect(ss);
	ssh_free(ss);
	/* one thread: if a libssh that closes it did so, fd is not reused yet */
	if (fcntl(fd, F_GETFD) >= 0)
		close(fd);
	return r;
}

/* ---- the run --------------------------------------------------------- */

struct checked_host {
	uint64_t ns;
	struct pc_addr addr;
	unsigned n;
};

static bool is_ssh(const struct pc_endpoint *ep)
{
	return ep->proto == PC_PROTO_TCP && ep->service && ep->service->name &&
	       strcmp(ep->service->name, "ssh") == 0;
}

int pc_probe_ssh_auth_run(struct pc_snapshot *snap, const struct pc_probe_run_opts *opts,
			  struct pc_error *err)
{
	struct checked_host hosts[PC_SSH_AUTH_MAX_PER_RUN];
	size_t n_hosts = 0, checked = 0, skipped = 0;
	struct pc_probe_run_opts o = *opts;
	if (o.timeout_ms <= 0)
		o.timeout_ms = 2000;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		struct pc_endpoint *ep = &snap->endpoints[i];
		if (!is_ssh(ep))
			continue;
		if (checked == PC_SSH_AUTH_MAX_PER_RUN) {
			skipped++;
			continue;
		}
		struct pc_addr addr;
		uint64_t ns = pc_probe_sched_ns(ep);
		pc_probe_sched_addr(ep, &addr);
		size_t h = 0;
		while (h < n_hosts && !(hosts[h].ns == ns && pc_addr_equal(&hosts[h].addr, &addr)))
			h++;
		if (h == n_hosts)
			hosts[n_hosts++] = (struct checked_host){.ns = ns, .addr = addr};
		if (hosts[h].n == PC_SSH_AUTH_MAX_PER_HOST) {
			skipped++;
			continue;
		}
		hosts[h].n++;
		checked++;
		if (ssh_auth_init() < 0)
			return pc_error_set(err, PC_EIO, "probe: ssh auth: libssh init failed");
		struct pc_ssh_auth_outcome out;
		char why[160] = "";
		if (check_one(&o, ep, &out, why, sizeof(why)) == 0) {
			if (pc_probe_ssh_auth_apply(snap, ep->service, &out) < 0)
				return pc_error_set(err, PC_ENOMEM, "probe: out of memory");
		} else {
			char line[320];
			snprintf(line, sizeof(line), "%s; ssh auth not checked: %s",
				 ep->service->evidence ? ep->service->evidence : "ssh", why);
			const char *ev = pc_snapshot_strdup(snap, line);
			if (!ev)
				return pc_error_set(err, PC_ENOMEM, "probe: out of memory");
			ep->service->evidence = ev;
		}
	}
	if (skipped &&
	    pc_snapshot_warn(
		snap, "ssh auth: %zu SSH endpoint(s) not checked (at most %d per host, %d per run)",
		skipped, PC_SSH_AUTH_MAX_PER_HOST, PC_SSH_AUTH_MAX_PER_RUN) < 0)
		return pc_error_set(err, PC_ENOMEM, "probe: out of memory");
	return 0;
}
