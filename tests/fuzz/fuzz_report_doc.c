/*
 * fuzz_report_doc.c - the md and html writers on hostile strings: the
 * input, split at NUL bytes, becomes the host, a process name, a container
 * name, a product, an imported hostname, a rule, a reason and a warning.
 * Whatever they hold, each document must have exactly the markup of the
 * same snapshot with harmless strings: the same number of lines, of raw
 * '<' '>' '"' '\'' in the html, of unescaped '|' '`' '<' in the Markdown,
 * and no control, C1 or bidi character in either (the autolink a plain
 * http(s) doc URL becomes in Markdown aside).
 */
#include "report/report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSTR 8

static struct pc_snapshot *build(const char *const str[NSTR])
{
	struct pc_snapshot *s = pc_snapshot_new("fuzz");
	if (!s)
		abort();
	s->host = pc_snapshot_strdup(s, str[0]);
	s->started_at_ms = 1796000000000;
	const char **reason = pc_arena_alloc(&s->arena, sizeof(*reason));
	if (!reason)
		abort();
	reason[0] = pc_snapshot_strdup(s, str[6]);
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	pc_addr_parse("0.0.0.0", &e->addr);
	e->port = 6379;
	e->netns.inode = 1;
	e->owners = pc_snapshot_owners(s, 1);
	e->n_owners = 1;
	e->owners[0].pid = 7;
	e->owners[0].comm = pc_snapshot_strdup(s, str[1]);
	e->owners[0].uid = -1;
	e->owners[0].container.id = "c0ffee";
	e->owners[0].container.name = pc_snapshot_strdup(s, str[2]);
	e->service = pc_snapshot_service(s);
	e->service->name = "redis";
	e->service->product = pc_snapshot_strdup(s, str[3]);
	struct pc_risk *r = pc_arena_alloc(&s->arena, sizeof(*r));
	struct pc_policy_verdict *v = pc_arena_alloc(&s->arena, sizeof(*v));
	if (!r || !v)
		abort();
	memset(r, 0, sizeof(*r));
	memset(v, 0, sizeof(*v));
	r->severity = PC_SEV_CRITICAL;
	r->reasons = reason;
	r->n_reasons = 1;
	v->verdict = PC_VERDICT_VIOLATION;
	v->rule = pc_snapshot_strdup(s, str[5]);
	v->reasons = reason;
	v->n_reasons = 1;
	v->doc = pc_snapshot_strdup(s, str[7]);
	e->risk = r;
	e->policy = v;
	/* a client of it, for the map */
	e = pc_snapshot_add_endpoint(s);
	e->state = PC_STATE_ESTABLISHED;
	pc_addr_parse("127.0.0.1", &e->addr);
	e->port = 40000;
	e->netns.inode = 1;
	e->has_peer = true;
	pc_addr_parse("127.0.0.1", &e->peer_addr);
	e->peer_port = 6379;
	e->owners = pc_snapshot_owners(s, 1);
	e->n_owners = 1;
	e->owners[0].pid = 8;
	e->owners[0].comm = pc_snapshot_strdup(s, str[1]);
	e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_SCAN;
	e->state = PC_STATE_OPEN;
	pc_addr_parse("198.18.0.1", &e->addr);
	e->port = 80;
	e->hostname = pc_snapshot_strdup(s, str[4]);
	pc_snapshot_add_finding(s, "stale_rule", PC_SEV_LOW, str[5], str[6]);
	pc_snapshot_warn(s, "%s", str[7]);
	return s;
}

static char *render(const char *fmt, const struct pc_snapshot *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		abort();
	struct pc_report_opts ro = {.view = PC_VIEW_AUDIT, .version = "fuzz"};
	if (pc_report_find(fmt)->write(f, s, &ro, false) != 0)
		abort();
	fclose(f);
	return out;
}

struct shape {
	size_t n[8];
};

static struct shape shape(const char *out, bool md)
{
	struct shape sh = {{0}};
	const unsigned char *p = (const unsigned char *)out;
	for (size_t i = 0; p[i]; i++) {
		if ((p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7f)
			abort();
		if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] < 0xa0)
			abort();
		if (p[i] == 0xe2 && p[i + 1] == 0x80 && p[i + 2] >= 0xa8 && p[i + 2] <= 0xae)
			abort();
		if (p[i] == 0xe2 && p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)
			abort();
		const char *watch = md ? "\n|`<" : "\n<>\"'";
		const char *w = strchr(watch, p[i]);
		if (!w)
			continue;
		/* behind an odd run of backslashes a character is escaped; an
		 * autolink of a plain http(s) doc URL is the one '<' data may
		 * make in Markdown */
		size_t run = 0;
		while (run < i && p[i - 1 - run] == '\\')
			run++;
		bool escaped = md && p[i] != '\n' &&
		               (run % 2 == 1 || strncmp((const char *)p + i, "<http", 5) == 0);
		if (!escaped)
			sh.n[w - watch]++;
	}
	return sh;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	const char *str[NSTR], *plain[NSTR];
	char *p = copy, *end = copy + size;
	for (int i = 0; i < NSTR; i++) {
		str[i] = p < end ? p : "";
		plain[i] = "x";
		if (p < end)
			p += strlen(p) + 1;
	}
	struct pc_snapshot *hostile = build(str), *harmless = build(plain);
	for (int m = 0; m < 2; m++) {
		const char *fmt = m ? "md" : "html";
		char *a = render(fmt, hostile), *b = render(fmt, harmless);
		struct shape x = shape(a, m), y = shape(b, m);
		if (memcmp(&x, &y, sizeof(x)) != 0)
			abort();
		free(a);
		free(b);
	}
	pc_snapshot_free(hostile);
	pc_snapshot_free(harmless);
	free(copy);
	return 0;
}
