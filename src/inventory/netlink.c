/*
 * netlink.c - the dump loop and walkers of netlink.h.
 *
 * Headers are copied out with memcpy because a fuzzer (or a captured file)
 * need not hand us aligned bytes.
 */
#include "inventory/netlink.h"

#include "core/error.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define RECV_BUF_SIZE (256 * 1024)
/* 1 GiB of replies is far more than any ruleset or socket table we read,
 * and a bound on a kernel (or test double) that never stops */
#define DUMP_MAX_BYTES ((size_t)1 << 30)
#define RECV_TIMEOUT_S 5

int pc_nla_next(const uint8_t **p, size_t *len, uint16_t *type, const uint8_t **data, size_t *dlen)
{
	if (*len < NLA_HDRLEN)
		return 0;
	struct nlattr a;
	memcpy(&a, *p, sizeof(a));
	if (a.nla_len < NLA_HDRLEN || a.nla_len > *len)
		return PC_EPARSE;
	*type = a.nla_type & NLA_TYPE_MASK;
	*data = *p + NLA_HDRLEN;
	*dlen = a.nla_len - NLA_HDRLEN;
	size_t step = NLA_ALIGN(a.nla_len);
	if (step >= *len) {
		*p += *len;
		*len = 0;
	} else {
		*p += step;
		*len -= step;
	}
	return 1;
}

int pc_nl_next(struct pc_nl_walk *w, const unsigned char **ret_payload, size_t *ret_len)
{
	while (w->len > 0) {
		struct nlmsghdr h;
		if (w->len < sizeof(h))
			return PC_EPARSE;
		memcpy(&h, w->p, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > w->len)
			return PC_EPARSE;
		const unsigned char *payload = w->p + NLMSG_HDRLEN;
		size_t plen = h.nlmsg_len - NLMSG_HDRLEN;
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= w->len) {
			w->p += w->len;
			w->len = 0;
		} else {
			w->p += step;
			w->len -= step;
		}
		if (h.nlmsg_seq != w->seq)
			continue;
		if (h.nlmsg_flags & NLM_F_DUMP_INTR)
			w->st->interrupted = true;
		int err;
		if (h.nlmsg_type == NLMSG_DONE) {
			w->st->done = true;
			w->len = 0;
			if (plen >= sizeof(err)) {
				memcpy(&err, payload, sizeof(err));
				if (err < 0)
					return err >= -4095 ? err : PC_EPARSE;
			}
			return 0;
		}
		if (h.nlmsg_type == NLMSG_ERROR) {
			if (plen < sizeof(err))
				return PC_EPARSE;
			memcpy(&err, payload, sizeof(err));
			if (err != 0)
				return err < 0 && err >= -4095 ? err : PC_EPARSE;
			continue;
		}
		if (h.nlmsg_type == NLMSG_OVERRUN)
			return PC_EIO;
		if (h.nlmsg_type == w->type) {
			*ret_payload = payload;
			*ret_len = plen;
			return 1;
		}
	}
	return 0;
}

uint32_t pc_nl_next_seq(void)
{
	static _Thread_local uint32_t seq = 0x6e660000; /* "nf" */
	return ++seq;
}

int pc_nl_dump(int fd, const void *req, size_t reqlen,
               int (*parse)(void *ctx, const void *buf, size_t len, bool *done), void *ctx)
{
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return -errno;
	/* a big ruleset arrives faster with a bigger receive queue; not
	 * fatal when refused */
	int rcv = 1 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n;
	do
		n = sendto(fd, req, reqlen, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != reqlen)
		return PC_EIO;
	unsigned char *buf = malloc(RECV_BUF_SIZE);
	if (!buf)
		return PC_ENOMEM;
	size_t total = 0;
	bool done = false;
	int r = 0;
	while (!done) {
		struct iovec iov = {.iov_base = buf, .iov_len = RECV_BUF_SIZE};
		struct sockaddr_nl from;
		struct msghdr msg = {
		    .msg_name = &from,
		    .msg_namelen = sizeof(from),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		n = recvmsg(fd, &msg, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN || errno == EWOULDBLOCK ? PC_ETIMEOUT : -errno;
			break;
		}
		if (n == 0) {
			r = PC_EIO;
			break;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			r = PC_EPARSE;
			break;
		}
		/* only the kernel (port 0) answers dumps */
		if (msg.msg_namelen >= sizeof(from) && from.nl_pid != 0)
			continue;
		total += (size_t)n;
		if (total > DUMP_MAX_BYTES) {
			r = PC_ETOOBIG;
			break;
		}
		r = parse(ctx, buf, (size_t)n, &done);
		if (r != 0)
			break;
	}
	free(buf);
	return r;
}
