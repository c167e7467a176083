# pprofd — build, test, run.  `make` builds build/pprofd and build/pprofctl.
# Quiet by default; `make V=1` prints the commands.

BUILD      ?= build
PREFIX     ?= /usr/local
DESTDIR    ?=
CC         ?= gcc
CXX        ?= g++
CLANG      ?= clang
BPFTOOL    ?= bpftool
PROTOC_C   ?= protoc-c
SANITIZE   ?=

ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION    := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

# Debian packages needed to build, test and benchmark.
PKGS := clang llvm libbpf-dev libelf-dev libdw-dev bpftool protobuf-c-compiler \
	libprotobuf-c-dev zlib1g-dev liblzma-dev libdebuginfod-dev debuginfod libiberty-dev libmicrohttpd-dev pkg-config golang-go \
	binutils python3 util-linux libjemalloc2 libtcmalloc-minimal4 \
	systemd strace linux-perf clang-format nodejs dwz graphviz chromium systemtap-sdt-dev \
	groff-base man-db debhelper dpkg-dev fakeroot lintian

# The peers the benchmarks measure against, installed by `make bench` only.
BENCH_PKGS := bpftrace heaptrack llvm nodejs libbpf-tools sqlite3

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ifneq ($(SANITIZE),)
BUILD := build/asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-fno-strict-aliasing -D_GNU_SOURCE -DPPROFD_VERSION='"$(VERSION)"' \
	-I$(BUILD) -I$(BUILD)/proto -Ibpf -Ipreload $(DAEMON_INC) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS  := -lbpf -lelf -ldw -lprotobuf-c -lz -llzma -liberty -lm -lmicrohttpd

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_SKELS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
PROTO_SRCS := $(wildcard proto/*.proto)
PROTO_C    := $(patsubst proto/%.proto,$(BUILD)/proto/%.pb-c.c,$(PROTO_SRCS))
PROTO_OBJS := $(PROTO_C:.c=.o)
# daemon/ and its folders, in the order the data flows: collect/ (BPF
# programs loaded, rings read), process/ (processes and their mappings),
# symbolize/, profile/ (the kinds, pprof), serve/ (requests, control socket,
# HTTP); util/ what they all use, the client too.
DAEMON_DIRS := daemon $(patsubst %/,%,$(sort $(wildcard daemon/*/)))
DAEMON_INC  := $(addprefix -I,$(DAEMON_DIRS))
DAEMON_HDRS := $(wildcard $(addsuffix /*.h,$(DAEMON_DIRS)))
DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard $(addsuffix /*.c,$(DAEMON_DIRS))))
DAEMON_OBJS := $(patsubst daemon/%.c,$(BUILD)/daemon/%.o,$(DAEMON_SRCS)) $(PROTO_OBJS)
# Every module but main, and the protobuf code: the one library that the
# daemon, pprofctl, the unit tests, tools and benchmarks link (the linker
# takes from it the modules each one uses).
LIB        := $(BUILD)/libpprofd.a
# the in-process heap sampler a process may preload (preload/)
PRELOAD    := $(BUILD)/libpprofd_heap.so
# the same firing otel_memory's probes, under another name: tests only
PRELOAD_OTEL := $(BUILD)/libotel_heap.so
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
WORKLOADS  := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(wildcard tests/workloads/*.c)) \
	$(patsubst tests/workloads/%.cc,$(BUILD)/workloads/%,$(wildcard tests/workloads/*.cc))
# heap_sites again, built as most C is (no frame pointers; see its rule)
WORKLOADS  += $(BUILD)/workloads/heap_sites_nofp
# Workloads need exact stacks: keep every frame pointer and every call.
WL_CFLAGS  := -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: format all deps bench-deps run test test-unit test-e2e test-asan bench install deb clean bench-symbolize bench-unwind bench-unwind-rows bench-unwind-truth

all: $(BUILD)/pprofd $(BUILD)/pprofctl $(PRELOAD) $(PRELOAD_OTEL)

# the C in the tree's style (.clang-format); make test checks it
format: deps
	$(Q)tests/format.sh

# Install missing Debian packages (needs root and apt); a no-op when all are there.
deps:
	$(Q)missing=$$(for p in $(PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -Wno-gnu-variable-sized-type-not-at-end -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	$(call msg,PROTOC,$<)
	$(Q)mkdir -p $(BUILD)/proto
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(BUILD)/proto $<

$(BUILD)/proto/%.o: $(BUILD)/proto/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Objects that include a BPF skeleton depend on it; everything may need protobufs.
$(BUILD)/daemon/%.o: daemon/%.c $(DAEMON_HDRS) $(wildcard bpf/*.h) | $(PROTO_C)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(DAEMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/pprofd: $(BUILD)/daemon/main.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# libpprofd_heap.so: its own flags and none of the daemon's code (it runs
# inside other processes); -fexceptions so that a C++ exception passes
# through its operator new. The link takes LDFLAGS (a package's relro and
# bindnow), without the sanitizers.
PRELOAD_CC = $(CC) -std=gnu11 -O2 -g -fPIC -shared -fexceptions -fvisibility=hidden -D_GNU_SOURCE \
	-Wall -Wextra -Wno-unused-parameter -Ipreload $(filter-out $(SANFLAGS),$(LDFLAGS))
$(PRELOAD): preload/libpprofd_heap.c preload/pprofd_heap.h
	$(call msg,CC,$@)
	$(Q)$(PRELOAD_CC) $< -lm -o $@

# The library firing the OpenTelemetry proposal's otel_memory probes: a
# test that pprofd finds a sampler by its notes, not its name, and takes
# its weights. Not installed.
$(PRELOAD_OTEL): preload/libpprofd_heap.c preload/pprofd_heap.h
	$(call msg,CC,$@)
	$(Q)$(PRELOAD_CC) -DPPROFD_HEAP_OTEL $< -lm -o $@

# The sampler's unit test includes it whole (it interposes malloc in the
# test itself): not under ASan, whose malloc it would replace.
$(BUILD)/tests/test_heap_preload: private CFLAGS += -Ipreload -fexceptions -fno-builtin

# pprofctl: every client/*.c, and from the library the protobuf code and fdio.
$(BUILD)/pprofctl: $(wildcard client/*.c client/*.h) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Iclient $(LDFLAGS) $(filter %.c %.a,$^) -lprotobuf-c -lz -lm -o $@

# real stacks of its own: every frame pointer, every call a call (private:
# not passed on to the daemon objects it links)
$(BUILD)/tests/test_unwind: private CFLAGS += -fno-omit-frame-pointer -fno-optimize-sibling-calls

.SECONDEXPANSION:
# Each unit test: its file, linked with the library.
$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) $(filter %.c %.a,$^) $(LDLIBS) -o $@

# libFuzzer targets: `make fuzz-NAME` builds build/fuzz/fuzz_NAME from
# tests/fuzz/fuzz_NAME.c (and the client sources in fuzz_NAME_SRCS) with the
# library compiled again, instrumented, then runs it for FUZZ_SECONDS on
# build/fuzz/corpus-NAME, seeded with fuzz_NAME_SEEDS; fuzz_NAME_ARGS and
# FUZZ_ARGS are passed on.
FUZZ_SECONDS ?= 60
FUZZ_SAN    := address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE $(DAEMON_INC) -Iclient -Ibpf -Ipreload -I$(BUILD) -I$(BUILD)/proto \
	-DPPROFD_VERSION='"$(VERSION)"' -Wno-gnu-variable-sized-type-not-at-end
FUZZ_LIB    := build/fuzz/libpprofd.a
FUZZ_OBJS   := $(patsubst daemon/%.c,build/fuzz/obj/%.o,$(DAEMON_SRCS)) \
	$(patsubst $(BUILD)/proto/%.c,build/fuzz/obj/%.o,$(PROTO_C))
fuzz_config_SEEDS := systemd/pprofd.conf
fuzz_config_ARGS  := -max_len=8192
fuzz_symtab_SEEDS := $(wildcard tests/fuzz/seeds-symtab/*)
fuzz_symtab_ARGS  := -max_len=65536 -rss_limit_mb=2048
fuzz_dwlines_SEEDS := $(wildcard tests/fuzz/seeds-dwlines/*)
fuzz_dwlines_ARGS  := -max_len=65536 -rss_limit_mb=2048
fuzz_kallsyms_SEEDS := $(wildcard tests/fuzz/seeds-kallsyms/*)
fuzz_kallsyms_ARGS := -max_len=65536
fuzz_sideband_SEEDS := $(wildcard tests/fuzz/seeds-sideband/*)
fuzz_cfi_SEEDS := $(wildcard tests/fuzz/seeds-cfi/*)
fuzz_cfi_ARGS  := -max_len=262144 -rss_limit_mb=2048
fuzz_httpparams_ARGS := -max_len=4096
fuzz_profile_read_SRCS := client/report_top.c client/flamegraph_cmd.c client/file_select.c
fuzz_profile_read_ARGS := -max_len=65536
fuzz_control_SEEDS := $(wildcard tests/fuzz/seeds-control/*)
fuzz_control_ARGS  := -max_len=8192
fuzz_procstatus_SEEDS := $(wildcard tests/fuzz/seeds-procstatus/*)
fuzz_procstatus_ARGS  := -max_len=65536
fuzz_heapelf_SEEDS := $(wildcard tests/fuzz/seeds-heapelf/*)
fuzz_heapelf_ARGS  := -max_len=65536
fuzz_perfmap_SEEDS := $(wildcard tests/fuzz/seeds-perfmap/*)
fuzz_perfmap_ARGS  := -max_len=16384
fuzz_minidebug_SEEDS := $(wildcard tests/fuzz/seeds-minidebug/*)
fuzz_minidebug_ARGS  := -max_len=65536 -rss_limit_mb=2048
fuzz_debuglink_SEEDS := $(wildcard tests/fuzz/seeds-debuglink/*)
fuzz_debuglink_ARGS  := -max_len=65536 -rss_limit_mb=2048

build/fuzz/obj/%.o: daemon/%.c $(DAEMON_HDRS) $(wildcard bpf/*.h) $(BPF_SKELS) | $(PROTO_C)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c $< -o $@

build/fuzz/obj/%.o: $(BUILD)/proto/%.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(fuzz_$$*_SRCS) $(FUZZ_LIB) $(wildcard client/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) $(filter %.c %.a,$^) $(LDLIBS) -o $@

fuzz-%: build/fuzz/fuzz_%
	$(Q)mkdir -p build/fuzz/corpus-$*
	$(Q)$(if $(fuzz_$*_SEEDS),cp $(fuzz_$*_SEEDS) build/fuzz/corpus-$*/)
	$(Q)$< -max_total_time=$(FUZZ_SECONDS) $(fuzz_$*_ARGS) $(FUZZ_ARGS) build/fuzz/corpus-$*

# Small drivers of daemon modules for the end-to-end tests and benchmarks,
# and Google's standalone pprof (from the sources Go vendors).
TOOLS := $(BUILD)/tools/heapprobe $(BUILD)/tools/gen_profile $(BUILD)/tools/google_pprof
$(BUILD)/tools/%: tests/tools/%.c $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tools/google_pprof: tests/tools/google_pprof/main.go tests/tools/google_pprof/build.sh
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)tests/tools/google_pprof/build.sh $@

# The threads test wants the code as a program is shipped (-O2), frame
# pointers still kept in its own functions.
$(BUILD)/workloads/threads_parked: WL_CFLAGS := -O2 -g -pthread -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls

# The inline-frames test wants -O2 -g code with a function inlined.
$(BUILD)/workloads/cpu_inline: WL_CFLAGS := -O2 -g -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls

# heap_sites as most C is built: its allocation stacks need .eh_frame.
$(BUILD)/workloads/heap_sites_nofp: tests/workloads/heap_sites.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -fomit-frame-pointer -fno-optimize-sibling-calls $< -o $@ -lpthread -lm

# What most C is: -O2 without frame pointers (unwound by .eh_frame).
$(BUILD)/workloads/cpu_nofp: WL_CFLAGS := -O2 -fomit-frame-pointer -fno-optimize-sibling-calls
$(BUILD)/workloads/cpu_deep: WL_CFLAGS := -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls

$(BUILD)/workloads/%: tests/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WL_CFLAGS) $< -o $@ -lpthread -lm

# C++ workloads (operator new/delete): the same flags, with g++.
$(BUILD)/workloads/%: tests/workloads/%.cc
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(WL_CFLAGS) $< -o $@ -lpthread -lm

run: deps all
	$(Q)mkdir -p profiles run
	@echo "pprofd: profiles in ./profiles, http://127.0.0.1:6060/debug/pprof/; from this directory:"
	@echo "  $(BUILD)/pprofctl status    (or: PPROFD_SOCKET=$(CURDIR)/run/pprofd.sock pprofctl status)"
	./$(BUILD)/pprofd --output-dir ./profiles --socket ./run/pprofd.sock --http 127.0.0.1:6060

# Every test: unit tests, end-to-end tests with real BPF, and the unit and
# daemon tests again under ASan+UBSan.  Closes with "N passed, N failed".
# A part of them: test-unit, test-e2e, test-asan (the ASan+UBSan runs);
# some tests: T=test_cfi or T="test_cfi test_http" (unit test binaries or e2e scripts),
# one case of a unit test: CASE=test_libc_plt (a glob).
TEST ?= $(T)
CASE ?=
RUN_TESTS = PPROFD_TEST='$(TEST)' TEST_CASE='$(CASE)' tests/run.sh $(BUILD)
ASAN_UNIT_BINS := $(patsubst build/%,build/asan/%,$(filter-out %/test_heap_preload,$(UNIT_BINS)))

test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS) $(WORKLOADS) $(TOOLS)
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 all $(ASAN_UNIT_BINS)
	$(Q)$(RUN_TESTS)

test-unit: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS)
	$(Q)PPROFD_PART=unit $(RUN_TESTS)

test-e2e: deps
	$(Q)$(MAKE) --no-print-directory all $(WORKLOADS) $(TOOLS)
	$(Q)PPROFD_PART=e2e $(RUN_TESTS)

# the workloads and tools as the e2e tests find them: in build/, not build/asan/
test-asan: deps
	$(Q)$(MAKE) --no-print-directory all $(WORKLOADS) $(TOOLS)
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 all $(ASAN_UNIT_BINS)
	$(Q)PPROFD_PART=asan $(RUN_TESTS)

bench-deps:
	$(Q)$(MAKE) --no-print-directory deps PKGS="$(BENCH_PKGS)"

bench: deps bench-deps all $(WORKLOADS) $(TOOLS)
	$(Q)bench/run.sh $(BUILD)

bench-symbolize: $(BUILD)/bench/symbolize
	$(Q)bench/symbolize.sh $(BUILD)

$(BUILD)/bench/symbolize: bench/symbolize.c $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

bench-unwind: $(BUILD)/bench/unwind
	$(Q)bench/unwind.sh $(BUILD)

# It captures a real stack of its own: frame pointers, no sibling calls.
$(BUILD)/bench/unwind: bench/unwind.c tests/unit/ustack_self.h $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -fno-omit-frame-pointer -fno-optimize-sibling-calls -Itests/unit $(LDFLAGS) $(filter %.c %.a,$^) $(LDLIBS) -o $@

bench-unwind-truth: deps bench-deps all
	$(Q)bench/unwind_truth.sh $(BUILD)

bench-unwind-rows: $(BUILD)/bench/unwind_rows
	$(Q)$(BUILD)/bench/unwind_rows

$(BUILD)/bench/unwind_rows: bench/unwind_rows.c $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# FHS places: programs under PREFIX, the unit where systemd looks for it
# (PREFIX/lib/systemd/system for /usr and /usr/local, else /etc), the config
# in /etc/pprofd, which the daemon reads by default.
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DOCDIR  ?= $(PREFIX)/share/doc/pprofd
LIBDIR  ?= $(PREFIX)/lib/pprofd
UNITDIR ?= $(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib/systemd/system,/etc/systemd/system)
MANDIR  ?= $(PREFIX)/share/man

install: all
	install -D -m 0755 $(BUILD)/pprofd $(DESTDIR)$(SBINDIR)/pprofd
	install -D -m 0755 $(BUILD)/pprofctl $(DESTDIR)$(BINDIR)/pprofctl
	install -D -m 0644 $(PRELOAD) $(DESTDIR)$(LIBDIR)/libpprofd_heap.so
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -D -m 0644 man/pprofctl.1 $(DESTDIR)$(MANDIR)/man1/pprofctl.1
	install -D -m 0644 man/pprofd.conf.5 $(DESTDIR)$(MANDIR)/man5/pprofd.conf.5
	install -D -m 0644 man/pprofd.8 $(DESTDIR)$(MANDIR)/man8/pprofd.8
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/sbin/pprofd|$(SBINDIR)/pprofd|g' -e 's|/usr/local/share/doc/pprofd|$(DOCDIR)|g' \
		systemd/pprofd.service >$(DESTDIR)$(UNITDIR)/pprofd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/pprofd.service
	@# an existing (edited) config is kept; the new example goes beside it
	@if [ -e $(DESTDIR)/etc/pprofd/pprofd.conf ]; then \
		echo "install: kept $(DESTDIR)/etc/pprofd/pprofd.conf; the example is pprofd.conf.example"; \
		install -m 0644 systemd/pprofd.conf $(DESTDIR)/etc/pprofd/pprofd.conf.example; \
	else \
		install -D -m 0644 systemd/pprofd.conf $(DESTDIR)/etc/pprofd/pprofd.conf; \
	fi

# The Debian package (debian/): build/pprofd_<version>_<arch>.deb, the
# version debian/changelog's. dpkg-buildpackage runs in a copy of the tree
# in build/deb/ (the files git knows or would, working-tree state), so that
# neither its files (debian/pprofd/, debian/files, ...) nor build/'s
# objects mix with the tree; its .changes, .buildinfo and dbgsym package
# stay in build/deb/. The package build itself calls no apt and runs no
# test: `make deps` before it installs the build dependencies.
DEB_DIR := build/deb
deb: deps
	$(Q)rm -rf $(DEB_DIR)
	$(Q)mkdir -p $(DEB_DIR)/src
	$(Q)if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(DEB_DIR)/src; \
	else \
		tar --exclude=./build --exclude=./profiles --exclude=./run -cf - . | tar -xf - -C $(DEB_DIR)/src; \
	fi
	$(Q)cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -40 ../build.log; echo "make deb: dpkg-buildpackage failed; the log: $(DEB_DIR)/build.log"; exit 1; }
	$(Q)deb=$$(cd $(DEB_DIR)/src && echo pprofd_$$(dpkg-parsechangelog -S Version)_$$(dpkg-architecture -qDEB_HOST_ARCH).deb); \
		cp $(DEB_DIR)/$$deb build/$$deb && echo "build/$$deb"

clean:
	rm -rf build

$(BUILD)/tests/test_bpf_unwind: $(BUILD)/unwind_test.skel.h $(BUILD)/cpu.skel.h
$(BUILD)/daemon/collect/cpu_sampler.o: $(BUILD)/cpu.skel.h
$(BUILD)/daemon/collect/heap_sampler.o: $(BUILD)/heap.skel.h
$(BUILD)/daemon/collect/wait_sampler.o: $(BUILD)/mutex.skel.h $(BUILD)/block.skel.h
$(BUILD)/daemon/collect/threads_snapshot.o: $(BUILD)/threads.skel.h
