/*
 * fleet_table.h - the rows a `fleet` question answers with, and the five
 * writers (table, md, json, html, prom) that print them. Internal to
 * src/cli/fleet*.c.
 */
#ifndef PC_CLI_FLEET_TABLE_H
#define PC_CLI_FLEET_TABLE_H

#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PC_FLEET_MAX_COLS 10

struct ftable {
	struct pc_arena arena;
	int ncols;  /* shown */
	int hidden; /* more columns after them, for prom */
	const char *names[PC_FLEET_MAX_COLS];
	bool numeric[PC_FLEET_MAX_COLS];
	char **rows; /* rows[i][c] */
	size_t n, cap;
};

char **pc_fleet_ft_add(struct ftable *t);
int pc_fleet_ft_set(struct ftable *t, char **row, int c, const char *v);
void pc_fleet_ft_ref(char **row, int c, const char *v);
char **pc_fleet_ft_row(const struct ftable *t, size_t i);
void pc_fleet_write_table(FILE *f, const struct ftable *t);
void pc_fleet_write_md(FILE *f, const struct ftable *t);
void pc_fleet_write_json(FILE *f, const struct ftable *t);
void pc_fleet_write_html(FILE *f, const struct ftable *t, const char *question);
void pc_fleet_write_prom(FILE *f, const struct ftable *t, const char *question, bool hosts);

#endif
