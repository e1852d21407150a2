/*
 * syn_tx.c - the SYN engine's sender: raw IPv4/IPv6 sockets (IPPROTO_RAW),
 * probes built into a batch of BATCH packets and sent with one sendmmsg per
 * socket; on-link IPv4 hosts we resolved ourselves get their SYN as an
 * Ethernet frame to their MAC on the packet socket instead.
 *
 * Why raw IP sockets rather than hand-built Ethernet frames on AF_PACKET:
 * the kernel then routes each packet, picks the interface and resolves the
 * next hop's MAC itself (ARP/NDP, with its own queue while it resolves), so
 * there is no second copy of the route and neighbour tables to get wrong;
 * only the source address is asked of the kernel (route.c). On this machine
 * the raw path reaches the same rate as AF_PACKET (docs/bench-scan.md): the
 * target's kernel, not the send path, is the limit. The one exception is
 * large on-link IPv4 sweeps, which the kernel's neighbour table cannot hold
 * (syn_arp.c).
 *
 * A failed send is a lost probe, not an error: its deadline retries it and
 * silence means filtered. Only faults of our own (a bad descriptor, no
 * memory) end the scan.
 */
#include "scan/syn_int.h"
#include "scan/pace.h"
#include "scan/sources.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int pc_syn_open_tx(int family, int *ret_fd, struct pc_error *err)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		int e = -errno;
		if (e == -EAFNOSUPPORT && family == AF_INET6) {
			*ret_fd = -1; /* no IPv6 on this host: IPv6 probes fail later */
			return 0;
		}
		if (e == -EPERM || e == -EACCES)
			return pc_error_set(err, PC_EPERM,
					    "SYN scan needs CAP_NET_RAW (run as root or use --connect)");
		return pc_error_set(err, e, "cannot open a raw socket: %s", strerror(-e));
	}
	int sz = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	*ret_fd = fd;
	return 0;
}

static int flush_family(struct syn_worker *s, struct pc_scan_stats *st, int family,
			struct mmsghdr *msgs, unsigned n)
{
	int fd = family == AF_INET ? s->tx4 : family == AF_INET6 ? s->tx6 : s->rx;
	unsigned off = 0;
	while (off < n) {
		int r = sendmmsg(fd, msgs + off, n - off, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN) {
				/* a full queue: the probe counts as sent and
				 * lost; its deadline brings the retry, and the
				 * adaptive pace slows down */
				struct pc_pace *pace = pc_scan_ctx_pace(s->eng->ctx);
				if (pace)
					pc_pace_signal(pace, NULL, PC_PACE_SIG_SENDBUF,
						       pc_probeloop_now_us());
				off++;
				continue;
			}
			if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT ||
			    errno == ENOMEM)
				return -errno; /* our own fault: stop */
			/* no route now, a local firewall (EPERM), an address
			 * the kernel refuses (EINVAL: e.g. link-local without
			 * a scope), a device gone: this packet is lost, its
			 * deadline retries it and silence means filtered; one
			 * bad target must not end the whole scan */
			off++;
			continue;
		}
		off += (unsigned)r;
	}
	__atomic_fetch_add(&st->sent, n, __ATOMIC_RELAXED);
	return 0;
}

/* Send the batch: IPv4 and IPv6 packets go to their own sockets. */
int pc_syn_flush(struct syn_worker *s, struct pc_scan_stats *st)
{
	struct mmsghdr v4[BATCH], v6[BATCH], ll[BATCH];
	unsigned n4 = 0, n6 = 0, nl = 0;
	for (unsigned i = 0; i < s->loop.n_batch; i++) {
		if (s->fam[i] == AF_INET)
			v4[n4++] = s->msg[i];
		else if (s->fam[i] == AF_INET6)
			v6[n6++] = s->msg[i];
		else
			ll[nl++] = s->msg[i];
	}
	s->loop.n_batch = 0;
	int ret = 0;
	if (n4)
		ret = flush_family(s, st, AF_INET, v4, n4);
	if (!ret && n6)
		ret = flush_family(s, st, AF_INET6, v6, n6);
	if (!ret && nl)
		ret = flush_family(s, st, AF_PACKET, ll, nl);
	return ret;
}

/* Build a probe into the batch: PC_QUEUED_SENT; PC_QUEUED_WAIT while its
 * on-link host is being resolved (the loop looks again soon);
 * PC_QUEUED_FAIL when it cannot be sent (no route, no IPv6 socket, host
 * down): the loop reports it. */
enum pc_queued pc_syn_queue_probe(struct syn_worker *s, const struct pc_addr *dst, uint16_t dport,
				  uint64_t now)
{
	struct pc_route rt;
	if ((dst->family == AF_INET6 && s->tx6 < 0) ||
	    pc_route_lookup(s->routes, dst, &rt) < 0) {
		/* the snapshot is not ours to touch from a worker: keep
		 * the first few and warn after the run */
		struct syn_engine *e = s->eng;
		pthread_mutex_lock(&e->lock);
		if (e->n_noroute < WARN_NOROUTE_MAX)
			e->noroute[e->n_noroute++] = *dst;
		pthread_mutex_unlock(&e->lock);
		return PC_QUEUED_FAIL;
	}
	uint8_t our_mac[6];
	struct neigh *ne = NULL;
	if (dst->family == AF_INET && rt.gateway.family == 0 && rt.oif > 0 &&
	    pc_route_link_mac(s->routes, rt.oif, our_mac) == 0) {
		ne = pc_syn_neigh_find(s, dst); /* NULL: not tracked, the kernel resolves it */
		if (ne && ne->state == NEIGH_FAILED)
			return PC_QUEUED_FAIL;
		if (ne && ne->state == NEIGH_RESOLVING) {
			if (now >= ne->next_arp_us) {
				if (ne->arp_tries >= s->arp_tries_max) {
					ne->state = NEIGH_FAILED;
					return PC_QUEUED_FAIL;
				}
				pc_syn_send_arp(s, rt.oif, our_mac, &rt.src, dst);
				ne->arp_tries++;
				ne->next_arp_us = now + s->arp_interval_us;
			}
			return PC_QUEUED_WAIT;
		}
	}
	unsigned i = s->loop.n_batch;
	struct pc_syn_spec sp;
	memset(&sp, 0, sizeof(sp));
	/* --source-ip: the next of our addresses (the cookie covers it, and
	 * the capture sees replies to any of them) */
	const struct pc_scan_opts *o = pc_scan_ctx_opts(s->eng->ctx);
	const struct pc_addr *src =
		pc_scan_sources_pick(o->sources, o->n_sources, dst->family, s->n_queued++);
	if (src)
		rt.src = *src;
	sp.src = rt.src;
	sp.dst = *dst;
	/* spread over the port block by target, so one flow never
	 * carries every probe */
	uint32_t h = pc_cookie_make(&s->key, dst, dport, dst, 0);
	sp.sport = (uint16_t)(s->sport_lo + (h % SPORT_COUNT));
	sp.dport = dport;
	sp.seq = pc_cookie_make(&s->key, dst, dport, &rt.src, sp.sport);
	sp.ip_id = (uint16_t)(h >> 16);
	size_t n = pc_packet_build_syn(s->pkt[i], sizeof(s->pkt[i]), &sp);
	if (!n)
		return PC_QUEUED_FAIL;
	size_t sl;
	if (ne) {
		/* an on-link host we resolved: a frame to its MAC */
		struct sockaddr_ll *sll = (struct sockaddr_ll *)&s->dst[i];
		memset(sll, 0, sizeof(*sll));
		sll->sll_family = AF_PACKET;
		sll->sll_protocol = htons(ETH_P_IP);
		sll->sll_ifindex = rt.oif;
		sll->sll_halen = 6;
		memcpy(sll->sll_addr, ne->mac, 6);
		sl = sizeof(*sll);
	} else {
		sl = pc_addr_to_sockaddr(dst, 0, &s->dst[i]);
	}
	s->iov[i].iov_base = s->pkt[i];
	s->iov[i].iov_len = n;
	memset(&s->msg[i], 0, sizeof(s->msg[i]));
	s->msg[i].msg_hdr.msg_name = &s->dst[i];
	s->msg[i].msg_hdr.msg_namelen = (socklen_t)sl;
	s->msg[i].msg_hdr.msg_iov = &s->iov[i];
	s->msg[i].msg_hdr.msg_iovlen = 1;
	s->fam[i] = ne ? AF_PACKET : dst->family;
	s->loop.n_batch++;
	return PC_QUEUED_SENT;
}
