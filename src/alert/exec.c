/*
 * exec.c - alerts handed to a program: argv, no shell, JSON on stdin.
 *
 * The program is started with execve() on an argv the user gave word by
 * word, so nothing in an alert or a configuration is ever interpreted by a
 * shell; argv[0] must be an absolute path (portcensus runs as root from
 * cron, where PATH is whatever cron says). The child gets the alert's JSON
 * object (alert.h) and a newline on stdin, then EOF; its stdout and stderr
 * share one pipe of which we keep the first output_cap bytes (4 KiB by
 * default) for the error message and drain the rest, so a chatty child can
 * neither block on a full pipe nor make us grow without bound. The whole
 * run has a deadline (10 s by default): at the deadline the child's
 * process group is killed. The child runs in its own process group for
 * that reason, with stdin, stdout and stderr only (every other fd of ours
 * is O_CLOEXEC). A non-zero exit is an error naming the status and quoting
 * the child's output through the terminal sanitizer.
 *
 * The child does not inherit our environment, which may hold a webhook
 * secret (PORTCENSUS_WEBHOOK_SECRET) or whatever cron or systemd put there:
 * it gets PATH=/usr/sbin:/usr/bin:/sbin:/bin, our LANG, LC_ALL and TZ when
 * set, and PORTCENSUS_ALERT_KIND / PORTCENSUS_ALERT_SEVERITY for scripts
 * that only want to branch on those.
 *
 * SIGPIPE: a child that exits without reading its stdin would kill us with
 * SIGPIPE on write. Library code must not change the process's signal
 * dispositions, so the write happens with SIGPIPE blocked in this thread
 * and a pending SIGPIPE that we caused is consumed before unblocking.
 */
#include "alert/alert.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_OUTPUT_CAP 4096
#define MAX_ARGS 64
#define BODY_CAP (256 * 1024)

struct exec_state {
	char **argv;
	int timeout_ms;
	size_t output_cap;
	char *output; /* the last run's kept output, NUL-terminated */
	size_t output_len;
};

static void free_argv(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static void exec_close(void *state)
{
	struct exec_state *s = state;
	if (!s)
		return;
	free_argv(s->argv);
	free(s->output);
	free(s);
}

static int exec_open(void **ret_state, const struct pc_alert_config *cfg, struct pc_error *err)
{
	if (!cfg->argv || !cfg->argv[0])
		return pc_error_set(err, PC_EINVAL, "exec sink needs a program");
	if (cfg->argv[0][0] != '/')
		return pc_error_set(err, PC_EINVAL, "exec sink program must be an absolute path");
	size_t n = 0;
	while (cfg->argv[n])
		n++;
	if (n > MAX_ARGS)
		return pc_error_set(err, PC_EINVAL, "exec sink: more than %d arguments", MAX_ARGS);
	struct exec_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	s->output_cap = cfg->output_cap > 0 ? cfg->output_cap : DEFAULT_OUTPUT_CAP;
	s->argv = calloc(n + 1, sizeof(char *));
	s->output = malloc(s->output_cap + 1);
	if (!s->argv || !s->output)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (!(s->argv[i] = strdup(cfg->argv[i])))
			goto nomem;
	s->output[0] = '\0';
	*ret_state = s;
	return 0;
nomem:
	exec_close(s);
	return pc_error_set(err, PC_ENOMEM, "out of memory");
}

#define ENV_MAX 8

/* The child's environment (see the top of the file), built before fork. */
static void build_env(const struct pc_alert *a, char store[][160], char **envp)
{
	size_t n = 0;
	snprintf(store[n], 160, "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	envp[n] = store[n];
	n++;
	static const char *const pass[] = {"LANG", "LC_ALL", "TZ"};
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		const char *v = getenv(pass[i]);
		if (!v)
			continue;
		int len = snprintf(store[n], 160, "%s=%s", pass[i], v);
		if (len > 0 && len < 160) {
			envp[n] = store[n];
			n++;
		}
	}
	snprintf(store[n], 160, "PORTCENSUS_ALERT_KIND=%s", pc_alert_kind_name(a->kind));
	envp[n] = store[n];
	n++;
	snprintf(store[n], 160, "PORTCENSUS_ALERT_SEVERITY=%s", pc_severity_name(a->severity));
	envp[n] = store[n];
	n++;
	envp[n] = NULL;
}

/* In the child, after fork: only async-signal-safe calls. */
static void child(char **argv, char **envp, int in_fd, int out_fd)
{
	setpgid(0, 0);
	if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(out_fd, STDERR_FILENO) < 0)
		_exit(126);
	/* signals blocked by the parent thread must not stay blocked in the
	 * program we start */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(argv[0], argv, envp);
	_exit(127);
}

static int remaining_ms(double deadline)
{
	double left = deadline - pc_monotonic_ms();
	return left <= 0 ? 0 : (int)left + 1;
}

/*
 * Feed body to in_fd and collect out_fd until the child closes its output
 * or the deadline passes. Returns 0 or PC_ETIMEOUT.
 */
static int pump(struct exec_state *s, int *in_fdp, int out_fd, const char *body, size_t len,
		double deadline)
{
	size_t off = 0;
	int in_fd = *in_fdp;
	s->output_len = 0;
	for (;;) {
		struct pollfd p[2];
		int n = 0, out_i = -1, in_i = -1;
		if (out_fd >= 0) {
			p[n] = (struct pollfd){.fd = out_fd, .events = POLLIN};
			out_i = n++;
		}
		if (in_fd >= 0) {
			p[n] = (struct pollfd){.fd = in_fd, .events = POLLOUT};
			in_i = n++;
		}
		if (n == 0)
			return 0;
		int wait = remaining_ms(deadline);
		if (wait == 0)
			return PC_ETIMEOUT;
		int r = poll(p, (nfds_t)n, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return PC_ETIMEOUT;
		if (in_i >= 0 && p[in_i].revents) {
			ssize_t w = write(in_fd, body + off, len - off);
			if (w > 0)
				off += (size_t)w;
			/* EPIPE: the child does not want its stdin; that is its call */
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == len) {
				close(in_fd);
				in_fd = *in_fdp = -1;
			}
		}
		if (out_i >= 0 && p[out_i].revents) {
			char buf[4096];
			ssize_t rd = read(out_fd, buf, sizeof(buf));
			if (rd < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (rd <= 0) {
				out_fd = -1; /* closed by the caller */
				continue;
			}
			size_t keep = s->output_cap - s->output_len;
			if (keep > (size_t)rd)
				keep = (size_t)rd;
			memcpy(s->output + s->output_len, buf, keep);
			s->output_len += keep;
		}
	}
}

static int exec_send(void *state, const struct pc_alert *a, struct pc_error *err)
{
	struct exec_state *s = state;
	struct pc_buf body;
	pc_buf_init(&body, BODY_CAP);
	int rc = pc_alert_to_json(a, &body);
	if (!rc)
		rc = pc_buf_addch(&body, '\n');
	if (rc) {
		pc_buf_free(&body);
		return pc_error_set(err, rc, "alert too large for the exec sink");
	}
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) != 0) {
		rc = -errno;
		pc_buf_free(&body);
		return pc_error_set(err, rc, "exec sink: pipe: %s", strerror(-rc));
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		rc = -errno;
		close(in[0]);
		close(in[1]);
		pc_buf_free(&body);
		return pc_error_set(err, rc, "exec sink: pipe: %s", strerror(-rc));
	}
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);

	char env_store[ENV_MAX][160];
	char *envp[ENV_MAX + 1];
	build_env(a, env_store, envp);
	double deadline = pc_monotonic_ms() + s->timeout_ms;
	pid_t pid = fork();
	if (pid == 0)
		child(s->argv, envp, in[0], out[1]);
	int fork_errno = errno;
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pc_buf_free(&body);
		return pc_error_set(err, -fork_errno, "exec sink: fork: %s", strerror(fork_errno));
	}
	/* Also from here, so the group exists before we might kill it. */
	setpgid(pid, pid);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	int in_w = in[1];
	rc = pump(s, &in_w, out[0], body.data, body.len, deadline);
	close(out[0]);
	if (in_w >= 0) /* pump closes it once the body is written */
		close(in_w);
	s->output[s->output_len] = '\0';

	int status = 0;
	bool killed = false;
	for (;;) {
		if (!killed && (rc == PC_ETIMEOUT || remaining_ms(deadline) == 0)) {
			rc = PC_ETIMEOUT;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = true;
		}
		pid_t w = waitpid(pid, &status, killed ? 0 : WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			status = 0;
			break;
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	/* Consume a SIGPIPE our write raised before the mask is lifted. */
	struct timespec zero = {0, 0};
	while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pc_buf_free(&body);

	char shown[512];
	pc_text_sanitize(s->output, shown, sizeof(shown));
	if (rc == PC_ETIMEOUT) {
		kill(-pid, SIGKILL); /* what the child left behind in its group */
		return pc_error_set(err, PC_ETIMEOUT, "exec sink: %s killed after %d ms", s->argv[0],
				    s->timeout_ms);
	}
	if (rc)
		return pc_error_set(err, rc, "exec sink: %s: %s", s->argv[0], pc_strerror(rc));
	if (WIFSIGNALED(status))
		return pc_error_set(err, PC_EIO, "exec sink: %s killed by signal %d: %s", s->argv[0],
				    WTERMSIG(status), shown);
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return pc_error_set(err, PC_EIO, "exec sink: %s exited with %d: %s", s->argv[0],
				    WEXITSTATUS(status), shown);
	return 0;
}

const struct pc_alert_ops pc_alert_exec = {
	.name = "exec",
	.description = "run a program (argv, no shell) with the alert's JSON on stdin",
	.open = exec_open,
	.send = exec_send,
	.close = exec_close,
};
