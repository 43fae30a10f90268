# A thin front end over CMake. `make run` and `make test` are the README's two commands.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 1800
FUZZ_RUNS ?=
JOBS       ?= 2
CMAKE_ARGS ?=

.PHONY: all build deps run test packages test-c test-asan test-conformance bench bench-abuse generate format clean \
        fuzz-build test-fuzz fuzz fuzz-coverage

all: build

deps:
	@scripts/install-deps

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The sample server on the embedded default: ./sftp-root on 127.0.0.1:2222, user demo / demo.
run: deps build
	@mkdir -p sftp-root
	$(BUILD)/bin/sftpkit-server --root ./sftp-root --host 127.0.0.1 --port 2222 --user demo:demo \
	  --host-key $(BUILD)/sftpkit-demo-host-key

# Everything: C unit/ABI/integration tests and every language's tests (ctest), the C core and
# its tests again under ASan+UBSan and under TSan, and the four conformance runners.
test: deps build
	@scripts/run-tests $(BUILD) $(ASAN_BUILD) $(JOBS) $(TSAN_BUILD)

# Release packages in $(BUILD)/packages: manylinux wheels + sdist, jar, NuGet, each self-contained
# for linux-x86_64 and linux-arm64 (cross build in $(BUILD)-arm64). docs/install.md.
packages: deps build
	@packaging/build-arm64 $(BUILD)-arm64 $(JOBS)
	@/usr/bin/python3 packaging/build_packages.py $(BUILD) $(BUILD)-arm64 $(BUILD)/packages

test-c: build
	@ctest --test-dir $(BUILD) --output-on-failure -L unit

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSFTPKIT_SANITIZE=ON -DSFTPKIT_BINDINGS=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -L unit

bench: deps build
	@bench/run $(BUILD)

# the abuse suite's long variants, sftpkit beside OpenSSH's sshd (docs/security.md)
bench-abuse: deps build
	@bench/abuse-run $(BUILD)

# Regenerates the committed generated files (public headers, docs/api, generated conformance
# cases) after a spec change. The only command that writes them: a build writes into $(BUILD).
generate:
	@python3 tools/gen/generate.py --build $(BUILD) --commit

format:
	@clang-format -i $$(git ls-files 'core/*.c' 'core/*.h' 'samples/*.c' 'tests/*.c' 'swig/*.h' | grep -v _gen)

# libFuzzer targets (tests/fuzz, docs/fuzzing.md): clang with ASan+UBSan, own build dir.
fuzz-build: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSFTPKIT_FUZZ=ON -DSFTPKIT_BINDINGS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzzers

# The regression run that `make test` does: every corpus input plus a fixed number of mutations.
test-fuzz: fuzz-build
	@ctest --test-dir $(FUZZ_BUILD) --output-on-failure -L fuzz

# Long runs, one target after another (one process: the machine is shared): FUZZ_SECONDS each,
# or until FUZZ_RUNS executions when that is set (make fuzz FUZZ_SECONDS=86400 FUZZ_RUNS=10000000).
fuzz: fuzz-build
	@for t in $(FUZZ_BUILD)/bin/fuzz_*; do tests/fuzz/run-fuzzer long $$t $(FUZZ_SECONDS) $(FUZZ_RUNS) || exit 1; done

# The engine's source-line coverage from the corpus (clang source-based coverage).
fuzz-coverage: deps
	@tests/fuzz/coverage $(FUZZ_BUILD)-cov $(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD)-arm64 $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(FUZZ_BUILD)-cov
