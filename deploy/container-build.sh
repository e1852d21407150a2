#!/bin/sh
# container-build.sh SRC OUT - the Containerfile's build stage: install the
# build dependencies (when root on Debian and they are missing), build
# portcensus from SRC with Meson (release, no tests: CI runs those on its
# own), and install it under OUT (a root for the image: OUT/usr/bin/
# portcensus, the man page, the documentation); then run the installed
# binary once. CI runs this script as it is (tests/e2e/deploy.sh).
set -eu
src=${1:?usage: container-build.sh SRC OUT}
out=${2:?usage: container-build.sh SRC OUT}
if [ "$(id -u)" = 0 ] && [ -x "$src/scripts/deps" ]; then
	"$src/scripts/deps" --quiet
fi
build=$(mktemp -d "${TMPDIR:-/tmp}/portcensus-image-build.XXXXXX")
trap 'rm -rf "$build"' EXIT
meson setup "$build" "$src" --prefix=/usr --buildtype=release -Dtests=false >/dev/null
ninja -C "$build" >/dev/null
DESTDIR="$out" meson install -C "$build" --no-rebuild >/dev/null
"$out/usr/bin/portcensus" version
