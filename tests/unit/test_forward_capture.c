/*
 * test_forward_capture.c - not a test: the tool that captured the netlink
 * dumps in tests/unit/data/forward/ (tests/e2e/forward_capture.sh runs it
 * in a fresh network namespace after loading a ruleset there).
 *
 * usage: test_forward_capture FILE
 *
 * It makes the dumps with the project's own code (pc_nft_dump_chains, pc_nft_dump,
 * pc_nft_dump_elems, pc_nl_dump) and writes what the kernel sent, exactly,
 * as records of four host-order u32 and the bytes: tag, sequence number,
 * length, then one recv() buffer. Tag 0xfffffffe is the chain dump, tag 0
 * the rule dump of one chain (one per chain, in chain order), tag 1 + i the
 * elements of the i-th set the rules look up (in pc_fwd_rules_set() order),
 * tag 0xffffffff the RTM_GETADDR dump. test_forward.c replays them.
 */
#include "inventory/forward.h"
#include "inventory/nft.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct cap {
	FILE *f;
	uint32_t tag, seq;
	int err;
};

static void save(void *ctx, const void *buf, size_t len)
{
	struct cap *c = ctx;
	uint32_t hdr[3] = {c->tag, c->seq, (uint32_t)len};
	if (fwrite(hdr, sizeof(hdr), 1, c->f) != 1 || fwrite(buf, 1, len, c->f) != len)
		c->err = 1;
}

static int ignore_addr(void *ctx, const struct pc_addr *a)
{
	(void)ctx;
	(void)a;
	return 0;
}

struct addr_cap {
	struct cap *cap;
	uint32_t seq;
};

static int save_addr(void *ctx, const void *buf, size_t len, bool *done)
{
	struct addr_cap *a = ctx;
	save(a->cap, buf, len);
	return pc_fwd_parse_addrs(buf, len, a->seq, ignore_addr, NULL, done);
}

#define TAG_CHAINS 0xfffffffeu

struct chains {
	struct pc_nft_chain c[256];
	size_t n;
};

static int add_chain(void *ctx, const struct pc_nft_chain *c)
{
	struct chains *ch = ctx;
	if (ch->n == 256)
		return -1;
	ch->c[ch->n++] = *c;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_forward_capture FILE\n");
		return 2;
	}
	struct cap c = {.f = fopen(argv[1], "wbe")};
	struct pc_fwd_rules *rs = pc_fwd_rules_new();
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	int rt = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (!c.f || !rs || fd < 0 || rt < 0) {
		perror("capture");
		return 3;
	}
	/* each dump takes the next sequence number: say which beforehand */
	struct chains ch = {0};
	c.tag = TAG_CHAINS;
	c.seq = pc_nl_next_seq() + 1;
	int r = pc_nft_dump_chains(fd, add_chain, &ch, save, &c);
	for (size_t i = 0; r == 0 && i < ch.n; i++) {
		c.tag = 0;
		c.seq = pc_nl_next_seq() + 1;
		r = pc_nft_dump(fd, ch.c[i].family, ch.c[i].table, ch.c[i].name, pc_fwd_rules_add,
		                rs, save, &c);
	}
	for (size_t i = 0; r == 0 && i < pc_fwd_rules_n_sets(rs); i++) {
		uint8_t family;
		const char *table, *name;
		pc_fwd_rules_set(rs, i, &family, &table, &name);
		c.tag = (uint32_t)(1 + i);
		c.seq = pc_nl_next_seq() + 1;
		r = pc_nft_dump_elems(fd, family, table, name, pc_fwd_rules_add_elem, rs, save, &c);
	}
	if (r == 0) {
		struct addr_cap a = {.cap = &c, .seq = pc_nl_next_seq()};
		c.tag = 0xffffffffu;
		c.seq = a.seq;
		struct {
			struct nlmsghdr h;
			struct ifaddrmsg ifa;
		} req;
		memset(&req, 0, sizeof(req));
		req.h.nlmsg_len = sizeof(req);
		req.h.nlmsg_type = RTM_GETADDR;
		req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		req.h.nlmsg_seq = a.seq;
		r = pc_nl_dump(rt, &req, sizeof(req), save_addr, &a);
	}
	close(fd);
	close(rt);
	pc_fwd_rules_free(rs);
	if (fclose(c.f) != 0 || c.err || r != 0) {
		fprintf(stderr, "capture failed: %d\n", r);
		return 3;
	}
	return 0;
}
