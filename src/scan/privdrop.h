/*
 * privdrop.h - give up capabilities once the raw sockets are open.
 *
 * A SYN scan needs CAP_NET_RAW for exactly one thing: opening its raw and
 * packet sockets. Afterwards the process keeps the open descriptors and
 * nothing else: every capability leaves the effective, permitted and
 * inheritable sets, the ambient set is cleared, and (when we may) the
 * bounding set is emptied too, so that not even an exec of a set-uid
 * program brings them back. Each call is checked and the result re-read:
 * a drop that did not happen is an error the caller must abort on
 * (OpenBSD's rule; zmap ignores the return value, we do not).
 */
#ifndef PC_SCAN_PRIVDROP_H
#define PC_SCAN_PRIVDROP_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

/* Drop every capability except the n listed in keep (cap_value_t values as
 * int, e.g. CAP_NET_RAW; n may be 0). 0, or PC_EPERM with err filled. */
int pc_privdrop_keep(const int *keep, size_t n, struct pc_error *err);

/* Drop every capability. */
int pc_privdrop_all(struct pc_error *err);

/* True when the effective set holds cap. */
bool pc_privdrop_has(int cap);

#endif
