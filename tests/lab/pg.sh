# pg.sh - a throw-away PostgreSQL 15 for lab tests: the fleet's central
# ledger, started by the test and gone after it.
#
#   . "$(dirname "$0")/../lab/lab.sh"
#   . "$(dirname "$0")/../lab/pg.sh"
#   lab_init
#   lab_pg_init            # initdb in a temp dir, start, create the database;
#                          # sets LAB_PG_URL; stopped and removed on exit
#   lab_pg_stop            # stop it (store-and-forward tests), keeping the data
#   lab_pg_start           # start it again
#
# Rules: the server listens on a unix socket in its own temp directory only
# (listen_addresses='': no TCP port anywhere), runs as the postgres user
# (PostgreSQL refuses root), trusts local connections (the socket directory
# is 0700 to everyone but postgres and root), and is stopped by the EXIT
# trap whatever happens. Debian's postgresql units stay masked: this never
# touches the system cluster.

LAB_PG_DIR=""
LAB_PG_URL=""

_lab_pg_bin() {
	local d
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		if [ -x "$d/pg_ctl" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	return 1
}

_lab_pg_as() { runuser -u postgres -- "$@"; }

lab_pg_init() {
	LAB_PG_BIN=$(_lab_pg_bin) || lab_skip "needs PostgreSQL (postgresql-15)"
	id postgres >/dev/null 2>&1 || lab_skip "needs the postgres user"
	command -v runuser >/dev/null || lab_skip "needs runuser (util-linux)"
	LAB_PG_DIR=$(mktemp -d /tmp/portcensus-pg.XXXXXX)
	chown postgres: "$LAB_PG_DIR"
	chmod 700 "$LAB_PG_DIR"
	# stop the server before lab_cleanup runs, keeping the exit status
	trap '_lab_pg_exit' EXIT
	_lab_pg_as "$LAB_PG_BIN/initdb" -D "$LAB_PG_DIR/data" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 >"$LAB_PG_DIR/initdb.log" 2>&1 ||
		lab_fail "initdb failed: $(tail -3 "$LAB_PG_DIR/initdb.log")"
	lab_pg_start
	"$LAB_PG_BIN/createdb" -h "$LAB_PG_DIR" -U postgres portcensus ||
		lab_fail "createdb failed"
	LAB_PG_URL="postgresql:///portcensus?host=$LAB_PG_DIR&user=postgres"
	export LAB_PG_URL
}

lab_pg_start() {
	_lab_pg_as "$LAB_PG_BIN/pg_ctl" -D "$LAB_PG_DIR/data" -l "$LAB_PG_DIR/server.log" -w \
		-o "-c listen_addresses='' -k $LAB_PG_DIR -c max_connections=300 -c fsync=off" \
		start >/dev/null || lab_fail "pg_ctl start failed: $(tail -5 "$LAB_PG_DIR/server.log")"
}

lab_pg_stop() {
	[ -n "$LAB_PG_DIR" ] && [ -f "$LAB_PG_DIR/data/postmaster.pid" ] || return 0
	_lab_pg_as "$LAB_PG_BIN/pg_ctl" -D "$LAB_PG_DIR/data" -m fast -w stop >/dev/null 2>&1
}

_lab_pg_exit() {
	local rc=$?
	lab_pg_stop
	[ -n "$LAB_PG_DIR" ] && rm -rf "$LAB_PG_DIR"
	(exit "$rc")
	lab_cleanup
}

# lab_pg_sql SQL: one value per line, unaligned, from the test database
lab_pg_sql() {
	"$LAB_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$LAB_PG_URL" -c "$1"
}
