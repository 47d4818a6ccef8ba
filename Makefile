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
PKGS     := jansson libzstd libsodium sqlite3 libpq libmicrohttpd gnutls yaml-0.1
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

# The embedding API (include/gyre.h): build/gyre.pc for installs, build/gyre-uninstalled.pc
# for the build tree (pkg-config picks it up from PKG_CONFIG_PATH=build), the example
# programs built against libgyre.a with exactly those flags, and make install.
PREFIX   ?= /usr/local
DESTDIR  ?=
GYRE_VERSION := $(shell awk '/^\#define GYRE_VERSION_(MAJOR|MINOR|PATCH) /{v=v s $$3; s="."} END{print v}' include/gyre.h)
GYRE_PC_LIBS_PRIVATE := $(strip $(PKG_LIBS) -lxgboost -lm -pthread)
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
.PHONY: examples install gyre-pc-force

$(BUILD)/examples/%: examples/%.c include/gyre.h $(BUILD)/libgyre.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) -std=c11 $(OPT) $(SAN) -Wall -Wextra -Werror -Iinclude $(CFLAGS) -o $@ $< \
	    -L$(BUILD) -lgyre $(GYRE_PC_LIBS_PRIVATE) $(LDLIBS)

# $(1): output, $(2): prefix, $(3): includedir, $(4): libdir. Rewritten only when it changes.
gyre_pc = sed -e 's|@PREFIX@|$(2)|' -e 's|@INCLUDEDIR@|$(3)|' -e 's|@LIBDIR@|$(4)|' \
	    -e 's|@VERSION@|$(GYRE_VERSION)|' -e 's|@LIBS_PRIVATE@|$(GYRE_PC_LIBS_PRIVATE)|' \
	    gyre.pc.in >$(1).tmp && { cmp -s $(1).tmp $(1) && rm -f $(1).tmp || mv -f $(1).tmp $(1); }
$(BUILD)/gyre.pc: gyre.pc.in gyre-pc-force
	@mkdir -p $(dir $@)
	@$(call gyre_pc,$@,$(PREFIX),$${prefix}/include,$${prefix}/lib)
$(BUILD)/gyre-uninstalled.pc: gyre.pc.in gyre-pc-force
	@mkdir -p $(dir $@)
	@$(call gyre_pc,$@,$(CURDIR),$(CURDIR)/include,$(abspath $(BUILD)))

examples: $(EXAMPLE_BINS) $(BUILD)/gyre.pc $(BUILD)/gyre-uninstalled.pc
unit-build: examples
all: $(BUILD)/gyre.pc $(BUILD)/gyre-uninstalled.pc

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/gyre $(DESTDIR)$(PREFIX)/bin/gyre
	install -m 644 $(BUILD)/libgyre.a $(DESTDIR)$(PREFIX)/lib/libgyre.a
	install -m 644 include/gyre.h $(DESTDIR)$(PREFIX)/include/gyre.h
	install -m 644 $(BUILD)/gyre.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/gyre.pc

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
FUZZ_JOBS ?= 2
FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(FUZZ_TARGETS:%=build/fuzz/bin/%)
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
# libgyre.a again with clang, coverage and ASan+UBSan (build/fuzz), then one libFuzzer binary
# per tests/fuzz/fuzz_*.c in build/fuzz/bin (relinked when its source or the library changes).
fuzz-build: deps
	$(MAKE) BUILD=build/fuzz CC=clang CFLAGS=-Wno-unknown-warning-option \
	    OPT="-O1 -g -fno-omit-frame-pointer" SAN="$(FUZZ_SAN)" build/fuzz/libgyre.a
	$(MAKE) $(FUZZ_BINS)

build/fuzz/bin/%: tests/fuzz/%.c build/fuzz/libgyre.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@clang -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -Wall -Wextra -Werror -Wno-unused-parameter -Isrc -Iinclude $(PKG_CFLAGS) \
	    $< build/fuzz/libgyre.a $(LDLIBS_ALL) -o $@

# Replays each target's corpus, then fuzzes it for FUZZ_SECONDS, FUZZ_JOBS targets at a time.
fuzz: fuzz-build
	scripts/fuzz-run -j $(FUZZ_JOBS) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libgyre.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

bench: all $(BENCH_BINS)
	scripts/install-deps bench
	bench/run

demo: all
	@scripts/install-deps demo
	scripts/demo

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h include/*.h tests/*/*.c tests/unit/*/*.c)

lint:
	scripts/lint

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
