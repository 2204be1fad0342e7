# tcl: Trusted Container Launcher.  `make` builds everything into build/.
# Targets: all vmlinux test unit guest-test demo install clean bench fuzz
# Modules: every agent/*.c except the program mains goes into build/libtcl.a; every
# tests/unit/test_*.c becomes a cmocka binary linked against it (also built with ASan/UBSan).

CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
PREFIX    ?= /usr/local
O         := build

PKGS      := libbpf libelf zlib tss2-esys tss2-mu tss2-rc tss2-tctildr openssl json-c \
             libcurl libevent libevent_openssl libarchive yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lpthread

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS    ?= -O2 -g
CFLAGS    += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Iagent -I$(O) $(PKG_CFLAGS)
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

MAINS     := agent/main.c agent/tclctl.c agent/hook.c
LIB_SRC   := $(filter-out $(MAINS),$(wildcard agent/*.c))
LIB_OBJ   := $(LIB_SRC:agent/%.c=$(O)/obj/%.o)
LIB_SAN   := $(LIB_SRC:agent/%.c=$(O)/san/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(O)/unit/%)
UNIT_SANB := $(UNIT_SRC:tests/unit/%.c=$(O)/unit-san/%)
PROGS     := $(O)/tcl-agent $(O)/tclctl $(O)/tcl-hook $(O)/tcl-attestor
ATT_SRC   := $(wildcard attestor/*.c)
ATT_OBJ   := $(ATT_SRC:attestor/%.c=$(O)/attestor/%.o)

BPF_SRC   := $(wildcard bpf/*.bpf.c)
BPF_OBJ   := $(BPF_SRC:bpf/%.bpf.c=$(O)/bpf/%.bpf.o)
BPF_SKEL  := $(BPF_SRC:bpf/%.bpf.c=$(O)/%.skel.h)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Iinclude -Ivmlinux

.SECONDARY:
.PHONY: all vmlinux test unit unit-san guest-test fixtures image demo install clean bench fuzz deps
all: $(PROGS)

deps:
	scripts/deps.sh

$(O)/bpf/%.bpf.o: bpf/%.bpf.c include/tcl_abi.h vmlinux/vmlinux.h $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_skel > $@

$(O)/obj/%.o: agent/%.c $(wildcard agent/*.h) $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/san/%.o: agent/%.c $(wildcard agent/*.h) $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c $< -o $@

# Only the loader embeds the BPF skeleton.
$(O)/obj/bpf_loader.o $(O)/san/bpf_loader.o: $(BPF_SKEL)

$(O)/libtcl.a: $(LIB_OBJ)
	ar rcs $@ $^

$(O)/libtcl-san.a: $(LIB_SAN)
	ar rcs $@ $^

$(O)/tcl-agent: agent/main.c $(O)/libtcl.a
	$(CC) $(CFLAGS) $< $(O)/libtcl.a $(PKG_LIBS) -o $@
$(O)/tclctl: agent/tclctl.c $(O)/libtcl.a
	$(CC) $(CFLAGS) $< $(O)/libtcl.a $(PKG_LIBS) -o $@
$(O)/tcl-hook: agent/hook.c $(O)/libtcl.a
	$(CC) $(CFLAGS) $< $(O)/libtcl.a $(PKG_LIBS) -o $@

$(O)/attestor/%.o: attestor/%.c $(wildcard attestor/*.h) $(wildcard agent/*.h) $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iattestor -c $< -o $@
$(O)/tcl-attestor: $(ATT_OBJ) $(O)/libtcl.a
	$(CC) $(CFLAGS) $(ATT_OBJ) $(O)/libtcl.a $(PKG_LIBS) -o $@

$(O)/unit/%: tests/unit/%.c $(O)/libtcl.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(O)/libtcl.a $(PKG_LIBS) -lcmocka -o $@
$(O)/unit-san/%: tests/unit/%.c $(O)/libtcl-san.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $< $(O)/libtcl-san.a $(PKG_LIBS) -lcmocka -o $@

# Regenerate the pinned vmlinux.h from the BTF of the guest kernel (Debian's stock kernel).
vmlinux:
	tests/vm/fetch-kernel.sh
	$(BPFTOOL) btf dump file $$(tests/vm/fetch-kernel.sh --btf) format c > vmlinux/vmlinux.h.new
	mv vmlinux/vmlinux.h.new vmlinux/vmlinux.h

# The cmocka binaries, plain and under ASan/UBSan (make test runs them through tests/run-all.sh).
unit: $(UNIT_BIN) $(UNIT_SANB)
	@fail=0; for t in $^; do \
		if CMOCKA_MESSAGE_OUTPUT=stdout $$t >$$t.log 2>&1; then echo "  ok   $$t"; \
		else echo "  FAIL $$t (see $$t.log)"; fail=1; fi; \
	done; exit $$fail

FIXTURES  := $(patsubst tests/fixtures/%.c,$(O)/fixtures/%,$(filter-out tests/fixtures/preload.c,$(wildcard tests/fixtures/*.c))) $(O)/fixtures/preload.so
$(O)/fixtures/%: tests/fixtures/%.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror $< -o $@
$(O)/fixtures/preload.so: tests/fixtures/preload.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC $< -o $@
# Static variants for container images (no libraries in their root file systems).
$(O)/fixtures/tool-%: tests/fixtures/hello.c
	@mkdir -p $(@D)
	$(CC) -O2 -static -DVARIANT='"tool-$*"' $< -o $@
fixtures: $(FIXTURES) $(O)/fixtures/tool-a $(O)/fixtures/tool-b $(O)/fixtures/tool-c

# The BPF and container suites: one guest boot for all of them.
guest-test: all fixtures
	tests/vm/run.sh tests/guest/run-all.sh

# The one command CI and developers run: deps, build, host unit tests, then the guest suite.
test:
	scripts/deps.sh
	$(MAKE) all fixtures $(UNIT_BIN) $(UNIT_SANB)
	tests/run-all.sh

demo:
	scripts/deps.sh
	$(MAKE) all fixtures
	tests/vm/run.sh scripts/demo-guest.sh

bench: all fixtures
	O=$(O) bench/run.sh

# libFuzzer targets, a fixed budget each (FUZZ_SECONDS, default 60); not part of make test.
fuzz:
	O=$(O) tests/fuzz/run.sh

install: all
	install -D -m 0755 $(O)/tcl-agent $(DESTDIR)$(PREFIX)/sbin/tcl-agent
	install -D -m 0755 $(O)/tclctl $(DESTDIR)$(PREFIX)/sbin/tclctl
	install -D -m 0755 $(O)/tcl-hook $(DESTDIR)$(PREFIX)/sbin/tcl-hook
	install -D -m 0755 $(O)/tcl-attestor $(DESTDIR)$(PREFIX)/sbin/tcl-attestor
	install -D -m 0644 policy/example.json $(DESTDIR)/etc/tcl/policy.json.example
	install -D -m 0755 scripts/install-hooks.sh $(DESTDIR)$(PREFIX)/lib/tcl/install-hooks.sh
	scripts/install-hooks.sh --root $(or $(DESTDIR),/) --tclctl $(O)/tclctl || echo "install: hooks not installed (see above)"

# The agent's own container image, as a reproducible OCI layout with a signed golden manifest.
image: all
	scripts/build-image.sh --bin $(O) --out $(O)/image

clean:
	rm -rf $(O)
