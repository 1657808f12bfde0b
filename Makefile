# NetWatch top-level build. `make help` lists the targets.
#
# Layout (every rule below is a wildcard: a new file joins the build by
# existing in the right folder):
#   bpf/*.bpf.c        -> build/<name>.bpf.o + build/<name>.skel.h (bpftool)
#   agent/*.c          -> build/netwatch-agent (libc, libm, libsodium, jansson)
#   user/lib/*.c       -> build/libnetwatch.a (loader, parsing, JSON, logging)
#   user/<tool>/*.c    -> build/netwatch-<tool>, linked with libnetwatch.a
#   tests/unit/*.c     -> build/tests/<name>  (cmocka, no privileges)
#   tests/bpf/*.c      -> build/tests/<name>  (cmocka, BPF_PROG_TEST_RUN, root)
#   tests/fuzz/*.c     -> build/fuzz/<name>   (libFuzzer, `make fuzz`)
#   tests/bench/*.c    -> build/bench/<name>  (`make bench`)
#   tests/integration  -> pytest (root, network namespaces)
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
            -iquote bpf -iquote user/lib -iquote $(BUILD)
LDFLAGS  += $(SANFLAGS)
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
USER_LIBS   := $(LIBBPF_LIBS) -ljansson -lcap -lfftw3 -lmicrohttpd -lsodium -lm
AGENT_LIBS  := -lm -lsodium -ljansson
CMOCKA_LIBS := -lcmocka

BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_$(ARCH) -Ibpf

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS   := $(wildcard bpf/*.h)

AGENT_SRCS := $(wildcard agent/*.c)
AGENT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(AGENT_SRCS))
LIB_SRCS   := $(wildcard user/lib/*.c)
LIB_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB        := $(BUILD)/libnetwatch.a
TOOLS      := $(filter-out lib,$(notdir $(patsubst %/,%,$(dir $(wildcard user/*/*.c)))))
TOOL_BINS  := $(patsubst %,$(BUILD)/netwatch-%,$(sort $(TOOLS)))
BINS       := $(if $(AGENT_SRCS),$(BUILD)/netwatch-agent) $(TOOL_BINS)

UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPFT_SRCS  := $(wildcard tests/bpf/*.c)
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

FUZZ_SECONDS ?= 60

.PHONY: all deps test unit-test bpf-test integration-test fuzz bench evaluate install clean vmlinux demo help
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BPF_OBJS) $(SKELS) $(BINS)

help:
	@echo "make            build binaries and BPF objects into $(BUILD)/"
	@echo "make deps       install every Debian package the build, tests and lab need"
	@echo "make test       unit, BPF and process tests (root); SANITIZE=1 for ASan+UBSan"
	@echo "make fuzz       libFuzzer over the shared parser (FUZZ_SECONDS=$(FUZZ_SECONDS))"
	@echo "make bench      collector cost per packet and other figures"
	@echo "make evaluate   fault scenarios on a lab -> docs/EVALUATION.md (root, ~10 min)"
	@echo "make demo       a live demo in network namespaces (root)"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"
	@echo "make vmlinux    regenerate vmlinux.h from this kernel's BTF"

# ------------------------------------------------------------------ deps
DEB_PACKAGES := build-essential clang llvm libclang-rt-dev libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	libsodium-dev libjansson-dev libfftw3-dev libmicrohttpd-dev libcap-dev libnl-route-3-dev \
	libmnl-dev libcmocka-dev python3-pytest python3-numpy python3-yaml iproute2 ethtool \
	prometheus jq curl sudo util-linux kmod docker-compose

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	else \
		echo "deps: all $(words $(DEB_PACKAGES)) packages present"; \
	fi
	@# The deployment tests' Kubernetes schema validator comes from npm, pinned by
	@# the committed package-lock.json (npm ci installs exactly that, nothing newer).
	@if [ -f tests/deploy/package-lock.json ] && \
	    [ ! tests/deploy/node_modules/.package-lock.json -nt tests/deploy/package-lock.json ]; then \
		command -v npm >/dev/null || { export DEBIAN_FRONTEND=noninteractive; \
			apt-get install -y -q --no-install-recommends npm; }; \
		npm ci --prefix tests/deploy --no-audit --no-fund --loglevel=error; \
	fi

# ------------------------------------------------------------------ BPF
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h.tmp
	mv vmlinux.h.tmp vmlinux.h

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

# ------------------------------------------------------------------ C
$(BUILD):
	mkdir -p $@

$(BUILD)/obj/%.o: %.c $(BPF_HDRS) $(wildcard user/lib/*.h agent/*.h user/*/*.h) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(if $(LIB_OBJS),ar rcs $@ $^,ar rcs $@)

# The agent shares the key-file loader with the controllers (libc + libsodium only).
$(BUILD)/netwatch-agent: $(AGENT_OBJS) $(BUILD)/obj/user/lib/keyfile.o
	$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

# netwatch-chaos speaks rtnetlink through libmnl (its netem backend), and so
# does the unit test of its netem messages.
EXTRA_LIBS_chaos := $(shell pkg-config --libs libmnl 2>/dev/null || echo -lmnl)
EXTRA_LIBS_test_chaos_netem := $(EXTRA_LIBS_chaos)

define TOOL_RULE
$(BUILD)/netwatch-$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard user/$(1)/*.c)) $(LIB)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(USER_LIBS) $$(EXTRA_LIBS_$(1))
endef
$(foreach t,$(sort $(TOOLS)),$(eval $(call TOOL_RULE,$(t))))

# Each test links the library and, when it has one, the agent's pieces it names.
$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(filter-out $(BUILD)/obj/agent/main.o,$(AGENT_OBJS)) $(BPF_HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -iquote agent $(LDFLAGS) -o $@ $< $(LIB) $(filter-out $(BUILD)/obj/agent/main.o,$(AGENT_OBJS)) \
		$(USER_LIBS) -lsodium $(CMOCKA_LIBS) $(EXTRA_LIBS_$*)

$(BUILD)/tests/%: tests/bpf/%.c $(LIB) $(BPF_HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(USER_LIBS) -lsodium $(CMOCKA_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB) $(BPF_HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(USER_LIBS) -lsodium

# libFuzzer needs clang; the fuzzer always carries ASan+UBSan. A fuzzer
# compiles the library sources it exercises itself (FUZZ_EXTRA_<name>), so
# they are instrumented too, and links FUZZ_LIBS_<name>.
FUZZ_EXTRA_fuzz_report := user/lib/report.c user/lib/keyfile.c user/lib/buf.c user/lib/health_state.c
FUZZ_LIBS_fuzz_report  := -ljansson -lsodium -lm
.SECONDEXPANSION:
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BPF_HDRS) $$(FUZZ_EXTRA_$$*)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 $(WARN) -D_GNU_SOURCE -iquote bpf -iquote user/lib \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< \
		$(FUZZ_EXTRA_$*) $(FUZZ_LIBS_$*)

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
	NETWATCH_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 tests/bench/bench_scale.py

# Not part of `make test`: it runs every fault scenario on a lab for minutes.
evaluate: all
	NETWATCH_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 tests/evaluate/evaluate.py

demo: deps all
	bash deploy/local/demo.sh

# ------------------------------------------------------------------ install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/doc/netwatch
	install -m 0644 README.md $(wildcard docs/*.md) $(DESTDIR)$(PREFIX)/share/doc/netwatch/

clean:
	rm -rf build
