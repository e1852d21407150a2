/*
 * reach.c - PLACEHOLDER until the live check lands. Replace, do not extend.
 */
#include "probe/reach.h"

int pc_reach_verify(struct pc_snapshot *snap, const struct pc_netns_set *nsset,
		    const struct pc_reach_opts *opts, struct pc_error *err)
{
	(void)snap;
	(void)nsset;
	(void)opts;
	return pc_error_set(err, PC_ENOTSUP, "live check is not implemented yet");
}
