/*
 * engine_conn.c - the sockets of the probe engine: open, send, close.
 *
 * Every connection is non-blocking and registered in the engine's epoll set
 * with the job as its data. A socket comes from the caller's factory when
 * there is one (host records are dialled from inside their own network
 * namespace) and is always O_CLOEXEC. Bytes to send go through one pending
 * buffer per job, so that a peer that does not read cannot block the loop:
 * what send() does not take waits for EPOLLOUT. In TLS mode the pending
 * buffer holds ciphertext drained from the SSL object's write BIO.
 */
#include "probe/engine.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

void pc_probe_conn_watch(struct engine *e, struct job *j, uint32_t events, bool add)
{
	struct epoll_event ev = { .events = events, .data.ptr = j };
	epoll_ctl(e->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, j->fd, &ev);
}

void pc_probe_conn_close(struct engine *e, struct job *j)
{
	if (j->fd >= 0) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, j->fd, NULL);
		close(j->fd);
	}
	j->fd = -1;
	if (j->ssl)
		SSL_free(j->ssl);
	j->ssl = NULL;
	j->conn = CONN_NONE;
	j->pending_len = j->pending_off = 0;
	j->clean = false;
}

static int make_socket(struct engine *e, struct job *j, int type)
{
	int domain = j->addr.family == AF_INET6 ? AF_INET6 : AF_INET;
	struct pc_endpoint *ep = &e->snap->endpoints[j->ep_index];
	int fd;
	if (e->o.make_socket)
		fd = e->o.make_socket(e->o.socket_ctx, ep, domain, type | SOCK_CLOEXEC, 0);
	else
		fd = socket(domain, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd < -1 ? fd : -errno;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int pc_probe_conn_open(struct engine *e, struct job *j)
{
	struct sockaddr_storage ss;
	pc_probe_conn_close(e, j);
	size_t sl = pc_addr_to_sockaddr(&j->addr, j->port, &ss);
	if (sl == 0)
		return PC_EINVAL;
	int fd = make_socket(e, j, j->udp ? SOCK_DGRAM : SOCK_STREAM);
	if (fd < 0)
		return fd;
	j->fd = fd;
	if (!j->udp) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0 && errno != EINPROGRESS) {
		int r = -errno;
		close(fd);
		j->fd = -1;
		return r;
	}
	j->conn = j->udp ? CONN_READY : CONN_CONNECTING;
	j->connect_ms = pc_monotonic_ms();
	j->clean = true;
	j->got_first_cipher = false;
	pc_probe_conn_watch(e, j, j->udp ? EPOLLIN : EPOLLOUT, true);
	return 0;
}

/* Push pending bytes; 0, or negative errno when the connection broke. */
int pc_probe_conn_flush(struct engine *e, struct job *j)
{
	if (j->ssl) {
		/* move ciphertext from the write BIO to pending */
		BIO *w = SSL_get_wbio(j->ssl);
		char buf[4096];
		int n;
		while ((n = BIO_read(w, buf, sizeof(buf))) > 0) {
			uint8_t *p = realloc(j->pending, j->pending_len + (size_t)n);
			if (!p)
				return PC_ENOMEM;
			j->pending = p;
			memcpy(j->pending + j->pending_len, buf, (size_t)n);
			j->pending_len += (size_t)n;
		}
	}
	while (j->pending_off < j->pending_len) {
		ssize_t n = send(j->fd, j->pending + j->pending_off,
				 j->pending_len - j->pending_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				pc_probe_conn_watch(e, j, EPOLLIN | EPOLLOUT, false);
				return 0;
			}
			return -errno;
		}
		j->pending_off += (size_t)n;
	}
	j->pending_len = j->pending_off = 0;
	pc_probe_conn_watch(e, j, EPOLLIN, false);
	return 0;
}

/* Queue application bytes (through TLS when on). */
int pc_probe_conn_send(struct engine *e, struct job *j, const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	j->clean = false;
	if (j->ssl) {
		int n = SSL_write(j->ssl, data, (int)len);
		if (n <= 0)
			return PC_EIO;
	} else {
		uint8_t *p = realloc(j->pending, j->pending_len + len);
		if (!p)
			return PC_ENOMEM;
		j->pending = p;
		memcpy(j->pending + j->pending_len, data, len);
		j->pending_len += len;
	}
	return pc_probe_conn_flush(e, j);
}
