/*
 * syn_rx.c - the SYN engine's receiver: one AF_PACKET socket per sender
 * behind a classic BPF filter, read in batches with recvmmsg, each packet
 * classified (ARP answer, SYN-ACK, RST, ICMP unreachable) and validated
 * statelessly with the SYN cookie before it settles a probe.
 *
 * Why AF_PACKET for receiving: one socket sees TCP and ICMP for IPv4 and
 * IPv6, a classic BPF program keeps everything but replies to our source
 * port range (and ICMP errors, and ARP) in the kernel, and
 * PACKET_STATISTICS counts what the socket dropped, so capture drops are
 * reported, not silent. The same socket also sends the frames that bypass
 * the kernel's neighbour table (syn_tx.c, syn_arp.c), which is why it gets
 * a large send buffer too.
 */
#include "scan/syn_int.h"
#include "scan/pace.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/*
 * Classic BPF over the network header (SOCK_DGRAM): accept, unless it is a
 * packet we send, ARP (answers to our requests for on-link hosts),
 * IPv4/IPv6 TCP to our port range (first fragment only) or an ICMP/ICMPv6
 * destination-unreachable; cut it to SNAPLEN bytes.
 */
static int attach_filter(int fd, uint16_t lo, uint16_t hi)
{
	struct sock_filter code[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 28, 0),
		/* 2 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 25, 0),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 13),
		/* IPv4 */
		/* 5 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 2, 0),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMP, 7, 0),
		/* 8 */ BPF_STMT(BPF_RET | BPF_K, 0),
		/* 9 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
		/* 10 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 19, 0),
		/* 11 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		/* 12 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 16),
		/* 14 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, hi, 15, 14),
		/* ICMP */
		/* 15 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		/* 16 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),
		/* 17 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 3, 11, 12),
		/* 18: not IPv4 */
		/* 18 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 11),
		/* 19 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
		/* 20 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 2, 0),
		/* 21 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMPV6, 4, 0),
		/* 22 */ BPF_STMT(BPF_RET | BPF_K, 0),
		/* 23 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 42),
		/* 24 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 5),
		/* 25 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, hi, 4, 3),
		/* 26 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 40),
		/* 27 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 2),
		/* 28 */ BPF_STMT(BPF_RET | BPF_K, 0),
		/* 29: accept */
		/* 29 */ BPF_STMT(BPF_RET | BPF_K, SNAPLEN),
		/* 30: reject */
		/* 30 */ BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

int pc_syn_open_rx(struct syn_worker *s, struct pc_error *err)
{
	/* protocol 0: receives nothing until bound, so no packet slips in
	 * before the filter is attached */
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		int e = -errno;
		if (e == -EPERM || e == -EACCES)
			return pc_error_set(err, PC_EPERM,
					    "SYN scan needs CAP_NET_RAW (run as root or use --connect)");
		return pc_error_set(err, e, "cannot open a packet socket: %s", strerror(-e));
	}
	s->rx = fd;
	int ret = attach_filter(fd, s->sport_lo, (uint16_t)(s->sport_lo + SPORT_COUNT - 1));
	if (ret < 0)
		return pc_error_set(err, ret, "cannot attach the capture filter: %s", strerror(-ret));
	int sz = RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* it also sends (ARP requests, SYN frames to on-link hosts), and a
	 * frame can stay charged to the socket until it is consumed (over
	 * veth: by the peer's softirq, from the per-CPU backlog); on a loaded
	 * host the default 208 KiB could fill and a send fail with EAGAIN
	 * (not seen here, but cheap to rule out): as much room as the raw IP
	 * sockets have */
	sz = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = 0; /* every interface: the route decides which one */
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = -errno;
		return pc_error_set(err, e, "cannot bind the packet socket: %s", strerror(-e));
	}
	/* start the drop counter from zero */
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);
	(void)getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	return 0;
}

void pc_syn_count_drops(struct syn_worker *s, struct pc_scan_stats *st)
{
	struct tpacket_stats ts;
	socklen_t sl = sizeof(ts);
	if (getsockopt(s->rx, SOL_PACKET, PACKET_STATISTICS, &ts, &sl) == 0) {
		__atomic_fetch_add(&st->capture_drops, ts.tp_drops, __ATOMIC_RELAXED);
		/* replies lost on our side: sending faster only loses more */
		struct pc_pace *pace = pc_scan_ctx_pace(s->eng->ctx);
		if (ts.tp_drops && pace)
			pc_pace_signal(pace, NULL, PC_PACE_SIG_CAPTURE, pc_probeloop_now_us());
	}
}

static void handle_reply(struct pc_scan_ctx *ctx, struct syn_worker *s, const uint8_t *p, size_t n,
			 uint64_t now)
{
	struct pc_reply r;
	if (pc_packet_parse_reply(p, n, &r) < 0 || r.proto != IPPROTO_TCP)
		return;
	if (r.local_port < s->sport_lo || r.local_port >= s->sport_lo + SPORT_COUNT)
		return;
	if (!pc_cookie_check(&s->key, &r.remote, r.remote_port, &r.local, r.local_port, r.ack))
		return;
	struct pc_scan_stats *st = pc_scan_ctx_stats(ctx);
	__atomic_fetch_add(&st->replies, 1, __ATOMIC_RELAXED);
	struct pc_inflight_entry *e = pc_inflight_find(s->loop.inflight, &r.remote, r.remote_port);
	if (!e || e->done)
		return; /* a duplicate, or later than its deadline */
	switch (r.kind) {
	case PC_REPLY_SYNACK:
		pc_probeloop_report(&s->loop, e, PC_STATE_OPEN, now);
		break;
	case PC_REPLY_RST:
		pc_probeloop_report(&s->loop, e, PC_STATE_CLOSED, now);
		break;
	case PC_REPLY_UNREACH:
		/* as nmap: an unreachable of any code means a filter */
		pc_probeloop_report(&s->loop, e, PC_STATE_FILTERED, now);
		break;
	}
}

/* Read what the capture holds; returns how many packets were read. */
unsigned pc_syn_drain_rx(struct pc_scan_ctx *ctx, struct syn_worker *s)
{
	unsigned total = 0;
	for (int round = 0; round < 64; round++) {
		for (unsigned i = 0; i < BATCH; i++) {
			s->riov[i].iov_base = s->rbuf[i];
			s->riov[i].iov_len = SNAPLEN;
			memset(&s->rmsg[i].msg_hdr, 0, sizeof(s->rmsg[i].msg_hdr));
			s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
			s->rmsg[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(s->rx, s->rmsg, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		uint64_t now = pc_probeloop_now_us();
		for (int i = 0; i < n; i++) {
			size_t len = s->rmsg[i].msg_len;
			if (len > SNAPLEN)
				len = SNAPLEN;
			/* ARP starts with hardware type 0x0001, IP with its
			 * version nibble: the first byte tells them apart */
			if (len && s->rbuf[i][0] >> 4 == 0)
				pc_syn_handle_arp(s, s->rbuf[i], len);
			else
				handle_reply(ctx, s, s->rbuf[i], len, now);
		}
		total += (unsigned)n;
		if (n < BATCH)
			break;
	}
	return total;
}
