# Makefile - the README's two commands, and a few conveniences around Meson.
#   make audit      install missing build packages, build, audit this host
#   make check      install missing build and test packages, build, run every test
#   make bench      run the benchmarks in bench/ against their peers
#   make fuzz-long  run every fuzz target FUZZ_SECONDS (default 600) and keep
#                   new corpus entries in tests/fuzz/corpus/<target> (not in CI)

FUZZ_SECONDS ?= 600

.PHONY: all build deps deps-test audit check bench fuzz-long clean install

all: build

# build and run: compiler, Meson/Ninja, pkg-config, -dev libraries
deps:
	@scripts/deps --quiet

# tests and benchmarks: lab tools, peers, servers (their units masked)
deps-test:
	@scripts/deps --test --quiet

build: deps
	@[ -f build/build.ninja ] || meson setup build >/dev/null
	@ninja -C build >/dev/null

audit: build
	./build/portcensus audit $(ARGS)

check: deps-test
	@scripts/check

bench: deps-test build
	@for b in bench/*/run; do [ -x "$$b" ] && "$$b"; done

fuzz-long: deps-test
	@scripts/check --build build-fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh --keep-all build-fuzz tests/fuzz/corpus

install: build
	meson install -C build

clean:
	rm -rf build build-asan build-fuzz
