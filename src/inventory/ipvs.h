/*
 * ipvs.h - IPVS virtual services and their real servers, read through
 * generic netlink (family "IPVS": IPVS_CMD_GET_SERVICE and IPVS_CMD_GET_DEST
 * dumps), as kube-proxy's ipvs mode and ipvsadm write them.
 *
 * The parsers are pure (one recv() worth of messages in, one record per
 * service or real server out), bounded like the nftables ones (nft.h), and
 * fuzzed by tests/fuzz/fuzz_ipvs.c.
 */
#ifndef PC_INVENTORY_IPVS_H
#define PC_INVENTORY_IPVS_H

#include "core/addr.h"
#include "inventory/nft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_ipvs_service {
	uint16_t af;       /* AF_INET or AF_INET6 */
	uint16_t protocol; /* IPPROTO_TCP, IPPROTO_UDP, ... */
	struct pc_addr addr;
	uint16_t port;
	uint32_t fwmark; /* a firewall-mark service has no address: 0 otherwise */
	char sched[16];  /* "rr", "wrr", ... */
};

struct pc_ipvs_dest {
	struct pc_addr addr;
	uint16_t port;
	uint32_t weight;
	uint32_t fwd_method; /* IP_VS_CONN_F_MASQ, _DROUTE, _TUNNEL, ... */
};

typedef int (*pc_ipvs_service_fn)(void *ctx, const struct pc_ipvs_service *svc);
typedef int (*pc_ipvs_dest_fn)(void *ctx, const struct pc_ipvs_dest *dest);

/* The id of generic netlink family name from one CTRL_CMD_GETFAMILY reply
 * buffer; 0, or a negative code (-ENOENT: no such family, e.g. a kernel
 * without IPVS). */
int pc_ipvs_parse_family(const void *buf, size_t len, uint32_t seq, uint16_t *ret_id);

/* One recv() worth of a GET_SERVICE / GET_DEST dump reply (family id as
 * resolved): one callback per service / real server. Same return contract
 * as pc_nft_parse(). */
int pc_ipvs_parse_services(const void *buf, size_t len, uint32_t seq, uint16_t family,
                           pc_ipvs_service_fn fn, void *ctx, struct pc_nl_status *st);
int pc_ipvs_parse_dests(const void *buf, size_t len, uint32_t seq, uint16_t family,
                        pc_ipvs_dest_fn fn, void *ctx, struct pc_nl_status *st);

/* With fd a NETLINK_GENERIC socket made in the namespace to read: resolve
 * the IPVS family (-ENOENT when the kernel has none), then dump its
 * services and, for each, its real servers: svc_fn once per service, then
 * dest_fn once per real server of it. 0 or a negative code. */
int pc_ipvs_dump(int fd, pc_ipvs_service_fn svc_fn, pc_ipvs_dest_fn dest_fn, void *ctx);

#endif
