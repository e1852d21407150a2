# Makefile - the README's two commands, and a few conveniences around Meson.
#   make audit   install missing packages, build, audit this host
#   make check   install missing packages, build, run every test
#   make bench   run the benchmarks in bench/ against their peers

.PHONY: all build deps audit check bench clean install

all: build

deps:
	@scripts/deps --quiet

build: deps
	@[ -f build/build.ninja ] || meson setup build >/dev/null
	@ninja -C build >/dev/null

audit: build
	./build/portcensus audit $(ARGS)

check: deps
	@scripts/check

bench: build
	@for b in bench/*/run; do [ -x "$$b" ] && "$$b"; done

install: build
	meson install -C build

clean:
	rm -rf build build-asan build-fuzz build*.log
