/*
 * privdrop.c - capability drop with libcap (see privdrop.h).
 *
 * Order matters: the bounding set can only be changed while CAP_SETPCAP is
 * still effective, so it goes first; then the process sets (which removes
 * CAP_SETPCAP itself); then the result is read back and compared with what
 * was asked for.
 */
#include "scan/privdrop.h"

#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static bool wanted(int cap, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

bool pc_privdrop_has(int cap)
{
	cap_t c = cap_get_proc();
	if (!c)
		return false;
	cap_flag_value_t v = CAP_CLEAR;
	bool ok = cap_get_flag(c, (cap_value_t)cap, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET;
	cap_free(c);
	return ok;
}

int pc_privdrop_keep(const int *keep, size_t n, struct pc_error *err)
{
	int last = (int)cap_max_bits() - 1;
	cap_t want = NULL, now = NULL;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		if (keep[i] < 0 || keep[i] > last)
			return pc_error_set(err, PC_EINVAL, "privdrop: unknown capability %d", keep[i]);

	if (pc_privdrop_has(CAP_SETPCAP)) {
		for (int cap = 0; cap <= last; cap++) {
			if (wanted(cap, keep, n))
				continue;
			if (cap_drop_bound((cap_value_t)cap) < 0 && errno != EINVAL) {
				ret = pc_error_set(err, PC_EPERM,
						   "cannot drop capability %d from the bounding set: %s",
						   cap, strerror(errno));
				goto out;
			}
		}
	}
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() < 0) {
		ret = pc_error_set(err, PC_EPERM, "cannot clear the ambient capabilities: %s",
				   strerror(errno));
		goto out;
	}

	want = cap_init(); /* all clear */
	if (!want) {
		ret = pc_error_set(err, PC_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		cap_value_t v = (cap_value_t)keep[i];
		/* keep only what we hold now: asking for more fails below */
		if (!pc_privdrop_has(keep[i]))
			continue;
		if (cap_set_flag(want, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0 ||
		    cap_set_flag(want, CAP_PERMITTED, 1, &v, CAP_SET) < 0) {
			ret = pc_error_set(err, PC_EPERM, "cannot build the capability set: %s",
					   strerror(errno));
			goto out;
		}
	}
	if (cap_set_proc(want) < 0) {
		ret = pc_error_set(err, PC_EPERM, "cannot drop capabilities: %s", strerror(errno));
		goto out;
	}
	now = cap_get_proc();
	if (!now) {
		ret = pc_error_set(err, PC_EPERM, "cannot read capabilities back: %s",
				   strerror(errno));
		goto out;
	}
	if (cap_compare(now, want) != 0) {
		ret = pc_error_set(err, PC_EPERM, "capabilities were not dropped");
		goto out;
	}
out:
	if (want)
		cap_free(want);
	if (now)
		cap_free(now);
	return ret;
}

int pc_privdrop_all(struct pc_error *err)
{
	return pc_privdrop_keep(NULL, 0, err);
}
