# tcl: Trusted Container Launcher.  `make` builds everything into build/.
# Targets: all vmlinux test unit guest-test demo install clean bench fuzz
# Layout (docs/architecture.md): lib/ -> build/libtcl.a; agent/, ctl/, attestor/ -> one archive each
# (their main excluded); every tests/unit/test_*.c is a cmocka binary linked against the archives
# (also built with ASan/UBSan). Header dependencies come from -MMD.

CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
PREFIX    ?= /usr/local
O         := build

PKGS      := libbpf libelf zlib tss2-esys tss2-mu tss2-rc tss2-tctildr openssl json-c \
             libcurl libevent libevent_openssl libarchive
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lpthread
# the attestor's databases (attestor/store_*.c): linked into tcl-attestor and the unit tests
DB_PKGS    := sqlite3 libpq
PKG_CFLAGS += $(shell pkg-config --cflags $(DB_PKGS))
DB_LIBS    := $(shell pkg-config --libs $(DB_PKGS))

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS    ?= -O2 -g
CFLAGS    += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -I$(O) $(PKG_CFLAGS) -MMD -MP
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# What may include what (docs/architecture.md): lib/ sees include/ and lib/ only; a program
# folder sees lib/ and itself; tests see everything.
INC_lib      :=
INC_agent    := -Iagent
INC_ctl      := -Ictl
INC_hook     := -Ihook
INC_attestor := -Iattestor
INC_tests    := -Iagent -Ictl -Iattestor

# Each folder builds one archive of its modules (its program's main excluded), plain and with
# sanitizers; programs and tests link the archives they need.
MAIN_agent    := agent/main.c
MAIN_ctl      := ctl/tclctl.c
MAIN_hook     := hook/hook.c
MAIN_attestor := attestor/main.c
DIRS      := lib agent ctl hook attestor
mods       = $(filter-out $(MAIN_$(1)),$(wildcard $(1)/*.c))
objs       = $(patsubst %.c,$(O)/$(2)/%.o,$(call mods,$(1)))

LIB_A     := $(O)/libtcl.a
AGENT_A   := $(O)/libtcl-agent.a
CTL_A     := $(O)/libtcl-ctl.a
ATT_A     := $(O)/libtcl-attestor.a
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(O)/unit/%)
UNIT_SANB := $(UNIT_SRC:tests/unit/%.c=$(O)/unit-san/%)
PROGS     := $(O)/tcl-agent $(O)/tclctl $(O)/tcl-hook $(O)/tcl-attestor

BPF_SRC   := $(wildcard bpf/*.bpf.c)
BPF_OBJ   := $(BPF_SRC:bpf/%.bpf.c=$(O)/bpf/%.bpf.o)
BPF_SKEL  := $(BPF_SRC:bpf/%.bpf.c=$(O)/%.skel.h)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Iinclude -Ilib -Ivmlinux -MMD -MP

.SECONDARY:
.DELETE_ON_ERROR:
.PHONY: all vmlinux test unit unit-san guest-test fixtures image demo install clean bench fuzz deps
all: $(PROGS)

deps:
	scripts/deps.sh

$(O)/bpf/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_skel > $@

# Objects: $(O)/obj/<folder>/x.o (plain) and $(O)/san/<folder>/x.o (ASan/UBSan).
define folder_rules
$(O)/obj/$(1)/%.o: $(1)/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(INC_$(1)) -c $$< -o $$@
$(O)/san/$(1)/%.o: $(1)/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(SAN) $$(INC_$(1)) -c $$< -o $$@
endef
$(foreach d,$(DIRS),$(eval $(call folder_rules,$(d))))

# Only the loader embeds the BPF skeleton.
$(O)/obj/lib/bpf_loader.o $(O)/san/lib/bpf_loader.o: $(BPF_SKEL)

$(LIB_A): $(call objs,lib,obj)
	rm -f $@ && ar rcs $@ $^
$(AGENT_A): $(call objs,agent,obj)
	rm -f $@ && ar rcs $@ $^
$(CTL_A): $(call objs,ctl,obj)
	rm -f $@ && ar rcs $@ $^
$(ATT_A): $(call objs,attestor,obj)
	rm -f $@ && ar rcs $@ $^
$(LIB_A:.a=-san.a): $(call objs,lib,san)
	rm -f $@ && ar rcs $@ $^
$(AGENT_A:.a=-san.a): $(call objs,agent,san)
	rm -f $@ && ar rcs $@ $^
$(CTL_A:.a=-san.a): $(call objs,ctl,san)
	rm -f $@ && ar rcs $@ $^
$(ATT_A:.a=-san.a): $(call objs,attestor,san)
	rm -f $@ && ar rcs $@ $^

$(O)/tcl-agent: $(O)/obj/agent/main.o $(AGENT_A) $(LIB_A)
	$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@
$(O)/tclctl: $(O)/obj/ctl/tclctl.o $(CTL_A) $(LIB_A)
	$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@
$(O)/tcl-hook: $(O)/obj/hook/hook.o $(LIB_A)
	$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@
$(O)/tcl-attestor: $(O)/obj/attestor/main.o $(ATT_A) $(LIB_A)
	$(CC) $(CFLAGS) $^ $(PKG_LIBS) $(DB_LIBS) -o $@

# Unit tests link every archive (the linker takes only the modules a test uses).
TEST_A    := $(ATT_A) $(CTL_A) $(AGENT_A) $(LIB_A)
$(O)/unit/%: tests/unit/%.c $(TEST_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INC_tests) $< $(TEST_A) $(PKG_LIBS) $(DB_LIBS) -lcmocka -o $@
$(O)/unit-san/%: tests/unit/%.c $(TEST_A:.a=-san.a)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(INC_tests) $< $(TEST_A:.a=-san.a) $(PKG_LIBS) $(DB_LIBS) -lcmocka -o $@

-include $(shell find $(O) -name '*.d' 2>/dev/null)

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
$(O)/fixtures/pause: tests/fixtures/pause.c
	@mkdir -p $(@D)
	$(CC) -O2 -static -Wall -Wextra -Werror $< -o $@
fixtures: $(FIXTURES) $(O)/fixtures/tool-a $(O)/fixtures/tool-b $(O)/fixtures/tool-c

# The BPF build of the cgroup grammar and its BPF_PROG_TEST_RUN loader (tests/guest/test_grammar.sh).
GRAMMAR_T := $(O)/grammar/cgroup_grammar.bpf.o $(O)/grammar/cgroup_grammar_test
$(O)/grammar/cgroup_grammar.bpf.o: tests/guest/grammar/cgroup_grammar.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(O)/grammar/cgroup_grammar_test: tests/guest/grammar/cgroup_grammar_test.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $< $(PKG_LIBS) -o $@
fixtures: $(GRAMMAR_T)

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

# Bare metal (README "Bare metal"): `make install` also installs the systemd units, the agent's
# config (kept when it exists) and the manual pages; `make deb` builds the Debian package from
# programs compiled with Debian's hardening flags in $(O)/deb/build (scripts/build-deb.sh).
UNITDIR    ?= /lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man
DEB_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection \
              -fcf-protection -Wl,-z,relro,-z,now
.PHONY: install-service deb
install: install-service
install-service:
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8
	for u in tcl-agent tcl-attestor; do \
		sed 's|/usr/sbin/|$(PREFIX)/sbin/|' deploy/systemd/$$u.service \
			> $(DESTDIR)$(UNITDIR)/$$u.service && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.service \
			|| exit 1; \
	done
	test -e $(DESTDIR)/etc/tcl/agent.conf || \
		install -D -m 0644 deploy/systemd/agent.conf $(DESTDIR)/etc/tcl/agent.conf
	for m in man/*.8; do gzip -9n -c $$m > $(DESTDIR)$(MANDIR)/man8/$${m##*/}.gz || exit 1; done
deb:
	CFLAGS='$(DEB_CFLAGS)' $(MAKE) O=$(O)/deb/build all
	scripts/build-deb.sh --bin $(O)/deb/build --out $(O)/deb
