/*
 * import.h - read other tools' results (and our own) as endpoints, and
 * re-check them live: the library half of `portcensus verify`.
 *
 * Readers: our JSON document and JSON Lines (also masscan -oD, which is
 * JSON Lines too), nmap XML (-oX), masscan list (-oL) and JSON (-oJ). The
 * format is detected from the first bytes. Every port a file claims is open
 * becomes one endpoint with source IMPORT, state OPEN and claimed_service
 * from the file; records in other states are counted, not imported.
 *
 * Files are hostile input: a size cap, an endpoint cap, strict syntax, and
 * every error carries file:line:col and says what is wrong. They also say
 * where verify will send packets, so the scope guard that scan applies to
 * its targets is applied to every entry as it is read (allow_public).
 */
#ifndef PC_IMPORT_IMPORT_H
#define PC_IMPORT_IMPORT_H

#include "core/error.h"
#include "core/model.h"
#include "probe/probe.h"

#include <stdbool.h>
#include <stddef.h>

enum pc_import_format {
	PC_IMPORT_AUTO = 0,
	PC_IMPORT_JSON,         /* our --format json document */
	PC_IMPORT_JSONL,        /* our --format jsonl, or masscan -oD */
	PC_IMPORT_NMAP_XML,     /* nmap -oX */
	PC_IMPORT_MASSCAN_LIST, /* masscan -oL */
	PC_IMPORT_MASSCAN_JSON, /* masscan -oJ */
};

#define PC_IMPORT_MAX_SIZE (256u << 20)   /* bytes of input */
#define PC_IMPORT_MAX_ENDPOINTS 1000000u  /* distinct open ports */
/* JSON values held at once: JSON records are streamed one by one, so
 * this caps one record (or one JSON Lines line), not the file */
#define PC_IMPORT_MAX_JSON_VALUES 100000u

struct pc_import_opts {
	const char *name; /* for messages: the path, or "<stdin>" */
	enum pc_import_format format; /* AUTO: detect */
	size_t max_endpoints;         /* 0: PC_IMPORT_MAX_ENDPOINTS */
	/* false (the default): the scope guard (pc_targets_guard) refuses the
	 * file at the first entry outside the internal ranges, with PC_ESCOPE
	 * and its file:line:col, before anything is re-checked */
	bool allow_public;
};

struct pc_import_stats {
	enum pc_import_format format; /* what was read */
	size_t records;     /* port records in the file */
	size_t imported;    /* distinct open endpoints added */
	size_t not_open;    /* records in another state (closed, filtered, ...) */
	size_t other_proto; /* sctp, icmp, ip: not re-checked */
	size_t duplicates;  /* records of an endpoint already seen */
	/* claim_guessed[i] is 1 when endpoint i's claimed service is only a
	 * guess from the port number (nmap method="table"); malloc'd, one
	 * byte per endpoint of the snapshot, in the order added */
	unsigned char *claim_guessed;
	size_t n_claim_guessed;
};

/* Detect the format from the first bytes. 0, or PC_EPARSE (err says so). */
int pc_import_detect(const char *data, size_t len, const char *name,
		     enum pc_import_format *ret_format, struct pc_error *err);
const char *pc_import_format_name(enum pc_import_format f);

/* Parse data[0..len) and append its open endpoints to snap. On error the
 * snapshot may hold some endpoints; discard it. stats must be zeroed by the
 * caller and released with pc_import_stats_free(), success or not. */
int pc_import_buffer(struct pc_snapshot *snap, const char *data, size_t len,
		     const struct pc_import_opts *opts, struct pc_import_stats *stats,
		     struct pc_error *err);
/* Same for a file path, or "-" for standard input. */
int pc_import_file(struct pc_snapshot *snap, const char *path, const struct pc_import_opts *opts,
		   struct pc_import_stats *stats, struct pc_error *err);
void pc_import_stats_free(struct pc_import_stats *stats);

/* ---- re-check (recheck.c) ---- */

struct pc_privsep_opts;

struct pc_recheck_opts {
	double timeout_ms; /* per connection; default 1500 */
	unsigned parallel; /* connections in flight; default 64 */
	double rate;       /* connection checks started per second; default
			    * PC_RECHECK_RATE, 0 = no limit (probe/dial.h) */
	bool probe;        /* identify services with pc_probe_run (default on) */
	struct pc_probe_run_opts probe_opts;
	/* run the dial loop, the probes and the verdicts in a confined worker
	 * as this user (privsep.h); NULL: in this process */
	const struct pc_privsep_opts *privsep;
};

/* verify's default pace: a re-check of a big file is paced like a gentle
 * scan, a handful of ports goes out at once (the bucket is `parallel` deep) */
#define PC_RECHECK_RATE 1000

void pc_recheck_opts_default(struct pc_recheck_opts *o);

/*
 * Re-check every IMPORT endpoint of snap in state OPEN from the caller's
 * network namespace: a live connection (TCP) or datagram (UDP), then the
 * probes on what answers; sets state, verified, service, recheck and
 * recheck_reason. guessed (may be NULL) is stats->claim_guessed.
 */
int pc_import_recheck(struct pc_snapshot *snap, const unsigned char *guessed, size_t n_guessed,
		      const struct pc_recheck_opts *opts, struct pc_error *err);

/* The verdict for one endpoint whose live check and probes are done. */
void pc_import_judge(struct pc_snapshot *snap, struct pc_endpoint *ep, bool claim_guessed);

/* Whether a claimed service name (nmap's, masscan's or ours) names the
 * service that was found. Aliases count ("memcache" is "memcached",
 * "ssl/http" is http over TLS, an HTTP API such as etcd is "http"). */
bool pc_import_same_service(const char *claimed, const struct pc_service *found);

#endif
