# NetWatch top-level build. `make help` lists the targets.
#
# Layout (docs/architecture.md; every rule below is a wildcard: a new file
# joins the build by existing in the right folder):
#   bpf/*.bpf.c            -> build/<name>.bpf.o + build/<name>.skel.h (bpftool)
#   user/common/*.c        -> build/lib/libnw-common.a: what two or more programs use
#   user/<prog>/**.c       -> build/lib/libnw-<prog>.a (all but main.c) and
#                             build/netwatch-<prog> (main.c + both archives)
#   agent/*.c              -> build/lib/libnw-agent.a and build/netwatch-agent
#   tests/unit/<prog>/*.c  -> build/tests/<prog>/<name> (cmocka; links its program's archive)
#   tests/bpf/*.c          -> build/tests/bpf/<name> (cmocka, BPF_PROG_TEST_RUN, root)
#   tests/*/*.bpf.c        -> test-only and benchmark BPF programs (skeletons in build/)
#   tests/fuzz/*.c         -> build/fuzz/<name> (libFuzzer, `make fuzz`)
#   tests/bench/*.c        -> build/bench/<name> (`make bench`)
#   tests/integration, tests/deploy -> pytest (root, network namespaces)
#
# SANITIZE=1 builds everything with ASan+UBSan into build/san/ instead.

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PYTEST   ?= /usr/bin/python3 -m pytest
PREFIX   ?= /usr/local
DESTDIR  ?=

ifeq ($(SANITIZE),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD    := build
SANFLAGS :=
endif

ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -DNW_VERSION_STRING='"$(VERSION)"' \
            -iquote bpf -iquote user/common -iquote $(BUILD)
DEPFLAGS  = -MMD -MP -MF $@.d
LDFLAGS  += $(SANFLAGS)
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
USER_LIBS   := $(LIBBPF_LIBS) -ljansson -lyajl -lcap -lfftw3 -lmicrohttpd -lsodium -lm
AGENT_LIBS  := -lm -lsodium -ljansson
CMOCKA_LIBS := -lcmocka

BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_$(ARCH) -I. -Ibpf

# Production BPF programs, and the test-only and benchmark ones beside their tests.
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
TBPF_SRCS  := $(wildcard tests/*/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
TSKELS     := $(patsubst %.bpf.c,$(BUILD)/%.skel.h,$(notdir $(TBPF_SRCS)))

# Programs: each folder under user/ but common/, plus agent/.
PROGS      := $(sort $(filter-out common,$(notdir $(patsubst %/,%,$(dir $(wildcard user/*/*.c))))))
src_of      = $(if $(filter agent,$(1)),$(wildcard agent/*.c),$(shell find user/$(1) -name '*.c' | sort))
dir_of      = $(if $(filter agent,$(1)),agent,user/$(1))
inc_of      = $(addprefix -iquote ,$(sort $(patsubst %/,%,$(dir $(call src_of,$(1))) $(dir $(shell find $(call dir_of,$(1)) -name '*.h')))))
obj_of      = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
lib_of      = $(BUILD)/lib/libnw-$(1).a

COMMON_SRCS := $(wildcard user/common/*.c)
COMMON_LIB  := $(call lib_of,common)
BINS        := $(BUILD)/netwatch-agent $(patsubst %,$(BUILD)/netwatch-%,$(PROGS))

UNIT_SRCS  := $(wildcard tests/unit/*/*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPFT_SRCS  := $(filter-out %.bpf.c,$(wildcard tests/bpf/*.c))
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard tests/bench/*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

FUZZ_SECONDS ?= 60

.PHONY: all deps deps-build deps-compose-test test unit-test bpf-test integration-test compose-test fuzz bench evaluate install clean vmlinux demo help \
	format format-check lint compile_commands.json
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BPF_OBJS) $(SKELS) $(BINS)

help:
	@echo "make                    build binaries and BPF objects into $(BUILD)/ (same as make all)"
	@echo "make all                the same"
	@echo "make deps               install every Debian package the build, tests, lab and tools need"
	@echo "make deps-build         only what make all and make unit-test need (the image build stage)"
	@echo "make test               deps, build, then unit, BPF (root) and integration tests; SANITIZE=1 for ASan+UBSan"
	@echo "make unit-test          the cmocka unit tests only (tests/unit/<prog>/)"
	@echo "make bpf-test           the BPF_PROG_TEST_RUN tests only (root; tests/bpf/)"
	@echo "make integration-test   the pytest process and deployment tests only (root; tests/integration, tests/deploy)"
	@echo "make compose-test       the compose stack on an engine of its own (root; Debian's docker.io; part of make test)"
	@echo "make fuzz               libFuzzer over the shared parser and the report protocol (FUZZ_SECONDS=$(FUZZ_SECONDS))"
	@echo "make bench              collector cost per packet, DC cost per report and other figures"
	@echo "make evaluate           fault scenarios on labs -> docs/EVALUATION.md, docs/EVALUATION-fabric.md (root, ~20 min)"
	@echo "make demo               a live demo in network namespaces (root)"
	@echo "make install            PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"
	@echo "make clean              remove build/"
	@echo "make vmlinux            regenerate vmlinux.h from this kernel's BTF"
	@echo "make format             clang-format -i every C file in bpf/ user/ agent/ tests/ (.clang-format)"
	@echo "make format-check       fail if make format would change anything (.ci/run runs it)"
	@echo "make lint               cppcheck over user/ and agent/; any warning fails (.ci/run runs it)"
	@echo "make compile_commands.json  rebuild under bear so editors and clang tools see the real flags"
	@echo "make help               this list"

# ------------------------------------------------------------------ deps
# What `make all` and `make unit-test` need: the image build stage
# (deploy/docker/Dockerfile) installs only these (`make deps-build`).
DEB_BUILD_PACKAGES := build-essential clang llvm libclang-rt-dev libbpf-dev bpftool libelf-dev zlib1g-dev \
	pkg-config libsodium-dev libjansson-dev libyajl-dev libfftw3-dev libmicrohttpd-dev libcap-dev \
	libnl-route-3-dev libmnl-dev libcmocka-dev python3
# What the tests, the lab, the engine test and the tools add.
DEB_PACKAGES := $(DEB_BUILD_PACKAGES) python3-pytest python3-numpy python3-yaml iproute2 ethtool \
	prometheus jq curl sudo util-linux kmod procps docker-compose docker.io debootstrap \
	clang-format cppcheck bear chromium
# npm packages, each folder's pinned by its committed package-lock.json (npm ci
# installs exactly that, nothing newer): the web UI's uPlot (embedded at build
# time), the deployment tests' Kubernetes schema validator and the browser
# tests' driver (playwright-core; the browser is Debian's chromium above).
NPM_BUILD_DIRS := web
NPM_DIRS := $(NPM_BUILD_DIRS) tests/deploy tests/ui

# $(call install_deps,DEBIAN PACKAGES,NPM FOLDERS)
define install_deps
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	else \
		echo "deps: all $(words $(1)) packages present"; \
	fi
	@for d in $(2); do \
		if [ -f $$d/package-lock.json ] && \
		    [ ! $$d/node_modules/.package-lock.json -nt $$d/package-lock.json ]; then \
			command -v npm >/dev/null || { export DEBIAN_FRONTEND=noninteractive; \
				apt-get install -y -q --no-install-recommends npm; }; \
			npm ci --prefix $$d --no-audit --no-fund --loglevel=error || exit 1; \
		fi; \
	done
endef

deps:
	$(call install_deps,$(DEB_PACKAGES),$(NPM_DIRS))
	@$(MAKE) --no-print-directory deps-compose-test

# The compose test's current engine (Compose v2, CAP_BPF known): Debian 13's
# packages, apt-fetched (signatures checked) and unpacked under the test's
# cache; Debian 12's docker.io above stays the system's (docs/containers.md).
COMPOSE_TEST_CACHE ?= /var/cache/netwatch-compose-test
ENGINE_SUITE := trixie
ENGINE_PACKAGES := docker.io=26.1.5+dfsg1-9+deb13u1+b1 docker-cli=26.1.5+dfsg1-9+deb13u1+b1 \
	docker-compose=2.26.1-4
deps-compose-test:
	@tests/deploy/fetch-engine.sh $(COMPOSE_TEST_CACHE)/engine-26 $(ENGINE_SUITE) $(ENGINE_PACKAGES)

deps-build:
	$(call install_deps,$(DEB_BUILD_PACKAGES),$(NPM_BUILD_DIRS))

# ------------------------------------------------------------------ BPF
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h.tmp
	mv vmlinux.h.tmp vmlinux.h

$(BUILD)/%.bpf.o: bpf/%.bpf.c vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -c $< -o $@

$(BUILD)/%.bpf.o: tests/bpf/%.bpf.c vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -c $< -o $@

$(BUILD)/%.bpf.o: tests/bench/%.bpf.c vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

# ------------------------------------------------------------------ C
$(BUILD):
	mkdir -p $@

# Each program's folders are on its own include path only, so a program
# cannot reach into another's headers; user/common and bpf/ are on everyone's.
$(foreach p,$(PROGS) agent,$(eval $(BUILD)/obj/$(call dir_of,$(p))/%.o: PROG_INC := $(call inc_of,$(p))))

# Skeletons are generated headers: they must exist before any C file compiles;
# -MMD then tracks which object really includes which header.
$(BUILD)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PROG_INC) $(DEPFLAGS) -c $< -o $@

$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The web UI (web/, docs/web-ui.md) is embedded into every binary that links
# user/common/webui.c: web/embed.py writes one C file of byte arrays from the
# page's files and the pinned uPlot that `make deps` put in web/node_modules.
# Nothing is fetched here: a missing uPlot stops the build with what to run.
UPLOT_DIST := web/node_modules/uplot/dist
WEB_ASSETS := web/index.html=/index.html web/app.js=/ui/app.js web/app.css=/ui/app.css \
	$(UPLOT_DIST)/uPlot.iife.min.js=/ui/uplot.min.js $(UPLOT_DIST)/uPlot.min.css=/ui/uplot.min.css
WEB_FILES  := $(foreach a,$(WEB_ASSETS),$(firstword $(subst =, ,$(a))))
WEBUI_C    := $(BUILD)/webui_assets.c
WEBUI_O    := $(BUILD)/obj/webui_assets.o

$(UPLOT_DIST)/%:
	@echo "$@ is missing: run 'make deps' (npm ci in web/ installs the pinned uPlot)" >&2; exit 1

$(WEBUI_C): $(WEB_FILES) web/embed.py | $(BUILD)
	/usr/bin/python3 web/embed.py $@ $(WEB_ASSETS)

$(WEBUI_O): $(WEBUI_C)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(COMMON_LIB): $(call obj_of,$(COMMON_SRCS)) $(WEBUI_O)

# Per program: an archive of everything but main.c (what its unit tests
# link), and the binary: main.o, that archive, then the shared one.
LIBS_agent := $(AGENT_LIBS)
EXTRA_LIBS_chaos := $(shell pkg-config --libs libmnl 2>/dev/null || echo -lmnl)
define PROG_RULE
$(call lib_of,$(1)): $(call obj_of,$(filter-out %/main.c,$(call src_of,$(1))))
$(BUILD)/netwatch-$(1): $(call obj_of,$(call dir_of,$(1))/main.c) $(call lib_of,$(1)) $(COMMON_LIB)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(or $$(LIBS_$(1)),$$(USER_LIBS)) $$(EXTRA_LIBS_$(1))
endef
$(foreach p,$(PROGS) agent,$(eval $(call PROG_RULE,$(p))))

# A unit test in tests/unit/<prog>/ sees and links that program's code
# (tests/unit/common/ only the shared code); helpers for every C test are in
# tests/lib (headers, and *.c in an archive of their own).
TEST_INC := -iquote tests/lib
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB      := $(BUILD)/lib/libnw-testlib.a
$(TESTLIB): $(call obj_of,$(TESTLIB_SRCS))
$(BUILD)/obj/tests/lib/%.o: PROG_INC := -iquote tests/lib
define UNIT_RULE
$(BUILD)/tests/$(1)/%: tests/unit/$(1)/%.c $(if $(filter common,$(1)),,$(call lib_of,$(1))) $(TESTLIB) $(COMMON_LIB) | $(SKELS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(if $(filter common,$(1)),,$(call inc_of,$(1))) -iquote tests/unit/$(1) $$(TEST_INC) $$(DEPFLAGS) \
		$$(LDFLAGS) -o $$@ $$< $$(filter %.a,$$^) $$(USER_LIBS) $$(EXTRA_LIBS_$(1)) $$(CMOCKA_LIBS)
endef
$(foreach p,common $(PROGS) agent,$(eval $(call UNIT_RULE,$(p))))

# BPF tests and benchmarks drive one program's BPF object through its loader
# code: TEST_PROG_<name> names that program (the rack unless said).
TEST_PROG_test_chaos := chaos
TEST_PROG_bench_report := dc
test_prog = $(or $(TEST_PROG_$(1)),rack)
.SECONDEXPANSION:
$(BUILD)/tests/bpf/%: tests/bpf/%.c $$(call lib_of,$$(call test_prog,$$*)) $(COMMON_LIB) | $(SKELS) $(TSKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call inc_of,$(call test_prog,$*)) -iquote tests/bpf $(TEST_INC) $(DEPFLAGS) \
		$(LDFLAGS) -o $@ $< $(filter %.a,$^) $(USER_LIBS) $(EXTRA_LIBS_$(call test_prog,$*)) $(CMOCKA_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $$(call lib_of,$$(call test_prog,$$*)) $(TESTLIB) $(COMMON_LIB) | $(SKELS) $(TSKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call inc_of,$(call test_prog,$*)) -iquote tests/bench $(TEST_INC) $(DEPFLAGS) \
		$(LDFLAGS) -o $@ $< $(filter %.a,$^) $(USER_LIBS)

# libFuzzer needs clang; the fuzzer always carries ASan+UBSan. A fuzzer
# compiles the sources it exercises itself (FUZZ_EXTRA_<name>), so they are
# instrumented too, and links FUZZ_LIBS_<name>.
FUZZ_EXTRA_fuzz_report := user/common/report.c user/common/report_parse.c user/common/keyfile.c \
	user/common/report_mac.c user/common/buf.c user/common/health_state.c tests/lib/report_ref.c
FUZZ_LIBS_fuzz_report  := -ljansson -lyajl -lsodium -lm
$(BUILD)/fuzz/%: tests/fuzz/%.c $$(FUZZ_EXTRA_$$*)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 $(WARN) -D_GNU_SOURCE -iquote bpf -iquote user/common -iquote tests/bpf \
		$(TEST_INC) -MMD -MP -MF $@.d -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< \
		$(FUZZ_EXTRA_$*) $(FUZZ_LIBS_$*)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ------------------------------------------------------------------ tests
test: deps all $(UNIT_BINS) $(BPFT_BINS)
	@bash tests/run-c-tests.sh $(UNIT_BINS)
	@if [ "$$(id -u)" = 0 ]; then bash tests/run-c-tests.sh $(BPFT_BINS); \
	 else echo "BPF tests need root: skipped"; fi
	NETWATCH_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q -p no:cacheprovider tests/integration tests/deploy

unit-test: $(UNIT_BINS)
	@bash tests/run-c-tests.sh $(UNIT_BINS)

bpf-test: all $(BPFT_BINS)
	@bash tests/run-c-tests.sh $(BPFT_BINS)

integration-test: all
	NETWATCH_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q -p no:cacheprovider tests/integration tests/deploy

# The compose stack built and brought up on a Docker engine of the test's own
# (tests/deploy/compose_engine.py; images cached in /var/cache/netwatch-compose-test).
compose-test: all deps-compose-test
	NETWATCH_COMPOSE_CACHE=$(COMPOSE_TEST_CACHE) NETWATCH_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q -p no:cacheprovider tests/deploy/test_compose_engine.py

# Each fuzzer reads tests/fuzz/seeds/<name>/ when it has one, else tests/fuzz/seeds/.
fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		s=tests/fuzz/seeds/$$n; [ -d $$s ] || s=tests/fuzz/seeds; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s (seeds $$s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz/corpus-$$n $$s; \
	done

bench: all $(BENCH_BINS)
	@set -e; for b in $(BENCH_BINS); do echo "== $$b"; $$b; done
	NETWATCH_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 tests/bench/bench_dc.py
	NETWATCH_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 tests/bench/bench_scale.py

# Not part of `make test`: it runs every fault scenario on a lab for minutes.
evaluate: all
	NETWATCH_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 tests/evaluate/evaluate.py
	NETWATCH_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 tests/evaluate/evaluate.py --fabric \
		--out docs/EVALUATION-fabric.md

demo: deps all
	bash deploy/local/demo.sh

# ------------------------------------------------------------------ habits
# Tools keep the habits (CONTRIBUTING.md): one format, one linter, the real
# flags for editors. The file lists are read when a target runs, not on every make.
CLANG_FORMAT ?= clang-format
CPPCHECK     ?= cppcheck
BEAR         ?= bear

# Every tracked C file we write; vmlinux.h and the skeletons are generated.
FORMAT_SRCS = $(filter-out %vmlinux.h %.skel.h,$(shell git ls-files -- 'bpf/*.[ch]' 'user/*.[ch]' \
	'agent/*.[ch]' 'tests/*.[ch]' 2>/dev/null || find bpf user agent tests -name '*.[ch]'))

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_SRCS)

# cppcheck sees each archive as the compiler does: its own folders on the
# include path, one fixed configuration (the build's -D, a constant version
# string: a commit id such as 41e5a0a trips cppcheck's number parser), and
# libbpf's option macros from .cppcheck-libbpf.cfg instead of system headers,
# so the result depends neither on build/ nor on the commit. Every archive is
# checked before the target fails. A false positive is suppressed on its line
# (// cppcheck-suppress <id> ; why), nowhere else.
CPPCHECK_FLAGS := --enable=warning,portability,performance --error-exitcode=1 --inline-suppr \
	--quiet --std=c11 -D_GNU_SOURCE -DNW_VERSION_STRING='"lint"' --library=.cppcheck-libbpf.cfg \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]'
lint_inc = -Ibpf -Iuser/common $(if $(filter common,$(1)),,$(subst -iquote ,-I,$(call inc_of,$(1))))
lint_src = $(if $(filter common,$(1)),$(COMMON_SRCS),$(call src_of,$(1)))

lint:
	@rc=0; $(foreach p,common $(PROGS) agent,echo "cppcheck: $(p)"; \
		$(CPPCHECK) $(CPPCHECK_FLAGS) $(call lint_inc,$(p)) $(call lint_src,$(p)) 2>&1 || rc=1;) \
	exit $$rc

# bear records every compiler call of a full rebuild (programs, unit and BPF
# tests) into the file clangd, clang-tidy and editors read.
compile_commands.json:
	@command -v $(BEAR) >/dev/null || { echo "$(BEAR) not found: make deps installs it" >&2; exit 1; }
	$(BEAR) --output $(CURDIR)/$@ -- $(MAKE) -B all $(UNIT_BINS) $(BPFT_BINS)

# ------------------------------------------------------------------ install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/doc/netwatch
	install -m 0644 README.md $(wildcard docs/*.md) $(DESTDIR)$(PREFIX)/share/doc/netwatch/

clean:
	rm -rf build
