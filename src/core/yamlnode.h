/*
 * yamlnode.h - what the YAML loaders (the knowledge base, src/classify/kb.c;
 * the policy, src/policy/load.c) share about libyaml's document nodes, so
 * their "expected X, found Y" errors name a node the same way.
 */
#ifndef PC_CORE_YAMLNODE_H
#define PC_CORE_YAMLNODE_H

#include <yaml.h>

/* "a scalar", "a list", "a mapping" or "nothing", for error messages. */
const char *pc_yaml_node_kind(const yaml_node_t *n);

#endif
