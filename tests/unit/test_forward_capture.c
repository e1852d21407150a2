/*
 * test_forward_capture.c - not a test: the tool that captured the netlink
 * dumps in tests/unit/data/forward/ (run it in a lab namespace after
 * writing the rules there, e.g. by tests/e2e/forward_capture.sh).
 *
 * usage: test_forward_capture nft|addr FILE
 *
 * It makes the dump with the project's own code (pc_nft_dump, pc_nl_dump)
 * and writes what the kernel sent, exactly: a u32 sequence number, then
 * each recv() buffer as a u32 length and its bytes (host byte order, as
 * netlink itself is). test_forward.c replays the files through the parsers.
 */
#include "inventory/forward.h"
#include "inventory/nft.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct cap {
	FILE *f;
	int err;
};

static void save(void *ctx, const void *buf, size_t len)
{
	struct cap *c = ctx;
	uint32_t n = (uint32_t)len;
	if (fwrite(&n, 4, 1, c->f) != 1 || fwrite(buf, 1, len, c->f) != len)
		c->err = 1;
}

static int ignore_rule(void *ctx, const struct pc_nft_rule *r)
{
	(void)ctx;
	(void)r;
	return 0;
}

struct addr_cap {
	struct cap *cap;
	uint32_t seq;
};

static int ignore_addr(void *ctx, const struct pc_addr *a)
{
	(void)ctx;
	(void)a;
	return 0;
}

static int save_addr(void *ctx, const void *buf, size_t len, bool *done)
{
	struct addr_cap *a = ctx;
	save(a->cap, buf, len);
	return pc_fwd_parse_addrs(buf, len, a->seq, ignore_addr, NULL, done);
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "nft") && strcmp(argv[1], "addr"))) {
		fprintf(stderr, "usage: test_forward_capture nft|addr FILE\n");
		return 2;
	}
	struct cap c = {.f = fopen(argv[2], "wbe")};
	if (!c.f) {
		perror(argv[2]);
		return 3;
	}
	int r;
	if (strcmp(argv[1], "nft") == 0) {
		int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
		if (fd < 0) {
			perror("socket");
			return 3;
		}
		/* the seq pc_nft_dump will use is the next one: write it first */
		uint32_t seq = pc_nl_next_seq() + 1;
		fwrite(&seq, 4, 1, c.f);
		r = pc_nft_dump(fd, ignore_rule, NULL, save, &c);
		close(fd);
	} else {
		int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (fd < 0) {
			perror("socket");
			return 3;
		}
		struct addr_cap a = {.cap = &c, .seq = pc_nl_next_seq()};
		fwrite(&a.seq, 4, 1, c.f);
		struct {
			struct nlmsghdr h;
			struct ifaddrmsg ifa;
		} req;
		memset(&req, 0, sizeof(req));
		req.h.nlmsg_len = sizeof(req);
		req.h.nlmsg_type = RTM_GETADDR;
		req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		req.h.nlmsg_seq = a.seq;
		r = pc_nl_dump(fd, &req, sizeof(req), save_addr, &a);
		close(fd);
	}
	if (fclose(c.f) != 0 || c.err || r != 0) {
		fprintf(stderr, "capture failed: %d\n", r);
		return 3;
	}
	return 0;
}
