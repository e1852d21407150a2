/*
 * kb.h - the knowledge base of services the classifier scores from.
 *
 * One YAML format (docs/classify.md) for the base compiled into the binary
 * (data/kb.yaml, embedded at build time) and for `--kb FILE`, read by one
 * loader: a file loaded on top of the base adds services, and a service it
 * names that the base already has replaces the base's entry whole.
 *
 * The loader treats the file as hostile: at most PC_KB_MAX_BYTES are read,
 * nesting deeper than PC_KB_MAX_DEPTH, more than PC_KB_MAX_SERVICES entries
 * and more than PC_KB_MAX_TEXT bytes per string are refused, unknown keys
 * and repeated keys are errors, and every error names
 * file:line:col and what was expected. A failed load leaves the base as it
 * was.
 */
#ifndef PC_CLASSIFY_KB_H
#define PC_CLASSIFY_KB_H

#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>

#define PC_KB_MAX_BYTES (1u << 20)
#define PC_KB_MAX_SERVICES 4096
#define PC_KB_MAX_TEXT 2048
#define PC_KB_MAX_NAME 64
#define PC_KB_MAX_DEPTH 8

struct pc_kb_service {
	char *name;            /* "redis": the service name the probes write */
	char *category;        /* one of pc_kb_categories */
	enum pc_severity severity; /* base severity */
	char *why;             /* one sentence */
	char *remediation;
	bool secrets;          /* unauthenticated, it hands out config or control */
	bool plaintext;        /* logins and data in clear text without TLS */
};

struct pc_kb {
	struct pc_kb_service *services; /* sorted by name */
	size_t n, cap;
};

/* The categories a service may have, NULL-terminated. */
extern const char *const pc_kb_categories[];

/* An empty knowledge base; NULL on ENOMEM. */
struct pc_kb *pc_kb_new(void);
/* The compiled-in base (data/kb.yaml) in a new knowledge base. */
int pc_kb_builtin(struct pc_kb **ret_kb, struct pc_error *err);
/* Parse a document of len bytes (named `name` in errors) and merge it into
 * kb. On error kb is unchanged. */
int pc_kb_load_buffer(struct pc_kb *kb, const char *name, const char *data, size_t len,
		      struct pc_error *err);
/* Read FILE (at most PC_KB_MAX_BYTES) and merge it into kb. */
int pc_kb_load_file(struct pc_kb *kb, const char *path, struct pc_error *err);
/* The entry for a service name, or NULL. */
const struct pc_kb_service *pc_kb_find(const struct pc_kb *kb, const char *name);
void pc_kb_free(struct pc_kb *kb);

#endif
