/*
 * sink.h - what the format readers share (internal to src/import/): one
 * place that turns "file says PROTO ADDR:PORT is open, maybe SERVICE" into
 * an endpoint, merging duplicates and enforcing the endpoint cap.
 */
#ifndef PC_IMPORT_SINK_H
#define PC_IMPORT_SINK_H

#include "import/import.h"
#include "core/jsonparse.h"

#include <stdarg.h>
#include <stdint.h>

struct pc_import_ctx {
	struct pc_snapshot *snap;
	const char *file;
	struct pc_import_stats *stats;
	struct pc_error *err;
	size_t max_endpoints;
	bool allow_public; /* skip the scope guard */
	size_t *slots; /* open-addressing hash of endpoint index + 1 */
	size_t nslots;
	size_t cap_guessed;
};

enum { PC_IMPORT_PROTO_OTHER = -2 };

/*
 * Add (or merge into) the endpoint (proto, addr, port). claimed may be NULL;
 * a claim from a real identification replaces a port-number guess. line and
 * col point at the record, for the scope-guard and endpoint-cap errors.
 */
int pc_import_add(struct pc_import_ctx *c, enum pc_proto proto, const struct pc_addr *addr,
		  uint16_t port, const char *hostname, const char *claimed, bool guessed, int line,
		  int col);

/* "tcp" -> PC_PROTO_TCP, "udp" -> PC_PROTO_UDP, sctp/icmp/ip/... ->
 * PC_IMPORT_PROTO_OTHER, anything else -1. Case-insensitive. */
int pc_import_proto(const char *s, size_t len);

/* Parse a port "1".."65535" (decimal digits only) of length len. */
bool pc_import_port(const char *s, size_t len, uint16_t *ret);

/* Set c->err to code at line:col of the file, with the formatted message
 * sanitised (it quotes the file's bytes); returns code. */
int pc_import_fail_at(struct pc_import_ctx *c, int code, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int pc_import_vfail_at(struct pc_import_ctx *c, int code, int line, int col, const char *fmt,
		       va_list ap) __attribute__((format(printf, 5, 0)));

/* The member key of the JSON object obj, which must be of type. NULL with
 * *r = 0 when it is optional and absent or null; NULL with *r a parse
 * error when it is required and absent ("WHAT has no "key"", at obj) or
 * of another type (at the value). */
const struct pc_jval *pc_import_member(struct pc_import_ctx *c, const struct pc_jval *obj,
				       const char *what, const char *key, enum pc_jtype type,
				       bool required, int *r);

int pc_import_nmap_xml(struct pc_import_ctx *c, const char *data, size_t len);
int pc_import_masscan_list(struct pc_import_ctx *c, const char *data, size_t len);
int pc_import_masscan_json(struct pc_import_ctx *c, const char *data, size_t len);
int pc_import_our_json(struct pc_import_ctx *c, const char *data, size_t len);
int pc_import_jsonl(struct pc_import_ctx *c, const char *data, size_t len);

/* One masscan -oD (NDJSON) record, already parsed (masscan.c). */
int pc_import_masscan_ndjson(struct pc_import_ctx *c, const struct pc_jval *rec);

#endif
