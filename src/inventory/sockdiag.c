/*
 * sockdiag.c - inet_diag dumps over NETLINK_SOCK_DIAG, and their parser.
 *
 * One request per (family, protocol) with the wanted states as a bit mask,
 * so the kernel filters and we copy only what we keep. The reply is a
 * stream of netlink messages split over several recv() calls (the kernel
 * fills at most ~32 KiB per call); a message never straddles two calls, so
 * each buffer is parsed on its own.
 *
 * Nothing in a reply is trusted: every nlmsg_len and rta_len is checked
 * against what is left of the buffer, short payloads are errors, buffers
 * read with MSG_TRUNC set are errors, and the whole dump has a byte cap and
 * a receive timeout (the loop shared with the other readers, netlink.c). Headers are copied out with memcpy because a fuzzer (or
 * a captured file) need not hand us aligned bytes.
 */
#include "inventory/sockdiag.h"

#include "core/error.h"
#include "inventory/netlink.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>


static int parse_attrs(const unsigned char *p, size_t len, uint8_t *protocol)
{
	while (len >= sizeof(struct rtattr)) {
		struct rtattr rta;
		memcpy(&rta, p, sizeof(rta));
		if (rta.rta_len < sizeof(rta) || rta.rta_len > len)
			return PC_EPARSE;
		if (rta.rta_type == INET_DIAG_PROTOCOL && rta.rta_len >= sizeof(rta) + 1)
			*protocol = p[sizeof(rta)];
		size_t step = RTA_ALIGN(rta.rta_len);
		if (step >= len)
			return 0;
		p += step;
		len -= step;
	}
	/* a few bytes of padding may follow the last attribute */
	return 0;
}

static int parse_diag(const unsigned char *p, size_t len, uint8_t protocol, pc_sock_rec_fn fn,
		      void *ctx, struct pc_sockdiag_status *st)
{
	struct inet_diag_msg m;
	if (len < sizeof(m))
		return PC_EPARSE;
	memcpy(&m, p, sizeof(m));
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return PC_EPARSE;
	size_t off = NLMSG_ALIGN(sizeof(m));
	uint8_t attr_proto = protocol;
	if (off < len) {
		int r = parse_attrs(p + off, len - off, &attr_proto);
		if (r < 0)
			return r;
	}
	/* UDP-Lite sockets answer UDP dumps on some kernels; they are not UDP */
	if (attr_proto != protocol)
		return 0;
	struct pc_sock_rec rec = {
		.family = m.idiag_family,
		.protocol = protocol,
		.state = m.idiag_state,
		.local_port = ntohs(m.id.idiag_sport),
		.remote_port = ntohs(m.id.idiag_dport),
		.uid = m.idiag_uid,
		.inode = m.idiag_inode,
	};
	size_t alen = m.idiag_family == AF_INET ? 4 : 16;
	rec.local.family = rec.remote.family = m.idiag_family;
	memcpy(rec.local.bytes, m.id.idiag_src, alen);
	memcpy(rec.remote.bytes, m.id.idiag_dst, alen);
	st->records++;
	return fn(ctx, &rec);
}

int pc_sockdiag_parse(const void *buf, size_t len, uint32_t seq, uint8_t protocol,
		      pc_sock_rec_fn fn, void *ctx, struct pc_sockdiag_status *st)
{
	const unsigned char *p = buf;
	while (len > 0) {
		struct nlmsghdr h;
		if (len < sizeof(h))
			return PC_EPARSE;
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
			return PC_EPARSE;
		const unsigned char *payload = p + NLMSG_HDRLEN;
		size_t plen = h.nlmsg_len - NLMSG_HDRLEN;
		if (h.nlmsg_seq == seq) {
			if (h.nlmsg_flags & NLM_F_DUMP_INTR)
				st->interrupted = true;
			int err;
			switch (h.nlmsg_type) {
			case NLMSG_DONE:
				st->done = true;
				/* since 4.x the kernel may put the dump's error here */
				if (plen >= sizeof(err)) {
					memcpy(&err, payload, sizeof(err));
					if (err < 0)
						return err >= -4095 ? err : PC_EPARSE;
				}
				return 0;
			case NLMSG_ERROR:
				if (plen < sizeof(err))
					return PC_EPARSE;
				memcpy(&err, payload, sizeof(err));
				if (err == 0) /* an ack */
					break;
				return err < 0 && err >= -4095 ? err : PC_EPARSE;
			case NLMSG_OVERRUN:
				return PC_EIO;
			case SOCK_DIAG_BY_FAMILY:
			case TCPDIAG_GETSOCK: {
				int r = parse_diag(payload, plen, protocol, fn, ctx, st);
				if (r != 0)
					return r;
				break;
			}
			default: /* NLMSG_NOOP and anything newer */
				break;
			}
		}
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

int pc_sockdiag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	return fd >= 0 ? fd : -errno;
}

/* One buffer of the dump, for the shared loop (netlink.c). */
struct dump {
	uint32_t seq;
	uint8_t protocol;
	pc_sock_rec_fn fn;
	void *ctx;
	struct pc_sockdiag_status st;
};

static int parse_buf(void *ctx, const void *buf, size_t len, bool *done)
{
	struct dump *d = ctx;
	int r = pc_sockdiag_parse(buf, len, d->seq, d->protocol, d->fn, d->ctx, &d->st);
	*done = d->st.done;
	return r;
}

int pc_sockdiag_dump(int fd, uint8_t family, uint8_t protocol, uint32_t states,
		     pc_sock_rec_fn fn, void *ctx)
{
	uint32_t seq = pc_nl_next_seq();
	union {
		struct {
			struct nlmsghdr h;
			struct inet_diag_req_v2 r;
		} v2;
		struct {
			struct nlmsghdr h;
			struct inet_diag_req r;
		} compat;
	} req;
	size_t reqlen;
	memset(&req, 0, sizeof(req));
	if (family == AF_UNSPEC) {
		/* TCPDIAG_GETSOCK is the one request that asks for both
		 * families at once: the kernel walks its (host-wide) socket
		 * hash once instead of twice */
		if (protocol != IPPROTO_TCP)
			return -EINVAL;
		reqlen = sizeof(req.compat);
		req.compat.h.nlmsg_type = TCPDIAG_GETSOCK;
		req.compat.r.idiag_states = states;
	} else {
		reqlen = sizeof(req.v2);
		req.v2.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
		req.v2.r.sdiag_family = family;
		req.v2.r.sdiag_protocol = protocol;
		req.v2.r.idiag_states = states;
	}
	req.v2.h.nlmsg_len = (uint32_t)reqlen;
	req.v2.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.v2.h.nlmsg_seq = seq;
	struct dump d = {.seq = seq, .protocol = protocol, .fn = fn, .ctx = ctx};
	int r = pc_nl_dump(fd, &req, reqlen, parse_buf, &d);
	struct pc_sockdiag_status st = d.st;
	if (r == 0 && st.interrupted)
		return PC_SOCKDIAG_INTERRUPTED;
	return r;
}
