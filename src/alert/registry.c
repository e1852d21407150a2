/*
 * registry.c - the alert sinks, one line each (see alert.h).
 */
#include "alert/alert.h"

#include <string.h>

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
