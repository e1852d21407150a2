#!/usr/bin/env bash
# fleet_pg.sh - the ledger on a real PostgreSQL 15: test_ledger_pg (the same
# golden drift, round trip, retention and identity tests as SQLite's
# test_ledger, plus schema parity with SQLite column by column, eight
# concurrent first migrations and a foreign database refused) against a server this test starts on a unix socket in
# a temp directory and stops afterwards.
set -euo pipefail
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/../lab/pg.sh"
lab_init
lab_pg_init
[ -x "${TEST_LEDGER_PG:-}" ] || lab_fail "TEST_LEDGER_PG is not set to the test program"
PC_TEST_PG_URL=$LAB_PG_URL "$TEST_LEDGER_PG"
echo "fleet_pg: ok"
