#!/usr/bin/env bash
# run.sh TARGET SEED_DIR - a short libFuzzer run (FUZZ_SECONDS, default 5)
# over the seed corpus. New inputs go to a temporary directory, so the
# committed corpus never changes under a test run.
#
# run.sh --keep-all BUILD_DIR CORPUS_ROOT - the long campaign (`make
# fuzz-long`): every fuzz target in BUILD_DIR/tests/fuzz runs FUZZ_SECONDS
# (default 600) over CORPUS_ROOT/<target>; then `-merge=1` adds to that
# folder only the new inputs that reach coverage its entries do not, so the
# committed corpus grows by what is worth keeping and nothing else (the
# hand-named seeds stay as they are). A crash stops the campaign with the
# target's exit status; the crashing input is left in the current folder.
set -eu

run_one() { # run_one TARGET SEEDS WORK SECONDS
	"$1" -max_total_time="$4" -rss_limit_mb=1024 -timeout=5 -print_final_stats=1 "$3" "$2"
}

if [ "${1:-}" = "--keep-all" ]; then
	build=${2:?usage: run.sh --keep-all BUILD_DIR CORPUS_ROOT}
	corpus=${3:?usage: run.sh --keep-all BUILD_DIR CORPUS_ROOT}
	secs=${FUZZ_SECONDS:-600}
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	n=0
	for exe in "$build"/tests/fuzz/fuzz_*; do
		[ -f "$exe" ] && [ -x "$exe" ] || continue
		name=${exe##*/fuzz_}
		seeds=$corpus/$name
		[ -d "$seeds" ] || { echo "no seed corpus at $seeds" >&2; exit 1; }
		before=$(find "$seeds" -type f | wc -l)
		mkdir -p "$work/$name"
		echo "== fuzz_$name: ${secs} s"
		run_one "$exe" "$seeds" "$work/$name" "$secs" >"$work/$name.log" 2>&1 || {
			tail -40 "$work/$name.log" >&2
			echo "fuzz_$name failed: see the crash-* file above" >&2
			exit 1
		}
		grep -E '^stat::(number_of_executed_units|new_units_added):' "$work/$name.log" | tr '\n' ' '
		echo
		"$exe" -merge=1 "$seeds" "$work/$name" >"$work/$name.merge.log" 2>&1 || {
			tail -20 "$work/$name.merge.log" >&2
			exit 1
		}
		echo "   corpus/$name: $before -> $(find "$seeds" -type f | wc -l) entries"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { echo "no fuzz targets in $build/tests/fuzz (build it with -Dfuzz=true)" >&2; exit 1; }
	echo "fuzz-long: $n targets, $secs s each; new entries kept in $corpus (git add them)"
	exit 0
fi

target=$1
seeds=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -d "$seeds" ] || { echo "no seed corpus at $seeds" >&2; exit 1; }
run_one "$target" "$seeds" "$work" "${FUZZ_SECONDS:-5}"
