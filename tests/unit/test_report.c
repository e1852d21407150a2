/*
 * test_report.c - the output formats: JSON contract keys and nulls, jsonl
 * one object per line, CSV quoting, table sanitising of hostile names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pc_snapshot *sample(void)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus listeners");
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	pc_addr_parse("0.0.0.0", &e->addr);
	e->port = 6379;
	e->bind = PC_BIND_ANY;
	e->netns.inode = 4026531840u;
	e->n_owners = 1;
	e->owners = pc_snapshot_owners(s, 1);
	e->owners[0].pid = 42;
	e->owners[0].comm = pc_snapshot_strdup(s, "evil\x1b[2J\"name");
	e->owners[0].uid = 0;
	e->owners[0].user = "root";
	e = pc_snapshot_add_endpoint(s);
	e->proto = PC_PROTO_TCP;
	e->state = PC_STATE_ESTABLISHED;
	pc_addr_parse("fd00:198:18::1", &e->addr);
	e->port = 5432;
	e->bind = PC_BIND_SPECIFIC;
	e->has_peer = true;
	pc_addr_parse("fd00:198:18::2", &e->peer_addr);
	e->peer_port = 40000;
	pc_snapshot_warn(s, "cannot read /proc/1/fd: permission denied");
	pc_snapshot_finish(s);
	return s;
}

static char *render(const char *fmt, const struct pc_snapshot *s, enum pc_report_view view)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const struct pc_report_ops *ops = pc_report_find(fmt);
	assert_non_null(ops);
	struct pc_report_opts ro = {.view = view, .version = "0.test"};
	assert_int_equal(ops->write(f, s, &ro, false), 0);
	fclose(f);
	return out;
}

static void test_json(void **state)
{
	(void)state;
	struct pc_snapshot *s = sample();
	char *out = render("json", s, PC_VIEW_LISTENERS);
	assert_non_null(strstr(out, "\"portcensus\": \"0.test\""));
	assert_non_null(strstr(out, "\"comm\": \"evil\\u001b[2J\\\"name\""));
	assert_non_null(strstr(out, "\"peer\": null"));
	assert_non_null(strstr(out, "\"address\": \"fd00:198:18::2\""));
	assert_non_null(strstr(out, "\"warnings\": [\n"));
	assert_non_null(strstr(out, "\"unit\": null"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_snapshot_free(s);
}

static void test_jsonl(void **state)
{
	(void)state;
	struct pc_snapshot *s = sample();
	char *out = render("jsonl", s, PC_VIEW_LISTENERS);
	size_t lines = 0;
	for (char *p = out; *p; p++)
		if (*p == '\n')
			lines++;
	assert_int_equal(lines, 2);
	assert_int_equal(out[0], '{');
	assert_non_null(strstr(out, "\"state\":\"established\""));
	free(out);
	pc_snapshot_free(s);
}

static void test_csv(void **state)
{
	(void)state;
	struct pc_snapshot *s = sample();
	char *out = render("csv", s, PC_VIEW_LISTENERS);
	assert_true(strncmp(out, "source,proto,address,port,", 26) == 0);
	assert_non_null(strstr(out, "\"evil?[2J\"\"name\""));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_snapshot_free(s);
}

static void test_table(void **state)
{
	(void)state;
	struct pc_snapshot *s = sample();
	char *out = render("table", s, PC_VIEW_LISTENERS);
	assert_non_null(strstr(out, "PROTO"));
	assert_non_null(strstr(out, "0.0.0.0:6379"));
	assert_non_null(strstr(out, "[fd00:198:18::1]:5432"));
	assert_non_null(strstr(out, "42/evil?[2J\"name"));
	assert_non_null(strstr(out, "warning: cannot read /proc/1/fd"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_snapshot_free(s);
}

static void test_registry(void **state)
{
	(void)state;
	assert_null(pc_report_find("nope"));
	for (size_t i = 0; pc_report_registry[i]; i++) {
		assert_non_null(pc_report_registry[i]->write);
		assert_ptr_equal(pc_report_find(pc_report_registry[i]->name), pc_report_registry[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),  cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_csv),   cmocka_unit_test(test_table),
		cmocka_unit_test(test_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
