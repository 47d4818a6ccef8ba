# SPDX-License-Identifier: MIT
# gyre - one Makefile for the build, tests, sanitizers, fuzzing, benchmarks and the demo.
#
#   make            build build/gyre (release flags, -Werror)
#   make test       install deps if missing, build, unit + e2e tests, unit tests under ASan+UBSan
#   make asan       build and run the unit tests under ASan+UBSan
#   make fuzz       build libFuzzer targets (clang) and fuzz each for FUZZ_SECONDS (default 20)
#   make bench      run the benchmarks side by side with their peers
#   make demo       run the end-to-end demo on a fresh data home
#   make format     clang-format the sources in place
#   make lint       clang-format check and the banned-calls check

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
SAN      ?=
PKGS     := jansson libzstd libsodium sqlite3 libpq libmicrohttpd yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter -Wno-format-truncation
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(SAN) $(WARN) -Isrc -Iinclude $(PKG_CFLAGS) \
             -fno-strict-aliasing -pthread $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lxgboost -lm -pthread $(LDLIBS)

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_MODULES := $(notdir $(wildcard tests/unit/*))
UNIT_BINS := $(foreach m,$(UNIT_MODULES),$(if $(wildcard tests/unit/$(m)/*.c),$(BUILD)/tests/unit_$(m)))

.PHONY: all test unit e2e asan fuzz fuzz-build bench demo format lint clean deps deps-build
all: deps-build $(BUILD)/gyre

deps-build:
	@scripts/install-deps build

deps:
	@scripts/install-deps test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/libgyre.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/gyre: $(CLI_OBJ) $(BUILD)/libgyre.a
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJ) $(BUILD)/libgyre.a $(LDLIBS_ALL)

# One Criterion binary per module: tests/unit/<module>/*.c -> $(BUILD)/tests/unit_<module>.
.SECONDEXPANSION:
.SECONDARY:
$(BUILD)/tests/unit_%: $$(addprefix $(BUILD)/,$$(subst .c,.o,$$(wildcard tests/unit/$$*/*.c))) $(BUILD)/libgyre.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $(filter %.o,$^) $(BUILD)/libgyre.a $(LDLIBS_ALL) -lcriterion

# Fuzz targets linked with a plain main() that replays their corpus (no libFuzzer needed).
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/replay_%,$(FUZZ_SRCS))
$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(BUILD)/libgyre.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

unit-build: $(BUILD)/gyre $(UNIT_BINS) $(REPLAY_BINS)

# The full suite: what .ci/run runs.
test: deps
	$(MAKE) unit-build
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" unit-build
	scripts/run-tests build build/asan

unit: deps unit-build
	scripts/run-tests --unit-only build

e2e: deps unit-build
	scripts/run-tests --e2e-only build

asan: deps
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" unit-build
	scripts/run-tests --unit-only build/asan

FUZZ_SECONDS ?= 20
FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
fuzz-build: deps
	$(MAKE) BUILD=build/fuzz CC=clang CFLAGS=-Wno-unknown-warning-option OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined" build/fuzz/libgyre.a
	@mkdir -p build/fuzz/bin
	@for t in $(FUZZ_TARGETS); do \
	    clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -Isrc -Iinclude \
	        $(PKG_CFLAGS) tests/fuzz/$$t.c build/fuzz/libgyre.a $(LDLIBS_ALL) -o build/fuzz/bin/$$t \
	        || exit 1; \
	done

# Replays each target's corpus, then fuzzes it for FUZZ_SECONDS.
fuzz: fuzz-build
	scripts/fuzz-run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libgyre.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

bench: all $(BENCH_BINS)
	scripts/install-deps bench
	bench/run

demo: all
	scripts/demo

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h include/*.h tests/*/*.c tests/unit/*/*.c)

lint:
	scripts/lint

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
