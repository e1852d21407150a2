/*
 * inventory.c - PLACEHOLDER until the sock_diag inventory lands: reports
 * that nothing is implemented. Replace, do not extend.
 */
#include "inventory/inventory.h"
#include "inventory/netns.h"

void pc_inventory_opts_default(struct pc_inventory_opts *opts)
{
	*opts = (struct pc_inventory_opts){
		.listeners = true,
		.owners = true,
		.all_netns = true,
	};
}

int pc_inventory_collect(struct pc_snapshot *snap, const struct pc_inventory_opts *opts,
			 struct pc_netns_set **nsset, struct pc_error *err)
{
	(void)snap;
	(void)opts;
	if (nsset)
		*nsset = NULL;
	return pc_error_set(err, PC_ENOTSUP, "host inventory is not implemented yet");
}

