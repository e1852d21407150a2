/*
 * udp.c - the UDP scan engine: a protocol payload (udp_payloads.h) or an
 * empty datagram to each (address, port); a UDP answer means open, an
 * ICMP/ICMPv6 port-unreachable closed, another unreachable filtered, and
 * silence after every retry open|filtered.
 *
 * Why ordinary UDP sockets and not raw ones: with IP_RECVERR the kernel
 * hands an unconnected socket every ICMP error about a datagram it sent,
 * together with that datagram's destination (the quoted address and port),
 * on the socket's error queue. Replies reach the socket only when they are
 * addressed to its own port, so the kernel already does the validation a
 * cookie does for SYN; no privilege is needed, and nothing is captured.
 *
 * Unanswered probes are tracked by the same loop as SYN probes
 * (probeloop.h, over the in-flight ring of inflight.h): O(rate x timeout)
 * memory, retries for silence, and the same per-host cap (--host-inflight)
 * with parked probes; this file only sends datagrams and reads answers.
 *
 * "closed" depends on the target's ICMP rate limit: Linux sends at most
 * about one destination-unreachable per second to one peer after a burst
 * of six (net.ipv4.icmp_ratelimit, icmp_msgs_per_sec), and other systems
 * have similar limits. A closed port whose ICMP error was suppressed
 * looks silent, so open|filtered may include closed ports when many ports
 * of one host are probed quickly; the run says so in a warning when a host
 * sent at least a full burst of port-unreachables and left other ports
 * silent (a per-host tally, bounded at 32,768 hosts). Under the adaptive
 * pace that pattern is a signal (cb_unanswered): the host's path drops to
 * its ICMP budget (pace.c) and a silent probe there gets another try once
 * it is paced to it (probeloop.c), so closed sets are exact; --source-ip
 * (set_source) multiplies the budget by the number of our addresses.
 * Under a fixed --rate, retries spaced by --timeout recover some, and the
 * warning stays.
 */
#include "scan/pace.h"
#include "scan/probeloop.h"
#include "scan/scan.h"
#include "scan/sources.h"
#include "scan/syn.h"
#include "scan/udp_payloads.h"

#include <errno.h>
#include <time.h> /* before errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH PC_PROBELOOP_BATCH
#define RBUF 2048
#define HOSTS_MAX (1u << 16) /* hosts tracked for the rate-limit warning */
#define ICMP_BURST 6         /* Linux's per-peer burst of ICMP errors */

/* Per host: how many probes came back closed and how many stayed silent.
 * A host that sent a full burst of port-unreachables and left other ports
 * silent has probably been rate-limiting, not filtering. */
struct host_count {
	struct pc_addr addr; /* family 0: empty */
	uint32_t closed, silent;
};

struct udp_state {
	int fd[2]; /* IPv4, IPv6 */
	struct pc_scan_ctx *ctx;
	/* ring, park, per-host cap, the batch count: the shared loop */
	struct pc_probeloop loop;
	struct host_count *hosts; /* open addressing, HOSTS_MAX slots */
	size_t n_hosts;
	bool hosts_full;
	/* send batch */
	struct sockaddr_storage dst[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	int fam[BATCH];
	/* --source-ip: each datagram's source, as IP(V6)_PKTINFO */
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} src_cmsg[BATCH];
	uint64_t n_queued; /* rotates the source addresses */
	uint8_t rbuf[RBUF];
	union {
		struct cmsghdr align; /* CMSG_* walk it as cmsghdrs */
		uint8_t buf[512];
	} cbuf;
};

static int open_socket(int family, int *ret_fd, struct pc_error *err)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		int e = -errno;
		if (family == AF_INET6 && e == -EAFNOSUPPORT) {
			*ret_fd = -1;
			return 0;
		}
		return pc_error_set(err, e, "cannot open a UDP socket: %s", strerror(-e));
	}
	int one = 1, ret = 0;
	if (family == AF_INET) {
		ret = setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	} else {
		ret = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (ret == 0)
			ret = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	}
	if (ret < 0) {
		int e = -errno;
		close(fd);
		return pc_error_set(err, e, "cannot ask for ICMP errors on a UDP socket: %s",
				    strerror(-e));
	}
	int sz = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* bound to an ephemeral port now, so the first error has a home */
	struct sockaddr_storage ss;
	struct pc_addr any;
	memset(&any, 0, sizeof(any));
	any.family = (uint8_t)family;
	size_t sl = pc_addr_to_sockaddr(&any, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
		int e = -errno;
		close(fd);
		return pc_error_set(err, e, "cannot bind a UDP socket: %s", strerror(-e));
	}
	*ret_fd = fd;
	return 0;
}

static void udp_release(void *state)
{
	struct udp_state *s = state;
	if (!s)
		return;
	for (int i = 0; i < 2; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	pc_probeloop_release(&s->loop);
	free(s->hosts);
	free(s);
}

static int udp_prepare(struct pc_scan_ctx *ctx, void **ret_state, struct pc_error *err)
{
	(void)ctx;
	struct udp_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	s->fd[0] = s->fd[1] = -1;
	int ret = open_socket(AF_INET, &s->fd[0], err);
	if (ret == 0)
		ret = open_socket(AF_INET6, &s->fd[1], err);
	if (ret < 0) {
		udp_release(s);
		return ret;
	}
	*ret_state = s;
	return 0;
}

static size_t host_slot(const struct pc_addr *a)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ a->family;
	for (size_t i = 0; i < (a->family == AF_INET6 ? 16u : 4u); i++)
		h = (h ^ a->bytes[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 32)) & (HOSTS_MAX - 1);
}

/* a's record, or the empty slot where it would go */
static struct host_count *host_lookup(const struct udp_state *s, const struct pc_addr *a)
{
	size_t i = host_slot(a);
	while (s->hosts[i].addr.family && !pc_addr_equal(&s->hosts[i].addr, a))
		i = (i + 1) & (HOSTS_MAX - 1);
	return &s->hosts[i];
}

static const struct host_count *find_host(const struct udp_state *s, const struct pc_addr *a)
{
	if (!s->hosts)
		return NULL;
	const struct host_count *h = host_lookup(s, a);
	return h->addr.family ? h : NULL;
}

static void count_host(struct udp_state *s, const struct pc_addr *a, bool closed)
{
	if (!s->hosts)
		return;
	struct host_count *h = host_lookup(s, a);
	if (!h->addr.family) {
		if (s->n_hosts >= HOSTS_MAX / 2) {
			s->hosts_full = true; /* keep probe chains short */
			return;
		}
		h->addr = *a;
		s->n_hosts++;
	}
	if (closed)
		h->closed++;
	else
		h->silent++;
}

/* Hosts that look rate-limited; ret_first gets one of them. */
static uint64_t limited_hosts(const struct udp_state *s, struct pc_addr *ret_first)
{
	uint64_t n = 0;
	for (size_t i = 0; s->hosts && i < HOSTS_MAX; i++) {
		const struct host_count *h = &s->hosts[i];
		if (h->addr.family && h->closed >= ICMP_BURST && h->silent > 0) {
			if (n++ == 0)
				*ret_first = h->addr;
		}
	}
	return n;
}

static void settle(struct pc_scan_ctx *ctx, struct udp_state *s, const struct sockaddr_storage *from,
		   enum pc_state state, uint64_t now)
{
	struct pc_addr a;
	uint16_t port;
	if (pc_addr_from_sockaddr(from, &a, &port) < 0)
		return;
	struct pc_inflight_entry *e = pc_inflight_find(s->loop.inflight, &a, port);
	if (!e || e->done)
		return;
	pc_scan_ctx_stats(ctx)->replies++;
	pc_probeloop_report(&s->loop, e, state, now);
}

/* Datagrams: a reply from (address, port) we probed means open. */
static void drain_data(struct pc_scan_ctx *ctx, struct udp_state *s, int fd)
{
	for (int i = 0; i < 4096; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue; /* a pending ICMP error reported as errno: see errqueue */
		}
		settle(ctx, s, &from, PC_STATE_OPEN, pc_probeloop_now_us());
	}
}

/* ICMP errors about our datagrams: msg_name holds the probe's destination. */
static void drain_errors(struct pc_scan_ctx *ctx, struct udp_state *s, int fd)
{
	for (int i = 0; i < 4096; i++) {
		struct sockaddr_storage dst;
		struct iovec iov = {.iov_base = s->rbuf, .iov_len = sizeof(s->rbuf)};
		struct msghdr mh;
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &dst;
		mh.msg_namelen = sizeof(dst);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = s->cbuf.buf;
		mh.msg_controllen = sizeof(s->cbuf.buf);
		ssize_t n = recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
			bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
			if (!v4 && !v6)
				continue;
			if (c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err)))
				continue;
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			enum pc_state st;
			if (v4 && ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == ICMP_DEST_UNREACH)
				st = ee.ee_code == ICMP_PORT_UNREACH ? PC_STATE_CLOSED : PC_STATE_FILTERED;
			else if (v6 && ee.ee_origin == SO_EE_ORIGIN_ICMP6 &&
				 ee.ee_type == ICMP6_DST_UNREACH)
				st = ee.ee_code == ICMP6_DST_UNREACH_NOPORT ? PC_STATE_CLOSED
									    : PC_STATE_FILTERED;
			else
				continue; /* time exceeded, too big, local errors: not a verdict */
			if (mh.msg_namelen < sizeof(struct sockaddr_in))
				continue;
			settle(ctx, s, &dst, st, pc_probeloop_now_us());
		}
	}
}

static void drain(struct pc_scan_ctx *ctx, struct udp_state *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->fd[i] < 0)
			continue;
		drain_errors(ctx, s, s->fd[i]);
		drain_data(ctx, s, s->fd[i]);
	}
}

static int send_family(struct udp_state *s, struct pc_scan_stats *st, int fi,
		       struct mmsghdr *msgs, unsigned n)
{
	unsigned off = 0, again = 0;
	while (off < n) {
		int r = sendmmsg(s->fd[fi], msgs + off, n - off, 0);
		if (r >= 0) {
			off += (unsigned)r;
			again = 0;
			continue;
		}
		switch (errno) {
		case EINTR:
			continue;
		case ECONNREFUSED:
		case EHOSTUNREACH:
		case ENETUNREACH:
		case EHOSTDOWN:
			/* an earlier ICMP error surfacing on this send (it is
			 * on the error queue too): the datagram was not sent;
			 * try it once more */
			if (++again <= 2)
				continue;
			off++;
			again = 0;
			continue;
		case EBADF:
		case ENOTSOCK:
		case EFAULT:
		case ENOMEM:
			return -errno; /* our own fault: stop */
		case ENOBUFS:
		case EAGAIN:
			/* our send queue is full: slow down; the deadline
			 * retries this one */
			if (pc_scan_ctx_pace(s->ctx))
				pc_pace_signal(pc_scan_ctx_pace(s->ctx), NULL, PC_PACE_SIG_SENDBUF,
					       pc_probeloop_now_us());
			off++;
			continue;
		default:
			/* lost or refused locally (ENOBUFS, EPERM from a local
			 * firewall, EINVAL for an address the kernel refuses,
			 * ...): its deadline retries it; one bad target must
			 * not end the whole scan */
			off++;
			continue;
		}
	}
	st->sent += n;
	return 0;
}

static int flush(struct udp_state *s, struct pc_scan_stats *st)
{
	struct mmsghdr m[2][BATCH];
	unsigned k[2] = {0, 0};
	for (unsigned i = 0; i < s->loop.n_batch; i++) {
		int fi = s->fam[i] == AF_INET ? 0 : 1;
		m[fi][k[fi]++] = s->msg[i];
	}
	s->loop.n_batch = 0;
	for (int fi = 0; fi < 2; fi++) {
		if (!k[fi])
			continue;
		int ret = send_family(s, st, fi, m[fi], k[fi]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* With --source-ip, message i leaves from the next of our addresses of
 * its family: the kernel sends it from there (the socket is bound to the
 * wildcard, so the ICMP errors and answers to any of them reach it). */
static void set_source(struct udp_state *s, unsigned i, int family)
{
	const struct pc_scan_opts *o = pc_scan_ctx_opts(s->ctx);
	const struct pc_addr *src =
		pc_scan_sources_pick(o->sources, o->n_sources, family, s->n_queued++);
	if (!src)
		return;
	struct msghdr *mh = &s->msg[i].msg_hdr;
	memset(&s->src_cmsg[i], 0, sizeof(s->src_cmsg[i]));
	mh->msg_control = s->src_cmsg[i].buf;
	struct cmsghdr *c = (struct cmsghdr *)s->src_cmsg[i].buf;
	struct in_pktinfo pi4 = {0};
	struct in6_pktinfo pi6 = {0};
	memcpy(&pi4.ipi_spec_dst, src->bytes, 4);
	memcpy(&pi6.ipi6_addr, src->bytes, 16);
	bool v4 = family == AF_INET;
	size_t len = v4 ? sizeof(pi4) : sizeof(pi6);
	c->cmsg_level = v4 ? IPPROTO_IP : IPPROTO_IPV6;
	c->cmsg_type = v4 ? IP_PKTINFO : IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), v4 ? (const void *)&pi4 : (const void *)&pi6, len);
	mh->msg_controllen = CMSG_SPACE(len);
}

static bool queue_probe(struct udp_state *s, const struct pc_addr *dst, uint16_t port)
{
	int fi = dst->family == AF_INET ? 0 : 1;
	if (s->fd[fi] < 0)
		return false;
	unsigned i = s->loop.n_batch;
	const struct pc_udp_payload *p = pc_udp_payload_for(port);
	size_t sl = pc_addr_to_sockaddr(dst, port, &s->dst[i]);
	if (!sl)
		return false;
	/* payloads are const; sendmsg does not write through iov_base */
	s->iov[i].iov_base = p ? (void *)(uintptr_t)p->data : NULL;
	s->iov[i].iov_len = p ? p->len : 0;
	memset(&s->msg[i], 0, sizeof(s->msg[i]));
	s->msg[i].msg_hdr.msg_name = &s->dst[i];
	s->msg[i].msg_hdr.msg_namelen = (socklen_t)sl;
	s->msg[i].msg_hdr.msg_iov = &s->iov[i];
	s->msg[i].msg_hdr.msg_iovlen = 1;
	set_source(s, i, dst->family);
	s->fam[i] = dst->family;
	s->loop.n_batch++;
	return true;
}

/* ---- the loop's callbacks (probeloop.h) ---- */

static void cb_drain(void *eng)
{
	struct udp_state *s = eng;
	drain(s->ctx, s);
}

static enum pc_queued cb_queue(void *eng, const struct pc_addr *addr, uint16_t port, uint64_t now)
{
	(void)now;
	return queue_probe(eng, addr, port) ? PC_QUEUED_SENT : PC_QUEUED_FAIL;
}

static int cb_flush(void *eng)
{
	struct udp_state *s = eng;
	return flush(s, pc_scan_ctx_stats(s->ctx));
}

/* closed and silent ports per host, for the rate-limit warning */
static void cb_verdict(void *eng, const struct pc_addr *addr, enum pc_state state)
{
	if (state == PC_STATE_CLOSED || state == PC_STATE_OPEN_FILTERED)
		count_host(eng, addr, state == PC_STATE_CLOSED);
}

/* A try went unanswered at a host that did answer port-unreachable: the
 * mark of an ICMP rate limit (the closed port's error was suppressed), so
 * its path slows down to what the target lets through. */
static void cb_unanswered(void *eng, const struct pc_addr *addr, uint64_t now)
{
	struct udp_state *s = eng;
	struct pc_pace *pace = pc_scan_ctx_pace(s->ctx);
	if (!pace)
		return;
	const struct host_count *h = find_host(s, addr);
	if (h && h->closed > 0)
		pc_pace_signal(pace, addr, PC_PACE_SIG_ICMP, now);
}

static const struct pc_probeloop_ops udp_loop_ops = {
	.drain = cb_drain,
	.queue = cb_queue,
	.flush = cb_flush,
	.verdict = cb_verdict,
	.unanswered = cb_unanswered,
};

static int udp_run(struct pc_scan_ctx *ctx, void *state, struct pc_error *err)
{
	struct udp_state *s = state;
	struct pc_probeloop *l = &s->loop;
	s->ctx = ctx;
	l->ops = &udp_loop_ops;
	l->eng = s;
	l->proto = PC_PROTO_UDP;
	l->silent_state = PC_STATE_OPEN_FILTERED;
	l->n_senders = 1;
	/* POLLERR comes with the error queue whatever the events */
	l->wait_fds[0] = (struct pollfd){.fd = s->fd[0], .events = POLLIN};
	l->wait_fds[1] = (struct pollfd){.fd = s->fd[1], .events = POLLIN};
	l->n_wait_fds = 2;
	int ret = pc_probeloop_init(l, ctx, err);
	if (ret < 0)
		return ret;
	s->hosts = calloc(HOSTS_MAX, sizeof(*s->hosts));
	if (!s->hosts)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	ret = pc_probeloop_run(l, err);
	if (ret < 0)
		return ret;
	struct pc_addr first;
	uint64_t n = limited_hosts(s, &first);
	if (n) {
		char a[PC_ADDR_STRLEN];
		pc_snapshot_warn(pc_scan_ctx_snapshot(ctx),
				 "udp: %llu host(s) (e.g. %s) sent a burst of port-unreachables and "
				 "left other ports silent; targets rate-limit ICMP errors (Linux: "
				 "about 1/s per peer), so some open|filtered ports there may be "
				 "closed (scan fewer ports per host per second)",
				 (unsigned long long)n, pc_addr_format(&first, a, sizeof(a)));
	}
	if (s->hosts_full)
		pc_snapshot_warn(pc_scan_ctx_snapshot(ctx),
				 "udp: too many hosts to check each for ICMP rate limiting; "
				 "open|filtered may include closed ports");
	return 0;
}

const struct pc_scan_engine_ops pc_scan_engine_udp = {
	.name = "udp",
	.proto = PC_PROTO_UDP,
	.needs_raw = false,
	.prepare = udp_prepare,
	.run = udp_run,
	.release = udp_release,
};
