# SPDX-License-Identifier: MIT
# etmem - build, test, bench, demo, install. Plain GNU make; no generated files.
#
#   make                 build lib/ and every tool into build/
#   make SAN=1           the same with ASan+UBSan, into build-san/
#   make test            deps + build + unit (plain and sanitized) + bats + fuzz + vm
#   make deps            install the Debian packages the build and tests need
#   make fuzz            build the libFuzzer targets (clang) into build-fuzz/
#   make bench | demo | vmtest | install PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/etmem
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= /lib/systemd/system
DESTDIR ?=

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -Iinclude -Ilib
LDLIBS  := -Wl,--as-needed -lyaml -levent -lnuma -lpfm -ldl -lm -lpthread

ifeq ($(SAN),1)
B       := build-san
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else
B       := build
endif

# A tool is a top-level folder with a main.c; its other .c files are its core.
TOOLS     := $(patsubst %/main.c,%,$(wildcard */main.c))
LIB_SRC   := $(wildcard lib/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIBETMEM  := $(B)/libetmem.a
BINS      := $(TOOLS:%=$(B)/bin/%)
UNIT_SRC  := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRC:tests/helpers/%.c=$(B)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
FUZZ_SRC  := $(wildcard tests/fuzz/*.c)

tool_src   = $(wildcard $(1)/*.c)
tool_core  = $(filter-out $(B)/obj/$(1)/main.o,$(patsubst %.c,$(B)/obj/%.o,$(call tool_src,$(1))))
TOOL_LIBS := $(TOOLS:%=$(B)/obj/%/libtool.a)

.PHONY: all deps test unit bats fuzz fuzz-run bench demo vmtest install clean accuracy
ETMEMD    := $(if $(filter etmemd-supervisor,$(TOOLS)),$(B)/bin/etmemd)
all: $(BINS) $(ETMEMD) $(UNIT_BINS) $(HELPER_BINS) $(BENCH_BINS)

include examples/examples.mk

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBETMEM): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

define TOOL_RULES
$(B)/obj/$(1)/libtool.a: $(call tool_core,$(1))
	@mkdir -p $$(dir $$@); rm -f $$@
	$$(AR) rcs $$@ $$^
$(B)/bin/$(1): $(B)/obj/$(1)/main.o $(B)/obj/$(1)/libtool.a $(LIBETMEM)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call TOOL_RULES,$(t))))

# etmemd is the supervisor under the original's name.
$(B)/bin/etmemd: $(B)/bin/etmemd-supervisor
	ln -sf etmemd-supervisor $@

# Unit tests link every tool's core archive and libetmem; an archive member is
# only pulled in when a test uses it.
$(B)/tests/%: tests/unit/%.c $(TOOL_LIBS) $(LIBETMEM) tests/unit/unit.h tests/unit/fixture.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TOOL_LIBS) $(LIBETMEM) $(LDLIBS)

$(B)/tests/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBETMEM) $(LDLIBS)
$(HELPER_BINS): $(LIBETMEM)

$(B)/bench/%: bench/%.c $(TOOL_LIBS) $(LIBETMEM)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TOOL_LIBS) $(LIBETMEM) $(LDLIBS)

deps:
	@sh tests/deps.sh

unit: all
	@sh tests/lanes/unit.sh $(B)

bats: all
	@sh tests/lanes/bats.sh $(B)

# libFuzzer targets: tests/fuzz/<reader>.c, each defining LLVMFuzzerTestOneInput.
# lib/ and every tool's core are compiled with clang's fuzzer instrumentation
# into archives, so a target pulls in only the members it uses.
FZ        := build-fuzz
FZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(FZ)/bin/%)
$(FZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(FZ_CFLAGS) -MMD -MP -c -o $@ $<
$(FZ)/libetmem.a: $(LIB_SRC:%.c=$(FZ)/obj/%.o)
	@rm -f $@
	$(AR) rcs $@ $^
define FUZZ_TOOL_RULES
$(FZ)/obj/$(1)/libtool.a: $(patsubst %.c,$(FZ)/obj/%.o,$(filter-out $(1)/main.c,$(call tool_src,$(1))))
	@mkdir -p $$(dir $$@); rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach t,$(TOOLS),$(eval $(call FUZZ_TOOL_RULES,$(t))))
FZ_TOOL_LIBS := $(TOOLS:%=$(FZ)/obj/%/libtool.a)
$(FZ)/bin/%: tests/fuzz/%.c $(FZ_TOOL_LIBS) $(FZ)/libetmem.a
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -Itests/unit $(FZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FZ_TOOL_LIBS) $(FZ)/libetmem.a $(LDLIBS)
fuzz: $(FUZZ_BINS)
fuzz-run: fuzz
	@sh tests/lanes/fuzz.sh $(FUZZ_SECONDS)

test: deps
	@sh tests/run.sh

vmtest: all
	@sh tests/vm/run.sh

bench: all
	@sh bench/run.sh $(B)

accuracy: all
	@sh bench/accuracy.sh $(B)

demo: all
	@sh tests/demo.sh $(B)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/etmem/ini $(DESTDIR)$(SYSCONFDIR)/etmem/yaml
	for t in $(TOOLS); do install -m 0755 $(B)/bin/$$t $(DESTDIR)$(BINDIR)/$$t; done
	ln -sf etmemd-supervisor $(DESTDIR)$(BINDIR)/etmemd
	for m in docs/man/*.[1-8]; do [ -f "$$m" ] || continue; \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	for c in conf/ini/*.yaml; do install -m 0600 $$c $(DESTDIR)$(SYSCONFDIR)/etmem/ini/; done
	for c in conf/yaml/*.yaml; do install -m 0600 $$c $(DESTDIR)$(SYSCONFDIR)/etmem/yaml/; done
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0644 conf/etmemd.service $(DESTDIR)$(SYSTEMDUNITDIR)/etmemd.service

clean:
	rm -rf build build-san build-fuzz

-include $(shell find build build-san build-fuzz -name '*.d' 2>/dev/null)
