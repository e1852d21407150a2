#!/usr/bin/env bash
# run.sh TARGET SEED_DIR - a short libFuzzer run (FUZZ_SECONDS, default 5)
# over the seed corpus. New inputs go to a temporary directory, so the
# committed corpus never changes under a test run.
set -eu
target=$1
seeds=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -d "$seeds" ] || { echo "no seed corpus at $seeds" >&2; exit 1; }
exec "$target" -max_total_time="${FUZZ_SECONDS:-5}" -rss_limit_mb=1024 -timeout=5 \
	-print_final_stats=1 "$work" "$seeds"
