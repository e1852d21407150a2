#!/usr/bin/env bash
# docs_links.sh - the README and docs/ stand alone: every relative link in
# them resolves to a file inside the repository, and none climbs out of it
# (a user has the repository, not the folders around it).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
fail=0
checked=0
for f in "$root"/README.md "$root"/docs/*.md "$root"/docs/*.scd; do
	dir=$(dirname "$f")
	# markdown links [text](target), and bare mentions of paths outside
	while IFS= read -r target; do
		target=${target%%#*}
		[ -z "$target" ] && continue
		case $target in
		http://* | https://* | mailto:*) continue ;;
		esac
		checked=$((checked + 1))
		resolved=$(realpath -m "$dir/$target")
		case $resolved in
		"$root"/*) ;;
		*)
			echo "FAIL: ${f#"$root"/}: link leaves the repository: $target"
			fail=1
			continue
			;;
		esac
		[ -e "$resolved" ] || {
			echo "FAIL: ${f#"$root"/}: broken link: $target"
			fail=1
		}
	done < <(grep -oE '\]\([^)]+\)' "$f" | sed -E 's/^\]\((.*)\)$/\1/')
	if grep -nE '(^|[^.])\.\./shared|\.\./\.\./' "$f"; then
		echo "FAIL: ${f#"$root"/}: mentions a path outside the repository"
		fail=1
	fi
done
echo "# $checked relative links checked"
exit $fail
