/*
 * registry.c - the alert sinks, one line each (see alert.h), and the set of
 * opened sinks a run sends every alert to.
 */
#include "alert/alert.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SINKS 32

struct sink {
	const struct pc_alert_ops *ops;
	void *state;
};

struct pc_alert_sinks {
	struct sink v[MAX_SINKS];
	size_t n;
};

const struct pc_alert_ops *const pc_alert_registry[] = {
	&pc_alert_jsonl,
	&pc_alert_syslog,
	&pc_alert_webhook,
	&pc_alert_exec,
	NULL,
};

const struct pc_alert_ops *pc_alert_find(const char *name)
{
	for (size_t i = 0; pc_alert_registry[i]; i++)
		if (strcmp(pc_alert_registry[i]->name, name) == 0)
			return pc_alert_registry[i];
	return NULL;
}

int pc_alert_sinks_add(struct pc_alert_sinks **set, const char *name,
		       const struct pc_alert_config *cfg, struct pc_error *err)
{
	const struct pc_alert_ops *ops = pc_alert_find(name);
	if (!ops)
		return pc_error_set(err, PC_EINVAL, "unknown alert sink %s", name);
	if (!*set && !(*set = calloc(1, sizeof(**set))))
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	if ((*set)->n == MAX_SINKS)
		return pc_error_set(err, PC_EINVAL, "more than %d alert sinks", MAX_SINKS);
	void *state = NULL;
	int rc = ops->open(&state, cfg, err);
	if (rc)
		return rc;
	(*set)->v[(*set)->n++] = (struct sink){.ops = ops, .state = state};
	return 0;
}

int pc_alert_sinks_send(struct pc_alert_sinks *set, const struct pc_alert *a, struct pc_error *err)
{
	int first = 0;
	for (size_t i = 0; set && i < set->n; i++) {
		struct pc_error e = {0};
		int rc = set->v[i].ops->send(set->v[i].state, a, &e);
		if (rc && !first) {
			first = rc;
			pc_error_set(err, rc, "alert sink %s: %s", set->v[i].ops->name, e.msg);
		}
	}
	return first;
}

size_t pc_alert_sinks_count(const struct pc_alert_sinks *set)
{
	return set ? set->n : 0;
}

void pc_alert_sinks_free(struct pc_alert_sinks *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		set->v[i].ops->close(set->v[i].state);
	free(set);
}
