/*
 * model.h - the endpoint and snapshot model every stage works on.
 *
 * A snapshot is one audit: metadata plus a vector of endpoints. Everything a
 * snapshot points to (strings, owners, services) lives in its arena and is
 * freed with pc_snapshot_free(); stages never free fields one by one.
 *
 * Unknown values are represented explicitly (NULL strings, -1 numbers,
 * PC_TRI_UNKNOWN) so the writers can print null instead of inventing a value.
 */
#ifndef PC_CORE_MODEL_H
#define PC_CORE_MODEL_H

#include "core/addr.h"
#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pc_tristate { PC_TRI_UNKNOWN = -1, PC_TRI_FALSE = 0, PC_TRI_TRUE = 1 };

enum pc_proto { PC_PROTO_TCP = 0, PC_PROTO_UDP = 1 };

enum pc_source { PC_SOURCE_HOST = 0, PC_SOURCE_SCAN, PC_SOURCE_IMPORT };

enum pc_state {
	PC_STATE_LISTEN = 0,
	PC_STATE_ESTABLISHED,
	PC_STATE_OPEN,
	PC_STATE_CLOSED,
	PC_STATE_FILTERED,
	PC_STATE_OPEN_FILTERED, /* UDP silence */
	PC_STATE_FORWARDED,     /* a NAT/IPVS front with no listening socket */
};

enum pc_bind { PC_BIND_UNKNOWN = 0, PC_BIND_LOOPBACK, PC_BIND_ANY, PC_BIND_SPECIFIC };

enum pc_auth { PC_AUTH_UNKNOWN = 0, PC_AUTH_NONE, PC_AUTH_REQUIRED };

/* Result of re-checking an imported or earlier result (`verify`). */
enum pc_recheck {
	PC_RECHECK_NONE = 0,     /* not a re-check */
	PC_RECHECK_CONFIRMED,    /* still open, same service (or none claimed) */
	PC_RECHECK_CLOSED,       /* closed now */
	PC_RECHECK_FILTERED,     /* no answer now */
	PC_RECHECK_DIFFERENT,    /* open, but another service than claimed */
};

struct pc_container {
	const char *id;      /* full container id, or NULL */
	const char *runtime; /* "docker", "containerd", "cri-o", "podman", or NULL */
	const char *pod_uid; /* Kubernetes pod uid, or NULL */
	const char *name;    /* container name when known, or NULL */
	const char *image;    /* image reference as the runtime recorded it, or NULL */
	const char *image_id; /* image digest or id, or NULL */
	const char *pod;      /* Kubernetes pod name, or NULL */
	const char *pod_namespace; /* Kubernetes namespace, or NULL */
};

struct pc_owner {
	int pid;
	const char *comm;
	const char *exe;
	long uid; /* -1 unknown */
	const char *user;
	const char *unit; /* systemd unit, or NULL */
	struct pc_container container;
};

struct pc_netns {
	uint64_t inode;   /* 0 when unknown (e.g. network-side records) */
	const char *name; /* /run/netns name or container name, or NULL */
};

struct pc_tls_info {
	const char *version; /* "TLSv1.3" */
	const char *cipher;
	const char *subject;
	const char *issuer;
	const char *not_after; /* ISO 8601 UTC */
	enum pc_tristate self_signed;
};

struct pc_service {
	const char *name;    /* "redis", "http", ... */
	const char *product; /* "Redis", "nginx", or NULL */
	const char *version; /* or NULL */
	enum pc_tristate tls;
	enum pc_auth auth;
	const char *evidence; /* one line: what proved it */
	const char *banner;   /* printable excerpt, capped, or NULL */
	struct pc_tls_info *tls_info; /* or NULL */
	const char **auth_methods; /* methods the server offers (SSH), or NULL */
	size_t n_auth_methods;
	struct pc_ssh_info *ssh_info; /* or NULL */
};

/* Severity of a finding or an endpoint's risk, ordered: a larger value is
 * worse, so `>=` compares against --fail-on. */
enum pc_severity {
	PC_SEV_INFO = 0,
	PC_SEV_LOW,
	PC_SEV_MEDIUM,
	PC_SEV_HIGH,
	PC_SEV_CRITICAL,
};
#define PC_SEV_COUNT 5

/* What the classifier concluded (src/classify). Strings and the reasons
 * array live in the snapshot's arena. */
struct pc_risk {
	enum pc_severity severity;
	double score;            /* 0..10 */
	const char *category;    /* "database", "cache", ..., "unknown" */
	const char **reasons;    /* plain sentences, each naming its evidence */
	size_t n_reasons;
	const char *remediation; /* what a person should do, or NULL */
};

enum pc_verdict {
	PC_VERDICT_NONE = 0,     /* no policy was evaluated */
	PC_VERDICT_ALLOWED,
	PC_VERDICT_VIOLATION,
	PC_VERDICT_UNDOCUMENTED,
};

/* What the policy said of an endpoint (src/policy). */
struct pc_policy_verdict {
	const char *rule;      /* matching rule's name, or NULL */
	enum pc_verdict verdict;
	const char **reasons;  /* the clauses broken, or why it is allowed */
	size_t n_reasons;
	const char *owner;     /* the rule's owner and doc link, for reports */
	const char *doc;
};

/* A finding that is not one endpoint's: stale documentation, a rule due
 * for review, ... (snapshot.findings). */
struct pc_finding {
	const char *kind;      /* "stale_rule", "review_due", ... */
	enum pc_severity severity;
	const char *rule;      /* or NULL */
	const char *message;   /* one plain sentence */
};

/* SSH evidence from the key exchange (probe ssh with libssh). */
struct pc_ssh_info {
	const char *hostkey_type;        /* "ssh-ed25519", ... */
	const char *hostkey_fingerprint; /* "SHA256:..." */
};

/* A port that NAT, IPVS or a userland proxy forwards (issue 10): the path
 * from the port a client dials to the listener and process that serve it. */
enum pc_forward_kind {
	PC_FORWARD_DNAT = 0,
	PC_FORWARD_REDIRECT,
	PC_FORWARD_IPVS,
	PC_FORWARD_PROXY,
};

struct pc_forward_target {
	struct pc_addr addr;
	uint16_t port;
	double weight;   /* IPVS weight or statistic-mode share; < 0 unknown */
	/* the listener this target resolves to on this host, or -1 when the
	 * backend lives elsewhere (index into snapshot.endpoints) */
	long backend_index;
};

struct pc_forward {
	enum pc_forward_kind kind;
	const char *rule;     /* "table/chain: comment" */
	struct pc_forward_target *to;
	size_t n_to;
};

/* A TCP connection NAT translated, from the conntrack table of the
 * namespace that translated it (inventory/conntrack.h): the tuple the
 * client sent (orig: client -> front) and the one the server answers with
 * (reply: backend -> the client as translated). `connections` joins the
 * client's and the server's sockets through it (inventory/edges.h). */
struct pc_nat_conn {
	struct pc_netns netns; /* whose table: where the NAT happened */
	struct pc_addr orig_src, orig_dst, reply_src, reply_dst;
	uint16_t orig_sport, orig_dport, reply_sport, reply_dport;
};

struct pc_verified {
	bool done;      /* a live check was made */
	bool reachable;
	double rtt_ms;  /* < 0 when unknown */
	const char *error; /* why not reachable ("refused", "timeout"), or NULL */
};

struct pc_endpoint {
	enum pc_source source;
	enum pc_proto proto;
	struct pc_addr addr;
	uint16_t port;
	enum pc_state state;
	enum pc_bind bind;
	struct pc_netns netns;
	const char *hostname; /* target name as given, for network-side records */

	struct pc_owner *owners; /* array in the arena */
	size_t n_owners;

	bool has_peer; /* established: the remote end */
	struct pc_addr peer_addr;
	uint16_t peer_port;

	uint64_t sock_inode; /* 0 unknown; internal join key, not printed */
	uint32_t uid;        /* socket uid from the kernel, internal */

	double rtt_ms; /* scan: handshake time; < 0 unknown */
	struct pc_verified verified;
	struct pc_service *service; /* NULL until probed */
	/* why the probes skipped this endpoint ("per-host cap"), or NULL */
	const char *probe_skipped;

	/* verify: what the imported file said, and the re-check verdict */
	enum pc_recheck recheck;
	const char *claimed_service; /* or NULL */
	const char *recheck_reason;  /* or NULL */

	struct pc_forward *forward;       /* NULL unless forwarded */
	struct pc_risk *risk;             /* NULL until classified */
	struct pc_policy_verdict *policy; /* NULL until judged */
};

/* What a scan covered (snapshot.scan.covered), so the ledger can tell
 * "never scanned" from "scanned and not open" without a row per closed
 * port: the target addresses as ranges, the ports of each protocol as
 * ranges. */
enum pc_cover_kind { PC_COVER_ADDRESSES = 0, PC_COVER_TCP, PC_COVER_UDP };
/* Ranges kept at most; past it, less is claimed as covered. */
#define PC_SCAN_COVER_MAX 4096
struct pc_scan_range {
	enum pc_cover_kind kind;
	struct pc_addr first, last; /* PC_COVER_ADDRESSES */
	uint16_t port_first, port_last; /* PC_COVER_TCP / PC_COVER_UDP */
};

/* Statistics of a network scan, shown in snapshot.scan. */
#define PC_SCAN_RATE_HIST 32
struct pc_scan_stats {
	bool present;
	const char *engine; /* "syn", "connect", "udp" */
	uint64_t targets, ports, probes_planned;
	uint64_t sent, replies, retries, capture_drops;
	double duration_s;
	double rate_pps;
	/* adaptive pacing (issue 12): the pace allowed at the last update,
	 * what limited it (enum pc_pace_limit of scan/pace.h; 0 none) and
	 * where (limit_prefix 0: everywhere), and the achieved rate over
	 * time: rate_hist[i] is the rate of interval i, each rate_step_s
	 * long (the step doubles, merging pairs, when the slots are full) */
	double pace_pps;
	uint8_t limit, limit_prefix;
	struct pc_addr limit_net;
	uint32_t rate_hist[PC_SCAN_RATE_HIST];
	uint32_t n_rate_hist;
	double rate_step_s;
	/* the targets and ports of the whole scan (all shards), in the
	 * snapshot's arena (scan/cover.c); shard_count 0: not sharded */
	struct pc_scan_range *cover;
	size_t n_cover;
	uint32_t shard_index, shard_count;
};

/* One address of a network namespace the inventory visited (RTM_GETADDR,
 * inventory/rtaddr.c), so that a listener bound to any address can be
 * matched to what a sweep saw from outside. Loopback is left out. */
struct pc_ns_address {
	uint64_t netns_inode;
	const char *netns_name; /* or NULL */
	struct pc_addr addr;
	uint8_t prefix_len;
};

struct pc_snapshot {
	struct pc_arena arena;
	const char *host;
	const char *command;
	int64_t started_at_ms; /* Unix epoch, milliseconds */
	int64_t finished_at_ms;

	const char **warnings;
	size_t n_warnings, cap_warnings;

	struct pc_endpoint *endpoints;
	size_t n_endpoints, cap_endpoints;

	struct pc_scan_stats scan;

	/* NAT'd connections from conntrack (inventory with established
	 * sockets only), in the arena; capacity for appends in cap_nat_conns */
	struct pc_nat_conn *nat_conns;
	size_t n_nat_conns, cap_nat_conns;

	struct pc_finding *findings; /* malloc'd vector, freed with the snapshot */
	size_t n_findings, cap_findings;

	/* the host's own addresses, per namespace (malloc'd vector) */
	struct pc_ns_address *addresses;
	size_t n_addresses, cap_addresses;
};

/* New snapshot with host (gethostname) and started_at set. NULL on ENOMEM. */
struct pc_snapshot *pc_snapshot_new(const char *command);
void pc_snapshot_free(struct pc_snapshot *snap);
/* Append a zeroed endpoint with unknowns set (-1 rtt, uid -1 ...). The
 * returned pointer is valid until the next append. NULL on ENOMEM. */
struct pc_endpoint *pc_snapshot_add_endpoint(struct pc_snapshot *snap);
/* Add a warning (copied, de-duplicated). 0 or PC_ENOMEM. */
int pc_snapshot_warn(struct pc_snapshot *snap, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pc_snapshot_finish(struct pc_snapshot *snap);
/* Sort endpoints by (source, proto, netns inode, address, port, state, peer). */
void pc_snapshot_sort(struct pc_snapshot *snap);
char *pc_snapshot_strdup(struct pc_snapshot *snap, const char *s);

/* Allocate a zeroed owner array of n in the arena. */
struct pc_owner *pc_snapshot_owners(struct pc_snapshot *snap, size_t n);
struct pc_service *pc_snapshot_service(struct pc_snapshot *snap);

/* The address to connect to for a live check of ep: its own address, or
 * loopback of the same family when it is bound to any (0.0.0.0 -> 127.0.0.1,
 * :: -> ::1). */
void pc_endpoint_dial_addr(const struct pc_endpoint *ep, struct pc_addr *ret_addr);

/* Bind scope of a local address. */
enum pc_bind pc_bind_of(const struct pc_addr *a);

const char *pc_proto_name(enum pc_proto p);
const char *pc_source_name(enum pc_source s);
const char *pc_state_name(enum pc_state s);
const char *pc_bind_name(enum pc_bind b);
const char *pc_auth_name(enum pc_auth a);
const char *pc_recheck_name(enum pc_recheck r);
const char *pc_severity_name(enum pc_severity s);
const char *pc_verdict_name(enum pc_verdict v);
/* Parse "critical", "high", ... (case-sensitive). 0, or -1 when unknown. */
int pc_severity_parse(const char *name, enum pc_severity *ret);

/* Append a finding (strings copied into the arena). 0 or PC_ENOMEM. */
int pc_snapshot_add_finding(struct pc_snapshot *snap, const char *kind,
			    enum pc_severity severity, const char *rule, const char *message);

/* Whether the ranges cover[0..n) hold addr and (proto, port). */
bool pc_scan_cover_has(const struct pc_scan_range *cover, size_t n, const struct pc_addr *addr,
		       enum pc_proto proto, uint16_t port);

/* What the ledger's sweeps saw of one of this host's listeners (audit
 * --ledger, ledger/exposure.c): the newest complete sweep of one segment
 * that covered it. The classifier's evidence for "reachable beyond this
 * host". */
struct pc_exposure_evidence {
	uint64_t netns_inode;  /* the listener: its namespace, */
	struct pc_addr bound;  /* its address as bound, */
	enum pc_proto proto;   /* proto and port */
	uint16_t port;
	struct pc_addr addr;   /* the address the sweep scanned */
	const char *segment;   /* "" when the scan named none */
	const char *sweep;
	enum pc_state seen;    /* OPEN, CLOSED or FILTERED ("scanned, not kept" too) */
};

/* Append a namespace address (name copied into the arena). 0 or PC_ENOMEM. */
int pc_snapshot_add_address(struct pc_snapshot *snap, uint64_t netns_inode,
			    const char *netns_name, const struct pc_addr *addr, uint8_t prefix_len);

int64_t pc_now_ms(void);           /* wall clock */
double pc_monotonic_ms(void);      /* CLOCK_MONOTONIC */
/* ISO 8601 UTC with milliseconds: 2026-11-27T01:02:03.456Z */
const char *pc_format_time(int64_t ms, char *buf, size_t len);

#endif
